#!/usr/bin/python3
"""Acknowledgements: the server deletes what the vault holds, and nothing else.

Kill test: each step between a submission's arrival and its deletion runs
with a preloaded library (killer.cc) that SIGKILLs it just before its N-th
write, sync, link, rename or unlink, for N = 1, 2, ... until the step
finishes on its own: `export`, `import` (of every bundle a run completed),
`outbox`, `import-outbox` (of every outbox a run completed) and the deletion
at the start of `serve` (ack_grace_days = 0). After every kill: both stores
check clean, no submission is in neither, and none is twice in the vault. At
the end the vault holds each submission once, and it opens; the server holds
none of them, and its deletion lines never count one twice.

Then, without kills: with ack_grace_days = 2, an acknowledgement deletes
only the acknowledged submissions, only 2 days later (faketime: the day
changes under the running server), and only while the acknowledging
reviewer's signing key is still in config.toml;
export --resend leaves out what was acknowledged. Under sanitizers the
steps run once each, without kills or faketime, whose preloaded libraries
their runtimes refuse to follow.
"""
import datetime
import glob
import os
import re
import signal
import subprocess
import time

import harness
from harness import check, fail

SANITIZED = os.environ.get("SEALDROP_SANITIZED") == "1"
SUBMISSIONS = 4


def server_state(h, inst):
    """(ids held, unfinished count) from a clean `check`."""
    r = h.run([h.server_bin, "check", inst.dir])
    check(r.returncode == 0 and re.search(r"^ok$", r.stdout, re.M),
          "sealdrop-server check is not clean:\n%s%s" % (r.stdout, r.stderr))
    held = int(re.search(r"^submissions: (\d+)$", r.stdout, re.M).group(1))
    return held, r.stdout


def acknowledged(check_text):
    m = re.search(r"^acknowledged by the reviewers: (\d+)", check_text, re.M)
    return int(m.group(1)) if m else 0


def vault_ids(h, rv, vault):
    if not os.path.exists(vault):
        return []
    r = h.run([h.review_bin, "list", "--vault", vault, "--json"])
    check(r.returncode == 0, "list on the vault failed after a kill:\n" + r.stderr)
    return [s["id"] for s in __import__("json").loads(r.stdout)]


class Killer:
    """Runs one step again and again, killed one disk step later each time."""

    def __init__(self, h, invariant):
        self.h = h
        self.invariant = invariant
        self.kills = {}

    def env(self, n):
        env = dict(os.environ)
        if not SANITIZED:
            env["LD_PRELOAD"] = self.h.killer
            env["SEALDROP_KILL_AT"] = str(n)
        return env

    def run(self, name, args_for):
        """args_for(n) gives the command of attempt n. Returns the last,
        unkilled, CompletedProcess."""
        n = 0
        while True:
            n += 1
            check(n < 2000, "%s was killed 2000 times and still not done" % name)
            r = subprocess.run(args_for(n), capture_output=True, env=self.env(n),
                               stdin=subprocess.DEVNULL, timeout=300)
            if r.returncode != -signal.SIGKILL:
                self.kills[name] = self.kills.get(name, 0) + n - 1
                r.stdout = r.stdout.decode("utf-8", "replace")
                r.stderr = r.stderr.decode("utf-8", "replace")
                return r
            self.invariant("%s killed at step %d" % (name, n))

    def serve(self, inst):
        """Starts serve until it has listened once unkilled; stops it."""
        n = 0
        while True:
            n += 1
            check(n < 2000, "serve was killed 2000 times and still not listening")
            log = self.h.path("serve-kill-%d.log" % n)
            with open(log, "wb") as out:
                p = subprocess.Popen([self.h.server_bin, "serve", inst.dir], env=self.env(n),
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                     preexec_fn=harness._die_with_parent)
                t0 = time.monotonic()
                while p.poll() is None and time.monotonic() - t0 < 30:
                    with open(log, "rb") as f:
                        if b"listening on" in f.read():
                            break
                    time.sleep(0.02)
                listening = p.poll() is None
                if listening:
                    p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
            with open(log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            if listening:
                check(p.returncode == 0, "serve stopped with %s:\n%s" % (p.returncode, text))
                self.kills["serve"] = n - 1
                return text
            check(p.returncode == -signal.SIGKILL, "serve exited %s before listening:\n%s" %
                  (p.returncode, text))
            self.invariant("serve killed at step %d" % n)


def kill_test(h):
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    inst.set_config("ack_grace_days", "0")
    srv = inst.server().start()
    small = h.path("small.bin")
    harness.write_random_file(small, 1)
    for i in range(SUBMISSIONS):
        h.submit_ok(srv.url, "ack %d" % i, [(small, "doc%d.bin" % i)] if i % 2 else [])
    srv.stop()
    vault = h.path("vault")

    def invariant(what):
        held, text = server_state(h, inst)
        ids = vault_ids(h, rv, vault)
        check(len(ids) == len(set(ids)), "%s: the vault holds a submission twice: %s" % (what, ids))
        # Nothing is deleted before the vault holds it: until the outbox is
        # imported the server holds all; after, vault ∪ server is all.
        check(held + len(ids) >= SUBMISSIONS,
              "%s: the server holds %d and the vault %d of %d submissions: one was lost\n%s" %
              (what, held, len(ids), SUBMISSIONS, text))

    k = Killer(h, invariant)
    h.step("export, killed before each disk step")
    r = k.run("export", lambda n: [h.server_bin, "export", inst.dir, "--out",
                                   h.path("bundle-%03d.sdb" % n)])
    check(r.returncode == 0, "export failed after the kills:\n" + r.stderr)
    bundles = sorted(glob.glob(h.path("bundle-*.sdb")))
    check(bundles, "no export left a bundle")

    h.step("import of %d bundles, killed before each disk step" % len(bundles))
    fp = inst.fingerprint
    for b in bundles:
        r = k.run("import", lambda n: [h.review_bin, "import", b, "--vault", vault, "--key",
                                       rv.key, "--passphrase-file", rv.passfile,
                                       "--instance-fingerprint", fp])
        check(r.returncode == 0, "import of %s failed after the kills:\n%s" % (b, r.stderr))
    ids = vault_ids(h, rv, vault)
    check(len(ids) == SUBMISSIONS == len(set(ids)),
          "after the imports the vault lists %s, not %d submissions once each" % (ids, SUBMISSIONS))

    h.step("outbox, killed before each disk step")
    r = k.run("outbox", lambda n: [h.review_bin, "outbox", "--vault", vault, "--signing-key",
                                   rv.sign, "--passphrase-file", rv.passfile, "--out",
                                   h.path("outbox-%03d.sdo" % n)])
    outboxes = sorted(glob.glob(h.path("outbox-*.sdo")))
    check(r.returncode == 0 or "nothing waits" in r.stderr,
          "outbox failed after the kills:\n" + r.stderr)
    check(outboxes, "no outbox was written")

    h.step("import-outbox of %d outboxes, killed before each disk step" % len(outboxes))
    # A run killed just before its last sync has still committed (a kill is
    # not a power cut), and the next run says "imported before": count the
    # imports by what the store holds, not by exit codes.
    imported = 0
    for o in outboxes:
        before = acknowledged(server_state(h, inst)[1])
        r = k.run("import-outbox", lambda n: [h.server_bin, "import-outbox", inst.dir, o])
        after = acknowledged(server_state(h, inst)[1])
        if r.returncode == 0:
            check("%d acknowledgements" % SUBMISSIONS in r.stdout, r.stdout)
            check(after == SUBMISSIONS, "import-outbox said it imported %s but check "
                  "lists %d acknowledged" % (o, after))
        else:
            check("imported before" in r.stderr, "import-outbox %s:\n%s" % (o, r.stderr))
        if after != before:
            imported += 1
            check(before == 0 and after == SUBMISSIONS,
                  "import-outbox of %s took the acknowledged count from %d to %d" %
                  (o, before, after))
    check(imported == 1, "%d outboxes were imported, expected exactly 1" % imported)
    check(server_state(h, inst)[0] == SUBMISSIONS, "import-outbox deleted at once")

    h.step("deletion at the start of serve, killed before each disk step")
    log = k.serve(inst)
    held, text = server_state(h, inst)
    check(held == 0, "after serve the server still holds %d submissions:\n%s" % (held, text))
    check("unfinished uploads: 0" in text, "chunks were left behind:\n" + text)
    deleted = re.findall(r"deleted (\d+) submissions the reviewers acknowledged", "".join(
        open(p, encoding="utf-8", errors="replace").read()
        for p in glob.glob(h.path("serve-kill-*.log"))))
    # A run killed before the sync that follows its commit has deleted but
    # not said so; the line may be missing, never more than once.
    check(sum(map(int, deleted)) <= SUBMISSIONS,
          "the serve runs said they deleted %s, more than the %d there were" %
          (deleted, SUBMISSIONS))
    check(deleted or k.kills["serve"] > 0, "serve deleted without saying so")
    ids = vault_ids(h, rv, vault)
    check(len(ids) == SUBMISSIONS == len(set(ids)), "the vault lists %s at the end" % ids)
    messages = sorted(rv.show(i, vault)["message"] for i in ids)
    check(messages == ["ack %d" % i for i in range(SUBMISSIONS)],
          "the vault's messages are %s" % messages)
    r = h.run([h.server_bin, "export", inst.dir, "--resend", "--out", h.path("after.sdb")],
              expect=0)
    check("exported 0 submissions" in r.stdout, "a resend after deletion:\n" + r.stdout)
    h.note("kills", ", ".join("%s %d" % kv for kv in k.kills.items()) +
           (" (sanitized: none)" if SANITIZED else ""))


def grace_test(h):
    rv = harness.Reviewer(h, "grace")
    inst = harness.Instance(h, "graced", rv.pub)
    inst.set_config("ack_grace_days", "2")
    srv = inst.server().start()
    h.submit_ok(srv.url, "held one")
    h.submit_ok(srv.url, "held two")
    srv.stop()
    check(inst.export(h.path("g1.sdb")) == 2, "the first export did not take 2")
    srv = inst.server("second").start()
    h.submit_ok(srv.url, "exported, not imported")
    srv.stop()
    check(inst.export(h.path("g2.sdb")) == 1, "the second export did not take 1")
    vault = h.path("gvault")
    rv.import_(h.path("g1.sdb"), vault, extra=["--instance-fingerprint", inst.fingerprint],
               expect=0)
    r = rv.outbox(vault, h.path("g.sdo"))
    check("0 replies and 2 acknowledgements" in r.stdout, "the outbox:\n" + r.stdout)

    h.step("a tampered acknowledgement is refused and changes nothing")
    with open(h.path("g.sdo"), "rb") as f:
        data = bytearray(f.read())
    data[-64 - 20] ^= 1  # inside the last record hash
    with open(h.path("g-bad.sdo"), "wb") as f:
        f.write(data)
    r = inst.import_outbox(h.path("g-bad.sdo"))
    check(r.returncode == 1 and "nothing was imported" in r.stderr,
          "a tampered outbox: exit %d\n%s" % (r.returncode, r.stderr))
    check("acknowledged" not in server_state(h, inst)[1], "the tampered outbox left a mark")

    r = inst.import_outbox(h.path("g.sdo"), expect=0)
    check("2 acknowledgements" in r.stdout and "will be deleted from" in r.stdout, r.stdout)
    held, text = server_state(h, inst)
    check(held == 3 and "acknowledged by the reviewers: 2" in text, "check:\n" + text)
    r = h.run([h.server_bin, "export", inst.dir, "--resend", "--out", h.path("g3.sdb")],
              expect=0)
    check("exported 1 submissions" in r.stdout,
          "export --resend should leave out the 2 acknowledged:\n" + r.stdout)

    srv = inst.server("same-day").start()
    srv.stop()
    check("deleted" not in srv.log(), "deleted within the grace:\n" + srv.log())
    if SANITIZED:
        h.note("grace", "faketime part skipped under sanitizers")
        return

    h.step("2 days later, the reviewer's signing key removed: nothing goes")
    later = harness.faketime("+2d")
    with open(inst.config_path) as f:
        config = f.read()
    without = re.sub(r"^signing = .*\n", "", config, flags=re.M)
    check(without != config, "config.toml lists no signing key")
    with open(inst.config_path, "w") as f:
        f.write(without)
    srv = inst.server("later-unlisted").start(prefix=later)
    srv.stop()
    check("deleted" not in srv.log(), "deleted on a removed reviewer's word:\n" + srv.log())
    held, text = server_state(h, inst)
    check(held == 3 and "no longer in config.toml: 2, kept" in text, "check:\n" + text)

    h.step("the key listed again; the 2 acknowledged go at midnight, while serving")
    with open(inst.config_path, "w") as f:
        f.write(config)
    # The clock starts 3 s before the second midnight after the import: not
    # yet due at the start, due once the day changes under the running server.
    eve = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=1)
    midnight = harness.faketime("@%s 23:59:57" % eve)
    srv = inst.server("midnight").start(prefix=midnight)
    check("deleted" not in srv.log(), "deleted before midnight:\n" + srv.log())
    line = r"^sealdrop-server: deleted 2 submissions the reviewers acknowledged 2 days ago or " \
        r"earlier$"
    t0 = time.monotonic()
    while not re.search(line, srv.log(), re.M) and time.monotonic() - t0 < 30:
        time.sleep(0.2)
    check(re.search(line, srv.log(), re.M), "no deletion line after midnight:\n" + srv.log())
    h.submit_ok(srv.url, "after midnight")  # still serving
    srv.stop()
    held, text = server_state(h, inst)
    check(held == 2 and "acknowledged" not in text, "after the grace:\n" + text)
    check("unfinished uploads: 0" in text, "chunks left behind:\n" + text)
    # The one never imported is still there, and is what a vault gets next.
    rv.import_(h.path("g2.sdb"), vault, expect=0)
    check(len(rv.list(vault)) == 3, "the vault does not hold all 3")
    h.note("grace", "kept 2 days and while the key was removed; then 2 deleted at midnight "
           "while serving, the others kept")


def test(h):
    check(h.killer and os.path.exists(h.killer), "--killer names no library")
    kill_test(h)
    grace_test(h)


if __name__ == "__main__":
    harness.Harness("acks", __doc__).main(test)
