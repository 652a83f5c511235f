#!/usr/bin/python3
"""Triage on the laptop: status, star, assignee, outcome and notes.

A case is new until a reviewer changes it; `triage` changes several at once
and adds dated notes; `list --key` shows status, star, assignee and the next
deadline, and filters by them (and by day, without the key); filters that
read the triage without --key are refused. A reply acknowledges: the
deadline moves from "ack by" to "feedback by". `extract --all-new` takes
each case once. The notes are sealed in the vault: none of their text is in
its files."""
import json
import os
import pty
import re
import subprocess
import time

import harness
from harness import check


def review(h, rv, args, vault, expect=0):
    return h.run([h.review_bin] + args + ["--vault", vault, "--key", rv.key,
                                          "--passphrase-file", rv.passfile], expect=expect)


def listing(h, rv, vault, *filters):
    r = review(h, rv, ["list", "--json"] + list(filters), vault)
    return json.loads(r.stdout)


def test(h):
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    srv = inst.server().start()
    for i in range(3):
        h.submit_ok(srv.url, "case %d" % i)
    srv.stop()
    check(inst.export(h.path("b.sdb")) == 3, "the export did not take 3 submissions")
    vault = h.path("vault")
    r = rv.import_(h.path("b.sdb"), vault, extra=["--instance-fingerprint", inst.fingerprint,
                                                   "--json"], expect=0)
    got = json.loads(r.stdout)
    check(got["imported"] == 3 and got["open_with_key"] == 3 and got["newly_trusted"] and
          got["instance"] == inst.fingerprint, "import --json said %s" % got)
    # Not a terminal: no progress line.
    check("\r" not in r.stderr and "importing" not in r.stderr,
          "import drew a progress line on a pipe: %r" % r.stderr)
    ids = sorted(s["id"] for s in rv.list(vault))
    # On a terminal, import draws a progress line on standard error.
    master, slave = pty.openpty()
    r = subprocess.run([h.review_bin, "import", h.path("b.sdb"), "--vault", h.path("vault-tty"),
                        "--key", rv.key, "--passphrase-file", rv.passfile,
                        "--instance-fingerprint", inst.fingerprint],
                       stdout=subprocess.PIPE, stderr=slave, timeout=120)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    check(r.returncode == 0 and re.search(rb"\rimporting .*: +\d+% \(", drawn),
          "import on a terminal drew no progress line: %r" % drawn[:300])
    today = time.strftime("%Y-%m-%d", time.gmtime())
    ack_by = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))

    h.step("a case is new until changed")
    t = json.loads(review(h, rv, ["triage", ids[0], "--json"], vault).stdout)
    check(t["status"] == "new" and not t["starred"] and t["notes"] == [] and
          t["ack_due"] == ack_by and not t["overdue"], "a fresh case: %s" % t)

    h.step("status, star, assignee, outcome and a note at once, on two cases")
    secret_note = "met the lawyer at the café on Rue " + os.urandom(6).hex()
    r = review(h, rv, ["triage", ids[0], ids[1], "--status", "in-progress", "--star",
                       "--assign", "Amina", "--outcome", "pending at the CCF",
                       "--note", secret_note, "--json"], vault)
    both = json.loads(r.stdout)
    check(len(both) == 2 and all(x["status"] == "in-progress" and x["starred"] and
                                 x["assignee"] == "Amina" and x["notes"] ==
                                 [{"day": today, "text": secret_note}] for x in both),
          "triage of two cases gave %s" % both)
    review(h, rv, ["triage", ids[1], "--unstar", "--unassign", "--status", "closed"], vault)
    t = json.loads(review(h, rv, ["triage", ids[1], "--json"], vault).stdout)
    check(t["status"] == "closed" and not t["starred"] and t["assignee"] == "" and
          len(t["notes"]) == 1 and t["outcome"] == "pending at the CCF",
          "after unstar, unassign and closing: %s" % t)
    r = review(h, rv, ["triage", ids[2], "--status", "done"], vault, expect=2)
    check("in-progress" in r.stderr, "a bad status gave no hint:\n" + r.stderr)

    h.step("list: columns and filters")
    r = review(h, rv, ["list"], vault)
    check(re.search(r"^%s .* in-progress +\* +Amina +ack by %s$" % (ids[0], ack_by), r.stdout,
                    re.M), "list --key does not show the triage of the first case:\n" + r.stdout)
    got = {x["id"] for x in listing(h, rv, vault, "--starred")}
    check(got == {ids[0]}, "--starred lists %s" % got)
    got = {x["id"] for x in listing(h, rv, vault, "--status", "new")}
    check(got == {ids[2]}, "--status new lists %s" % got)
    got = {x["id"] for x in listing(h, rv, vault, "--assignee", "Amina")}
    check(got == {ids[0]}, "--assignee Amina lists %s" % got)
    check(listing(h, rv, vault, "--overdue") == [], "a case received today is overdue")
    got = {x["id"] for x in listing(h, rv, vault, "--from", today, "--to", today)}
    check(got == set(ids), "--from/--to today lists %s" % got)
    check(listing(h, rv, vault, "--to", "2000-01-01") == [], "--to 2000-01-01 lists cases")
    r = h.run([h.review_bin, "list", "--vault", vault, "--starred"], expect=2)
    check("need --key" in r.stderr, "--starred without --key:\n" + r.stderr)
    r = h.run([h.review_bin, "list", "--vault", vault, "--from", "2026-02-30"], expect=2)
    check("--from takes a day" in r.stderr, "an impossible day:\n" + r.stderr)

    h.step("a reply acknowledges")
    rv.reply(ids[2], vault, "we have your report")
    r = review(h, rv, ["list"], vault)
    check(re.search(r"^%s .* new +feedback by \d{4}-\d\d-\d\d$" % ids[2], r.stdout, re.M),
          "after a reply the case is not acknowledged:\n" + r.stdout)

    h.step("extract --all-new takes each case once")
    out = h.path("new", "cases")
    r = review(h, rv, ["extract", "--all-new", "--out", out], vault)
    check("\r" not in r.stderr, "extract drew a progress line on a pipe: %r" % r.stderr)
    check(sorted(os.listdir(out)) == ids and "extracted 3 new submissions" in r.stderr,
          "the first --all-new made %s:\n%s" % (sorted(os.listdir(out)), r.stderr))
    check(open(os.path.join(out, ids[0], "message.txt")).read() in ("case 0", "case 1", "case 2"),
          "--all-new wrote no message")
    r = review(h, rv, ["extract", "--all-new", "--out", out], vault)
    check("extracted 0 new submissions" in r.stderr and sorted(os.listdir(out)) == ids,
          "a second --all-new extracted again:\n" + r.stderr)
    t = json.loads(review(h, rv, ["triage", ids[2], "--json"], vault).stdout)
    check(t["extracted"] == today, "triage does not say the case was extracted today: %s" % t)
    review(h, rv, ["extract", "--out", out], vault, expect=2)  # neither ids nor --all-new

    h.step("the notes are sealed at rest")
    leaked = []
    for root, _, files in os.walk(vault):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            for needle in (secret_note, "Amina", "pending at the CCF"):
                if needle.encode() in data:
                    leaked.append("%s in %s" % (needle, name))
    check(not leaked, "triage text in the vault's files: %s" % leaked)
    h.note("triage", "status, star, assignee, outcome and notes on 2 cases at once; list "
           "filters by each; a reply moves 'ack by' to 'feedback by'; --all-new takes each case "
           "once; nothing in clear on disk")


if __name__ == "__main__":
    harness.Harness("triage", __doc__).main(test)
