#!/usr/bin/python3
"""sealdrop-review shell: one unlock for a working session.

The shell unlocks the key once; the passphrase file is then removed, and
list, show of several ids, extract and reply still work, which they could
not if any of them unlocked the key again. Errors (an unknown command, an
unknown id, an open quote, a line over 64 KiB) are reported and the shell
goes on. With --idle 1 and no command, the shell wipes the key and exits by
itself; at the end of input it exits 0."""
import json
import os
import re
import subprocess
import time

import harness
from harness import check


def test(h):
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    srv = inst.server().start()
    doc = h.path("doc.bin")
    with open(doc, "wb") as f:
        f.write(os.urandom(50_000))
    for i in range(3):
        h.submit_ok(srv.url, "tip %d" % i, [(doc, "doc.bin")])
    srv.stop()
    check(inst.export(h.path("b.sdb")) == 3, "the export did not take 3 submissions")
    vault = h.path("vault")
    rv.import_(h.path("b.sdb"), vault, extra=["--instance-fingerprint", inst.fingerprint],
               expect=0)
    ids = [s["id"] for s in rv.list(vault)]

    h.step("one unlock, then the passphrase file is gone")
    pass_copy = h.path("once.pass")
    with open(rv.passfile) as f, open(pass_copy, "w") as g:
        g.write(f.read())
    os.chmod(pass_copy, 0o600)
    p = subprocess.Popen([h.review_bin, "shell", "--vault", vault, "--key", rv.key,
                          "--passphrase-file", pass_copy], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stderr.readline().decode()
    check("unlocked for this shell" in first, "the shell did not say the key is unlocked: %r" %
          first)
    os.unlink(pass_copy)
    # The unlocked key is in this process: no core dump may ever hold it.
    limits = open("/proc/%d/limits" % p.pid).read()
    check(re.search(r"^Max core file size\s+0\s+0\s", limits, re.M),
          "the shell may still dump core:\n" + limits)
    out = h.path("out")
    reply = h.path("reply.txt")
    with open(reply, "w") as f:
        f.write("thank you")
    script = "\n".join([
        "help",
        "list --json",
        "bogus",
        "show 0123456789ab",
        'show "unclosed',
        "x" * (70 << 10),
        "show %s --json" % " ".join(ids),
        "extract %s --out '%s'" % (ids[0][:10], out),
        "reply %s --message-file %s" % (ids[1], reply),
        "quit",
        "show %s" % ids[0],  # after quit: never run
    ]) + "\n"
    t0 = time.monotonic()
    stdout, stderr = p.communicate(script.encode(), timeout=120)
    secs = time.monotonic() - t0
    stdout, stderr = stdout.decode(), first + stderr.decode()
    check(p.returncode == 0, "the shell exited %d:\n%s" % (p.returncode, stderr))
    for want in ("unknown command 'bogus'", "no submission 0123456789ab",
                 "a quote is not closed", "longer than 64 KiB"):
        check(want in stderr, "the shell did not report %r:\n%s" % (want, stderr))
    check("passphrase" not in stderr.split("\n", 1)[1],
          "a command asked for the passphrase again:\n" + stderr)
    # list --json and show --json print JSON documents, each starting a line.
    dec = json.JSONDecoder()
    docs, at = [], 0
    while at < len(stdout):
        if stdout[at] in "[{":
            obj, at = dec.raw_decode(stdout, at)
            docs.append(obj)
        nl = stdout.find("\n", at)
        at = len(stdout) if nl < 0 else nl + 1
    check(len(docs) == 2, "the shell printed %d JSON documents, not 2:\n%s" % (len(docs), stdout))
    check("extract <id>... --out DIR" in stdout, "help printed no commands:\n" + stdout)
    listed, shown = docs[0], docs[1]
    check(sorted(s["id"] for s in listed) == sorted(ids), "list in the shell: %s" % listed)
    check(sorted(s["message"] for s in shown) == ["tip 0", "tip 1", "tip 2"],
          "show of three ids in the shell: %s" % shown)
    check(sorted(os.listdir(out)) == ["doc.bin", "message.txt"],
          "extract in the shell wrote %s" % os.listdir(out))
    check(harness.sha256_file(os.path.join(out, "doc.bin")) == harness.sha256_file(doc),
          "the file extracted in the shell differs")
    check(re.search(r"^reply [0-9a-f]{32} to the source of %s queued" % ids[1], stdout, re.M),
          "reply in the shell queued nothing:\n" + stdout + stderr)
    check(stdout.count('"message"') == 3, "a command after quit ran:\n" + stdout)
    h.note("shell", "one unlock: list, show of 3, extract, reply and 4 refused lines in %.2fs"
           % secs)

    h.step("idle: the key is wiped and the shell exits by itself")
    p = subprocess.Popen([h.review_bin, "shell", "--vault", vault, "--key", rv.key,
                          "--passphrase-file", rv.passfile, "--idle", "1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        check(False, "the shell did not exit after --idle 1")
    idle = time.monotonic() - t0
    err = p.stderr.read().decode()
    p.stdin.close()
    check(p.returncode == 0 and "the key is wiped" in err,
          "the idle shell exited %d:\n%s" % (p.returncode, err))
    h.note("idle", "--idle 1: exited by itself after %.1fs, saying the key is wiped" % idle)


if __name__ == "__main__":
    harness.Harness("shell", __doc__).main(test)
