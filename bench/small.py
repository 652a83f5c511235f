#!/usr/bin/python3
"""Small-submission rate: 2 KiB messages posted to /submit as a browser posts
the form (a "message" field and an empty "files" part), on parallel HTTPS
keep-alive connections, for a fixed time.

  small.py --port PORT --cafile CERT [--host 127.0.0.1] [--seconds 10]
           [--connections 2] [--message-bytes 2048]
  small.py --unix SOCKET ...      plain HTTP over a Unix socket (listen = "unix:...",
                                  the deployment behind a Tor onion service)

Prints one JSON object: submissions, errors, seconds, per_second, reconnects.
Standard library only (python3 http.client over ssl).

Every POST carries a form cookie and its token (?csrf=), as a browser on the
site's page does: the cookie is chosen here and its token read from GET /
once, before the clock starts. No session cookie is kept, so each submission
is a first one (a new codename, derived at the instance's Argon2id cost).

A success keeps the connection open; the server closes it after any error
response, and after keep_alive_max_count (100) requests, so every closed
connection is reopened (a new TLS handshake) and counted in "reconnects".
"""
import argparse
import http.client
import json
import os
import re
import socket
import ssl
import sys
import threading
import time

BOUNDARY = "----WebKitFormBoundarySealdropBench01"


def form_body(message_bytes):
    # Printable ASCII, so the message is valid UTF-8 and one char per byte.
    alphabet = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789.,\n"
    raw = os.urandom(message_bytes)
    message = bytes(alphabet[b % len(alphabet)] for b in raw)
    b = BOUNDARY.encode()
    return (b"--" + b + b"\r\n"
            b'Content-Disposition: form-data; name="message"\r\n\r\n' + message + b"\r\n"
            b"--" + b + b"\r\n"
            b'Content-Disposition: form-data; name="files"; filename=""\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n\r\n"
            b"--" + b + b"--\r\n")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def open_connection(args, ctx):
    if args.unix:
        return UnixHTTPConnection(args.unix, timeout=30)
    return http.client.HTTPSConnection(args.host, args.port, context=ctx, timeout=30)


def form_auth(args, ctx):
    """(Cookie header value, token): a form cookie of our choosing (named
    __Host-sd-form over HTTPS, sd-form over a Unix socket's plain HTTP) and
    the token that GET / puts in the page's forms for it."""
    cookie = "%s=%s" % ("sd-form" if args.unix else "__Host-sd-form", os.urandom(32).hex())
    conn = open_connection(args, ctx)
    try:
        conn.request("GET", "/", headers={"Cookie": cookie})
        resp = conn.getresponse()
        page = resp.read().decode("utf-8", "replace")
    finally:
        conn.close()
    m = re.search(r"csrf=([0-9a-f]{64})", page)
    if resp.status != 200 or not m:
        raise SystemExit("small.py: GET / gave no form token (HTTP %d)" % resp.status)
    return cookie, m.group(1)


class Worker(threading.Thread):
    def __init__(self, args, ctx, body, deadline, start_gate, auth):
        super().__init__(daemon=True)
        self.args, self.ctx, self.body = args, ctx, body
        self.cookie, self.path = auth[0], "/submit?csrf=" + auth[1]
        self.deadline, self.start_gate = deadline, start_gate
        self.ok = self.errors = self.connects = 0
        self.first_error = None
        self.conn = None

    def connect(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = open_connection(self.args, self.ctx)
        self.conn.connect()
        self.connects += 1

    def run(self):
        headers = {
            "Content-Type": "multipart/form-data; boundary=" + BOUNDARY,
            "Content-Length": str(len(self.body)),
            "Connection": "keep-alive",
            "Cookie": self.cookie,
        }
        self.start_gate.wait()
        self.connect()
        while time.monotonic() < self.deadline[0]:
            try:
                self.conn.request("POST", self.path, body=self.body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.status == 200 and b"Received" in data:
                    self.ok += 1
                else:
                    self.errors += 1
                    if self.first_error is None:
                        self.first_error = "HTTP %d" % resp.status
                if resp.will_close:
                    self.connect()
            except (OSError, http.client.HTTPException) as e:
                self.errors += 1
                if self.first_error is None:
                    self.first_error = repr(e)
                if time.monotonic() < self.deadline[0]:
                    self.connect()
        self.conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int)
    p.add_argument("--cafile", help="the server's self-signed certificate")
    p.add_argument("--unix", help="a Unix socket to use instead (plain HTTP)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=2)
    p.add_argument("--message-bytes", type=int, default=2048)
    args = p.parse_args()
    if not args.unix and (args.port is None or args.cafile is None):
        p.error("--port and --cafile are needed, or --unix")

    ctx = None if args.unix else ssl.create_default_context(cafile=args.cafile)
    body = form_body(args.message_bytes)
    auth = form_auth(args, ctx)
    gate = threading.Event()
    deadline = [0.0]
    workers = [Worker(args, ctx, body, deadline, gate, auth) for _ in range(args.connections)]
    for w in workers:
        w.start()
    start = time.monotonic()
    deadline[0] = start + args.seconds
    gate.set()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    ok = sum(w.ok for w in workers)
    errors = sum(w.errors for w in workers)
    result = {
        "submissions": ok,
        "errors": errors,
        "seconds": round(elapsed, 3),
        "per_second": round(ok / elapsed, 2) if elapsed > 0 else 0.0,
        "connections": args.connections,
        "reconnects": sum(w.connects for w in workers) - args.connections,
        "message_bytes": args.message_bytes,
        "body_bytes": len(body),
        "first_error": next((w.first_error for w in workers if w.first_error), None),
    }
    print(json.dumps(result))
    return 0 if ok > 0 and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
