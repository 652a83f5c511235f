#!/usr/bin/python3
"""Bounded floods from loopback against one server (threads = 8,
connections = 128, read_timeout = 5), each while a well-behaved client submits a 1 MiB file and a
message every second (one at a time, curl, --max-time 30):

  (a) idle: 200 concurrent connections that complete TLS and send nothing
      (a slot the server closes is opened again), for FLOOD_SECS: more than
      the server's 128, so it must end idle ones to let the good client in;
  (b) slowloris: 100 connections sending one header line every 2 s for 20 s;
  (c) slow bodies: 50 uploads declaring 10 MB and sending 100 bytes/s, for
      FLOOD_SECS;
  (d) storm: 2000 malformed or refused requests as fast as 16 threads can
      (bad multipart, gzip, chunked, wrong paths and methods, too large,
      no length, wrong type, unknown field, unterminated forms, one in ten
      with 1.5 MiB of file data before the form breaks).

Desired behaviour, asserted after each flood: every good submission got a 200
"Received" within 30 s; the server's peak RSS (VmHWM) stays under 256 MiB;
`check` is ok with nothing unfinished; `check`'s "submissions:" equals the
number of good submissions (refused requests left nothing committed). At the
end the bundle holds exactly the good submissions, byte for byte.

A good client that cannot be served during a flood is a product finding: it is
printed as FINDING: lines with the figures and the test exits non-zero. Store
integrity failures fail at once.
"""
import gzip
import os
import re
import socket
import ssl
import statistics
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean (CTest runs from it)
import relcommon  # noqa: E402
from relcommon import check, harness  # noqa: E402

THREADS, CONNECTIONS, READ_TIMEOUT = 8, 128, 5
FLOOD_SECS = 20
GOOD_MAX_SECS = 30
RSS_LIMIT_KIB = 256 * 1024
BOUNDARY = "----sealdropFloodBoundary5xq9"
STORM_REQUESTS = 2000
STORM_THREADS = 16
STORM_BUDGET = 120


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


CTX = tls_context()


def tls_connect(port, timeout):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        s = CTX.wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise
    s.settimeout(timeout)
    return s


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}

    def add(self, key, n=1):
        with self.lock:
            self.c[key] = self.c.get(key, 0) + n

    def get(self, key):
        return self.c.get(key, 0)

    def __str__(self):
        return ", ".join("%s %d" % kv for kv in sorted(self.c.items()))


# --- the well-behaved client ----------------------------------------------------------------
class GoodClient:
    """Submits a 1 MiB file and a message every second, one at a time, until
    stopped; every submission must be received within GOOD_MAX_SECS."""

    def __init__(self, h, url, sent, label):
        self.h = h
        self.url = url
        self.sent = sent
        self.label = label
        self.results = []  # (Sent, Upload)
        self.stop = threading.Event()
        self.blob = os.urandom(1 << 20)
        self.thread = threading.Thread(target=self.run, daemon=True)

    def one(self, i):
        marker = relcommon.new_marker()
        message = "good client during %s, submission %d, marker %s" % (self.label, i, marker)
        name = "good-%s-%02d.bin" % (self.label.split()[0].strip("()"), i)
        path = self.h.path("good-%s" % marker)
        files = {name: relcommon.write_payload(path, marker, 1 << 20, self.blob)}
        s = relcommon.Sent(marker, message, files)
        self.sent[marker] = s
        up = relcommon.Upload(self.h, self.url, message, [(path, name)],
                              max_time=GOOD_MAX_SECS).finish()
        os.unlink(path)
        s.status = up.status
        s.confirmed = up.received
        self.results.append((s, up))

    def run(self):
        t0 = time.monotonic()
        for i in range(600):  # bound; stop() ends it long before
            if self.stop.is_set():
                break
            self.one(i)
            wait = t0 + (i + 1) * 1.0 - time.monotonic()
            if wait > 0:
                self.stop.wait(wait)

    def start(self):
        self.thread.start()
        return self

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=GOOD_MAX_SECS + 60)

    def latencies(self):
        return [up.seconds for _, up in self.results]

    def failures(self):
        return [(s, up) for s, up in self.results
                if not s.confirmed or up.seconds > GOOD_MAX_SECS]

    def ok_latencies(self):
        return [up.seconds for s, up in self.results if s.confirmed]

    def summary(self):
        errs = {}
        for s, up in self.failures():
            if up.status:
                key = "HTTP %d" % up.status
            else:
                m = re.search(r"\((\d+)\) (.*?)(?: in connection to .*)?$", up.err)
                key = "curl (%s) %s" % (m.group(1), m.group(2)[:60]) if m else \
                    "curl exit %d" % up.rc
            errs[key] = errs.get(key, 0) + 1
        ok = len(self.results) - len(self.failures())
        text = "%d/%d received" % (ok, len(self.results))
        if self.ok_latencies():
            text += ", latency of the received %s" % relcommon.latency_summary(
                self.ok_latencies())
        if errs:
            text += "; failed: " + ", ".join("%s x%d" % kv for kv in errs.items())
            text += " (each failure within %.2fs)" % max(up.seconds for _, up in self.failures())
        return text


# --- the floods -------------------------------------------------------------------------------
class Flood:
    """Runs `slot(i, deadline)` in n threads until the deadline."""

    def __init__(self, n, slot, secs):
        self.deadline = time.monotonic() + secs
        self.threads = [threading.Thread(target=slot, args=(i, self.deadline), daemon=True)
                        for i in range(n)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self):
        for t in self.threads:
            t.join(timeout=max(1, self.deadline - time.monotonic()) + 30)
        return not any(t.is_alive() for t in self.threads)


def flood_connections(port, counters, deadline, max_conns, backoff, margin):
    """Yields up to max_conns TLS connections, one after another, until
    `margin` seconds before the deadline; the caller closes each. A refused
    one is counted and retried after `backoff` seconds."""
    for _ in range(max_conns):
        left = deadline - time.monotonic()
        if left <= margin:
            return
        try:
            s = tls_connect(port, timeout=left)
        except (OSError, ssl.SSLError):
            counters.add("closed at accept/TLS")
            time.sleep(backoff)
            continue
        counters.add("TLS completed")
        yield s


def idle_slot(port, counters, max_conns=40, backoff=0.5):
    def slot(i, deadline):
        for s in flood_connections(port, counters, deadline, max_conns, backoff, 1.0):
            t0 = time.monotonic()
            try:
                while time.monotonic() < deadline:
                    s.settimeout(max(0.1, deadline - time.monotonic()))
                    if not s.recv(1024):
                        raise ConnectionResetError()
                counters.add("still open at the end")
            except socket.timeout:
                counters.add("still open at the end")
            except (OSError, ssl.SSLError):
                counters.add("closed by the server when idle")
                counters.add("idle ms held", int((time.monotonic() - t0) * 1000))
            finally:
                s.close()
    return slot


def slowloris_slot(port, counters, interval=2.0, max_conns=20, backoff=0.5):
    def slot(i, deadline):
        for s in flood_connections(port, counters, deadline, max_conns, backoff, interval):
            try:
                s.sendall(b"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                n = 0
                while time.monotonic() + interval < deadline:
                    time.sleep(interval)
                    s.sendall(b"X-Slow-%d: %s\r\n" % (n, b"a" * 20))
                    n += 1
                    counters.add("header lines sent")
                counters.add("headers still unfinished at the end")
            except (OSError, ssl.SSLError):
                counters.add("closed by the server mid-headers")
            finally:
                s.close()
    return slot


def slow_body_slot(port, counters, start, rate=100, declared=10 * 1000 * 1000, max_conns=20,
                   backoff=0.5):
    """start: the request line and Cookie line with the form token
    (Server.post_line()), so that the body is read, slowly."""
    head = start + ("Host: 127.0.0.1\r\n"
                    "Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n"
                    "\r\n" % (BOUNDARY, declared)).encode()
    part = ('--%s\r\nContent-Disposition: form-data; name="files"; filename="slow.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n" % BOUNDARY).encode()

    def slot(i, deadline):
        for s in flood_connections(port, counters, deadline, max_conns, backoff, 1.0):
            try:
                s.sendall(head + part[:rate])
                rest = part[rate:]
                while time.monotonic() + 1.0 < deadline:
                    time.sleep(1.0)
                    chunk, rest = rest[:rate], rest[rate:]
                    s.sendall(chunk or os.urandom(rate))
                    counters.add("body bytes sent", rate)
                counters.add("body still arriving at the end")
            except (OSError, ssl.SSLError):
                counters.add("closed by the server mid-body")
            finally:
                s.close()
    return slot


def multipart(fields, closing=True):
    return harness.multipart(fields, BOUNDARY, closing)


def storm_requests(auth):
    """(label, request bytes, acceptable statuses). Every message carries
    REFUSED so that a stray commit would show in the vault too. auth: the
    server's (cookie, token), sent with every POST so that the bodies are
    read and refused for what they are."""
    mp = "multipart/form-data; boundary=" + BOUNDARY
    cookie, token = auth

    def post(body, ctype=mp, extra="", length=True, path="/submit", method="POST"):
        head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\nContent-Type: %s\r\n%s" % (
            method, harness.with_csrf(path, token), cookie, ctype, extra)
        if length:
            head += "Content-Length: %d\r\n" % len(body)
        return head.encode() + b"\r\n" + body

    msg = multipart([("message", None, b"REFUSED storm message")])
    big = multipart([("message", None, b"REFUSED storm big"),
                     ("files", "storm.bin", os.urandom(3 << 19))], closing=False)
    big = big[:-2] + b"\r\n--not-the-boundary--\r\n"
    chunked = b"%x\r\n" % len(msg) + msg + b"\r\n0\r\n\r\n"
    return [
        ("bad multipart", post(b"this is not a multipart body at all\r\n" * 20), (400,)),
        ("gzip", post(gzip.compress(msg), extra="Content-Encoding: gzip\r\n"), (415,)),
        ("chunked", post(chunked, extra="Transfer-Encoding: chunked\r\n", length=False), (411,)),
        ("GET wrong path", b"GET /admin/../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", (400, 404)),
        ("POST wrong path", post(msg, path="/upload"), (404, 405)),
        ("PUT", post(msg, method="PUT"), (404, 405)),
        ("no length", post(msg, length=False), (411,)),
        ("too large", post(b"", extra="Content-Length: 99999999999\r\n", length=False), (413,)),
        ("wrong type", post(b'{"message": "REFUSED json"}', ctype="application/json"), (400,)),
        ("unknown field", post(multipart([("evil", None, b"REFUSED evil")])), (400,)),
        ("empty form", post(multipart([("message", None, b"")])), (400,)),
        ("unterminated", post(multipart([("message", None, b"REFUSED open")], closing=False)),
         (400,)),
        ("garbage request line", b"\x16\x03\x01 nonsense\r\n\r\n", (400,)),
        ("1.5 MiB then broken", post(big), (400,)),
    ]


def storm_worker(port, reqs, counters, todo, lock, deadline):
    def run(i, _deadline):
        while time.monotonic() < deadline:
            with lock:
                if todo[0] <= 0:
                    return
                todo[0] -= 1
                n = todo[0]
            label, data, ok = reqs[n % len(reqs)]
            try:
                s = tls_connect(port, timeout=15)
            except (OSError, ssl.SSLError):
                counters.add("closed at accept/TLS")
                continue
            buf = b""
            resps = []
            try:
                try:
                    s.sendall(data)
                except (OSError, ssl.SSLError):
                    pass  # refused before the whole body went: the answer may be there
                t0 = time.monotonic()
                while not resps and time.monotonic() - t0 < 15:
                    b = s.recv(65536)
                    if not b:
                        break
                    buf += b
                    resps = harness.parse_responses(buf)[0]
            except (OSError, ssl.SSLError):
                pass
            finally:
                s.close()
            if not resps:
                counters.add("no response (%s)" % label)
            elif resps[0].status in ok:
                counters.add("expected refusals")
            else:
                counters.add("HTTP %d for %s" % (resps[0].status, label))
    return run


# --- the test -------------------------------------------------------------------------------
def test(h):
    findings = relcommon.Findings(h)
    relcommon.private_binaries(h)
    rv = relcommon.VectorReviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    inst.set_config("threads", str(THREADS))
    inst.set_config("connections", str(CONNECTIONS))
    inst.set_config("read_timeout", str(READ_TIMEOUT))
    srv = inst.server("floods").start()
    port = srv.port
    sent = {}
    table = []

    def good_count():
        return sum(1 for s in sent.values() if s.confirmed)

    def after(label, client, flood_secs, counters, extra=""):
        hwm = relcommon.vm_hwm_kib(srv.proc.pid)
        threads = relcommon.thread_count(srv.proc.pid)
        check(srv.alive(), "%s: the server died (exit status %s; negative = killed by that "
              "signal):\n%s" % (label, srv.proc.poll(), srv.log()[-3000:]))
        # The flood's connections are closed; give the server a moment to
        # notice them, then nothing may be left unfinished.
        t0 = time.monotonic()
        while True:
            c = relcommon.run_check(h, inst)
            if c["unfinished"] == 0 or time.monotonic() - t0 > 20:
                break
            time.sleep(0.5)
        check(c["rc"] == 0 and c["ok"] and not c["problems"] and c["unfinished"] == 0,
              "%s: check: exit %d, unfinished %d, problems %s\n%s" %
              (label, c["rc"], c["unfinished"], c["problems"], c["out"]))
        check(c["submissions"] == good_count(),
              "%s: check counts %d submissions, the good client had %d received: a refused "
              "request was committed" % (label, c["submissions"], good_count()))
        # And the server serves at once again.
        t1 = time.monotonic()
        st, _hd, body, rc, err = h.curl(srv.url + "/", timeout=30)
        recover = time.monotonic() - t1
        lat = client.ok_latencies()
        row = {"flood": label, "secs": flood_secs, "good": client.summary(),
               "n": len(client.results), "ok": len(lat),
               "failed": [up for _, up in client.failures()],
               "median": statistics.median(lat) if lat else None,
               "max": max(lat) if lat else None, "hwm_mib": hwm / 1024.0 if hwm else None,
               "threads": threads, "flood_counts": str(counters), "extra": extra,
               "subs": c["submissions"]}
        table.append(row)
        h.note("%s good client" % label, client.summary())
        h.note("%s flood" % label, "%.1fs; %s%s" % (flood_secs, counters, extra))
        h.note("%s server" % label, "VmHWM %.1f MiB, %s threads, GET / after it: HTTP %s in "
               "%.2fs; check ok, %d submissions = good ones" %
               (hwm / 1024.0, threads, st, recover, c["submissions"]))
        fails = client.failures()
        findings.expect(not fails, (
            "%s: the good client was not served: %s (threads = %d, connections = %d, "
            "read_timeout = %d; flood: %s%s). %s" %
            (label, client.summary(), THREADS, CONNECTIONS, READ_TIMEOUT, counters, extra,
             WHY.get(label.split()[0], ""))))
        findings.expect(hwm is not None and hwm < RSS_LIMIT_KIB,
                        "%s: peak RSS (VmHWM) %.1f MiB, limit %d MiB" %
                        (label, (hwm or 0) / 1024.0, RSS_LIMIT_KIB >> 20))
        check(st == 200, "%s: GET / after the flood: HTTP %s (curl exit %s %s)" %
              (label, st, rc, err.strip()))

    h.step("baseline: the good client alone for 5 s")
    g = GoodClient(h, srv.url, sent, "baseline").start()
    time.sleep(5)
    g.finish()
    after("baseline", g, 5.0, Counters())
    check(not g.failures(), "the good client fails with no flood at all: %s" % g.summary())

    floods = [
        ("(a) idle", 200, idle_slot, FLOOD_SECS),
        ("(b) slowloris", 100, slowloris_slot, 20),
        ("(c) slow-body", 50, lambda p, c: slow_body_slot(p, c, srv.post_line()), FLOOD_SECS),
    ]
    for label, n, make, secs in floods:
        h.step("%s: %d connections for %ds, with the good client" % (label, n, secs))
        counters = Counters()
        t0 = time.monotonic()
        f = Flood(n, make(port, counters), secs).start()
        time.sleep(1.0)  # let the flood take hold first
        g = GoodClient(h, srv.url, sent, label).start()
        ended = f.join()
        g.finish()
        check(ended, "%s: flood threads did not end" % label)
        extra = ""
        closed = counters.get("closed by the server when idle")
        if closed:
            extra = "; an idle connection was held %.1fs on average before the server closed " \
                    "it" % (counters.c.pop("idle ms held") / 1000.0 / closed)
        after(label, g, time.monotonic() - t0, counters, extra)

    h.step("(d) storm: %d malformed or refused requests, %d threads, with the good client" %
           (STORM_REQUESTS, STORM_THREADS))
    counters = Counters()
    reqs = storm_requests(srv.form_auth())
    todo = [STORM_REQUESTS]
    t0 = time.monotonic()
    f = Flood(STORM_THREADS, storm_worker(port, reqs, counters, todo, threading.Lock(),
                                          t0 + STORM_BUDGET), STORM_BUDGET)
    g = GoodClient(h, srv.url, sent, "(d) storm").start()
    f.start()
    ended = f.join()
    storm_secs = time.monotonic() - t0
    g.finish()
    check(ended, "(d) storm threads did not end")
    done = STORM_REQUESTS - todo[0]
    unexpected = {k: v for k, v in counters.c.items() if k != "expected refusals"}
    after("(d) storm", g, storm_secs, counters,
          "; %d requests, %.0f/s" % (done, done / storm_secs))
    check(todo[0] == 0, "(d) the storm sent only %d of %d requests in %ds" %
          (done, STORM_REQUESTS, STORM_BUDGET))
    check(not unexpected, "(d) unexpected answers in the storm: %s" % unexpected)

    h.step("stop, check, export/import/extract: exactly the good submissions")
    srv.stop()
    c = relcommon.check_clean(h, inst, "after the floods")
    v = relcommon.VaultVerifier(h, rv, inst, sent)
    v.export_import()
    v.verify_new()
    missing = v.missing_confirmed()
    check(not missing, "received good submissions missing from the bundle: %d" % len(missing))
    stray = [s for s in sent.values() if s.found_id and not s.confirmed]
    check(not stray, "good-client submissions that were not received are in the bundle: %s" %
          [s.message for s in stray])
    check(len(v.done_ids) == good_count() == c["submissions"],
          "vault %d, received %d, check %d" % (len(v.done_ids), good_count(), c["submissions"]))
    h.note("final", "check ok; bundle holds exactly the %d received good submissions, "
           "byte-identical; peak RSS over the run %.1f MiB" %
           (len(v.done_ids), srv.peak_hwm_kib / 1024.0))
    print("\n  %-14s %9s %14s %14s %9s %10s" % ("flood", "received", "median (s)", "max (s)",
                                                 "failed", "VmHWM MiB"))
    for r in table:
        print("  %-14s %9s %14s %14s %9d %10.1f" % (
            r["flood"], "%d/%d" % (r["ok"], r["n"]),
            "%.2f" % r["median"] if r["median"] is not None else "-",
            "%.2f" % r["max"] if r["max"] is not None else "-", r["n"] - r["ok"],
            r["hwm_mib"] or 0))
    print("  (latency of the received submissions; each failure came within %.2fs)" %
          max([up.seconds for r in table for up in r["failed"]] or [0]))
    findings.raise_if_any()


# What to look at when a flood starves the good client.
WHY = {
    "(a)": "Idle connections must park (server/fibers.cc) and hold no worker; the "
           "server closes one after read_timeout without a request byte, and "
           "connections = %d must leave room for the good client." % CONNECTIONS,
    "(b)": "A head dribbled a line at a time must park between lines and be cut at "
           "header_timeout (server/http.cc, Conn::ReadDeadline), whatever read_timeout says.",
    "(c)": "A slow body must park between reads, not hold a worker; min_rate cuts it "
           "after its 60 s grace (server/http.cc, HandleSubmit).",
    "(d)": "",
}


if __name__ == "__main__":
    harness.Harness("floods", __doc__).main(test)
