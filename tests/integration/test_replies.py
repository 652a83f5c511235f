#!/usr/bin/python3
"""Replies reach the source: the reviewer seals one with `sealdrop-review
reply`, writes a signed outbox, and `sealdrop-server import-outbox` stores it;
the source reads it after logging in, and deletes it.

Proves the refusals, each changing nothing: an altered outbox, one cut short,
one with its signature zeroed, one for another instance, one signed by a key
the config does not list, a replay, one out of order. And that a source sees
only replies sealed to their own codename, deletes only their own, and that
no reply's text reaches the server's disk, its output, or (once the source
logged out) its memory. Then the reviewer replaces the signing key
(`rotate --signing-key`, `set-key --signing`): the replies and
acknowledgements the old key signed still count, an outbox it signed is
refused, and the new key's first outbox imports."""
import html
import os
import re

import harness
from harness import check
from test_sources import Visitor, first_submission

TEXT_A = ("Thank you. Are you still in Istanbul?\n"
          "Ответьте, пожалуйста: <b>когда</b> было слушание? & \"quotes\" 'too'\n")
TEXT_B = "We received your documents, B. Do not travel until we write again."
TEXT_A2 = "A second reply to A: the lawyer will need the CCF's letter."
TEXT_B2 = "B, this reply is signed with the reviewer's new key."


def confirm(v, words, asked):
    w = words.split(" ")
    st, hd, body = v.post("/confirm?lang=en", ["-d", "w1=%s&w2=%s" % (w[asked[0] - 1],
                                                                   w[asked[1] - 1])])
    check(st == 200 and b"Your conversation" in body, "confirming failed: %d" % st)


def login(h, url, name, words):
    v = Visitor(h, url, name)
    v.get("/")
    st, hd, body = v.post("/login?lang=en", ["--data-urlencode", "codename=" + words])
    check(st == 200 and b"Your conversation" in body, "log-in failed: %d" % st)
    return v, body


def shown(body):
    """The readable replies on a conversation page, as text, and their ids."""
    texts = [html.unescape(t.decode()) for t in
             re.findall(rb'<p class="reply-text" dir="auto">(.*?)</p>', body, re.S)]
    ids = [i.decode() for i in re.findall(rb'name="id" value="([0-9a-f]{32})"', body)]
    return texts, ids


def refused(h, inst, path, what, expect_rc, needle):
    r = inst.import_outbox(path)
    out = r.stdout + r.stderr
    check(r.returncode == expect_rc and needle in out,
          "%s: import-outbox exit %d (want %d, %r):\n%s" % (what, r.returncode, expect_rc,
                                                            needle, out))
    check(inst.replies() == replies_before[0], "%s changed the stored replies" % what)
    h.note("refused: " + what, out.strip().splitlines()[0])


replies_before = [0]


def test(h):
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    config = open(inst.config_path).read()
    check(re.search(r'^signing = [\'"]sdsig1:', config, re.M),
          "init did not list the reviewer's signing key:\n" + config)
    srv = inst.server().start()
    doc = h.path("evidence.bin")
    with open(doc, "wb") as f:
        f.write(os.urandom(20_000))

    h.step("two sources submit and confirm their codenames")
    a = Visitor(h, srv.url, "a")
    words_a, asked = first_submission(h, a, "first message from A", doc)
    confirm(a, words_a, asked)
    b = Visitor(h, srv.url, "b")
    words_b, asked = first_submission(h, b, "first message from B", doc)
    confirm(b, words_b, asked)

    h.step("the reviewer imports them and replies to A")
    bundle, vault = h.path("b.sdb"), h.path("vault")
    inst.export(bundle)
    rv.import_(bundle, vault, extra=["--instance-fingerprint", inst.fingerprint], expect=0)
    ids = {rv.show(s["id"], vault)["message"]: s["id"] for s in rv.list(vault)}
    reply_a = rv.reply(ids["first message from A"], vault, TEXT_A)
    check(isinstance(reply_a, str), "reply failed:\n%s" % getattr(reply_a, "stderr", reply_a))
    o1 = h.path("o1.sdo")
    r = rv.outbox(vault, o1)
    check("outbox 1 for instance" in r.stdout and "1 replies and 2 acknowledgements" in r.stdout,
          "outbox 1:\n" + r.stdout)
    r = rv.outbox(vault, h.path("empty.sdo"), expect=2)
    check("nothing waits for an outbox" in r.stderr, "an outbox with nothing queued:\n" + r.stderr)

    h.step("import-outbox refuses what it must, changing nothing")
    data = open(o1, "rb").read()
    variants = {
        "altered": data[:200] + bytes([data[200] ^ 1]) + data[201:],
        "cut short": data[:-64],
        "signature zeroed": data[:-64] + b"\0" * 64,
        "not an outbox": b"SEALDROP" + data[8:],
    }
    for what, blob in variants.items():
        p = h.path("bad-%s.sdo" % what.replace(" ", "-"))
        with open(p, "wb") as f:
            f.write(blob)
        refused(h, inst, p, what, 1 if what != "not an outbox" else 2,
                "not a sealdrop outbox" if what == "not an outbox" else "nothing was imported")
    other = harness.Instance(h, "other-instance", rv.pub)
    r = other.import_outbox(o1)
    check(r.returncode == 1 and "not this one" in r.stderr and other.replies() == 0,
          "an outbox for another instance: exit %d\n%s" % (r.returncode, r.stderr))
    h.note("refused: for another instance", r.stderr.strip().splitlines()[0])
    with open(inst.config_path, "w") as f:
        f.write(re.sub(r'^signing = .*\n', "", config, flags=re.M))
    refused(h, inst, o1, "signed by a key the config does not list", 1, "no reviewer's signing key")
    with open(inst.config_path, "w") as f:
        f.write(config)

    h.step("outbox 1 is imported once; a replay and an outbox out of order are refused")
    r = inst.import_outbox(o1, expect=0)
    check("imported outbox 1" in r.stdout and "1 replies" in r.stdout, r.stdout)
    check(inst.replies() == 1, "one reply imported, check counts %d" % inst.replies())
    replies_before[0] = 1
    refused(h, inst, o1, "a replay", 2, "imported before")
    reply_b = rv.reply(ids["first message from B"], vault, TEXT_B)
    o2 = h.path("o2.sdo")
    rv.outbox(vault, o2)
    reply_a2 = rv.reply(ids["first message from A"], vault, TEXT_A2)
    o3 = h.path("o3.sdo")
    rv.outbox(vault, o3)
    refused(h, inst, o3, "out of order", 2, "expects number 2")
    o2b = h.path("o2-again.sdo")
    rv.outbox(vault, o2b, extra=["--again", "2"])
    check(open(o2b, "rb").read() == open(o2, "rb").read(),
          "outbox --again 2 did not write outbox 2 again")
    inst.import_outbox(o2b, expect=0)
    inst.import_outbox(o3, expect=0)
    check(inst.replies() == 3, "three replies imported, check counts %d" % inst.replies())

    h.step("each source reads only the replies sealed to them")
    a, body = login(h, srv.url, "a2", words_a)
    texts, rids = shown(body)
    check(texts == [TEXT_A, TEXT_A2] or texts == [TEXT_A2, TEXT_A],
          "A's conversation shows %r" % texts)
    check(sorted(rids) == sorted([reply_a, reply_a2]), "A's page names replies %r" % rids)
    check(b"<b>" not in body and b"&lt;b&gt;" in body, "a reply's text is not escaped")
    b, body_b = login(h, srv.url, "b2", words_b)
    texts_b, rids_b = shown(body_b)
    check(texts_b == [TEXT_B] and rids_b == [reply_b], "B's conversation shows %r" % texts_b)

    h.step("a source deletes a reply of theirs, and cannot delete another's")
    st, hd, body = a.post("/reply/delete?lang=en", ["-d", "id=" + reply_a])
    check(st == 200 and b"The reply was deleted" in body, "deleting a reply: %d" % st)
    texts, rids = shown(body)
    check(texts == [TEXT_A2], "after deleting, A's conversation shows %r" % texts)
    st, hd, body = a.post("/reply/delete?lang=en", ["-d", "id=" + reply_b])
    check(st == 200, "deleting another's reply id: %d" % st)
    texts_b, _ = shown(b.get("/inbox?lang=en")[2])
    check(texts_b == [TEXT_B], "A's request deleted B's reply: B sees %r" % texts_b)
    st, hd, body = a.post("/reply/delete?lang=en", ["-d", "id=" + reply_a2], token="0" * 64)
    check(st == 403, "deleting without the form's token: %d" % st)
    check(inst.replies() == 2, "two replies left, check counts %d" % inst.replies())

    h.step("no reply's text on the server's disk, in its output or, after log-out, its memory")
    for v in (a, b):
        v.post("/logout?lang=en", ["-X", "POST", "-H", "Content-Length: 0"])
    needles = [t.encode() for t in (TEXT_A, TEXT_B, TEXT_A2)] + \
              [html.escape(t, quote=True).encode()[:40] for t in (TEXT_A, TEXT_B, TEXT_A2)] + \
              [b"the lawyer will need", "слушание".encode()]
    # Sanitizer builds keep heaps of their own, and reading their shadow
    # memory through /proc faults it in until the kernel kills the server.
    if os.environ.get("SEALDROP_SANITIZED") != "1":
        hits = harness.search_memory(srv.proc.pid, needles)
        check(not hits, "the server's memory still holds a reply's text: %r" % hits)
    srv.stop()
    hits = harness.search_tree(inst.dir, needles)
    check(not hits, "the instance directory holds a reply's text: %r" % hits)
    log = open(srv.log_path, "rb").read()
    check(not any(n in log for n in needles), "the server's output holds a reply's text")

    h.step("a new signing key: what the old one signed still counts, its outboxes do not")
    with open(rv.sign + ".pub") as f:
        old_sig = f.read().strip()
    r = h.run([h.review_bin, "rotate", "--signing-key", rv.sign, "--passphrase-file",
               rv.passfile], expect=0)
    with open(rv.sign + ".pub") as f:
        new_sig = f.read().strip()
    check(new_sig.startswith("sdsig1:") and new_sig != old_sig and new_sig in r.stdout,
          "rotate --signing-key:\n" + r.stdout)
    check(os.stat(rv.sign).st_mode & 0o777 == 0o600, "the new signing key is not mode 0600")
    name = re.search(r'^name = [\'"](.*)[\'"]$', config, re.M).group(1)
    r = h.run([h.server_bin, "set-key", inst.dir, "--name", name, "--signing", rv.sign + ".pub"],
              expect=0)
    with open(inst.config_path) as f:
        now = f.read()
    retired = 'retired_signing = ["%s"]\n' % old_sig
    check(re.search(r'^signing = [\'"]%s[\'"]$' % new_sig, now, re.M) and retired in now and
          now.replace(retired, "").replace(new_sig, old_sig) == config,
          "set-key --signing changed more than the signing line:\n" + now)
    r = h.run([h.server_bin, "set-key", inst.dir, "--name", name, "--signing", old_sig], expect=2)
    check("retired" in r.stderr, "set-key brought back a retired signing key:\n" + r.stderr)
    replies_before[0] = inst.replies()
    refused(h, inst, o3, "signed by a retired key", 1, "retired")
    r = h.run([h.server_bin, "check", inst.dir])
    check("no longer in config.toml" not in r.stdout,
          "the retired key's acknowledgements no longer count:\n" + r.stdout)
    rv.reply(ids["first message from B"], vault, TEXT_B2)
    o4 = h.path("o4.sdo")
    r = rv.outbox(vault, o4)
    check("outbox 1 for instance" in r.stdout, "the new key's first outbox:\n" + r.stdout)
    inst.import_outbox(o4, expect=0)
    srv = inst.server("rotated-signing").start()
    b, body_b = login(h, srv.url, "b3", words_b)
    texts_b, _ = shown(body_b)
    check(sorted(texts_b) == sorted([TEXT_B, TEXT_B2]),
          "after the rotation B's conversation shows %r" % texts_b)
    srv.stop()
    h.note("signing key rotated", "old replies shown, old outbox refused, new outbox 1 imported")


if __name__ == "__main__":
    h = harness.Harness("replies", __doc__)
    h.main(test)
