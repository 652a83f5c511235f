#!/usr/bin/python3
"""A lost or damaged bundle must not strand its submissions.

`export` takes only what was never exported, so once a bundle is lost its
submissions stay on the server with no way to send them again. `export
--resend` exports every submission the server still holds (until reviewers
acknowledge imports, that is everything exported but not acknowledged); the
vault skips what it already has."""
import os
import re
import time

import harness
from harness import check


def held(h, inst):
    """check's 'held, by day received' lines, as [(day, count, not exported, age)]."""
    r = h.run([h.server_bin, "check", inst.dir], expect=0)
    return [(m.group(1), int(m.group(2)), int(m.group(3) or 0), m.group(4))
            for m in re.finditer(r"^  (\d{4}-\d\d-\d\d): (\d+)(?:, (\d+) not exported)? \((.+)\)$",
                                 r.stdout, re.M)]


def test(h):
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    srv = inst.server().start()
    body = os.urandom(300_000)
    doc = h.path("evidence.bin")
    with open(doc, "wb") as f:
        f.write(body)
    for i in range(3):
        h.submit_ok(srv.url, "submission %d" % i, [(doc, "evidence.bin")])

    today = time.strftime("%Y-%m-%d", time.gmtime())
    got = held(h, inst)
    check(got == [(today, 3, 3, "today")], "check before the export says %s" % got)

    h.step("the first bundle is exported, then lost")
    check(inst.export(h.path("lost.sdb")) == 3, "the first export did not take all 3")
    os.unlink(h.path("lost.sdb"))
    check(inst.export(h.path("empty.sdb")) == 0, "a plain export repeated what was exported")
    # Exported is not gone: all three still wait on the server.
    got = held(h, inst)
    check(got == [(today, 3, 0, "today")], "check after the export says %s" % got)

    h.step("export --resend, damaged on the way")
    r = h.run([h.server_bin, "export", inst.dir, "--out", h.path("damaged.sdb"), "--resend"],
              expect=0)
    check("exported 3 submissions" in r.stdout, "export --resend did not take all 3:\n" + r.stdout)
    with open(h.path("damaged.sdb"), "r+b") as f:
        f.seek(os.path.getsize(h.path("damaged.sdb")) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x40]))
    vault = h.path("vault")
    fp = ["--instance-fingerprint", inst.fingerprint]
    rv.import_(h.path("damaged.sdb"), vault, extra=fp, expect=1)

    h.step("export --resend again, while the server keeps serving")
    h.submit_ok(srv.url, "a fourth, after the loss", [(doc, "evidence.bin")])
    r = h.run([h.server_bin, "export", inst.dir, "--out", h.path("resent.sdb"), "--resend"],
              expect=0)
    check("exported 4 submissions" in r.stdout, "export --resend did not take all 4:\n" + r.stdout)
    rv.import_(h.path("resent.sdb"), vault, extra=fp, expect=0)
    listing = rv.list(vault)
    check(len(listing) == 4, "the vault holds %d submissions, not 4" % len(listing))
    out = h.path("out")
    paths = rv.extract(listing[0]["id"], vault, out)
    got = [p for p in paths if p.endswith("evidence.bin")]
    check(got and open(got[0], "rb").read() == body, "the resent file did not come out whole")

    h.step("the same bundle again, and a plain export after the resend")
    rv.import_(h.path("resent.sdb"), vault, extra=fp, expect=0)
    check(len(rv.list(vault)) == 4, "importing the resent bundle twice made duplicates")
    check(inst.export(h.path("after.sdb")) == 0, "a plain export after --resend repeated them")
    srv.stop()
    h.note("resend", "3 lost, 4 resent through one damaged bundle, each imported once")


if __name__ == "__main__":
    harness.Harness("resend", __doc__).main(test)
