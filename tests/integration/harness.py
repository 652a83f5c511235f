"""Shared helpers for the sealdrop integration tests.

Stdlib only. Every test makes a Harness, which owns one temporary directory
under /tmp (removed at exit unless SEALDROP_KEEP_TMP=1), the servers it
started (stopped at exit) and the summary printed at the end.

The binaries come from --server and --review (CTest passes the targets).
"""
import argparse
import atexit
import glob
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

PASSPHRASE = "correct horse battery staple integration"
SECURITY_HEADERS = {
    # header (lower case) -> substring its value must contain
    "content-security-policy": "default-src 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "",
    "cross-origin-resource-policy": "",
}

# Every POST must carry its form's token in the query (?csrf=<64 hex>) and the
# form cookie the token is bound to; the server refuses one without them with
# a 403 before it reads the body. A client may choose its own cookie value
# and read its token from GET / (regex CSRF_RE); the token is good for the
# life of that server process.
POST_PATHS = ("/submit", "/login", "/confirm", "/logout")
CSRF_RE = re.compile(r"csrf=([0-9a-f]{64})")
# curl options that make a request a POST with a body.
_CURL_POST_OPTS = {"-F", "--form", "--form-string", "-d", "--data", "--data-binary",
                   "--data-raw", "--data-ascii", "--data-urlencode", "-T", "--upload-file"}


# `sealdrop-server init` options for a codename derivation that costs little.
CHEAP_CODENAMES = ("--codename-ops", "1", "--codename-memory", "1MiB")


def form_cookie_name(tls):
    """The form cookie's name: __Host-sd-form over HTTPS, sd-form over the
    plain HTTP of a Unix socket."""
    return "__Host-sd-form" if tls else "sd-form"


def with_csrf(target, token):
    """`target` (a URL or a request path) with ?csrf=<token> (or &csrf=) added."""
    return target + ("&" if "?" in target else "?") + "csrf=" + token


def new_form_cookie(tls=True):
    """A form cookie of our own choosing: 'name=<64 lower-case hex>'."""
    return "%s=%s" % (form_cookie_name(tls), secrets.token_hex(32))


def token_from_page(body, what="GET /"):
    """The form token a page's forms carry."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    m = CSRF_RE.search(text)
    check(m, "%s: the page carries no form token (csrf=...):\n%s" % (what, text[:2000]))
    return m.group(1)


class TestFailure(Exception):
    pass


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def write_random_file(path, mib):
    """Writes `mib` MiB of os.urandom data, 1 MiB at a time; returns its SHA-256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(mib):
            b = os.urandom(1 << 20)
            h.update(b)
            f.write(b)
    return h.hexdigest()


def file_contains(path, needles):
    """Returns the subset of `needles` (bytes) found anywhere in the file."""
    found = set()
    overlap = max(len(n) for n in needles) - 1
    tail = b""
    try:
        with open(path, "rb") as f:
            while True:
                b = f.read(8 << 20)
                if not b:
                    break
                window = tail + b
                for n in needles:
                    if n not in found and n in window:
                        found.add(n)
                tail = window[-overlap:] if overlap > 0 else b""
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        pass
    return found


def search_tree(root, needles):
    """Walks `root` (files, not following symlinks); returns [(path, needle)]."""
    hits = []
    paths = [root] if os.path.isfile(root) else []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            paths.append(os.path.join(dirpath, name))
    for p in paths:
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        for n in file_contains(p, needles):
            hits.append((p, n))
    return hits


def search_memory(pid, needles):
    """Searches a live process's private memory (heap, stacks, anonymous maps;
    not mapped files) for `needles`; returns [(needle, mapping)]. Needs root
    or the process's own user."""
    hits = []
    overlap = max(len(n) for n in needles) - 1
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5] if len(parts) > 5 else "[anonymous]"
            if "r" not in parts[1] or name.startswith("/") or name == "[vvar]":
                continue
            tail = b""
            for at in range(lo, hi, 8 << 20):
                try:
                    mem.seek(at)
                    block = mem.read(min(8 << 20, hi - at))
                except OSError:
                    break
                window = tail + block
                for n in needles:
                    if n in window and (n, name) not in hits:
                        hits.append((n, name))
                tail = window[-overlap:]
    return hits


# --- HTTP parsing for raw sockets ---------------------------------------------------------
class RawResponse:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (lower-case name, value)
        self.body = body
        self.raw_head = raw_head

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def header_dict(self):
        d = {}
        for k, v in self.headers:
            d.setdefault(k, v)
        return d


def multipart(fields, boundary, closing=True):
    """fields: [(name, filename or None, bytes)] -> a multipart/form-data body;
    closing=False leaves out the closing delimiter (an unterminated form)."""
    out = b""
    for name, filename, data in fields:
        out += b"--" + boundary.encode() + b"\r\n"
        if filename is None:
            out += b'Content-Disposition: form-data; name="%s"\r\n\r\n' % name.encode()
        else:
            out += (b'Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                    b"Content-Type: application/octet-stream\r\n\r\n" %
                    (name.encode(), filename.encode()))
        out += data + b"\r\n"
    return out + (b"--" + boundary.encode() + b"--\r\n" if closing else b"")


def parse_responses(data):
    """Parses consecutive HTTP/1.x responses from `data`. Returns (responses, leftover)."""
    out = []
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        head = data[:end].decode("latin-1")
        lines = head.split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
        if not m:
            break
        headers = []
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers.append((k.strip().lower(), v.strip()))
        length = 0
        for k, v in headers:
            if k == "content-length":
                length = int(v)
        if len(data) < end + 4 + length:
            break
        body = data[end + 4:end + 4 + length]
        out.append(RawResponse(int(m.group(1)), m.group(2), headers, body, head))
        data = data[end + 4 + length:]
    return out, data


def count_status_lines(data):
    """Status lines anywhere at a line start (a body need not end in CRLF)."""
    return len(re.findall(rb"(?:^|\n)HTTP/1\.[01] \d{3} ", data))


class RawTLS:
    """A raw TLS connection (no certificate check) for protocol-level cases;
    RawTLS(None, unix_path=P) is a plain-HTTP connection to a Unix socket
    (listen = "unix:/path", the deployment behind tor)."""

    def __init__(self, port, timeout=10, unix_path=None):
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix_path)
            return
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.sock.settimeout(timeout)

    def send(self, data):
        self.sock.sendall(data)

    def try_send(self, data):
        """Sends, returning False if the server has already closed."""
        try:
            self.sock.sendall(data)
            return True
        except (ssl.SSLError, OSError):
            return False

    def _read(self, timeout, enough):
        """Reads until enough(data), EOF/reset, or `timeout`.
        Returns (data, closed, seconds)."""
        t0 = time.monotonic()
        data = b""
        closed = False
        while not enough(data):
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                break
            except (ssl.SSLError, OSError) as e:
                if isinstance(e, ssl.SSLError) and "timed out" in str(e):
                    break
                closed = True
                break
            if not b:
                closed = True
                break
            data += b
        return data, closed, time.monotonic() - t0

    def read_responses(self, n=1, timeout=10):
        """Reads until `n` complete responses arrived, EOF/reset, or `timeout`.
        Returns (responses, raw bytes, closed)."""
        data, closed, _ = self._read(timeout, lambda d: len(parse_responses(d)[0]) >= n)
        return parse_responses(data)[0], data, closed

    def read_until_close(self, timeout=10):
        """Reads until EOF/reset or `timeout`. Returns (data, closed, seconds)."""
        return self._read(timeout, lambda d: False)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --- processes ----------------------------------------------------------------------------
def _die_with_parent():
    """In the child: SIGKILL it if the test dies (say, a CTest timeout), so no
    server outlives its test."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


FAKETIME_LIB = (glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1") or ["libfaketimeMT.so.1"])[0]


def faketime(spec):
    """The prefix (Server.start(prefix=...)) that runs a server under faketime,
    its library preloaded through env (which execs: the faketime wrapper would
    stand between the test and the server it stops). Left to itself, the
    library makes a semaphore and shared memory and unlinks them when the
    process exits, which a confined server may not do (server/sandbox.cc
    kills it): the test makes them here, so the library only opens them, and
    removes them at exit."""
    import _multiprocessing
    name = "sealdrop-it-%d-%d" % (os.getpid(), next(_faketime_ids))
    # A named semaphore of value 1, kept (not unlinked) for the library.
    _multiprocessing.SemLock(1, 1, 1, "/" + name + "-sem", False)
    shm = "/dev/shm/" + name + "-shm"
    with open(shm, "wb") as f:
        f.write(bytes(4096))

    def remove():
        try:
            _multiprocessing.sem_unlink("/" + name + "-sem")
        except OSError:
            pass
        if os.path.exists(shm):
            os.unlink(shm)
    atexit.register(remove)
    return ["env", "LD_PRELOAD=" + FAKETIME_LIB, "FAKETIME=" + spec,
            "FAKETIME_SHARED=/%s-sem /%s-shm" % (name, name)]


_faketime_ids = itertools.count()


COUNT_RE = re.compile(r"(<10|~\d+)")
# What AddressSanitizer and its kin print on their own (tests/run.sh's
# sanitizer stages), never the server.
SANITIZER_RE = re.compile(r"==\d+==")


def parse_counts(text):
    """'requests ~20, sealed <10, refused <10 (malformed <10, ...), received <10 MiB, faults <10,
    store 3% full, reserve 5%' -> {'requests': '~20', 'sealed': '<10', 'refused': '<10',
    'refused malformed': '<10', ..., 'store': '3%', 'reserve': '5%'}"""
    out = {}
    fill = re.search(r", store (\d+)% full, reserve (\d+)%$", text)
    check(fill, "a counts line without the store's fill: " + text)
    out["store"], out["reserve"] = fill.group(1) + "%", fill.group(2) + "%"
    text = text[:fill.start()]
    m = re.match(r"(.*)refused (\S+) \((.*)\), (.*)$", text)
    check(m, "a counts line of an unexpected shape: " + text)
    head, refused, reasons, tail = m.groups()
    out["refused"] = refused
    for part in reasons.split(", "):
        name, value = part.rsplit(" ", 1)
        out["refused " + name] = value
    for part in (head.rstrip(", ") + ", " + tail).split(", "):
        if not part:
            continue
        words = part.split(" ")
        value = next(w for w in words if COUNT_RE.fullmatch(w))
        out[words[0]] = value
    for k, v in out.items():
        if k in ("store", "reserve"):
            continue
        check(COUNT_RE.fullmatch(v), "count %s is not rounded: %r in %s" % (k, v, text))
    return out


class Server:
    LISTEN_RE = re.compile(r"sealdrop-server: listening on "
                           r"(?:https://127\.0\.0\.1:(\d+)/|http\+unix://(\S+))")

    def __init__(self, harness, instance, tag):
        self.h = harness
        self.instance = instance
        self.log_path = os.path.join(harness.tmp, "server-%s.log" % tag)
        self.proc = None
        self.port = None
        self.unix_path = None
        self.peak_hwm_kib = 0
        self.peak_rss_kib = 0
        self._sampling = False
        self._sampler = None
        self._form_auth = None

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def start(self, timeout=20, prefix=()):
        """prefix: a command the server runs under (faketime)."""
        self._form_auth = None  # a new process signs tokens with a new key
        self._log = open(self.log_path, "ab")
        self._log_start = self._log.tell()
        self.proc = subprocess.Popen(list(prefix) + [self.h.server_bin, "serve", self.instance.dir],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, preexec_fn=_die_with_parent)
        self.h.servers.append(self)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            m = self.LISTEN_RE.search(self.log())
            if m:
                if m.group(1):
                    self.port = int(m.group(1))
                else:
                    self.unix_path = m.group(2)
                break
            if self.proc.poll() is not None:
                fail("sealdrop-server serve exited with %s before listening:\n%s" %
                     (self.proc.returncode, self.log()))
            time.sleep(0.02)
        else:
            fail("sealdrop-server did not print its listening line within %ds:\n%s" %
                 (timeout, self.log()))
        self._sampling = True
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def connect(self, timeout=10):
        """A raw connection: TLS to the port, or plain to the Unix socket."""
        return RawTLS(self.port, timeout=timeout, unix_path=self.unix_path)

    @property
    def tls(self):
        return self.unix_path is None

    def fetch_form_auth(self, cookie=None, timeout=30):
        """GET / with a form cookie (`cookie`, 'name=value', or a new one of
        our choosing) over a raw connection; returns (cookie, the token the
        page's forms carry for it)."""
        cookie = cookie or new_form_cookie(self.tls)
        c = self.connect(timeout=timeout)
        try:
            c.send(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n"
                    "Connection: close\r\n\r\n" % cookie).encode())
            resps, raw, _ = c.read_responses(1, timeout=timeout)
        finally:
            c.close()
        check(resps and resps[0].status == 200,
              "GET / for a form token: %r" % (resps[0].raw_head if resps else raw[:500]))
        return cookie, token_from_page(resps[0].body, "GET / for a form token")

    def form_auth(self):
        """(cookie header value, token) for POSTs to this server process:
        fetched once per start (Server.fetch_form_auth), then reused."""
        if self._form_auth is None:
            self._form_auth = self.fetch_form_auth()
        return self._form_auth

    def post_line(self, path="/submit", auth=True):
        """The start of a raw POST request: its request line with ?csrf= and
        the Cookie header line, as bytes (the caller adds the other headers).
        auth: True (this process's form_auth()), False (no token, no cookie) or
        a (cookie or None, token or None) pair."""
        if auth is True:
            auth = self.form_auth()
        cookie, token = auth if auth else (None, None)
        target = with_csrf(path, token) if token else path
        out = b"POST " + target.encode() + b" HTTP/1.1\r\n"
        if cookie:
            out += b"Cookie: " + cookie.encode() + b"\r\n"
        return out

    def log(self):
        """This run's stderr."""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_start)
            return f.read().decode("utf-8", "replace")

    # Every line the server may write while it serves: start-up, the counts
    # (asked for with SIGUSR1, or at the end of a day) and the stop. Nothing
    # per request: journald would stamp it to the microsecond.
    QUIET_RE = re.compile(r"sealdrop-server: (listening on \S+|stopped|removed \d+ unfinished uploads"
                          r"|(today so far|\d{4}-\d\d-\d\d): requests .*"
                          r"|warning: running as root; set user .*)$")

    def server_log(self):
        """This run's stderr less what a sanitizer's runtime adds ("==PID==...")."""
        return "\n".join(l for l in self.log().splitlines() if not SANITIZER_RE.match(l))

    def request_lines(self):
        """stderr lines that are none of the server's own (QUIET_RE)."""
        return [l for l in self.server_log().splitlines() if not self.QUIET_RE.match(l)]

    def counts(self, timeout=10):
        """Sends SIGUSR1 and returns the counts line it prints, as a dict of
        name -> shown value ("<10", "~120"), refusals as "refused <reason>"."""
        before = self.log().count("today so far: ")
        self.proc.send_signal(signal.SIGUSR1)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            lines = [l for l in self.log().splitlines() if "today so far: " in l]
            if len(lines) > before:
                return parse_counts(lines[-1].split("today so far: ", 1)[1])
            time.sleep(0.02)
        fail("sealdrop-server printed no counts within %ds of SIGUSR1:\n%s" % (timeout, self.log()))

    def read_memory(self):
        """(VmHWM, VmRSS) in KiB from /proc, or None when the process is gone."""
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                text = f.read()
        except OSError:
            return None
        hwm = re.search(r"VmHWM:\s+(\d+) kB", text)
        rss = re.search(r"VmRSS:\s+(\d+) kB", text)
        if not hwm or not rss:
            return None
        return int(hwm.group(1)), int(rss.group(1))

    def _sample(self):
        while self._sampling and self.proc.poll() is None:
            m = self.read_memory()
            if m:
                self.peak_hwm_kib = max(self.peak_hwm_kib, m[0])
                self.peak_rss_kib = max(self.peak_rss_kib, m[1])
            time.sleep(0.05)

    def stop_sampling(self):
        """Ends the RSS sampling (peak_hwm_kib stays as it was)."""
        self._sampling = False
        if self._sampler:
            self._sampler.join(timeout=2)

    def _stop_sampling(self):
        m = self.read_memory()
        if m:
            self.peak_hwm_kib = max(self.peak_hwm_kib, m[0])
            self.peak_rss_kib = max(self.peak_rss_kib, m[1])
        self._sampling = False
        if self._sampler:
            self._sampler.join(timeout=2)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGTERM and wait; fails if it does not stop cleanly."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self._stop_sampling()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail("sealdrop-server did not stop within %ds of SIGTERM" % timeout)
        self._log.close()
        # The sandbox kills with SIGSYS a call it does not allow: at no point
        # of any test may the server make one.
        check(rc != -signal.SIGSYS, "sealdrop-server was killed by its sandbox (SIGSYS): a "
              "system call outside server/sandbox.cc's list:\n" + self.log()[-2000:])
        return rc

    def kill(self):
        """SIGKILL (a crash)."""
        if self.alive():
            self._stop_sampling()
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self._log.close()


class Instance:
    def __init__(self, harness, name, pub, max_upload=None):
        self.h = harness
        self.dir = os.path.join(harness.tmp, name)
        # A cheap Argon2id for the codenames every first submission derives
        # (the default is 3 passes over 16 MiB): tests bound the server's memory.
        args = [harness.server_bin, "init", self.dir, "--listen", "127.0.0.1:0"]
        for p in ([pub] if isinstance(pub, str) else pub):  # one reviewer's .pub, or a list
            args += ["--recipient", p]
        args += list(CHEAP_CODENAMES)
        if max_upload:
            args += ["--max-upload", max_upload]
        self.init_output = harness.run(args, expect=0).stdout
        tls = os.path.join(self.dir, "tls")
        os.makedirs(tls, exist_ok=True)
        harness.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                     "-addext", "subjectAltName=IP:127.0.0.1",
                     "-keyout", os.path.join(tls, "key.pem"),
                     "-out", os.path.join(tls, "cert.pem")], expect=0)
        os.chmod(os.path.join(tls, "key.pem"), 0o600)

    @property
    def fingerprint(self):
        """The instance key as `sealdrop-server init` printed it, for
        `sealdrop-review import --instance-fingerprint`."""
        m = re.search(r"^instance key ([0-9a-f]{64})$", self.init_output, re.M)
        check(m, "sealdrop-server init printed no 'instance key <hex>' line:\n" +
              self.init_output)
        return m.group(1)

    @property
    def config_path(self):
        return os.path.join(self.dir, "config.toml")

    def set_config(self, key, value):
        """Replaces the line `key = ...` (top-level keys only) with `key = value`,
        or adds that line before the first table if there is none. `value` is
        written verbatim (quote strings yourself)."""
        with open(self.config_path) as f:
            lines = f.read().split("\n")
        done = False
        for i, line in enumerate(lines):
            if re.match(r"\s*%s\s*=" % re.escape(key), line):
                lines[i] = "%s = %s" % (key, value)
                done = True
                break
        if not done:
            # Top-level keys must come before the first table.
            at = next(i for i, line in enumerate(lines) if line.startswith("["))
            lines[at:at] = ["%s = %s" % (key, value), ""]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines))

    def server(self, tag="serve"):
        return Server(self.h, self, tag)

    def import_outbox(self, path, expect=None):
        return self.h.run([self.h.server_bin, "import-outbox", self.dir, path], expect=expect)

    def replies(self):
        """The number of replies `check` counts."""
        r = self.h.run([self.h.server_bin, "check", self.dir])
        m = re.search(r"^replies: (\d+)", r.stdout, re.M)
        check(m, "check printed no 'replies:' line:\n%s%s" % (r.stdout, r.stderr))
        return int(m.group(1))

    def check(self):
        """Runs `sealdrop-server check`; returns (rc, stdout, unfinished count)."""
        r = self.h.run([self.h.server_bin, "check", self.dir])
        m = re.search(r"^unfinished uploads: (\d+)", r.stdout, re.M)
        check(m, "check printed no 'unfinished uploads:' line:\n%s%s" % (r.stdout, r.stderr))
        return r.returncode, r.stdout + r.stderr, int(m.group(1))

    def export(self, out):
        """Exports; returns the number of submissions it says it wrote."""
        r = self.h.run([self.h.server_bin, "export", self.dir, "--out", out], expect=0)
        m = re.search(r"exported (\d+) submissions", r.stdout)
        check(m, "export printed no 'exported N submissions':\n%s" % r.stdout)
        return int(m.group(1))


_reply_seq = itertools.count(1)


class Reviewer:
    def __init__(self, harness, name="reviewer", key=None, passfile=None):
        """A new key pair from keygen, or copies of an existing `key` (with its
        .pub beside it) and its `passfile`."""
        self.h = harness
        self.key = os.path.join(harness.tmp, name + ".key")
        self.pub = self.key + ".pub"
        self.passfile = os.path.join(harness.tmp, name + ".pass")
        self.sign = self.key + ".sign"
        if key is not None:
            shutil.copy(key, self.key)
            shutil.copy(key + ".pub", self.pub)
            for ext in (".sign", ".sign.pub"):
                if os.path.exists(key + ext):
                    shutil.copy(key + ext, self.key + ext)
            shutil.copy(passfile, self.passfile)
            os.chmod(self.key, 0o600)
            if os.path.exists(self.sign):
                os.chmod(self.sign, 0o600)
            os.chmod(self.passfile, 0o600)
            return
        with open(self.passfile, "w") as f:
            f.write(PASSPHRASE + "\n")
        os.chmod(self.passfile, 0o600)
        harness.run([harness.review_bin, "keygen", "--out", self.key,
                     "--passphrase-file", self.passfile], expect=0)
        check(os.stat(self.key).st_mode & 0o777 == 0o600, "keygen's key file is not mode 0600")
        check(os.stat(self.sign).st_mode & 0o777 == 0o600, "keygen's signing key is not mode 0600")

    def reply(self, sid, vault, text, expect=0):
        """Queues a reply; returns its id (hex) when it was queued."""
        path = self.h.path("reply-%d.txt" % next(_reply_seq))
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        r = self.h.run([self.h.review_bin, "reply", sid, "--vault", vault, "--key", self.key,
                        "--passphrase-file", self.passfile, "--message-file", path],
                       expect=expect)
        m = re.search(r"^reply ([0-9a-f]{32}) ", r.stdout, re.M)
        return m.group(1) if m else r

    def outbox(self, vault, out, extra=(), expect=0):
        return self.h.run([self.h.review_bin, "outbox", "--vault", vault, "--signing-key",
                           self.sign, "--passphrase-file", self.passfile, "--out", out] +
                          list(extra), expect=expect)

    def import_(self, bundle, vault, passfile=None, extra=(), expect=None):
        return self.h.run([self.h.review_bin, "import", bundle, "--vault", vault, "--key",
                           self.key, "--passphrase-file", passfile or self.passfile] +
                          list(extra), expect=expect)

    def list(self, vault):
        r = self.h.run([self.h.review_bin, "list", "--vault", vault, "--json"], expect=0)
        try:
            return json.loads(r.stdout)
        except ValueError:
            fail("list --json printed invalid JSON:\n%s" % r.stdout)

    def show(self, sid, vault):
        r = self.h.run([self.h.review_bin, "show", sid, "--vault", vault, "--key", self.key,
                        "--passphrase-file", self.passfile, "--json"], expect=0)
        try:
            return json.loads(r.stdout)
        except ValueError:
            fail("show --json printed invalid JSON:\n%s" % r.stdout)

    def extract(self, sid, vault, out, expect=0):
        """Returns the list of paths extract printed."""
        r = self.h.run([self.h.review_bin, "extract", sid, "--vault", vault, "--key", self.key,
                        "--passphrase-file", self.passfile, "--out", out], expect=expect)
        return [l for l in r.stdout.splitlines() if l.strip()]


class Harness:
    def __init__(self, name, description=""):
        ap = argparse.ArgumentParser(description=description)
        ap.add_argument("--server", required=True, help="path to sealdrop-server")
        ap.add_argument("--review", required=True, help="path to sealdrop-review")
        ap.add_argument("--killer", help="the kill tests' preloaded library (killer.cc)")
        ap.add_argument("--courier", help="path to sealdrop-courier")
        ap.add_argument("--sandbox-probe", help="the sandbox test's preloaded library "
                        "(sandbox_probe.cc)")
        ap.add_argument("--seccomp", choices=["on", "off"],
                        help="whether the build confines the server (SEALDROP_SECCOMP)")
        args = ap.parse_args()
        self.sandbox_probe = os.path.abspath(args.sandbox_probe) if args.sandbox_probe else None
        self.seccomp = args.seccomp
        self.killer = os.path.abspath(args.killer) if args.killer else None
        self.courier_bin = os.path.abspath(args.courier) if args.courier else None
        self.name = name
        self.server_bin = os.path.abspath(args.server)
        self.review_bin = os.path.abspath(args.review)
        for b in (self.server_bin, self.review_bin):
            if not os.access(b, os.X_OK):
                print("%s: FAIL: %s is not an executable" % (name, b), file=sys.stderr)
                sys.exit(2)
        self.tmp = tempfile.mkdtemp(prefix="sealdrop-it-%s-" % name, dir="/tmp")
        self.servers = []
        self.measured = []  # (label, value) for the summary
        self.t0 = time.monotonic()
        atexit.register(self.cleanup)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))

    def note(self, label, value):
        self.measured.append((label, value))
        print("  %s: %s" % (label, value), flush=True)

    def step(self, text):
        print("[%6.1fs] %s" % (time.monotonic() - self.t0, text), flush=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def cleanup(self):
        for s in self.servers:
            if s.alive():
                try:
                    s.proc.kill()
                    s.proc.wait(timeout=5)
                except Exception:
                    pass
        if os.environ.get("SEALDROP_KEEP_TMP") == "1":
            print("kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, args, expect=None, timeout=300, input=None):
        """Runs a command (no shell); `expect` is the required exit status."""
        try:
            r = subprocess.run(args, capture_output=True, timeout=timeout, input=input,
                               stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            fail("timed out after %ds: %s" % (timeout, " ".join(args)))
        r.stdout = r.stdout.decode("utf-8", "replace")
        r.stderr = r.stderr.decode("utf-8", "replace")
        if expect is not None and r.returncode != expect:
            fail("expected exit %d, got %d from: %s\nstdout:\n%s\nstderr:\n%s" %
                 (expect, r.returncode, " ".join(args), r.stdout, r.stderr))
        return r

    # --- form tokens ----------------------------------------------------------------------
    def server_for(self, url, extra=()):
        """The live Server this harness started that `url` (with curl options
        `extra`, for --unix-socket) reaches, or None."""
        u = urllib.parse.urlsplit(url)
        extra = list(extra)
        unix = extra[extra.index("--unix-socket") + 1] if "--unix-socket" in extra[:-1] else None
        for s in reversed(self.servers):
            if not s.alive():
                continue
            if unix and s.unix_path == unix:
                return s
            if not unix and s.port and u.scheme == "https" and \
                    u.hostname == "127.0.0.1" and u.port == s.port:
                return s
        return None

    def form_auth(self, url, extra=(), fresh=False):
        """(cookie header value, token) for POSTs to the server at `url`: a form
        cookie of our choosing and the token GET / gives for it. A server this
        harness started answers from its cache (fetched once per start);
        fresh=True, or another server, asks GET / each time. `extra`: curl's
        connection options (--unix-socket PATH)."""
        srv = self.server_for(url, extra)
        if srv is not None:
            return srv.fetch_form_auth() if fresh else srv.form_auth()
        u = urllib.parse.urlsplit(url)
        cookie = new_form_cookie(u.scheme == "https")
        extra = list(extra)
        conn = []
        if "--unix-socket" in extra[:-1]:
            i = extra.index("--unix-socket")
            conn = extra[i:i + 2]
        status, _, body, rc, err = self.curl("%s://%s/" % (u.scheme, u.netloc),
                                             conn + ["-H", "Cookie: " + cookie], timeout=60,
                                             auth=False)
        check(status == 200, "GET / for a form token: HTTP %s (curl exit %d %s)" %
              (status, rc, err.strip()))
        return cookie, token_from_page(body, "GET / for a form token")

    def auth_for(self, url, extra=()):
        """What curl() adds on its own: a form cookie and token when `url` is a
        POST target (/submit, /login, /confirm, /logout) without csrf= and
        `extra` makes curl send a body; else None."""
        u = urllib.parse.urlsplit(url)
        if u.path not in POST_PATHS or "csrf=" in u.query:
            return None
        extra = list(extra)
        posts = any(a in _CURL_POST_OPTS or a.startswith("--data") for a in extra) or \
            any(a == "-X" and b.upper() == "POST" for a, b in zip(extra, extra[1:]))
        return self.form_auth(url, extra) if posts else None

    # --- curl ---------------------------------------------------------------------------
    def curl(self, url, extra=(), timeout=300, auth=None):
        """Runs curl -k; returns (http status or 0, headers dict (lower case), body bytes,
        curl exit code, curl stderr).

        auth: None adds a form cookie and token to a POST to a form target
        without csrf= in its URL (auth_for); False sends the request as given
        (for refusals of a POST without a token); a (cookie or None, token or
        None) pair sends exactly those."""
        if auth is None:
            auth = self.auth_for(url, extra)
        if auth:
            cookie, token = auth
            if token:
                url = with_csrf(url, token)
            if cookie:
                extra = ["-H", "Cookie: " + cookie] + list(extra)
        body = self.path("curl-body-%d" % threading.get_ident())
        head = self.path("curl-head-%d" % threading.get_ident())
        args = ["curl", "-k", "-sS", "--max-time", str(timeout), "-o", body, "-D", head,
                "-w", "%{http_code} %{size_upload}"] + list(extra) + [url]
        r = subprocess.run(args, capture_output=True, timeout=timeout + 30,
                           stdin=subprocess.DEVNULL)
        out = r.stdout.decode().split()
        code = out[0] if out else ""
        status = int(code) if code.isdigit() else 0
        # Bytes curl sent as the request body (for "refused before the body").
        self.last_size_upload = int(out[1]) if len(out) > 1 and out[1].isdigit() else -1
        headers = {}
        try:
            with open(head, "rb") as f:
                # Keep the last response's headers (curl writes each one).
                for line in f.read().decode("latin-1").split("\r\n"):
                    if line.startswith("HTTP/"):
                        headers = {}
                    elif ":" in line:
                        k, v = line.split(":", 1)
                        headers.setdefault(k.strip().lower(), v.strip())
        except FileNotFoundError:
            pass
        data = b""
        try:
            with open(body, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            pass
        for p in (body, head):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        return status, headers, data, r.returncode, r.stderr.decode("utf-8", "replace")

    def submit(self, url, message=None, files=(), extra=(), timeout=300, auth=None):
        """POSTs the form with curl. files: [(local path, filename sent)].
        auth: as for curl() (None: with this server's form cookie and token)."""
        args = []
        if message is not None:
            args += ["--form-string", "message=" + message]
        for local, name in files:
            n = name.replace("\\", "\\\\").replace('"', '\\"')
            args += ["-F", 'files=@"%s";filename="%s";type=application/octet-stream' %
                     (local, n)]
        return self.curl(url + "/submit", args + list(extra), timeout=timeout, auth=auth)

    def submit_ok(self, url, message, files=(), what="a normal submission"):
        status, headers, body, rc, err = self.submit(url, message, files)
        check(status == 200 and b"Received" in body,
              "%s was not received: HTTP %s (curl exit %d %s)\n%s" %
              (what, status, rc, err.strip(), body.decode("utf-8", "replace")[:2000]))
        return headers, body

    def main(self, fn):
        """Runs fn(self), prints the summary and exits 0/1."""
        ok = False
        try:
            fn(self)
            ok = True
        except TestFailure as e:
            print("\n%s: FAIL: %s" % (self.name, e), file=sys.stderr, flush=True)
        except Exception:
            import traceback
            traceback.print_exc()
            print("\n%s: FAIL: unexpected exception" % self.name, file=sys.stderr, flush=True)
        finally:
            for s in self.servers:
                if s.alive():
                    try:
                        s.stop()
                    except TestFailure:
                        pass
        print("\n== %s summary (%.1fs) ==" % (self.name, time.monotonic() - self.t0))
        for label, value in self.measured:
            print("  %s: %s" % (label, value))
        print("  result: %s" % ("PASS" if ok else "FAIL"), flush=True)
        sys.exit(0 if ok else 1)


def check_security_headers(headers, what):
    """headers: dict with lower-case names."""
    for name, want in SECURITY_HEADERS.items():
        v = headers.get(name)
        check(v is not None, "%s lacks the %s header (headers: %s)" % (what, name, headers))
        check(want in v, "%s: %s is %r, want it to contain %r" % (what, name, v, want))
    csp = headers.get("content-security-policy", "")
    check("frame-ancestors 'none'" in csp,
          "%s: Content-Security-Policy lacks frame-ancestors 'none': %r" % (what, csp))
