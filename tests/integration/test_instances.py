#!/usr/bin/python3
"""Two instances behind one address (docs/INSTANCES.md), with the real
binaries over TLS on loopback: they share the recipients and
`codename.params`, and each has its own instance key and store.

Proves: a source who submitted through A logs in through B (the server keeps
no record of sources) and sends a follow-up there; the vault imports both
instances' bundles and holds each submission once (a bundle imported twice
adds nothing); a reply reaches both instances after one round of outboxes;
a reply the source deletes on A is deleted on B by the next round, and the
deletion is not sent back to A; a reply deleted on A before B was sent it is
never sent to B; each instance's acknowledgements go to it
alone and delete its own submissions only."""
import os
import re
import shutil

import harness
from harness import check
from test_replies import confirm, login, shown
from test_sources import Visitor, first_submission

TEXT = "We read it. Through either address, this reply is the same."
TEXT2 = "A second reply, which the source deletes before B is sent it."


def submissions(inst):
    r = inst.h.run([inst.h.server_bin, "check", inst.dir], expect=0)
    m = re.search(r"^submissions: (\d+)", r.stdout, re.M)
    check(m, "check printed no 'submissions:' line:\n" + r.stdout)
    return int(m.group(1))


def test(h):
    rv = harness.Reviewer(h)
    a = harness.Instance(h, "instance-a", rv.pub)
    b = harness.Instance(h, "instance-b", rv.pub)

    h.step("the instances share recipients and codename.params, not their instance keys")
    shutil.copy(os.path.join(a.dir, "codename.params"), os.path.join(b.dir, "codename.params"))
    os.chmod(os.path.join(b.dir, "codename.params"), 0o600)
    check(a.fingerprint != b.fingerprint, "the two instances have the same instance key")
    recipients = [re.findall(r"^recipient .*$", i.check()[1], re.M) for i in (a, b)]
    check(recipients[0] and recipients[0] == recipients[1],
          "the instances seal to different recipients: %r" % recipients)
    srv_a = a.server("a").start()
    srv_b = b.server("b").start()
    doc = h.path("evidence.bin")
    with open(doc, "wb") as f:
        f.write(os.urandom(5000))

    h.step("a source submits through A and logs in through B")
    v = Visitor(h, srv_a.url, "source-a")
    words, asked = first_submission(h, v, "first message, through A", doc)
    confirm(v, words, asked)
    vb, body = login(h, srv_b.url, "source-b", words)
    check(shown(body) == ([], []), "B shows replies before any was written")
    st, hd, body = vb.post("/submit?lang=en", ["--form-string", "message=follow-up, through B"])
    check(st == 200, "a follow-up through B failed: %d" % st)

    h.step("the vault imports both instances' bundles and holds each submission once")
    vault = h.path("vault")
    ba1, bb1 = h.path("a1.sdb"), h.path("b1.sdb")
    check(a.export(ba1) == 1 and b.export(bb1) == 1, "each instance exports its one submission")
    rv.import_(ba1, vault, extra=["--instance-fingerprint", a.fingerprint], expect=0)
    rv.import_(bb1, vault, extra=["--instance-fingerprint", b.fingerprint], expect=0)
    r = rv.import_(ba1, vault, expect=0)
    check("imported 0 submissions (1 already in the vault)" in r.stdout,
          "a bundle imported twice:\n" + r.stdout)
    subs = rv.list(vault)
    check(len(subs) == 2, "the vault holds %d submissions, not 2" % len(subs))
    shown_subs = {rv.show(s["id"], vault)["message"]: rv.show(s["id"], vault) for s in subs}
    check(set(shown_subs) == {"first message, through A", "follow-up, through B"},
          "the vault holds %r" % sorted(shown_subs))
    keys = {s["reply_key"] for s in shown_subs.values()}
    check(len(keys) == 1, "the two submissions name different reply keys: one codename, "
                          "one source, on both instances")

    h.step("a reply reaches both instances after one round of outboxes")
    first = shown_subs["first message, through A"]["id"]
    reply = rv.reply(first, vault, TEXT)
    check(isinstance(reply, str), "reply failed")
    oa1, ob1 = h.path("a1.sdo"), h.path("b1.sdo")
    r = rv.outbox(vault, oa1, extra=["--instance-fingerprint", a.fingerprint])
    check("1 replies and 1 acknowledgements" in r.stdout, "outbox for A:\n" + r.stdout)
    r = rv.outbox(vault, ob1, extra=["--instance-fingerprint", b.fingerprint])
    check("1 replies and 1 acknowledgements" in r.stdout, "outbox for B:\n" + r.stdout)
    # Each outbox is for its own instance only.
    r = b.import_outbox(oa1)
    check(r.returncode != 0 and "not this one" in r.stderr, "B took A's outbox:\n" + r.stderr)
    a.import_outbox(oa1, expect=0)
    b.import_outbox(ob1, expect=0)
    check(a.replies() == 1 and b.replies() == 1,
          "replies held: A %d, B %d" % (a.replies(), b.replies()))
    for url, name in ((srv_a.url, "read-a"), (srv_b.url, "read-b")):
        _, body = login(h, url, name, words)
        texts, ids = shown(body)
        check(texts == [TEXT] and ids == [reply], "%s shows %r" % (name, texts))
    r = rv.outbox(vault, h.path("a-none.sdo"), extra=["--instance-fingerprint", a.fingerprint],
                  expect=2)
    check("nothing waits" in r.stderr, "a second outbox for A had something:\n" + r.stderr)

    h.step("a reply deleted through A is deleted on B by the next round")
    va, body = login(h, srv_a.url, "delete-a", words)
    st, hd, body = va.post("/reply/delete?lang=en", ["-d", "id=" + reply])
    check(st == 200 and shown(body) == ([], []), "deleting on A: %d" % st)
    check(a.replies() == 0 and b.replies() == 1,
          "after deleting on A: A holds %d, B %d" % (a.replies(), b.replies()))
    out = a.check()[1]
    check("replies their sources deleted, named in every bundle until they would have expired: 1"
          in out, "check on A does not count the deletion kept for its bundles:\n" + out)
    ba2 = h.path("a2.sdb")
    r = h.run([h.server_bin, "export", a.dir, "--out", ba2], expect=0)
    check("with 1 replies sources deleted here" in r.stdout, "A's next export:\n" + r.stdout)
    r = rv.import_(ba2, vault, expect=0)
    check("1 replies were deleted by their sources there" in r.stdout,
          "importing A's bundle with the deletion:\n" + r.stdout)
    ob2 = h.path("b2.sdo")
    r = rv.outbox(vault, ob2, extra=["--instance-fingerprint", b.fingerprint])
    check("it deletes 1 replies" in r.stdout, "outbox 2 for B:\n" + r.stdout)
    r = b.import_outbox(ob2, expect=0)
    check("1 replies deleted, as their sources asked through another instance" in r.stdout,
          "B importing the deletion:\n" + r.stdout)
    check(b.replies() == 0, "B still holds %d replies" % b.replies())
    _, body = login(h, srv_b.url, "after-b", words)
    check(shown(body) == ([], []), "B still shows the deleted reply")
    # Not sent back to A, where the source deleted it; and a bundle that
    # carries it again notes nothing new.
    r = rv.outbox(vault, h.path("a-none2.sdo"), extra=["--instance-fingerprint", a.fingerprint],
                  expect=2)
    check("nothing waits" in r.stderr, "the deletion went back to A:\n" + r.stdout + r.stderr)
    r = rv.import_(ba2, vault, expect=0)
    check("replies were deleted" not in r.stdout, "a deletion was noted twice:\n" + r.stdout)

    h.step("a reply deleted before B was sent it is never sent to B")
    second = rv.reply(first, vault, TEXT2)
    oa2 = h.path("a2.sdo")
    r = rv.outbox(vault, oa2, extra=["--instance-fingerprint", a.fingerprint])
    check("outbox 2 for instance" in r.stdout and "1 replies" in r.stdout, "outbox 2 for A:\n" +
          r.stdout)
    a.import_outbox(oa2, expect=0)
    va, body = login(h, srv_a.url, "delete-a2", words)
    check(shown(body)[1] == [second], "A does not show the second reply")
    st, hd, body = va.post("/reply/delete?lang=en", ["-d", "id=" + second])
    check(st == 200 and shown(body) == ([], []), "deleting the second reply on A: %d" % st)
    ba3 = h.path("a3.sdb")
    r = h.run([h.server_bin, "export", a.dir, "--out", ba3], expect=0)
    check("with 2 replies sources deleted here" in r.stdout, "A's third export:\n" + r.stdout)
    r = rv.import_(ba3, vault, expect=0)
    check("1 replies were deleted by their sources there" in r.stdout,
          "importing A's third bundle:\n" + r.stdout)
    r = rv.outbox(vault, h.path("b-none.sdo"), extra=["--instance-fingerprint", b.fingerprint],
                  expect=2)
    check("nothing waits" in r.stderr, "B was sent a reply already deleted:\n" + r.stdout +
          r.stderr)

    h.step("each instance's acknowledgements delete its own submissions only")
    srv_a.stop()
    srv_b.stop()
    for inst in (a, b):
        inst.set_config("ack_grace_days", "0")
    check(submissions(a) == 1 and submissions(b) == 1, "before: A %d, B %d submissions" %
          (submissions(a), submissions(b)))
    srv_a = a.server("a-again").start()
    srv_a.stop()
    check(submissions(a) == 0 and submissions(b) == 1,
          "after A's start: A %d, B %d submissions" % (submissions(a), submissions(b)))
    srv_b = b.server("b-again").start()
    srv_b.stop()
    check(submissions(b) == 0, "after B's start: B holds %d submissions" % submissions(b))
    check(len(rv.list(vault)) == 2, "the vault lost a submission")
    for inst in (a, b):
        rc, out, _ = inst.check()
        check(rc == 0, "check after the round:\n" + out)


if __name__ == "__main__":
    harness.Harness("instances", __doc__).main(test)
