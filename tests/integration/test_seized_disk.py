#!/usr/bin/python3
"""What a seized server shows: the same submissions, sent with different timing
to two fresh instances, must leave the same evidence.

Instance A gets the submissions back to back; instance B gets them seconds
apart, one of them at a throttled rate. Then both are compared as someone who
seized the disk would:
- the server's standard error (journald in production) line for line;
- every file the instance holds: the same names, and access and modification
  times at 00:00 UTC of the day, never the second a source came;
- the store's contents with the random parts (ids, sealed keys, stream
  headers, ciphertext bytes) set aside: the same records, days, recipient key
  ids, item counts, padded sizes and chunk lengths.
What SECURITY.md names as beyond sealdrop's control is reported, not compared:
change and birth times, data.mdb's size and LMDB's transaction counter (which
count commits and freed pages)."""
import os
import re
import struct
import subprocess
import time

import harness
from harness import check

# (message, [(file name, bytes)]) sent to both instances in this order.
SIZES = [("a.pdf", 70_000), ("b.jpg", 300_000), ("big.bin", 3 << 20), ("note.txt", 900)]


def send_all(h, srv, files, spaced):
    """The same submissions; `spaced` puts seconds between them and throttles one."""
    plan = [("the first message", []),
            ("two files", [files["a.pdf"], files["b.jpg"]]),
            (None, [files["big.bin"]]),
            ("Здравствуйте: a follow-up in Russian", [files["note.txt"]])]
    for i, (message, attach) in enumerate(plan):
        if spaced and i:
            time.sleep(1.7)
        extra = ["--limit-rate", "1M"] if spaced and attach == [files["big.bin"]] else []
        status, _, body, rc, err = h.submit(srv.url, message, attach, extra=extra)
        check(status == 200 and b"Received" in body,
              "submission %d was not received: HTTP %s (curl %d %s)" % (i, status, rc, err))
    # One refusal each, counted but never logged.
    status, _, _, _, _ = h.curl(srv.url + "/nowhere")
    check(status == 404, "GET /nowhere: HTTP %s" % status)


def normalised_log(srv):
    return re.sub(r"https://127\.0\.0\.1:\d+/", "https://127.0.0.1:PORT/", srv.server_log())


def file_times(root):
    """{relative path: (kind, atime, mtime, ctime, size)} for everything under
    root, each taken before its directory is listed (listing sets the access
    time on a relatime mount)."""
    out = {}

    def visit(p):
        rel = os.path.relpath(p, root)
        if rel.split(os.sep)[0] == "tls":
            return  # made by this test with openssl, not by sealdrop
        st = os.lstat(p)
        kind = "dir" if os.path.isdir(p) else "file"
        out[rel] = (kind, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
        if kind == "dir":
            for name in sorted(os.listdir(p)):
                visit(os.path.join(p, name))

    visit(root)
    return out


def dump(store_dir):
    """{table: [(key bytes, value bytes)]} through lmdb-utils' mdb_dump."""
    text = subprocess.run(["mdb_dump", "-a", store_dir], capture_output=True, check=True,
                          timeout=60).stdout.decode()
    tables, name, pairs, pending_key = {}, None, None, None
    for line in text.split("\n"):
        if line.startswith("database="):
            name = line.split("=", 1)[1]
        elif line == "HEADER=END":
            pairs, pending_key = [], None
        elif line == "DATA=END":
            tables[name or ""] = pairs
            name, pairs = None, None
        elif pairs is not None and line.startswith(" "):
            b = bytes.fromhex(line[1:])
            if pending_key is None:
                pending_key = b
            else:
                pairs.append((pending_key, b))
                pending_key = None
    return tables


def masked_record(v):
    """A submission record (FORMAT.md "Submission record") with its random
    parts blanked: id, sealed content keys, stream headers."""
    check(v[:4] == b"SDSU", "a submission record without its magic")
    # Field widths as FORMAT.md gives them; integers are little-endian.
    day, chunk, k, n = struct.unpack("<IIHI", v[21:35])
    out = [v[:5], ("day", day, "chunk", chunk, "keys", k, "items", n)]
    off = 35
    for _ in range(k):
        if v[4] >= 3:  # key id, algorithm, sealed length, sealed key
            alg, size = v[off + 8], int.from_bytes(v[off + 9:off + 11], "little")
            out.append(("key id", v[off:off + 8].hex(), "algorithm", alg, "sealed", size))
            off += 11 + size
        else:
            out.append(("key id", v[off:off + 8].hex()))
            off += 88
    for _ in range(n):
        padded, chunks = struct.unpack("<QI", v[off + 24:off + 36])
        out.append(("item", padded, chunks))
        off += 36
    check(off == len(v), "a submission record of unexpected length")
    return tuple(out)


def canonical(store_dir):
    """What the store holds, ids and ciphertext set aside: one entry per
    submission (its masked record, its chunks' item, index and length, its
    day index and export marks), sorted, plus the other tables as counts."""
    t = dump(store_dir)
    subs = {}
    for key, v in t.get("subs", []):
        subs[key] = {"record": masked_record(v), "chunks": [], "byday": [], "unexported": 0}
    strays = []
    for key, v in t.get("chunks", []):
        sid, item, index = key[:16], int.from_bytes(key[16:20], "big"), int.from_bytes(key[20:24], "big")
        target = subs.get(sid)
        (target["chunks"] if target else strays).append((item, index, len(v), v[:5]))
    for key, _ in t.get("byday", []):
        sid = key[4:]
        check(sid in subs, "the day index names a submission that is not stored")
        subs[sid]["byday"].append(int.from_bytes(key[:4], "big"))
    for key, v in t.get("unexported", []):
        check(key in subs and v == b"", "an export mark that is not a stored submission's")
        subs[key]["unexported"] += 1
    check(not strays, "chunks of no submission: %d" % len(strays))
    entries = sorted(repr((s["record"], sorted(s["chunks"]), s["byday"], s["unexported"]))
                     for s in subs.values())
    # The server keeps no record of sources (docs/INSTANCES.md): a table of
    # them would be among the other tables, and is checked absent.
    known = {"subs", "chunks", "byday", "unexported", "meta", "pending"}
    return {"submissions": entries, "meta": sorted(t.get("meta", [])),
            "pending": len(t.get("pending", [])), "sources": len(t.get("sources", [])),
            "other tables": sorted((k, len(v)) for k, v in t.items() if k not in known)}


def test(h):
    rv = harness.Reviewer(h)
    files = {}
    for name, size in SIZES:
        p = h.path(name)
        with open(p, "wb") as f:
            f.write(os.urandom(size))
        files[name] = (p, name)
    today = int(time.time()) // 86400 * 86400 * 10**9

    runs = {}
    for label, spaced in (("A", False), ("B", True)):
        h.step("instance %s: submissions %s" % (label, "seconds apart, one throttled" if spaced
                                                 else "back to back"))
        inst = harness.Instance(h, "instance-" + label, rv.pub)
        srv = inst.server(label).start()
        t0 = time.monotonic()
        send_all(h, srv, files, spaced)
        counts = srv.counts()
        srv.stop()
        h.note("instance %s: sending took" % label, "%.1fs" % (time.monotonic() - t0))
        runs[label] = {"inst": inst, "srv": srv, "counts": counts,
                       "log": normalised_log(srv), "times": file_times(inst.dir)}
        if int(time.time()) // 86400 * 86400 * 10**9 != today:
            h.note("skipped", "the day changed during the test; times cannot be compared")
            return

    a, b = runs["A"], runs["B"]
    h.step("standard error")
    check(a["log"] == b["log"], "the servers' output differs with the timing:\n--- A\n%s--- B\n%s" %
          (a["log"], b["log"]))
    check(a["counts"] == b["counts"], "the counts differ: %r / %r" % (a["counts"], b["counts"]))
    h.note("stderr lines (each instance)", len(a["log"].splitlines()))

    h.step("file names and times")
    check(sorted(a["times"]) == sorted(b["times"]),
          "the instances hold different files: %s / %s" % (sorted(a["times"]), sorted(b["times"])))
    for rel in sorted(a["times"]):
        for label, run in runs.items():
            kind, atime, mtime, ctime, size = run["times"][rel]
            check(mtime == today, "instance %s: %s's modification time is %s, not 00:00 UTC" %
                  (label, rel, time.strftime("%H:%M:%S", time.gmtime(mtime / 1e9))))
            check(atime == today, "instance %s: %s's access time is %s, not 00:00 UTC" %
                  (label, rel, time.strftime("%H:%M:%S", time.gmtime(atime / 1e9))))
        if a["times"][rel][0] == "file" and rel != os.path.join("store", "data.mdb"):
            check(a["times"][rel][4] == b["times"][rel][4], "%s: %d bytes in A, %d in B" %
                  (rel, a["times"][rel][4], b["times"][rel][4]))
    h.note("files compared", "%d, every access and modification time 00:00 UTC" % len(a["times"]))
    h.note("beyond control (reported): data.mdb bytes A / B", "%d / %d" % (
        a["times"][os.path.join("store", "data.mdb")][4],
        b["times"][os.path.join("store", "data.mdb")][4]))

    h.step("store contents, random parts set aside")
    ca = canonical(os.path.join(a["inst"].dir, "store"))
    cb = canonical(os.path.join(b["inst"].dir, "store"))
    check(len(ca["submissions"]) == 4, "instance A holds %d submissions" % len(ca["submissions"]))
    # Each submission came without a session: four new sources, and nothing
    # filed about any of them.
    check(ca["sources"] == 0 and "sources" not in dict(ca["other tables"]),
          "instance A holds records of sources: %r" % (ca["sources"], ))
    check(ca["pending"] == 0 and cb["pending"] == 0, "unfinished uploads were left behind")
    check(ca == cb, "the stores differ beyond their random parts:\n%s\n%s" % (ca, cb))
    h.note("store compared", "%d submissions: records, days, key ids, padded sizes, chunk "
           "lengths; no source records" % len(ca["submissions"]))
    for label, run in runs.items():
        rc, out, _ = run["inst"].check()
        check(rc == 0, "instance %s: check failed:\n%s" % (label, out))


if __name__ == "__main__":
    harness.Harness("seized_disk", __doc__).main(test)
