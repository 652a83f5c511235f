#!/usr/bin/python3
"""The questionnaire over HTTPS with the real binaries: a bad definition stops
start-up with its file, line and field; the shipped one is walked on the
detained path (a wrong hearing date shown and corrected, Back keeping what was
typed) and on the insider path; a small one takes a file on its first step,
held sealed by the draft until the last step commits. The reviewer's show
gives exactly the answers typed, no answer is in the store in clear, and a
draft abandoned mid-way leaves no submission and nothing pending.
"""
import html
import os
import re
import secrets
import time

import harness
from harness import check, fail

HERE = os.path.dirname(os.path.abspath(__file__))
FILE_FIRST = os.path.join(HERE, "..", "data", "questionnaires", "file-first.toml")


class Visitor:
    """One browser: its form cookie, its token, and the page it was shown."""

    def __init__(self, h, srv):
        self.h, self.srv = h, srv
        self.cookie, self.token = srv.fetch_form_auth()
        self.page = ""
        self.session = None

    def log_in_as(self, other):
        """Comes back with the session `other`'s first submission opened."""
        check(other.session, "the receipt set no session cookie")
        self.cookie = other.session
        status, _, body, _, _ = self.h.curl(self.srv.url + "/answer?lang=en",
                                            ["-H", "Cookie: " + self.cookie], auth=False)
        check(status == 200, "GET /answer with a session: HTTP %s" % status)
        self.page = body.decode("utf-8")
        self.token = harness.token_from_page(self.page, "GET /answer")

    def post(self, fields, files=(), expect=200):
        """POST /answer with these fields and files; none at all is a GET."""
        args = []
        for k, v in fields:
            args += ["--form-string", "%s=%s" % (k, v)]
        for name, local, sent in files:
            args += ["-F", '%s=@"%s";filename="%s";type=application/octet-stream' %
                     (name, local, sent)]
        status, headers, body, rc, err = self.h.curl(
            self.srv.url + "/answer?lang=en", args, auth=(self.cookie, self.token))
        self.page = body.decode("utf-8", "replace")
        m = re.search(r"(__Host-sd-session=[0-9a-f]{64})", headers.get("set-cookie", ""))
        if m:
            self.session = m.group(1)
        check(status == expect, "POST /answer: HTTP %s, expected %s (curl %d %s)\n%s" %
              (status, expect, rc, err.strip(), self.page[:3000]))
        harness.check_security_headers(headers, "a step page")
        return self.page

    def step(self, fields, action="next", files=(), expect=200):
        m = re.search(r'name="sd:step" value="([a-z0-9_-]+)"', self.page)
        check(m, "the page shows no step:\n" + self.page[:3000])
        return self.post([("sd:step", m.group(1)), ("sd:action", action)] + list(fields), files,
                         expect)

    def on(self, step_id):
        check('name="sd:step" value="%s"' % step_id in self.page,
              "expected step %r, got:\n%s" % (step_id, self.page[:3000]))


def field_value(page, field):
    """The value a text input or textarea shows for `field`."""
    m = re.search(r'name="%s"[^>]*value="([^"]*)"' % field, page)
    if m:
        return html.unescape(m.group(1))
    m = re.search(r'name="%s"[^>]*>\n(.*?)</textarea>' % field, page, re.S)
    return html.unescape(m.group(1)) if m else None


def checked(page, field, value):
    return re.search(r'name="%s" value="%s" checked' % (field, value), page) is not None


def selected(page, value):
    return re.search(r'<option value="%s" selected>' % value, page) is not None


def test(h):
    marker = "QMARK" + secrets.token_hex(10)
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)

    h.step("a bad questionnaire refuses start-up, naming file, line and field")
    bad = h.path("bad.toml")
    with open(FILE_FIRST) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text.replace('type = "date"', 'type = "calendar"'))
    inst.set_config("questionnaire", '"%s"' % bad)
    r = h.run([h.server_bin, "serve", inst.dir])
    check(r.returncode != 0, "serve started with a bad questionnaire:\n" + r.stderr)
    # The line of the field's table, at most the line of its bad type.
    line = text[:text.index('type = "date"')].count("\n") + 1
    m = re.search(re.escape(bad) + r":(\d+): field 'dated': type 'calendar'", r.stderr)
    check(m and line - 3 <= int(m.group(1)) <= line,
          "serve's refusal does not name %s, the line and field 'dated':\n%s" % (bad, r.stderr))
    inst.set_config("questionnaire", '"no-such"')
    r = h.run([h.server_bin, "serve", inst.dir])
    check(r.returncode != 0 and "red-notice" in r.stderr,
          "an unknown shipped name is not refused with the names shipped:\n" + r.stderr)

    h.step("check warns of the test questionnaire's missing translations")
    inst.set_config("questionnaire", '"%s"' % FILE_FIRST)
    r = h.run([h.server_bin, "check", inst.dir])
    check(re.search(r"warning: questionnaire .*no ru", r.stdout),
          "check does not warn of missing Russian:\n" + r.stdout)

    h.step("the shipped questionnaire: the detained path")
    inst.set_config("questionnaire", '"red-notice"')
    srv = inst.server().start()
    v = Visitor(h, srv)
    status, _, body, _, _ = h.curl(srv.url + "/?lang=en", ["-H", "Cookie: " + v.cookie], auth=False)
    v.page = body.decode("utf-8")
    v.on("start")
    check('name="message"' not in v.page, "the index page still shows the message box")
    v.step([])
    v.on("start")
    check("Please answer this question." in v.page, "a missing role is not named:\n" + v.page)
    v.step([("role", "targeted")])
    v.on("notice")
    learned = "A border guard told me. " + marker
    v.step([("requesting_country", "RU"), ("kind", "red_notice"), ("learned_how", learned)])
    v.on("now")
    v.step([("current_country", "TR"), ("detained", "yes"), ("asylum", "pending"),
            ("asylum_where", "DE")])
    v.on("extradition")
    v.step([("hearing_date", "2026-02-30"), ("lawyer", "yes")])
    v.on("extradition")
    check("Please give a real date" in v.page, "a false date is not refused:\n" + v.page)
    check(field_value(v.page, "hearing_date") == "2026-02-30", "the wrong date was not kept")
    h.step("back keeps what was typed, here and before")
    v.step([("hearing_date", "2026-03-16"), ("lawyer", "no")], action="back")
    v.on("now")
    check(selected(v.page, "TR") and checked(v.page, "detained", "yes") and
          checked(v.page, "asylum", "pending"), "Back lost the answers of 'now':\n" + v.page)
    v.step([("current_country", "TR"), ("detained", "yes"), ("asylum", "pending"),
            ("asylum_where", "DE")])
    v.on("extradition")
    check(field_value(v.page, "hearing_date") == "2026-03-16" and checked(v.page, "lawyer", "no"),
          "what was typed on the step left with Back is gone:\n" + v.page)
    v.step([("hearing_date", "2026-03-16"), ("lawyer", "no")])
    v.on("ccf")
    v.step([("ccf_asked", "deletion"), ("ccf_answer", "No answer yet.")])
    v.on("case")
    v.step([("offence", "Fraud, they say."), ("context", "I reported on the minister.\r\nTwice.")])
    v.on("last")
    check(">Send</button>" in v.page, "the last step has no Send button")
    v.step([("message", "Please help."), ("contact", "this_site"), ("contact", "lawyer")])
    check("Received" in v.page and "Questionnaire answers: 16" in v.page,
          "the receipt is missing or miscounts the answers:\n" + v.page)
    check("Message:" not in v.page,
          "the receipt counts the characters of a message box the source never saw:\n" + v.page)
    detained = {
        "role": ["targeted"], "requesting_country": ["RU"], "kind": ["red_notice"],
        "learned_how": [learned], "current_country": ["TR"], "detained": ["yes"],
        "asylum": ["pending"], "asylum_where": ["DE"], "hearing_date": ["2026-03-16"],
        "lawyer": ["no"], "ccf_asked": ["deletion"], "ccf_answer": ["No answer yet."],
        "offence": ["Fraud, they say."], "context": ["I reported on the minister.\r\nTwice."],
        "message": ["Please help."], "contact": ["this_site", "lawyer"],
    }

    h.step("a source who is logged in answers again, and it joins their case")
    again = Visitor(h, srv)
    again.log_in_as(v)
    again.on("start")
    again.step([("role", "other")])
    again.on("last")
    again.step([("contact", "lawyer")])
    check("Received" in again.page, "the logged-in source's answers were not received:\n" +
          again.page)
    other = {"role": ["other"], "contact": ["lawyer"]}

    h.step("the insider path, after turning away from the targeted one")
    w = Visitor(h, srv)
    w.post([])  # a GET: the first step is shown
    w.step([("role", "targeted")])
    w.on("notice")
    w.step([("requesting_country", "IR")])
    w.on("now")
    w.step([], action="back")
    w.step([], action="back")
    w.on("start")
    check(checked(w.page, "role", "targeted"), "Back lost the role")
    w.step([("role", "insider")])
    w.on("documents")
    w.step([("what_documents", "Emails " + marker), ("how_obtained", "At work")])
    w.on("last")
    w.step([("contact", "other")])
    check("Received" in w.page, "the insider path was not received:\n" + w.page)
    insider = {"role": ["insider"], "what_documents": ["Emails " + marker],
               "how_obtained": ["At work"], "contact": ["other"]}

    h.step("a file on the first step, held by the draft")
    srv.stop()
    inst.set_config("questionnaire", '"%s"' % FILE_FIRST)
    srv = inst.server().start()
    doc = h.path("doc.txt")
    with open(doc, "w") as f:
        f.write("the evidence " + marker + "\n")
    x = Visitor(h, srv)
    x.post([])
    x.on("evidence")
    x.step([("source", "a" * 65)], files=[("papers", doc, "doc.txt")])
    x.on("evidence")
    check("This answer is too long" in x.page and "Files attached so far: 1" in x.page,
          "a long line is not refused beside a held file:\n" + x.page)
    x.step([("source", "the archive")])
    x.on("about")
    _, _, pending = inst.check()
    check(pending == 1, "the draft's file is not one pending upload: %d" % pending)
    x.step([("kind", "letters"), ("dated", "2024-01-05")])
    check("Received" in x.page and re.search(r"\b1 file\b", x.page),
          "the file-first questionnaire was not received with its file:\n" + x.page)
    filed = {"papers": ["1"], "source": ["the archive"], "kind": ["letters"],
             "dated": ["2024-01-05"]}

    h.step("a draft holding a file at a stop or a crash leaves nothing after the next start")
    z = Visitor(h, srv)
    z.post([])
    z.step([], files=[("papers", doc, "stopped.txt")])
    z.on("about")
    srv.stop()
    _, _, pending = inst.check()
    # Its removal may wait for the next start's sweep.
    check(pending <= 1, "a stop left %d pending uploads" % pending)
    srv = inst.server().start()
    _, _, pending = inst.check()
    check(pending == 0, "a draft's file outlived a stop and a start: %d pending" % pending)
    z = Visitor(h, srv)
    z.post([])
    z.step([], files=[("papers", doc, "crashed.txt")])
    z.on("about")
    srv.kill()
    _, _, pending = inst.check()
    check(pending == 1, "a crash mid-draft shows %d pending uploads, not 1" % pending)
    srv = inst.server().start()
    check("removed 1 unfinished uploads" in srv.log(),
          "the start-up sweep did not remove the crashed draft's file:\n" + srv.log())

    h.step("a file over the limit drops the draft's files and keeps its answers")
    srv.stop()
    inst.set_config("session_idle", "60")
    inst.set_config("max_upload", '"64KiB"')
    inst.set_config("sessions", "2")  # and so two drafts at most
    srv = inst.server().start()
    big = h.path("big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(200 * 1024))
    u = Visitor(h, srv)
    u.post([])
    u.step([("source", "the archive")], files=[("papers", doc, "small.txt")])
    u.on("about")
    u.step([("kind", "letters")], action="back")
    u.on("evidence")
    u.step([("source", "the archive")], files=[("papers", big, "big.bin")], expect=413)
    check("Not sent" in u.page,
          "a file over max_upload was not refused:\n" + u.page[:2000])
    status, _, body, _, _ = h.curl(srv.url + "/answer?lang=en", ["-H", "Cookie: " + u.cookie],
                                   auth=False)
    u.page = body.decode("utf-8")
    u.on("evidence")
    check(field_value(u.page, "source") == "the archive" and "attached so far" not in u.page,
          "after the refusal the answers are lost or the files kept:\n" + u.page)
    u.step([("source", "the archive")], files=[("papers", doc, "again.txt")])
    u.on("about")
    check(checked(u.page, "kind", "letters"), "the answer of a later step was lost")

    h.step("drafts abandoned mid-way end with their files")
    y = Visitor(h, srv)
    y.post([])
    y.step([], files=[("papers", doc, "left.txt")])
    y.on("about")
    _, _, pending = inst.check()
    check(pending == 2, "the abandoned drafts' files are not pending: %d" % pending)
    full = Visitor(h, srv)
    full.post([("sd:step", "evidence")], expect=503)
    check("busy" in full.page.lower(), "a third draft is not refused as busy:\n" + full.page)
    t0 = time.monotonic()
    while True:
        _, _, pending = inst.check()
        if pending == 0:
            break
        if time.monotonic() - t0 > 150:
            fail("the abandoned draft's file is still pending after %ds" % (time.monotonic() - t0))
        time.sleep(5)
    h.note("abandoned draft gone after", "%.0fs" % (time.monotonic() - t0))
    srv.stop()

    h.step("nothing typed is in the store in clear")
    hits = harness.search_tree(os.path.join(inst.dir, "store"), [marker.encode()])
    check(not hits, "an answer is in the store in clear: %r" % hits)

    h.step("the reviewer sees exactly the answers given")
    bundle = h.path("out.bundle")
    check(inst.export(bundle) == 4, "export did not take four submissions")
    vault = h.path("vault")
    rv.import_(bundle, vault, extra=["--instance-fingerprint", inst.fingerprint], expect=0)
    seen = []
    for item in rv.list(vault):
        sid = item["id"] if isinstance(item, dict) else item
        shown = rv.show(sid, vault)
        a = shown.get("answers")
        check(a, "a submission carries no answers: %r" % shown)
        got = {e["id"]: e["values"] for e in a["fields"]}
        seen.append((a["questionnaire"], got, shown))
    by_q = {}
    for q, got, shown in seen:
        by_q.setdefault(q, []).append((got, shown))
    check(len(by_q.get("red-notice", [])) == 3, "three red-notice submissions expected")
    got_detained = [g for g, _ in by_q["red-notice"] if g.get("role") == ["targeted"]]
    got_insider = [g for g, _ in by_q["red-notice"] if g.get("role") == ["insider"]]
    check(got_detained == [detained], "detained answers differ:\n%r\n%r" % (got_detained, detained))
    check(got_insider == [insider], "insider answers differ:\n%r\n%r" % (got_insider, insider))
    keys = {g.get("role")[0]: sh["reply_key"] for g, sh in by_q["red-notice"]}
    check(keys["other"] and keys["other"] == keys["targeted"] and keys["insider"] != keys["other"],
          "the logged-in source's answers do not join their case: %r" % keys)
    got_other = [g for g, _ in by_q["red-notice"] if g.get("role") == ["other"]]
    check(got_other == [other], "the logged-in source's answers differ: %r" % got_other)
    ff = by_q.get("file-first", [])
    check(len(ff) == 1 and ff[0][0] == filed, "file-first answers differ: %r" % ff)
    check([f["name"] for f in ff[0][1]["files"]] == ["doc.txt"],
          "the held file is not the submission's: %r" % ff[0][1]["files"])


if __name__ == "__main__":
    harness.Harness("questionnaire", __doc__).main(test)
