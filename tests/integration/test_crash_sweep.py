#!/usr/bin/python3
"""Crash in the middle of an upload: SIGKILL the server while a 64 MiB upload is
arriving, then check the store (the unfinished upload is reported), restart
(it is swept), check again (sound, nothing pending, its chunks gone), and the
submissions confirmed before the crash still export and extract byte for byte.
"""
import os
import re
import subprocess
import time

import harness
from harness import check, fail

CRASH_MIB = 64


def check_counts(inst):
    rc, out, pending = inst.check()
    m = re.search(r"^chunks: (\d+)", out, re.M)
    check(m, "check printed no 'chunks:' line:\n" + out)
    s = re.search(r"^submissions: (\d+)", out, re.M)
    check(s, "check printed no 'submissions:' line:\n" + out)
    return rc, out, pending, int(m.group(1)), int(s.group(1))


def test(h):
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    src = h.path("src")
    os.makedirs(src)

    h.step("two confirmed submissions")
    srv = inst.server("before").start()
    confirmed = {}
    for i, mib in enumerate((3, 1)):
        p = os.path.join(src, "kept-%d.bin" % i)
        confirmed["kept-%d.bin" % i] = harness.write_random_file(p, mib)
        h.submit_ok(srv.url, "confirmed %d" % i, [(p, "kept-%d.bin" % i)])
    rc, out, pending, base_chunks, subs = check_counts(inst)
    check(pending == 0 and subs == 2, "before the crash: %d pending, %d submissions" %
          (pending, subs))

    h.step("a %d MiB upload, SIGKILL mid-upload" % CRASH_MIB)
    big = os.path.join(src, "crash.bin")
    harness.write_random_file(big, CRASH_MIB)
    cookie, token = srv.form_auth()
    curl = subprocess.Popen(
        ["curl", "-k", "-sS", "-o", os.devnull, "-w", "%{http_code}", "--limit-rate", "16M",
         "-H", "Cookie: " + cookie, "--form-string", "message=never confirmed", "-F",
         'files=@"%s";filename="crash.bin"' % big, harness.with_csrf(srv.url + "/submit", token)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    t0 = time.monotonic()
    written = 0
    while time.monotonic() - t0 < 30:
        rc, out, pending, chunks, _ = check_counts(inst)
        written = chunks - base_chunks
        if pending >= 1 and written >= 64:  # 64 chunks = 16 MiB sealed and on disk
            break
        if curl.poll() is not None:
            fail("the upload ended before the crash: %s %s" % curl.communicate())
        time.sleep(0.1)
    else:
        fail("the upload never showed up as pending with chunks written")
    srv.kill()
    killed_after = time.monotonic() - t0
    cout, cerr = curl.communicate(timeout=60)
    check(cout.decode().strip() != "200", "the killed upload got a 200")
    h.note("killed the server", "%.1fs into the upload, %d sealed chunks written" %
           (killed_after, written))

    h.step("check after the crash")
    rc, out, pending, chunks, subs = check_counts(inst)
    h.note("check after the crash", "exit %d, unfinished uploads %d, chunks %d (%d before)" %
           (rc, pending, chunks, base_chunks))
    check(pending >= 1, "check reports %d unfinished uploads after the crash:\n%s" %
          (pending, out))
    check(rc == 0 or re.search(r"unfinished uploads: [1-9]", out),
          "check after the crash: exit %d without listing the pending upload:\n%s" % (rc, out))
    check(subs == 2, "check reports %d submissions after the crash, expected 2" % subs)
    check(chunks > base_chunks, "no orphan chunks to sweep? (%d <= %d)" % (chunks, base_chunks))

    h.step("restart: the sweep")
    t0 = time.monotonic()
    srv2 = inst.server("after").start()
    h.note("restart to listening (with the sweep)", "%.2fs" % (time.monotonic() - t0))
    m = re.search(r"sealdrop-server: removed (\d+) unfinished uploads", srv2.log())
    check(m and int(m.group(1)) == pending,
          "the restart did not say 'removed %d unfinished uploads':\n%s" % (pending, srv2.log()))
    h.note("restart printed", m.group(0))
    rc, out, pending, chunks, subs = check_counts(inst)
    check(rc == 0 and pending == 0 and chunks == base_chunks and subs == 2,
          "check right after the sweep: exit %d, %d pending, %d chunks (%d before the crash), "
          "%d submissions:\n%s" % (rc, pending, chunks, base_chunks, subs, out))
    h.note("orphan chunks after the sweep", "none (%d chunks, as before the crash)" % chunks)
    h.submit_ok(srv2.url, "after the restart")
    srv2.stop()

    rc, out, pending, chunks, subs = check_counts(inst)
    check(rc == 0 and re.search(r"^ok$", out, re.M),
          "check after the sweep: exit %d\n%s" % (rc, out))
    check(pending == 0, "check still reports %d unfinished uploads after the sweep" % pending)
    check(subs == 3, "check reports %d submissions, expected 3" % subs)
    h.note("check after the sweep", "exit 0, ok, unfinished 0, %d submissions, %d chunks" %
           (subs, chunks))

    h.step("export, import, extract the confirmed submissions")
    bundle = h.path("bundle.sdb")
    check(inst.export(bundle) == 3, "export should hold the 2 confirmed + 1 later submission")
    vault = h.path("vault")
    rv.import_(bundle, vault, extra=["--instance-fingerprint", inst.fingerprint], expect=0)
    subs = rv.list(vault)
    check(len(subs) == 3, "the vault lists %d submissions, expected 3" % len(subs))
    seen = {}
    for sub in subs:
        out = h.path("out-" + sub["id"])
        for p in rv.extract(sub["id"], vault, out):
            name = os.path.basename(p)
            if name in confirmed:
                seen[name] = harness.sha256_file(p)
            check(name != "crash.bin", "the killed upload's file came back")
    check(seen == confirmed, "the confirmed files did not come back intact: %s vs %s" %
          (seen, confirmed))
    h.note("confirmed submissions", "both byte-identical after export/import/extract")


if __name__ == "__main__":
    harness.Harness("crash_sweep", __doc__).main(test)
