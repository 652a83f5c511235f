#!/usr/bin/python3
"""A killed sealdrop-review import: SIGKILL while it writes into the vault,
then the same bundle again must import every submission exactly once (the
interrupted import's pending submissions are swept, not left to block their
ids for good). And a second import into a vault that one is writing to is
refused, rather than sweeping the first one's work from under it.
"""
import fcntl
import os
import shutil
import signal
import subprocess
import time

import harness
from harness import check, fail

FILE_MIB = 40       # per submission: the import of three takes a moment
KILL_AT_MIB = 12    # vault bytes written before the kill: past several chunk writes
ATTEMPTS = 8


def import_args(h, rv, bundle, vault, fingerprint):
    return [h.review_bin, "import", bundle, "--vault", vault, "--key", rv.key,
            "--passphrase-file", rv.passfile, "--instance-fingerprint", fingerprint]


def start_import(h, rv, bundle, vault, fingerprint):
    return subprocess.Popen(import_args(h, rv, bundle, vault, fingerprint),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=harness._die_with_parent)


def wait_until_writing(proc, vault):
    """Polls until the import has put KILL_AT_MIB into the vault's file (so it
    has pending submissions with chunks). False if it finished first."""
    data = os.path.join(vault, "data.mdb")
    while proc.poll() is None:
        try:
            if os.path.getsize(data) >= KILL_AT_MIB << 20:
                return True
        except FileNotFoundError:
            pass
        time.sleep(0.001)
    return False


def has_pending(vault):
    """Whether the vault's file holds a pending mark (FORMAT.md: `SDPE`, version)."""
    return bool(harness.file_contains(os.path.join(vault, "data.mdb"), [b"SDPE\x01"]))


def test(h):
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    fp = inst.fingerprint

    h.step("three submissions of %d MiB, one bundle" % FILE_MIB)
    srv = inst.server().start()
    originals = {}
    for i in range(3):
        path = h.path("file%d.bin" % i)
        originals["kill %d" % i] = (path, harness.write_random_file(path, FILE_MIB))
        h.submit_ok(srv.url, "kill %d" % i, [(path, "file%d.bin" % i)])
    srv.stop()
    bundle = h.path("bundle.sdb")
    check(inst.export(bundle) == 3, "the bundle should hold 3 submissions")

    h.step("KilledImportDoesNotBlockTheBundle: SIGKILL an import while it writes")
    vault = h.path("vault")
    for attempt in range(1, ATTEMPTS + 1):
        shutil.rmtree(vault, ignore_errors=True)  # an earlier attempt's vault
        proc = start_import(h, rv, bundle, vault, fp)
        writing = wait_until_writing(proc, vault)
        if writing:
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        if writing and proc.returncode == -signal.SIGKILL:
            break
        h.note("attempt %d" % attempt, "import ended (exit %s) before the kill" % proc.returncode)
    else:
        fail("in %d attempts the import never ran long enough to be killed while writing" %
             ATTEMPTS)
    check(rv.list(vault) == [], "the killed import made submissions visible: %s" % rv.list(vault))
    check(has_pending(vault), "the killed import left no pending mark in the vault; "
          "the kill came too early to test anything")
    h.note("killed", "attempt %d, with %.0f MiB in the vault, pending marks present" %
           (attempt, os.path.getsize(os.path.join(vault, "data.mdb")) / 2**20))

    h.step("the same bundle again")
    r = h.run(import_args(h, rv, bundle, vault, fp))
    check(r.returncode == 0, "importing the bundle again after the kill: exit %d, expected 0\n"
          "stdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout, r.stderr))
    check("imported 3 submissions (0 already in the vault)" in r.stdout,
          "the second import did not import all 3:\n" + r.stdout)
    check("interrupted import left unfinished" in r.stderr,
          "the second import did not say it removed the interrupted one's leftovers:\n" + r.stderr)
    subs = rv.list(vault)
    ids = [s["id"] for s in subs]
    check(len(ids) == 3 and len(set(ids)) == 3,
          "list shows %d entries (%d distinct), expected each of 3 exactly once: %s" %
          (len(ids), len(set(ids)), ids))
    by_msg = {rv.show(sid, vault)["message"]: sid for sid in ids}
    check(sorted(by_msg) == sorted(originals), "the vault holds messages %s, expected %s" %
          (sorted(by_msg), sorted(originals)))
    out = h.path("out")
    rv.extract(by_msg["kill 1"], vault, out)
    path, digest = originals["kill 1"]
    check(harness.sha256_file(os.path.join(out, "file1.bin")) == digest,
          "the extracted file1.bin differs from the one sent")
    h.note("after the kill", "import again: exit 0, 3 submissions once each, extract byte-identical")

    h.step("SecondImportRefusedWhileOneWrites: a held vault lock")
    lock_path = os.path.join(vault, "write.lock")
    check(os.path.exists(lock_path), "the vault has no write.lock")
    with open(lock_path, "r+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = h.run(import_args(h, rv, bundle, vault, fp))
    check(r.returncode == 2, "an import while the vault is locked: exit %d, expected 2\n%s" %
          (r.returncode, r.stderr))
    check(r.stderr.startswith("sealdrop-review: error: another sealdrop-review import is writing"),
          "the refusal does not say another import is writing:\n" + r.stderr)
    check("sealdrop-review: hint:" in r.stderr, "the refusal has no hint:\n" + r.stderr)
    check(sorted(s["id"] for s in rv.list(vault)) == sorted(ids),
          "the refused import changed the vault")

    h.step("SecondImportRefusedWhileOneWrites: a real import, stopped while it writes")
    vault2 = h.path("vault2")
    first = None
    for attempt in range(1, ATTEMPTS + 1):
        shutil.rmtree(vault2, ignore_errors=True)  # an earlier attempt's vault
        first = start_import(h, rv, bundle, vault2, fp)
        if wait_until_writing(first, vault2):
            first.send_signal(signal.SIGSTOP)
            break
        first.communicate()
    else:
        fail("in %d attempts the import never ran long enough to be stopped while writing" %
             ATTEMPTS)
    try:
        # A second import that waited for the stopped one would wait for ever.
        r = h.run(import_args(h, rv, bundle, vault2, fp), timeout=60)
    finally:
        first.send_signal(signal.SIGCONT)
    out1, err1 = first.communicate(timeout=300)
    check(r.returncode == 2 and "another sealdrop-review import is writing" in r.stderr,
          "a second import while one writes: exit %d, expected 2 and a refusal\n%s" %
          (r.returncode, r.stderr))
    check(first.returncode == 0, "the first import failed after a second one ran (exit %d):\n%s" %
          (first.returncode, err1.decode("utf-8", "replace")))
    check(len(rv.list(vault2)) == 3, "the first import left %d submissions, expected 3" %
          len(rv.list(vault2)))
    h.note("concurrent", "second import refused (exit 2), the first completed all 3")


if __name__ == "__main__":
    harness.Harness("import_kill", __doc__).main(test)
