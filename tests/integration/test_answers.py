#!/usr/bin/python3
"""The laptop reads questionnaire answers.

Submissions with answers are written straight into a vault (fill_vault: the
site does not ask the questionnaire yet). Without the questionnaire, `show`
gives the answers as sent with a hint; `questionnaire add` keeps the
definition under its hash (a broken one is refused with its line, and
nothing changes); then `show` gives steps, labels, choice labels and
country names, and --json the structure. `list --key` puts urgent cases
first and says why; `triage --outcome` takes the questionnaire's outcomes
and refuses others with the list, while a case without a questionnaire
keeps free text. The sealed index is built once and reused, rebuilt for a
questionnaire added late and for another reviewer's triage; each reviewer
of a shared vault reads their own. `stats` counts a source once, only
answers the questionnaire offers, and writes CSV and SVG (parsed here).
Nothing of the answers or the outcome is in clear in the vault's files."""
import csv
import hashlib
import io
import json
import os
import sys
import xml.etree.ElementTree as ET

import harness
from harness import check


def take(flag):
    """Our own arguments, before the harness reads the rest."""
    i = sys.argv.index(flag)
    value = sys.argv[i + 1]
    del sys.argv[i:i + 2]
    return os.path.abspath(value)


FILL = take("--fill-vault")
QUESTIONNAIRE = take("--questionnaire")


def review(h, rv, args, vault, expect=0):
    return h.run([h.review_bin] + args + ["--vault", vault, "--key", rv.key,
                                          "--passphrase-file", rv.passfile], expect=expect)


def day(offset):
    import datetime
    return (datetime.date.today() + datetime.timedelta(days=offset)).isoformat()


def test(h):
    rv = harness.Reviewer(h)
    qbytes = open(QUESTIONNAIRE, "rb").read()
    qhash = hashlib.blake2b(qbytes, digest_size=32).hexdigest()
    source = "11" * 32

    def answers(pairs, hash_=qhash):
        return {"questionnaire": "red-notice", "hash": hash_, "list": pairs}

    spec = {"submissions": [
        # 0: detained, hearing in 6 days: urgent, received long ago.
        {"day_offset": -200, "message": "please help", "reply_key": source,
         "answers": answers([["role", ["targeted"]], ["requesting_country", ["RU"]],
                             ["kind", ["red_notice"]], ["detained", ["yes"]],
                             ["hearing_date", [day(6)]],
                             ["offence", ["fraud, they say\nbut it is my newspaper"]],
                             ["contact", ["this_site", "lawyer"]]])},
        # 1: the same source again, not urgent on its own.
        {"day_offset": -1, "message": "an update", "reply_key": source,
         "answers": answers([["role", ["targeted"]], ["detained", ["no"]]])},
        # 2: no questionnaire at all.
        {"day_offset": 0, "message": "just a message"},
        # 3: a hearing 40 days ahead: not urgent yet.
        {"day_offset": -3, "answers": answers([["role", ["targeted"]],
                                               ["hearing_date", [day(40)]]])},
        # 4: answers to a questionnaire the vault will never hold.
        {"day_offset": -2, "answers": answers([["role", ["insider"]],
                                               ["what_documents", ["ledgers"]]], "ab" * 32)},
    ]}
    with open(h.path("spec.json"), "w") as f:
        json.dump(spec, f)
    vault = h.path("vault")
    ids = h.run([FILL, vault, rv.pub, h.path("spec.json")], expect=0).stdout.split()
    check(len(ids) == 5, "fill_vault wrote %s" % ids)

    h.step("without the questionnaire: answers as sent, and a hint")
    r = review(h, rv, ["show", ids[0]], vault)
    check("not in this vault: as sent" in r.stdout and "detained\n      yes" in r.stdout,
          "show without the questionnaire:\n" + r.stdout)
    check("hint:" in r.stderr and "questionnaire add" in r.stderr,
          "no hint to add the questionnaire:\n" + r.stderr)
    # The index is built now, without the questionnaire: nothing is urgent.
    rows = json.loads(review(h, rv, ["list", "--json"], vault).stdout)
    check(len(rows) == 5 and not any(r["urgent"] for r in rows),
          "urgent without the questionnaire: %s" % rows)
    j = json.loads(review(h, rv, ["show", ids[0], "--json"], vault).stdout)
    check(j["answers"]["known"] is False and j["answers"]["fields"][0]["label"] is None and
          j["answers"]["fields"][0]["id"] == "role", "raw --json answers: %s" % j["answers"])

    h.step("questionnaire add refuses a broken file and changes nothing")
    bad = h.path("bad.toml")
    with open(bad, "wb") as f:
        f.write(qbytes.replace(b'country = "requesting_country"', b'country = "detained"'))
    r = h.run([h.review_bin, "questionnaire", "add", bad, "--vault", vault], expect=2)
    check("bad.toml:" in r.stderr and "review.stats: country: 'detained' is a yesno field" in
          r.stderr, "a broken questionnaire was refused without its line:\n" + r.stderr)
    r = h.run([h.review_bin, "questionnaire", "list", "--vault", vault, "--json"], expect=0)
    check(json.loads(r.stdout) == [], "a refused questionnaire was kept: " + r.stdout)

    h.step("questionnaire add, twice; list")
    r = h.run([h.review_bin, "questionnaire", "add", QUESTIONNAIRE, "--vault", vault], expect=0)
    check(qhash in r.stdout, "add did not name the hash: " + r.stdout)
    r = h.run([h.review_bin, "questionnaire", "add", QUESTIONNAIRE, "--vault", vault], expect=0)
    check("already" in r.stdout, "a second add said: " + r.stdout)
    got = json.loads(h.run([h.review_bin, "questionnaire", "list", "--vault", vault, "--json"],
                           expect=0).stdout)
    check(len(got) == 1 and got[0]["hash"] == qhash and got[0]["id"] == "red-notice" and
          got[0]["outcomes"] == 6, "questionnaire list: %s" % got)

    h.step("show renders answers by step, with labels")
    r = review(h, rv, ["show", ids[0]], vault)
    out = r.stdout
    for want in ("URGENT: detained, hearing in 6 days", "== The notice ==",
                 "Which country asked for the notice?", "Russian Federation (RU)",
                 "A red notice", "Only through this site", "but it is my newspaper"):
        check(want in out, "show lacks %r:\n%s" % (want, out))
    check(out.index("== The notice ==") < out.index("== Where you are now =="),
          "steps out of the questionnaire's order:\n" + out)
    check("hint:" not in r.stderr, "a hint with the questionnaire at hand: " + r.stderr)
    j = json.loads(review(h, rv, ["show", ids[0], "--json"], vault).stdout)["answers"]
    by = {f["id"]: f for f in j["fields"]}
    check(j["known"] and j["urgent"] and by["requesting_country"]["type"] == "country" and
          by["requesting_country"]["value_labels"] == ["Russian Federation (RU)"] and
          by["kind"]["label"] == "What kind of notice is it?" and
          by["contact"]["values"] == ["this_site", "lawyer"] and
          by["kind"]["step"] == "notice", "show --json answers: %s" % j)
    r = review(h, rv, ["show", ids[4]], vault)
    check("not in this vault" in r.stdout and "ledgers" in r.stdout and "hint:" in r.stderr,
          "an unknown questionnaire's answers:\n" + r.stdout + r.stderr)

    h.step("list puts urgent cases first and says why (the index rebuilt for the questionnaire)")
    rows = json.loads(review(h, rv, ["list", "--json"], vault).stdout)
    check([r["id"] for r in rows][0] == ids[0] and rows[0]["urgent"] and
          rows[0]["why"] == ["detained", "hearing in 6 days"],
          "list --json did not start with the urgent case: %s" % rows[:2])
    check(sum(1 for r in rows if r["urgent"]) == 1, "other cases marked urgent: %s" % rows)
    r = review(h, rv, ["list"], vault)
    first = r.stdout.splitlines()[1]
    check(first.startswith(ids[0]) and "URGENT: detained, hearing in 6 days" in first,
          "list's first row: %r" % first)
    # Without the key nothing is judged: the plain newest-first order.
    plain = h.run([h.review_bin, "list", "--vault", vault, "--json"], expect=0).stdout
    check(json.loads(plain)[0]["id"] == ids[2] and "urgent" not in plain,
          "list without the key: " + plain)

    h.step("triage --outcome takes the questionnaire's outcomes")
    r = review(h, rv, ["triage", ids[0], "--outcome", "deleted"], vault, expect=2)
    check("'deleted' is not an outcome" in r.stderr and "ccf_pending" in r.stderr and
          "hint:" in r.stderr, "an unknown outcome was not refused with a hint:\n" + r.stderr)
    t = json.loads(review(h, rv, ["triage", ids[0], "--json"], vault).stdout)
    check(t["outcome"] == "", "a refused outcome changed the case: %s" % t)
    # Several ids: one refused leaves the other unchanged too.
    review(h, rv, ["triage", ids[2], ids[0], "--outcome", "nope"], vault, expect=2)
    t = json.loads(review(h, rv, ["triage", ids[2], "--json"], vault).stdout)
    check(t["outcome"] == "", "a refusal for one id changed another: %s" % t)
    r = review(h, rv, ["triage", ids[0], "--outcome", "ccf_pending"], vault)
    check("outcome: ccf_pending (Request pending at the CCF)" in r.stdout,
          "triage did not show the outcome's label:\n" + r.stdout)
    t = json.loads(review(h, rv, ["triage", ids[0], "--json"], vault).stdout)
    check(t["outcome_label"] == "Request pending at the CCF", "triage --json: %s" % t)
    review(h, rv, ["triage", ids[2], "--outcome", "lawyer says the file is closed"], vault)
    t = json.loads(review(h, rv, ["triage", ids[2], "--json"], vault).stdout)
    check(t["outcome"] == "lawyer says the file is closed" and t["outcome_label"] is None,
          "free text refused: %s" % t)

    h.step("a second reviewer sharing the vault keeps an index of their own")
    rv2 = harness.Reviewer(h, "second")
    spec2 = {"submissions": [
        {"day_offset": -5, "answers": answers([["role", ["targeted"]], ["detained", ["yes"]]])}]}
    with open(h.path("spec2.json"), "w") as f:
        json.dump(spec2, f)
    shared = h.run([FILL, vault, rv.pub + "," + rv2.pub, h.path("spec2.json")],
                   expect=0).stdout.split()
    only2 = h.run([FILL, vault, rv2.pub, h.path("spec2.json")], expect=0).stdout.split()
    r = review(h, rv2, ["list", "--json"], vault)
    rows2 = json.loads(r.stdout)
    check({x["id"] for x in rows2 if x["urgent"]} == {shared[0], only2[0]} and
          "5 submissions are not sealed to your key" in r.stderr,
          "the second reviewer's list: %s\n%s" % (rows2, r.stderr))
    r = review(h, rv, ["list", "--json"], vault)
    rows = json.loads(r.stdout)
    check([x["id"] for x in rows[:2]] == [ids[0], shared[0]] and
          "1 submissions are not sealed to your key" in r.stderr,
          "the first reviewer's list with a shared case: %s\n%s" % (rows[:3], r.stderr))

    # The second reviewer's outcome reaches the first one's index: the triage
    # record's new nonce makes that record stale.
    review(h, rv2, ["triage", shared[0], "--outcome", "extradited"], vault)

    h.step("stats counts each source once, from the index")
    # The first reviewer's cases: ids 0 and 1 (one source), 2, 3, 4 and the
    # shared one: 5. An odd answer a browser could send is not counted.
    odd = {"submissions": [{"day_offset": -1, "answers": answers(
        [["requesting_country", ["<script>"]], ["kind", ["nonsense"]], ["detained", ["maybe"]]])}]}
    with open(h.path("spec3.json"), "w") as f:
        json.dump(odd, f)
    h.run([FILL, vault, rv.pub, h.path("spec3.json")], expect=0)
    r = review(h, rv, ["stats", "--min-count", "1", "--csv", h.path("s.csv"),
                       "--svg", h.path("s.svg")], vault)
    check("6 cases" in r.stdout and "Russian Federation" in r.stdout and
          "A red notice" in r.stdout and "Request pending at the CCF" in r.stdout and
          "Extradited" in r.stdout and
          "<script>" not in r.stdout and "nonsense" not in r.stdout,
          "stats --min-count 1:\n" + r.stdout)
    rows = list(csv.reader(io.StringIO(open(h.path("s.csv"), newline="").read())))
    by = {(x[0], x[1], x[2], x[4]): x for x in rows[1:]}
    check(by[("report", "cases", "", "")][6] == "6" and
          by[("country", "row total", "RU", "")][6] == "1" and
          # The source's later submission says it is no longer detained.
          by[("detention", "row total", "yes", "")][6] == "1" and
          by[("detention", "row total", "no", "")][6] == "1" and
          by[("outcome", "row total", "ccf_pending", "")][6] == "1",
          "the CSV's counts: %s" % rows)
    # The free-text outcome is the team's words: never in a published table.
    check("lawyer says" not in open(h.path("s.csv")).read(), "a free-text outcome in the CSV")
    ET.parse(h.path("s.svg"))
    r = review(h, rv, ["stats"], vault)
    check("threshold 5" in r.stdout and "*" in r.stdout, "stats hid nothing:\n" + r.stdout)
    r = review(h, rv, ["stats", "--min-count", "10"], vault, expect=2)
    check("hint:" in r.stderr and "--min-count" in r.stderr,
          "6 cases published under a threshold of 10?\n" + r.stderr)
    r = review(h, rv, ["stats", "--min-count", "1", "--csv", h.path("s.csv")], vault, expect=2)
    check("hint:" in r.stderr, "stats replaced a file:\n" + r.stderr)

    h.step("the index is sealed at rest")
    leaked = []
    for root, _, files in os.walk(vault):
        for name in files:
            data = open(os.path.join(root, name), "rb").read()
            for needle in ("lawyer says the file", day(6), "please help", "ledgers", source):
                if needle.encode() in data:
                    leaked.append("%s in %s" % (needle, name))
            if bytes.fromhex(source) in data:
                leaked.append("the reply key in %s" % name)
    check(not leaked, "in clear in the vault's files: %s" % leaked)
    h.note("answers", "raw without the questionnaire (with a hint), labelled with it; urgent "
           "first in list with the reason; outcomes from the questionnaire; nothing in clear")


if __name__ == "__main__":
    harness.Harness("answers", __doc__).main(test)
