#!/usr/bin/python3
"""The courier's path, killed at every step: nothing lost, nothing twice.

One instance, one `serve` taking submissions throughout, one vault. Each
kill is a SIGKILL; after each one `sealdrop-server check` passes and the
vault holds no submission twice, and after the retry that follows it the
vault holds every submission and the server every reply and acknowledgement,
each exactly once.

1. `sealdrop-courier fetch` runs with a preloaded library (killer.cc) that
   SIGKILLs it just before its N-th sync, link, rename or unlink, for N = 1,
   2, ... until it finishes on its own (a new submission waits each time).
   After a kill the bundle's name holds nothing, or the whole bundle (killed
   after the rename), and at most one `.partial-` file lies beside it; fetch
   run again gets a bundle that imports (with --resend when the killed one
   was counted as exported: the server marks a bundle once it has sent every
   byte), and the vault holds every submission once.
2. `sealdrop-server api` runs under the same library, killed at its N-th
   step from its start, through one GET /v1/bundle (marking the bundle
   exported) and its stop; then again through one POST /v1/outbox (the
   import of replies and acknowledgements). After each kill it starts again
   and the courier tries again: every submission reaches the vault once
   (by a later fetch, or fetch --resend), and the outbox is imported once
   (a retry of one imported before the kill is refused as imported before).
3. `sealdrop-courier push` writes nothing to disk: under the library it
   finishes at N = 1, killed nowhere. So it is killed by a signal through a
   proxy that holds the upload at a chosen byte: before the server has
   any, during the TLS handshake, at a quarter, half, three quarters and all
   but the last bytes of the outbox; nothing is imported. Then pushed whole,
   it is imported once, and a second push is refused as imported before. A
   second outbox's push is killed after the server imported it and before
   the answer reached the courier; pushed again, it is refused as imported
   before, and the server holds its reply once.

Under sanitizers the library's loops run once each, without kills (their
runtimes refuse a preloaded library); the kills by signal still run.
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import harness
from harness import check, fail

SANITIZED = os.environ.get("SEALDROP_SANITIZED") == "1"
PASS = "courier passphrase"
LONG_REPLY = 60000  # bytes: an outbox long enough to cut in the middle


def killer_env(h, n):
    """The environment of a run killed at its n-th disk step (None: not killed)."""
    env = dict(os.environ)
    if n is not None and not SANITIZED:
        env["LD_PRELOAD"] = h.killer
        env["SEALDROP_KILL_AT"] = str(n)
    return env


class Api:
    """One `sealdrop-server api` process, killed at its kill_at-th disk step
    if that is given. url is None when it was killed before it listened."""

    def __init__(self, h, inst, tag, kill_at=None):
        self.logpath = h.path("api-%s.log" % tag)
        with open(self.logpath, "wb") as out:
            self.proc = subprocess.Popen([h.server_bin, "api", inst.dir], stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL, env=killer_env(h, kill_at),
                                         preexec_fn=harness._die_with_parent)
        self.url = self.port = None
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            m = re.search(r"listening on (https://127\.0\.0\.1:(\d+))/", self.log())
            if m:
                self.url, self.port = m.group(1), int(m.group(2))
                return
            if self.proc.poll() is not None:
                check(self.proc.returncode == -signal.SIGKILL and kill_at is not None,
                      "sealdrop-server api exited with %s before listening:\n%s" %
                      (self.proc.returncode, self.log()))
                return
            time.sleep(0.02)
        fail("sealdrop-server api did not listen:\n" + self.log())

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """SIGTERM; the exit status: 0, or -SIGKILL when the library struck
        (before or during the stop)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        check(rc in (0, -signal.SIGKILL), "api stopped with %s:\n%s" % (rc, self.log()))
        return rc


class Courier:
    def __init__(self, h, inst):
        self.h = h
        passfile = h.path("courier.pass")
        with open(passfile, "w") as f:
            f.write(PASS + "\n")
        key = h.path("courier.key")
        h.run([h.courier_bin, "keygen", "--out", key, "--passphrase-file", passfile], expect=0)
        with open(key + ".pub") as f:
            pub = f.read().strip()
        inst.set_config("api_listen", '"127.0.0.1:0"')
        with open(inst.config_path, "a") as f:
            f.write('\n[[courier]]\nname = "workstation"\nkey = "%s"\n' % pub)
        self.common = ["--instance-fingerprint", inst.fingerprint, "--key", key,
                       "--passphrase-file", passfile,
                       "--ca", os.path.join(inst.dir, "tls", "cert.pem")]

    def args(self, what, url, *rest):
        return [self.h.courier_bin, what, url] + self.common + list(rest)

    def run(self, what, url, *rest, kill_at=None, expect=None):
        r = subprocess.run(self.args(what, url, *rest), capture_output=True,
                           env=killer_env(self.h, kill_at), stdin=subprocess.DEVNULL, timeout=120)
        r.stdout = r.stdout.decode("utf-8", "replace")
        r.stderr = r.stderr.decode("utf-8", "replace")
        if expect is not None and r.returncode != expect:
            fail("expected exit %d, got %d from courier %s:\nstdout:\n%s\nstderr:\n%s" %
                 (expect, r.returncode, what, r.stdout, r.stderr))
        return r


class HoldingProxy(threading.Thread):
    """Relays TCP to the API and holds a connection where a test asks:
    after `cut` bytes from the courier it passes no more of them; with
    hold_answer it passes all of them, but nothing from the server once the
    courier has sent `hold_answer` bytes. `held` is set when a cut is
    reached."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = "https://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.socks = []
        self.arm()

    def arm(self, cut=None, hold_answer=None):
        self.cut, self.hold_answer = cut, hold_answer
        self.sent = 0
        self.held = threading.Event()

    def run(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.port))
            with self.lock:
                self.socks += [client, server]
            threading.Thread(target=self.up, args=(client, server), daemon=True).start()
            threading.Thread(target=self.down, args=(server, client), daemon=True).start()

    def up(self, src, dst):
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                if self.cut is not None and self.sent + len(data) >= self.cut:
                    dst.sendall(data[:self.cut - self.sent])
                    self.sent = self.cut
                    self.held.set()
                    return  # passes nothing more; the test ends the connection
                dst.sendall(data)
                self.sent += len(data)
        except OSError:
            pass
        self.close()

    def down(self, src, dst):
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                if self.hold_answer is None or self.sent < self.hold_answer:
                    dst.sendall(data)
        except OSError:
            pass
        self.close()

    def close(self):
        """Ends every connection, as the kernel does for a killed courier."""
        with self.lock:
            socks, self.socks = self.socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class Books:
    """What was submitted and replied, what the vault and server hold."""

    def __init__(self, h, inst, rv, srv, vault):
        self.h, self.inst, self.rv, self.srv, self.vault = h, inst, rv, srv, vault
        self.messages = []
        self.replies = 0
        self.acks = 0  # acknowledgements in outboxes the server imported

    def submit(self, what):
        msg = "courier kill %d (%s)" % (len(self.messages) + 1, what)
        self.h.submit_ok(self.srv.url, msg)
        self.messages.append(msg)

    def server(self, what):
        """(replies, acknowledged) from a clean `check`."""
        r = self.h.run([self.h.server_bin, "check", self.inst.dir])
        check(r.returncode == 0 and re.search(r"^ok$", r.stdout, re.M),
              "%s: sealdrop-server check is not clean:\n%s%s" % (what, r.stdout, r.stderr))
        replies = int(re.search(r"^replies: (\d+)$", r.stdout, re.M).group(1))
        m = re.search(r"^acknowledged by the reviewers: (\d+)", r.stdout, re.M)
        return replies, int(m.group(1)) if m else 0

    def vault_ids(self, what):
        if not os.path.exists(self.vault):
            return []
        r = self.h.run([self.h.review_bin, "list", "--vault", self.vault, "--all", "--json"],
                       expect=0)
        ids = [s["id"] for s in json.loads(r.stdout)]
        check(len(ids) == len(set(ids)), "%s: the vault holds a submission twice: %s" % (what, ids))
        return ids

    def import_(self, bundle, what):
        r = self.rv.import_(bundle, self.vault,
                            extra=["--instance-fingerprint", self.inst.fingerprint])
        check(r.returncode == 0, "%s: %s does not import:\n%s%s" % (what, bundle, r.stdout,
                                                                     r.stderr))

    def all_in_vault(self, what):
        ids = self.vault_ids(what)
        check(len(ids) == len(self.messages),
              "%s: the vault holds %d of the %d submissions" % (what, len(ids), len(self.messages)))
        self.server(what)

    def outbox(self, what, size=0):
        """A reply to the newest submission (`size` bytes long, if given), in a
        new outbox: (its path, the acknowledgements it carries)."""
        sid = self.vault_ids(what)[0]
        text = "%s, reply %d." % (what, self.replies + 1)
        self.rv.reply(sid, self.vault, (text * (size // len(text) + 1))[:size] if size else text)
        path = self.h.path("outbox-%02d.sdo" % (self.replies + 1))
        r = self.rv.outbox(self.vault, path)
        m = re.search(r": (\d+) replies and (\d+) acknowledgements", r.stdout)
        check(m and m.group(1) == "1", "%s: the outbox:\n%s" % (what, r.stdout))
        return path, int(m.group(2))

    def imported(self, what, acks, before):
        """Checks the server took the last outbox, with `acks`, once."""
        self.replies += 1
        self.acks += acks
        got = self.server(what)
        check(got == (self.replies, self.acks),
              "%s: the server holds %d replies and %d acknowledgements, expected %d and %d "
              "(before the push: %s)" % (what, got[0], got[1], self.replies, self.acks, before))


def fetch_kills(h, c, b):
    """Step 1; the number of kills."""
    api = Api(h, b.inst, "fetch")
    n = resends = 0
    while True:
        n += 1
        check(n < 100, "fetch was killed 100 times and still not done")
        b.submit("fetch %d" % n)
        out = h.path("fetch-%02d.sdb" % n)
        r = c.run("fetch", api.url, "--out", out, kill_at=n)
        if r.returncode != -signal.SIGKILL:
            check(r.returncode == 0 and "fetched" in r.stdout, "fetch after %d kills:\n%s%s" %
                  (n - 1, r.stdout, r.stderr))
            b.import_(out, "the unkilled fetch")
            b.all_in_vault("the unkilled fetch")
            break
        what = "fetch killed at step %d" % n
        partial = [p for p in os.listdir(h.tmp) if p.startswith(os.path.basename(out) + ".")]
        check(len(partial) <= 1 and all(".partial-" in p for p in partial),
              "%s left %s beside the bundle" % (what, partial))
        if os.path.exists(out):  # killed after the rename: the name holds it whole
            b.import_(out, what)
        again = h.path("fetch-%02d-again.sdb" % n)
        r = c.run("fetch", api.url, "--out", again, expect=0)
        if "nothing new" in r.stdout:
            r = c.run("fetch", api.url, "--out", again, "--resend", expect=0)
            resends += 1
        b.import_(again, what + ", fetched again")
        b.all_in_vault(what)
    check(api.stop() == 0, "the API did not stop cleanly")
    h.note("fetch", "killed %d times, fetched again (%d with --resend); %d submissions in the "
           "vault once each" % (n - 1, resends, len(b.messages)))
    return n - 1


def api_get_kills(h, c, b):
    """Step 2, GET /v1/bundle; the number of kills."""
    n = early = resends = 0
    fresh = True
    while True:
        n += 1
        check(n < 100, "the API was killed 100 times and still not done")
        if fresh:
            b.submit("bundle %d" % n)
        api = Api(h, b.inst, "get-%02d" % n, kill_at=n)
        what = "the API killed at step %d of a fetch" % n
        if api.url is None:
            early += 1
            b.server(what)
            fresh = False
            continue
        fresh = True
        out = h.path("get-%02d.sdb" % n)
        r = c.run("fetch", api.url, "--out", out)
        if api.stop() == 0:
            check(r.returncode == 0 and "fetched" in r.stdout, "the fetch from an API not "
                  "killed:\n%s%s" % (r.stdout, r.stderr))
            b.import_(out, "the fetch from an API not killed")
            b.all_in_vault("the fetch from an API not killed")
            break
        if r.returncode == 0 and os.path.exists(out):
            b.import_(out, what)
        else:
            check(not os.path.exists(out), "%s: a failed fetch left %s" % (what, out))
        b.server(what)
        api = Api(h, b.inst, "get-%02d-again" % n)
        again = h.path("get-%02d-again.sdb" % n)
        r = c.run("fetch", api.url, "--out", again, expect=0)
        if "nothing new" not in r.stdout:
            b.import_(again, what + ", fetched again")
        if len(b.vault_ids(what)) < len(b.messages):
            c.run("fetch", api.url, "--out", again + ".resent", "--resend", expect=0)
            b.import_(again + ".resent", what + ", fetched with --resend")
            resends += 1
        check(api.stop() == 0, "the restarted API did not stop cleanly")
        b.all_in_vault(what)
    h.note("api, GET /v1/bundle", "killed %d times (%d before it listened), restarted and "
           "fetched again (%d with --resend)" % (n - 1, early, resends))
    return n - 1


def api_post_kills(h, c, b):
    """Step 2, POST /v1/outbox; the number of kills."""
    n = early = refused = 0
    pending = None
    while True:
        n += 1
        check(n < 100, "the API was killed 100 times and still not done")
        if pending is None:
            pending = b.outbox("push %d" % n)
        path, acks = pending
        api = Api(h, b.inst, "post-%02d" % n, kill_at=n)
        what = "the API killed at step %d of a push" % n
        before = b.server(what + " (before)")
        if api.url is None:
            early += 1
            continue
        r = c.run("push", api.url, path)
        if api.stop() == 0:
            check(r.returncode == 0 and "imported outbox" in r.stdout,
                  "the push to an API not killed:\n%s%s" % (r.stdout, r.stderr))
            b.imported("the push to an API not killed", acks, before)
            break
        # Killed: the outbox is in whole or not at all.
        now = b.server(what)
        check(now in (before, (before[0] + 1, before[1] + acks)),
              "%s: the server went from %s to %s (replies, acknowledgements)" % (what, before, now))
        api = Api(h, b.inst, "post-%02d-again" % n)
        r = c.run("push", api.url, path)
        if now == before:
            check(r.returncode == 0 and "imported outbox" in r.stdout,
                  "%s, pushed again:\n%s%s" % (what, r.stdout, r.stderr))
        else:
            check(r.returncode == 2 and "imported before" in r.stderr,
                  "%s after the import, pushed again:\n%s%s" % (what, r.stdout, r.stderr))
            refused += 1
        check(api.stop() == 0, "the restarted API did not stop cleanly")
        b.imported(what, acks, before)
        pending = None
    h.note("api, POST /v1/outbox", "killed %d times (%d before it listened), restarted and "
           "pushed again (%d refused as imported before); %d replies and %d acknowledgements "
           "on the server once each" % (n - 1, early, refused, b.replies, b.acks))
    return n - 1


def push_kills(h, c, b):
    """Step 3; the number of kills (by the library, then by signal)."""
    api = Api(h, b.inst, "push")
    proxy = HoldingProxy(api.port)
    proxy.start()
    path, acks = b.outbox("held push", LONG_REPLY)
    size = os.path.getsize(path)
    before = b.server("before the held pushes")
    cuts = [0, 200, size // 4, size // 2, size * 3 // 4, size]
    for cut in cuts:
        what = "push killed after %d bytes of %d" % (cut, size)
        proxy.arm(cut=cut)
        p = subprocess.Popen(c.args("push", proxy.url, path), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        reached = proxy.held.wait(30)
        p.kill()
        p.wait()
        proxy.close()
        check(reached, "%s: the push never got that far" % what)
        check(b.server(what) == before, "%s: the server took part of it" % what)

    h.step("push under the library, then again")
    n = 0
    while True:
        n += 1
        check(n < 100, "push was killed 100 times and still not done")
        r = c.run("push", api.url, path, kill_at=n)
        if r.returncode != -signal.SIGKILL:
            break
    library = n - 1
    check(r.returncode in (0, 2), "push after %d kills:\n%s%s" % (library, r.stdout, r.stderr))
    b.imported("the push after the held ones", acks, before)
    r = c.run("push", api.url, path, expect=2)
    check("imported before" in r.stderr and "409" in r.stderr, r.stderr)

    h.step("a push killed after the server imported it, before the answer came")
    path, acks = b.outbox("answer held")
    before = b.server("before the answer held")
    proxy.arm(hold_answer=os.path.getsize(path))
    p = subprocess.Popen(c.args("push", proxy.url, path), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    t0 = time.monotonic()
    while b.server("waiting for the import")[0] == before[0] and time.monotonic() - t0 < 30:
        check(p.poll() is None, "the push ended before it was killed")
        time.sleep(0.05)
    check(p.poll() is None, "the push saw the answer the proxy held")
    p.kill()
    out = p.communicate()[0]
    proxy.close()
    check(b"imported" not in out, "the courier saw the answer: %r" % out)
    r = c.run("push", api.url, path, expect=2)
    check("imported before" in r.stderr, "pushed again:\n" + r.stderr)
    b.imported("the answer held", acks, before)
    proxy.sock.close()
    check(api.stop() == 0, "the API did not stop cleanly")
    h.note("push", "%s; killed by signal at %s of %d bytes and after the import: imported "
           "once" % ("not run under the library" if SANITIZED else
                     "no disk step (finished under the library at N = %d)" % n,
                     ", ".join(map(str, cuts)), size))
    return library, len(cuts) + 1


def test(h):
    check(h.killer and os.path.exists(h.killer), "--killer names no library")
    check(h.courier_bin and os.path.exists(h.courier_bin), "--courier names no sealdrop-courier")
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    c = Courier(h, inst)
    srv = inst.server().start()
    b = Books(h, inst, rv, srv, h.path("vault"))

    h.step("fetch, killed before each of its disk steps, then fetched again")
    kills = {"fetch": fetch_kills(h, c, b)}
    h.step("the API, killed before each disk step of a fetch, then restarted")
    kills["api GET"] = api_get_kills(h, c, b)
    h.step("the API, killed before each disk step of a push, then restarted")
    kills["api POST"] = api_post_kills(h, c, b)
    h.step("push, held at points of its upload by a proxy and killed")
    kills["push"], kills["push by signal"] = push_kills(h, c, b)
    srv.stop()

    ids = b.vault_ids("at the end")
    r = h.run([h.review_bin, "show"] + ids + ["--vault", b.vault, "--key", rv.key,
                                              "--passphrase-file", rv.passfile, "--json"],
              expect=0)
    shown = json.loads(r.stdout)
    got = sorted(s["message"] for s in (shown if isinstance(shown, list) else [shown]))
    check(got == sorted(b.messages), "the vault's messages are %s, not %s" % (got, b.messages))
    if not SANITIZED:
        check(kills["fetch"] and kills["api GET"] and kills["api POST"],
              "the library killed nothing: was it preloaded?")
    h.note("kills", ", ".join("%s %d" % kv for kv in kills.items()) +
           (" (sanitized: none by the library)" if SANITIZED else ""))


if __name__ == "__main__":
    harness.Harness("courier_kill", __doc__).main(test)
