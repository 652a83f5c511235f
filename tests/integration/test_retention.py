#!/usr/bin/python3
"""expire_days: old submissions are deleted only when the operator asks.

The server runs under faketime 11 days ahead. With expire_days unset it
deletes nothing. With expire_days = 10 it deletes, at start-up, the two
submissions that were exported and keeps the one never exported, however
old; it says how many it deleted; check is clean and lists only the one
kept; export --resend carries only that one. Skipped under sanitizers,
whose runtime must come before faketime's preloaded library."""
import os
import re
import sys

import harness
from harness import check



def counts(h, inst):
    r = h.run([h.server_bin, "check", inst.dir], expect=0)
    m = re.search(r"^submissions: (\d+)$", r.stdout, re.M)
    u = re.search(r"^unfinished uploads: (\d+)", r.stdout, re.M)
    check(m and u and re.search(r"^ok$", r.stdout, re.M), "check is not clean:\n" + r.stdout)
    return int(m.group(1)), int(u.group(1)), r.stdout


def test(h):
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    srv = inst.server().start()
    h.submit_ok(srv.url, "old and exported 1")
    h.submit_ok(srv.url, "old and exported 2")
    srv.stop()
    check(inst.export(h.path("one.sdb")) == 2, "the first export did not take 2")
    srv = inst.server("second").start()
    h.submit_ok(srv.url, "old, never exported")
    srv.stop()

    h.step("11 days later, without expire_days: nothing goes")
    LATER = harness.faketime("+11d")
    srv = inst.server("later-default").start(prefix=LATER)
    srv.stop()
    check("deleted" not in srv.log(), "the server deleted without being asked:\n" + srv.log())
    check(counts(h, inst)[0] == 3, "submissions went without expire_days")

    h.step("11 days later, with expire_days = 10")
    inst.set_config("expire_days", "10")
    srv = inst.server("later").start(prefix=LATER)
    srv.stop()
    check(re.search(r"^sealdrop-server: deleted 2 exported submissions received 10 days ago or "
                    r"earlier$", srv.log(), re.M), "the server did not say it deleted 2:\n" +
          srv.log())
    n, unfinished, out = counts(h, inst)
    check(n == 1 and unfinished == 0, "after expiry check counts %d submissions, %d unfinished:\n%s"
          % (n, unfinished, out))
    r = h.run([h.server_bin, "export", inst.dir, "--out", h.path("resent.sdb"), "--resend"],
              expect=0)
    check("exported 1 submissions" in r.stdout, "export --resend after expiry:\n" + r.stdout)
    vault = h.path("vault")
    rv.import_(h.path("resent.sdb"), vault, extra=["--instance-fingerprint", inst.fingerprint],
               expect=0)
    msgs = [rv.show(s["id"], vault)["message"] for s in rv.list(vault)]
    check(msgs == ["old, never exported"], "what is left on the server: %s" % msgs)
    h.note("retention", "11 days on: 2 exported deleted at start-up, the unexported one kept")


if __name__ == "__main__":
    if os.environ.get("SEALDROP_SANITIZED") == "1":
        print("retention: skipped under sanitizers (faketime preloads a library)")
        sys.exit(77)
    harness.Harness("retention", __doc__).main(test)
