#!/usr/bin/python3
"""Sessions end after session_idle without a request: a source idle for
longer finds their conversation closed, cannot send a follow-up with the old
session, and must log in again; a source who keeps making requests stays.

Slow by nature (session_idle is at least 60 s), so it carries its own label
and runs in the Release stage only, beside the other tests."""
import os
import time

import harness
from harness import check
from test_sources import Visitor, first_submission

IDLE = 60


def confirm(v, words, asked):
    w = words.split(" ")
    st, hd, body = v.post("/confirm?lang=en", ["-d", "w1=%s&w2=%s" % (w[asked[0] - 1],
                                                                   w[asked[1] - 1])])
    check(st == 200 and b"Your conversation" in body, "confirming failed: %d" % st)


def test(h):
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    inst.set_config("session_idle", str(IDLE))
    srv = inst.server().start()
    doc = h.path("doc.bin")
    with open(doc, "wb") as f:
        f.write(os.urandom(1000))
    idle, busy = Visitor(h, srv.url, "idle"), Visitor(h, srv.url, "busy")
    words, asked = first_submission(h, idle, "from the idle source", doc)
    confirm(idle, words, asked)
    words_b, asked_b = first_submission(h, busy, "from the busy source", doc)
    confirm(busy, words_b, asked_b)
    st, hd, body = idle.get("/inbox?lang=en")
    check(st == 200, "the conversation is not open: %d" % st)
    token = idle.token

    h.step("wait %d s without a request from one source; the other keeps asking" % (IDLE + 5))
    for _ in range((IDLE + 5) // 15):
        time.sleep(15)
        st, hd, body = busy.get("/inbox?lang=en")
        check(st == 200, "a source making requests every 15 s was logged out: %d" % st)
    time.sleep((IDLE + 5) % 15 + 1)

    st, hd, body = idle.get("/inbox?lang=en")
    check(st == 303 and hd.get("location", "").startswith("/?"),
          "after %d s idle the conversation is still open: %d" % (IDLE, st))
    st, hd, body = idle.post("/submit?lang=en", ["--form-string", "message=after expiry"],
                             token=token)
    check(st == 403 and b"not logged in" in body,
          "an expired session still sent a follow-up: %d" % st)
    idle.get("/")
    st, hd, body = idle.post("/login?lang=en", ["--data-urlencode", "codename=" + words])
    check(st == 200 and b"Your conversation" in body, "log-in after expiry failed: %d" % st)
    srv.stop()
    report = inst.check()[1]
    check("submissions: 2\n" in report, "the expired session's follow-up was stored:\n" + report)
    h.note("idle expiry", "session ended after %d s idle; a busy one lived on" % IDLE)


if __name__ == "__main__":
    h = harness.Harness("expiry", __doc__)
    h.main(test)
