#!/usr/bin/python3
"""Codename log-ins: how many a second the server answers at an instance's
Argon2id cost, and how its memory behaves under a flood of them.

  logins.py --server BIN --review BIN [--cost default|OPS:SIZE] [--flood 200]
            [--sequential 40]

Makes a throw-away reviewer key and instance (HTTPS on 127.0.0.1, port 0),
sends one first submission to get a codename, then:
  1. logs in `--sequential` times one after another (a fresh form cookie and
     token each time, as a new browser would), and reports log-ins a second;
  2. starts `--flood` log-ins at once, each on its own connection, half with
     the right codename and half with seven listed words nobody holds (which
     log in to an empty conversation, after the same work: the server keeps
     no record of sources), and reports how many were let in, refused, or
     told the server is busy (503), with the server's peak RSS (VmHWM) before
     and after the flood.
Prints one JSON object. Standard library only.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("%s failed:\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Client:
    def __init__(self, port):
        self.port = port
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=120)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, r.headers, data

    def form(self):
        """A new visitor: a form cookie of our own and its token."""
        cookie = "__Host-sd-form=" + os.urandom(32).hex()
        st, hd, page = self.request("GET", "/", headers={"Cookie": cookie})
        return cookie, re.search(rb"csrf=([0-9a-f]{64})", page).group(1).decode()

    def login(self, codename):
        cookie, token = self.form()
        body = urllib.parse.urlencode({"codename": codename})
        st, hd, data = self.request("POST", "/login?csrf=" + token, body, {
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        return st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--review", required=True)
    ap.add_argument("--cost", default="default")
    ap.add_argument("--flood", type=int, default=200)
    ap.add_argument("--sequential", type=int, default=40)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sealdrop-bench-logins-")
    proc = None
    try:
        pw = os.path.join(work, "pass")
        with open(pw, "w") as f:
            f.write("bench passphrase\n")
        key = os.path.join(work, "r.key")
        run([a.review, "keygen", "--out", key, "--passphrase-file", pw])
        inst = os.path.join(work, "inst")
        cost = []
        if a.cost != "default":
            ops, mem = a.cost.split(":")
            cost = ["--codename-ops", ops, "--codename-memory", mem]
        run([a.server, "init", inst, "--recipient", key + ".pub", "--listen", "127.0.0.1:0"] + cost)
        tls = os.path.join(inst, "tls")
        os.makedirs(tls)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                        os.path.join(tls, "key.pem"), "-out", os.path.join(tls, "cert.pem")],
                       capture_output=True, check=True)
        os.chmod(os.path.join(tls, "key.pem"), 0o600)
        log = open(os.path.join(work, "serve.log"), "w+")
        proc = subprocess.Popen([a.server, "serve", inst], stderr=log, stdout=log)
        port = None
        for _ in range(200):
            log.seek(0)
            m = re.search(r"https://127\.0\.0\.1:(\d+)/", log.read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        cl = Client(port)
        cookie, token = cl.form()
        boundary = "----bench"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nbench\r\n--%s--\r\n"
                % (boundary, boundary)).encode()
        st, hd, page = cl.request("POST", "/submit?csrf=" + token, body, {
            "Cookie": cookie, "Content-Type": "multipart/form-data; boundary=" + boundary})
        codename = re.search(rb'<p class="words"[^>]*>([a-z -]+)</p>', page).group(1).decode()

        t0 = time.monotonic()
        for _ in range(a.sequential):
            assert cl.login(codename) == 200
        seq = time.monotonic() - t0
        hwm_before = status_kib(proc.pid, "VmHWM")

        results = []
        lock = threading.Lock()
        gate = threading.Event()

        def one(i):
            gate.wait()
            st = cl.login(codename if i % 2 == 0 else "abacus " * 6 + "zoom")
            with lock:
                results.append(st)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(a.flood)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        gate.set()
        for t in threads:
            t.join()
        flood = time.monotonic() - t0
        out = {
            "cost": open(os.path.join(inst, "codename.params")).read().split(":")[1:3],
            "sequential_logins": a.sequential,
            "sequential_per_second": round(a.sequential / seq, 1),
            "flood": a.flood,
            "flood_seconds": round(flood, 2),
            "let_in": results.count(200),
            "refused": results.count(400) + results.count(403),
            "busy": results.count(503),
            "other": len([r for r in results if r not in (200, 400, 403, 503)]),
            "vmhwm_kib_before_flood": hwm_before,
            "vmhwm_kib_after_flood": status_kib(proc.pid, "VmHWM"),
            "vmrss_kib_after_flood": status_kib(proc.pid, "VmRSS"),
        }
        print(json.dumps(out))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(20)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
