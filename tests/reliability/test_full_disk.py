#!/usr/bin/python3
"""A full store and a full disk, on a size-limited tmpfs (needs root: mount).

(a) quota first: a 96 MiB tmpfs holds the instance, store_quota = "48MiB".
    4 MiB uploads until one is refused: it must get 507 and a "Not sent" page
    that says there is no room for large uploads, while the tmpfs still has
    free space (the quota, not the disk, refused it). The server keeps
    serving; a message and a 512 KiB file still get through (the reserve);
    check is ok with nothing unfinished and the store at least 90% full;
    export/import/extract gives back every confirmed submission byte for
    byte, and none of the refused ones.
(b) disk first: a fresh 96 MiB tmpfs, store_quota = "1GiB" (far beyond the
    disk), and a ballast file taking part of the tmpfs. Uploads past the
    space must get an error page (507 or 500), never a 200; the server keeps
    serving; then the ballast is deleted and a new upload must succeed with no
    restart; check is ok; everything confirmed comes back byte for byte.

Figures: MiB confirmed before the refusal, sealed bytes, store file size,
tmpfs use, time to fill.
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (CTest runs from it)
import relcommon  # noqa: E402
from relcommon import check, fail, harness  # noqa: E402

TMPFS_MIB = 96
UPLOAD_MIB = 4
MAX_UPLOADS = 40          # bound on each filling loop
FILL_BUDGET = 120         # seconds per filling loop
BALLAST_MIB = 40


def mount_tmpfs(h, mnt):
    os.makedirs(mnt, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % TMPFS_MIB, "tmpfs",
                        mnt], capture_output=True, text=True)
    check(r.returncode == 0, "cannot mount a tmpfs on %s (this test needs root): %s" %
          (mnt, r.stderr.strip()))


def stop_servers_under(h, mnt):
    for srv in h.servers:
        if srv.alive() and srv.instance.dir.startswith(mnt + os.sep):
            srv.kill()


def umount(mnt):
    r = subprocess.run(["umount", mnt], capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def df_mib(path):
    st = os.statvfs(path)
    total = st.f_blocks * st.f_frsize / (1 << 20)
    free = st.f_bavail * st.f_frsize / (1 << 20)
    return total - free, free


def settled_df_mib(path, samples=6, interval=0.1):
    """df once the writer is idle: after each write batch the store tries to
    reserve blocks ahead (fallocate), which on tmpfs takes pages for a moment
    before failing and giving them back. Returns (used, free) of the sample
    with the most free space."""
    best = None
    for _ in range(samples):
        time.sleep(interval)
        u, f = df_mib(path)
        if best is None or f > best[1]:
            best = (u, f)
    return best


def store_file_mib(inst, samples=6, interval=0.1):
    """(length, allocated) of the store's data file in MiB, allocated as the
    least of a few samples (see settled_df_mib)."""
    p = os.path.join(inst.dir, "store", "data.mdb")
    size, alloc = 0.0, None
    for _ in range(samples):
        time.sleep(interval)
        st = os.stat(p)
        size = st.st_size / (1 << 20)
        a = st.st_blocks * 512 / (1 << 20)
        alloc = a if alloc is None else min(alloc, a)
    return size, alloc


class Filler:
    """Sends 4 MiB uploads with a marked message and remembers what it sent."""

    def __init__(self, h, tag):
        self.h = h
        self.tag = tag
        self.sent = {}
        self.n = 0
        self.blob = os.urandom(UPLOAD_MIB << 20)

    def upload(self, url, mib=UPLOAD_MIB, message_only=False, size=None):
        self.n += 1
        marker = relcommon.new_marker()
        message = "full disk %s upload %d marker %s" % (self.tag, self.n, marker)
        files = {}
        paths = []
        if not message_only:
            name = "%s-%03d.bin" % (self.tag, self.n)
            path = self.h.path(name)
            files[name] = relcommon.write_payload(path, marker, size or (mib << 20), self.blob)
            paths.append((path, name))
        s = relcommon.Sent(marker, message, files)
        self.sent[marker] = s
        up = relcommon.Upload(self.h, url, message, paths, max_time=60).finish()
        for p, _ in paths:
            os.unlink(p)
        s.status = up.status
        s.confirmed = up.received
        return s, up

    def confirmed_mib(self):
        return sum(sz for s in self.sent.values() if s.confirmed
                   for sz, _ in s.files.values()) / (1 << 20)


def refusal_ok(up, statuses, what):
    text = up.body.decode("utf-8", "replace")
    check(up.status in statuses, "%s: HTTP %s (curl exit %s %s), expected %s:\n%s" %
          (what, up.status, up.rc, up.err, statuses, text[:1500]))
    check("Not sent" in text and "Nothing from this attempt was kept" in text,
          "%s: HTTP %d without a clear 'Not sent' page:\n%s" % (what, up.status, text[:1500]))
    m = re.search(r'<p class="error">(.*?)</p>', text, re.S)
    return m.group(1).strip() if m else text[:200]


def fill(h, srv, filler, what):
    """Uploads until one is not received; returns (refused upload, seconds)."""
    t0 = time.monotonic()
    for _ in range(MAX_UPLOADS):
        check(time.monotonic() - t0 < FILL_BUDGET, "%s: no refusal within %ds" %
              (what, FILL_BUDGET))
        s, up = filler.upload(srv.url)
        if not s.confirmed:
            return s, up, time.monotonic() - t0
        check(up.status == 200, "%s: HTTP %d" % (what, up.status))
    fail("%s: %d uploads of %d MiB were all received on a %d MiB tmpfs" %
         (what, MAX_UPLOADS, UPLOAD_MIB, TMPFS_MIB))


def serving(h, srv, what):
    st, _hd, body, rc, err = h.curl(srv.url + "/", timeout=20)
    check(st == 200 and b"<form" in body, "%s: GET / gave HTTP %s (curl exit %s %s)" %
          (what, st, rc, err.strip()))


def verify_bundle(h, rv, inst, filler, label):
    """Exports, imports into a fresh vault, extracts: exactly the confirmed
    submissions, byte for byte (VaultVerifier), and none of the refused."""
    v = relcommon.VaultVerifier(h, rv, inst, filler.sent)
    v.vault = h.path("vault-" + label)
    n = v.export_import()
    v.verify_new()
    missing = v.missing_confirmed()
    check(not missing, "%s: confirmed submissions missing from the bundle: %s" %
          (label, [s.message for s in missing]))
    stray = [s for s in filler.sent.values() if s.found_id and not s.confirmed]
    check(not stray, "%s: refused submissions were kept: %s (HTTP %s)" %
          (label, [s.message for s in stray], [s.status for s in stray]))
    return n


def part_a(h, rv, mnt):
    h.step("(a) %d MiB tmpfs, store_quota = 48MiB: fill with %d MiB uploads" %
           (TMPFS_MIB, UPLOAD_MIB))
    inst = harness.Instance(h, os.path.relpath(os.path.join(mnt, "instance"), h.tmp), rv.pub)
    inst.set_config("store_quota", '"48MiB"')
    inst.set_config("max_upload", '"16MiB"')
    srv = inst.server("a").start()
    filler = Filler(h, "quota")
    s, up, secs = fill(h, srv, filler, "(a)")
    used, free = settled_df_mib(mnt)
    fsz, falloc = store_file_mib(inst)
    msg = refusal_ok(up, (507,), "(a) the upload past the quota")
    # What is left is the reserve, which takes no large upload; the page
    # says what can still be sent.
    check(re.search(r"no room for large uploads.*files up to 1(\.0)? MiB", msg, re.I),
          "(a) the 507 page does not say there is no room for large uploads but for small "
          "files: %r" % msg)
    # Blocks reserved ahead (allocated beyond the file's end) are room too.
    room = free + max(0.0, falloc - fsz)
    check(room >= UPLOAD_MIB + 4, "(a) the tmpfs was full (%.1f MiB free, %.1f MiB reserved by "
          "the store) when the quota refused: the disk, not the quota, was hit" %
          (free, falloc - fsz))
    confirmed = [x for x in filler.sent.values() if x.confirmed]
    h.note("(a) confirmed before the quota refusal", "%d uploads, %.0f MiB of files in %.1fs" %
           (len(confirmed), filler.confirmed_mib(), secs))
    h.note("(a) refusal", "HTTP %d in %.2fs: %s" % (up.status, up.seconds, msg))
    h.note("(a) tmpfs at the refusal", "%.1f MiB used, %.1f MiB free" % (used, free))

    # The server keeps serving, and the refused upload left nothing behind.
    serving(h, srv, "(a) after the refusal")
    c = relcommon.check_clean(h, inst, "(a) while serving, after the refusal", wait=10)
    h.note("(a) check after the refusal", "exit 0, ok, unfinished 0, %d submissions, sealed "
           "%.1f MiB" % (c["submissions"], c["sealed"] / (1 << 20)))
    check(c["submissions"] == len(confirmed), "(a) check counts %d submissions, %d confirmed" %
          (c["submissions"], len(confirmed)))
    s2, up2 = filler.upload(srv.url)
    refusal_ok(up2, (507,), "(a) a second upload past the quota")
    # A store filled with large uploads must not silence sources: a message
    # and a small file still get through, into the reserve.
    s3, up3 = filler.upload(srv.url, message_only=True)
    check(up3.status == 200 and s3.confirmed,
          "(a) a message-only upload at the quota: HTTP %d, not received" % up3.status)
    s4, up4 = filler.upload(srv.url, size=512 << 10)
    check(up4.status == 200 and s4.confirmed,
          "(a) a 512 KiB upload at the quota: HTTP %d, not received" % up4.status)
    h.note("(a) at the quota, into the reserve", "a message: HTTP %d; a 512 KiB file: HTTP %d" %
           (up3.status, up4.status))
    c = relcommon.check_clean(h, inst, "(a) after the reserve took small uploads", wait=10)
    check(c["fill"] >= 90, "(a) check says the store is %d%% full at the quota" % c["fill"])
    h.note("(a) check's fill level", "store %d%% full, reserve %d%%" % (c["fill"], c["reserve"]))
    fsz, falloc = store_file_mib(inst)
    h.note("(a) store file", "%.1f MiB long, %.1f MiB allocated" % (fsz, falloc))
    srv.stop()
    relcommon.check_clean(h, inst, "(a) after the stop")
    n = verify_bundle(h, rv, inst, filler, "a")
    h.note("(a) export/import/extract", "%d submissions, all byte-identical; no refused one kept" %
           n)


def part_b(h, rv, mnt):
    h.step("(b) %d MiB tmpfs, store_quota = 1GiB, %d MiB ballast: the disk fills first" %
           (TMPFS_MIB, BALLAST_MIB))
    inst = harness.Instance(h, os.path.relpath(os.path.join(mnt, "instance"), h.tmp), rv.pub)
    inst.set_config("store_quota", '"1GiB"')
    inst.set_config("max_upload", '"16MiB"')
    ballast = os.path.join(mnt, "ballast")
    with open(ballast, "wb") as f:
        for _ in range(BALLAST_MIB):
            f.write(os.urandom(1 << 20))
    srv = inst.server("b").start()
    filler = Filler(h, "disk")
    s, up, secs = fill(h, srv, filler, "(b)")
    used, free = df_mib(mnt)
    msg = refusal_ok(up, (507, 500), "(b) the upload past the disk space")
    confirmed = [x for x in filler.sent.values() if x.confirmed]
    h.note("(b) confirmed before the disk refusal", "%d uploads, %.0f MiB of files in %.1fs" %
           (len(confirmed), filler.confirmed_mib(), secs))
    h.note("(b) refusal", "HTTP %d in %.2fs: %s" % (up.status, up.seconds, msg))
    h.note("(b) tmpfs at the refusal", "%.1f MiB used, %.1f MiB free" % (used, free))
    if up.status != 507:
        print("NOTE: (b) a full disk gives HTTP %d (%r), not 507 with the 'no room' page that "
              "a full quota gives" % (up.status, msg), flush=True)

    serving(h, srv, "(b) with the disk full")
    more = []
    for i in range(3):
        s2, up2 = filler.upload(srv.url)
        check(up2.status != 200, "(b) an upload got a 200 with the disk full (attempt %d)" % i)
        refusal_ok(up2, (507, 500), "(b) another upload with the disk full")
        more.append(up2.status)
    h.note("(b) further uploads with the disk full", "HTTP %s" % more)
    c = relcommon.run_check(h, inst)
    h.note("(b) check with the disk full (server running)", "exit %d, unfinished %d, %s" %
           (c["rc"], c["unfinished"], "ok" if c["ok"] else "problems: %s" % c["problems"]))
    check(c["rc"] == 0 and c["ok"] and not c["problems"],
          "(b) check with the disk full: exit %d\n%s" % (c["rc"], c["out"]))

    h.step("(b) delete the ballast; upload again without a restart")
    pid = srv.proc.pid
    os.unlink(ballast)
    used2, free2 = df_mib(mnt)
    s4, up4 = filler.upload(srv.url)
    check(srv.alive() and srv.proc.pid == pid, "(b) the server is not the same process")
    check(s4.confirmed, "(b) with %.0f MiB free again, an upload got HTTP %d (curl exit %s):\n%s" %
          (free2, up4.status, up4.rc, up4.body.decode("utf-8", "replace")[:1500]))
    h.note("(b) after deleting the ballast (%.0f MiB free)" % free2,
           "a %d MiB upload received in %.2fs, same server process" % (UPLOAD_MIB, up4.seconds))
    c = relcommon.check_clean(h, inst, "(b) after the space came back (server running)", wait=10)
    confirmed = [x for x in filler.sent.values() if x.confirmed]
    check(c["submissions"] == len(confirmed), "(b) check counts %d submissions, %d confirmed" %
          (c["submissions"], len(confirmed)))
    h.note("(b) check after the space came back", "exit 0, ok, unfinished 0, %d submissions" %
           c["submissions"])
    fsz, falloc = store_file_mib(inst)
    h.note("(b) store file", "%.1f MiB long, %.1f MiB allocated" % (fsz, falloc))
    srv.stop()
    relcommon.check_clean(h, inst, "(b) after the stop")
    n = verify_bundle(h, rv, inst, filler, "b")
    h.note("(b) export/import/extract", "%d submissions, all byte-identical; no refused one kept" %
           n)


def test(h):
    check(os.geteuid() == 0, "this test mounts a tmpfs: run it as root")
    relcommon.private_binaries(h)
    rv = harness.Reviewer(h)
    for label, part in (("a", part_a), ("b", part_b)):
        mnt = h.path("tmpfs-" + label)
        mount_tmpfs(h, mnt)
        try:
            part(h, rv, mnt)
        finally:
            stop_servers_under(h, mnt)
            umount(mnt)
            shutil.rmtree(mnt, ignore_errors=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        # CTest reports exit 77 as skipped (SKIP_RETURN_CODE in CMakeLists.txt).
        print("full_disk: SKIP: mounting a tmpfs needs root")
        raise SystemExit(77)
    harness.Harness("full_disk", __doc__).main(test)
