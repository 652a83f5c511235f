#!/usr/bin/python3
"""The courier and the reviewer API, with the real binaries over loopback TLS.

`sealdrop-server api` runs beside `serve` on its own port. A courier whose
key the config lists fetches a bundle of two new submissions, then finds
nothing new; the reviewer imports it and writes an outbox, which the courier
pushes: the server records both acknowledgements, and a second push is
refused as imported before. A download cut part way (a proxy drops the
first connection) resumes where it broke and gives one whole bundle that
imports. Requests made here by hand, signed with PyNaCl
(an implementation apart from the product's), are refused from the head
alone: unsigned, signed by an unlisted key, for another instance, with a
bad signature, stale, replayed, signed before the API started, and with a
Content-Length other than the signed one (answered at once though no body
follows); a body other than the one signed is refused and imports nothing.
The API writes one line at start and the counts at stop, none per request.
"""
import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

import nacl.signing

import harness
from harness import check, fail

PASS = "courier passphrase"


def sdsig(pk):
    import base64
    return "sdsig1:" + base64.urlsafe_b64encode(pk).decode().rstrip("=")


class Api:
    def __init__(self, h, inst):
        self.h, self.inst = h, inst
        self.logpath = h.path("api.log")
        self.out = open(self.logpath, "wb")
        self.proc = subprocess.Popen([h.server_bin, "api", inst.dir], stdout=self.out,
                                     stderr=self.out, stdin=subprocess.DEVNULL,
                                     preexec_fn=harness._die_with_parent)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            m = re.search(r"listening on (https://127\.0\.0\.1:(\d+)/)", self.log())
            if m:
                self.url, self.port = m.group(1).rstrip("/"), int(m.group(2))
                self.started = time.time()
                return
            if self.proc.poll() is not None:
                fail("sealdrop-server api exited with %s:\n%s" % (self.proc.returncode, self.log()))
            time.sleep(0.05)
        fail("sealdrop-server api did not listen:\n" + self.log())

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.out.close()
        check(self.proc.returncode == 0, "api stopped with %s:\n%s" % (self.proc.returncode,
                                                                      self.log()))


class CuttingProxy(threading.Thread):
    """Forwards TCP to the API; the first connection is cut after `cut`
    bytes from the server, as a flaky circuit would."""

    def __init__(self, port, cut):
        super().__init__(daemon=True)
        self.port, self.cut, self.connections = port, cut, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = "https://127.0.0.1:%d" % self.sock.getsockname()[1]

    def run(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            server = socket.create_connection(("127.0.0.1", self.port))
            limit = self.cut if self.connections == 1 else None
            threading.Thread(target=self.pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, limit), daemon=True).start()

    @staticmethod
    def pump(src, dst, limit):
        sent = 0
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                if limit is not None and sent + len(data) >= limit:
                    dst.sendall(data[:limit - sent])
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def raw(api, cert, head, body=b"", timeout=10):
    """Sends bytes over TLS; (status, answer text, seconds to the answer)."""
    ctx = ssl.create_default_context(cafile=cert)
    with socket.create_connection(("127.0.0.1", api.port), timeout=timeout) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            t0 = time.monotonic()
            t.sendall(head + body)
            data = b""
            try:
                while True:
                    chunk = t.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    if b"\r\n\r\n" in data:
                        hdr, _, rest = data.partition(b"\r\n\r\n")
                        m = re.search(rb"Content-Length: (\d+)", hdr, re.I)
                        if m and len(rest) >= int(m.group(1)):
                            break
            except (socket.timeout, ssl.SSLError, ConnectionResetError):
                pass
            took = time.monotonic() - t0
    m = re.match(rb"HTTP/1\.1 (\d+)", data)
    return (int(m.group(1)) if m else 0), data.decode("utf-8", "replace"), took


def signed(key, instance_hex, method, target, body=b"", when=None, nonce=None,
           content_length=None, length=None):
    """A request head signed as docs/FORMAT.md "Signed request" says."""
    pk = bytes(key.verify_key)
    when = int(time.time()) if when is None else when
    nonce = os.urandom(16).hex() if nonce is None else nonce
    length = len(body) if length is None else length
    digest = hashlib.blake2b(body, digest_size=32).hexdigest()
    canon = "\n".join(["sealdrop-request-1", method, target, instance_hex, sdsig(pk),
                       str(length), "", digest, str(when), nonce]) + "\n"
    sig = key.sign(canon.encode()).signature.hex()
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1",
             "Sealdrop-Key: " + sdsig(pk), "Sealdrop-Instance: " + instance_hex,
             "Sealdrop-Length: %d" % length, "Sealdrop-Body: " + digest,
             "Sealdrop-Time: %d" % when, "Sealdrop-Nonce: " + nonce,
             "Sealdrop-Signature: " + sig, "Connection: close"]
    cl = len(body) if content_length is None else content_length
    if cl or method != "GET":
        lines.append("Content-Length: %d" % cl)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test(h):
    courier_bin = h.courier_bin
    check(courier_bin and os.path.exists(courier_bin), "--courier names no sealdrop-courier")
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    cert = os.path.join(inst.dir, "tls", "cert.pem")
    passfile = h.path("courier.pass")
    with open(passfile, "w") as f:
        f.write(PASS + "\n")
    ckey = h.path("courier.key")
    r = h.run([courier_bin, "keygen", "--out", ckey, "--passphrase-file", passfile], expect=0)
    check(os.stat(ckey).st_mode & 0o777 == 0o600, "the transport key file is not 0600")
    with open(ckey + ".pub") as f:
        cpub = f.read().strip()
    inst.set_config("api_listen", '"127.0.0.1:0"')
    with open(inst.config_path, "a") as f:
        f.write('\n[[courier]]\nname = "workstation"\nkey = "%s"\n' % cpub)
    fp = inst.fingerprint
    common = ["--instance-fingerprint", fp, "--key", ckey, "--passphrase-file", passfile,
              "--ca", cert]

    srv = inst.server().start()
    api = Api(h, inst)
    h.submit_ok(srv.url, "carried by the courier 1")
    h.submit_ok(srv.url, "carried by the courier 2")

    h.step("fetch: a bundle of the 2 new submissions, then nothing new")
    b1 = h.path("b1.sdb")
    r = h.run([courier_bin, "fetch", api.url] + common + ["--out", b1], expect=0)
    check(re.search(r"^fetched \d+ bytes into ", r.stdout, re.M), r.stdout)
    r = h.run([courier_bin, "fetch", api.url] + common + ["--out", h.path("b2.sdb")], expect=0)
    check("nothing new" in r.stdout and not os.path.exists(h.path("b2.sdb")), r.stdout)
    check(not [n for n in os.listdir(h.tmp) if ".partial-" in n], "a partial file was left")
    vault = h.path("vault")
    r = rv.import_(b1, vault, extra=["--instance-fingerprint", fp], expect=0)
    check(sorted(rv.show(s["id"], vault)["message"] for s in rv.list(vault)) ==
          ["carried by the courier 1", "carried by the courier 2"], "the vault's messages")

    h.step("push: the outbox acknowledges both; a second push is refused")
    o1 = h.path("o1.sdo")
    rv.outbox(vault, o1)
    r = h.run([courier_bin, "push", api.url] + common + [o1], expect=0)
    check("imported outbox 1" in r.stdout and "2 acknowledgements" in r.stdout, r.stdout)
    r = h.run([courier_bin, "push", api.url] + common + [o1], expect=2)
    check("imported before" in r.stderr and "409" in r.stderr, r.stderr)
    text = h.run([h.server_bin, "check", inst.dir], expect=0).stdout
    check("acknowledged by the reviewers: 2" in text, "check after the push:\n" + text)

    h.step("a download cut part way resumes where it broke, into one whole bundle")
    big = h.path("big.bin")
    harness.write_random_file(big, 1)
    h.submit_ok(srv.url, "a large one", [(big, "large.bin")])
    proxy = CuttingProxy(api.port, 300_000)
    proxy.start()
    b3 = h.path("b3.sdb")
    r = h.run([courier_bin, "fetch", proxy.url] + common + ["--out", b3], expect=0)
    check(re.search(r"broke off after \d+ bytes .*; resuming", r.stderr) and
          proxy.connections == 2, "no resume (%d connections):\n%s%s" %
          (proxy.connections, r.stdout, r.stderr))
    got = int(re.search(r"fetched (\d+) bytes", r.stdout).group(1))
    check(got == os.path.getsize(b3) > 1_000_000, "fetched %d, file %d" % (got, os.path.getsize(b3)))
    vault3 = h.path("vault3")
    rv.import_(b3, vault3, extra=["--instance-fingerprint", fp], expect=0)
    msgs = [rv.show(s["id"], vault3)["message"] for s in rv.list(vault3)]
    check(msgs == ["a large one"], "the resumed bundle holds %s" % msgs)
    proxy.sock.close()

    h.step("requests signed by hand are refused from the head alone")
    stranger = nacl.signing.SigningKey.generate()
    for what, head, want in [
            ("unsigned", b"GET /v1/bundle HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 401),
            ("unknown key", signed(stranger, fp, "GET", "/v1/bundle"), 403)]:
        st, answer, _ = raw(api, cert, head)
        check(st == want, "%s: HTTP %d, expected %d:\n%s" % (what, st, want, answer))

    # The courier's key is sealed in its file: the test signs with a key of
    # its own, listed as a second courier, after restarting the API.
    own = nacl.signing.SigningKey.generate()
    with open(inst.config_path, "a") as f:
        f.write('\n[[courier]]\nname = "test"\nkey = "%s"\n' % sdsig(bytes(own.verify_key)))
    api.stop()
    api = Api(h, inst)
    time.sleep(1.1)  # requests signed now are after the start
    st, answer, _ = raw(api, cert, signed(own, fp, "GET", "/v1/bundle?resend=1"))
    check(st == 200 and "Sealdrop-Transfer" in answer,
          "a good request (the large one is not acknowledged): HTTP %d" % st)
    head = signed(own, fp, "GET", "/v1/bundle")
    st, _, _ = raw(api, cert, head)
    check(st == 204, "a fresh request: HTTP %d" % st)
    st, answer, _ = raw(api, cert, head)
    check(st == 401 and "seen before" in answer, "a replay: HTTP %d\n%s" % (st, answer))
    st, answer, _ = raw(api, cert, signed(own, "ab" * 32, "GET", "/v1/bundle"))
    check(st == 403 and "another instance" in answer, "another instance: HTTP %d\n%s" %
          (st, answer))
    st, answer, _ = raw(api, cert, signed(own, fp, "GET", "/v1/bundle", when=int(time.time()) - 1000))
    check(st == 401 and "300 s" in answer, "a stale request: HTTP %d\n%s" % (st, answer))
    st, answer, _ = raw(api, cert, signed(own, fp, "GET", "/v1/bundle",
                                          when=int(api.started) - 60))
    check(st == 401 and "before the server started" in answer,
          "signed before the start: HTTP %d\n%s" % (st, answer))
    forged = re.sub(rb"(Sealdrop-Signature: )(.)", lambda m: m.group(1) +
                    (b"0" if m.group(2) != b"0" else b"1"), signed(own, fp, "GET", "/v1/bundle"))
    st, answer, _ = raw(api, cert, forged)
    check(st == 401 and "does not verify" in answer, "a bad signature: HTTP %d\n%s" % (st, answer))
    # Content-Length of a gigabyte against a signed 17, and no body: an
    # answer that comes at once was given before reading any body.
    st, answer, took = raw(api, cert, signed(own, fp, "POST", "/v1/outbox", b"x" * 17,
                                             content_length=10 ** 9), timeout=20)
    check(st == 400 and "not the signed length" in answer and took < 5,
          "a wrong Content-Length: HTTP %d after %.1f s\n%s" % (st, took, answer))
    with open(o1, "rb") as f:
        data = f.read()
    head = signed(own, fp, "POST", "/v1/outbox", data)
    st, answer, _ = raw(api, cert, head, bytes([data[0] ^ 1]) + data[1:])
    check(st == 400 and "not the one signed" in answer, "a swapped body: HTTP %d\n%s" %
          (st, answer))
    text = h.run([h.server_bin, "check", inst.dir], expect=0).stdout
    check("acknowledged by the reviewers: 2" in text, "a refused push changed the store")
    api.stop()
    srv.stop()
    log = api.log()
    # Tests run as root, with no user to become: the start-up warning says so.
    lines = [l for l in log.splitlines() if l.strip() and "warning: running as root" not in l]
    check(len(lines) == 3 and "listening on" in lines[0] and "stopped" in lines[2],
          "the API wrote more than its start, counts and stop lines:\n" + log)
    check(re.search(r"refused ~?\S+ \(unsigned \S+, malformed \S+, unknown key \S+", lines[1]),
          "no refusal counts at stop:\n" + log)
    h.note("courier", "fetch, push, and 9 kinds of bad request refused; " + lines[1])


if __name__ == "__main__":
    harness.Harness("courier", __doc__).main(test)
