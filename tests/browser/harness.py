"""Shared set-up for sealdrop's browser tests (Python stdlib + selenium).

An Instance is a throw-away sealdrop installation in a temp dir: a reviewer
key, a server instance with a self-signed certificate for 127.0.0.1, and the
running server whose stderr is collected line by line. The server writes no
line per request, so what a browser fetched comes from the browser itself:
Chromium's network log (NetworkLog).
"""
import hashlib
import html.parser
import json
import os
import re
import shutil
import signal
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zlib

INSTALL_HINT = "run deploy/install-deps.sh --test (as root) to install chromium, chromium-driver and python3-selenium"

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
CHROMEDRIVER = "/usr/bin/chromedriver"


class TestFailure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def log(msg):
    print("[browser-test] " + msg, flush=True)


# --- browser ----------------------------------------------------------------------------

def find_browser():
    """Returns (chromium, chromedriver). Missing pieces are a failure, never a skip."""
    missing = []
    chromium = next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), None)
    if chromium is None:
        missing.append("chromium (" + " or ".join(CHROMIUM_CANDIDATES) + ")")
    if not os.access(CHROMEDRIVER, os.X_OK):
        missing.append("chromedriver (" + CHROMEDRIVER + ")")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium for " + sys.executable)
    if missing:
        raise TestFailure("missing " + ", ".join(missing) + ": " + INSTALL_HINT)
    return chromium, CHROMEDRIVER


def make_driver(chromium, chromedriver, workdir, width=1000, height=1400, javascript=False):
    """Headless Chromium with JavaScript OFF (Tor Browser "Safest"), logging
    its network events to the performance log that NetworkLog reads.
    javascript=True is a browser that was NOT set to "Safest"."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="profile-", dir=workdir)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--user-data-dir=" + profile, "--ignore-certificate-errors",
              "--window-size=%d,%d" % (width, height)):
        opts.add_argument(a)
    # What Tor Browser's "Safest" level does: no JavaScript on any page.
    opts.add_experimental_option("prefs", {
        "profile.managed_default_content_settings.javascript": 1 if javascript else 2,
    })
    # Every request the page makes, to any host, as DevTools Network events.
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = Service(executable_path=chromedriver,
                      log_path=os.path.join(workdir, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(120)
    return driver


def assert_javascript_off(driver):
    """Proves that pages cannot run scripts: an inline script that would
    retitle the page and rewrite a paragraph must leave both alone, and the
    <noscript> fallback must be what is shown."""
    page = ("<!DOCTYPE html><html><head><title>js-off</title></head><body>"
            "<p id=\"probe\">untouched</p>"
            "<noscript><p id=\"ns\">noscript shown</p></noscript>"
            "<script>document.title='js-ON';"
            "document.getElementById('probe').textContent='script ran';</script>"
            "</body></html>")
    driver.get("data:text/html;charset=utf-8," + urllib.parse.quote(page))
    time.sleep(0.3)
    title = driver.title
    check(title == "js-off", "JavaScript is ON: an inline script changed the title to %r" % title)
    from selenium.webdriver.common.by import By
    probe = driver.find_element(By.ID, "probe").text
    check(probe == "untouched", "JavaScript is ON: an inline script rewrote the page (%r)" % probe)
    ns = driver.find_elements(By.ID, "ns")
    check(ns and ns[0].is_displayed(), "the <noscript> fallback is not shown, so scripts are enabled")


class NetworkLog:
    """What the browser itself sent, from Chromium's performance log: one entry
    per request, {"url", "method", "status"}, in the order sent; status is None
    when no response came. chromedriver empties the log on each read, so read()
    after each page: the entries add up here."""

    def __init__(self, driver):
        self.driver = driver
        self.requests = []
        self._by_id = {}  # requestId -> its latest entry (a redirect starts a new one)

    def discard(self):
        """Drops what is logged so far (pages that are not the site's); returns how much."""
        return len(self.driver.get_log("performance"))

    def read(self):
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"]).get("message", {})
            method, params = msg.get("method"), msg.get("params", {})
            if method == "Network.requestWillBeSent":
                rid = params.get("requestId")
                if rid in self._by_id and "redirectResponse" in params:
                    self._by_id[rid]["status"] = int(params["redirectResponse"]["status"])
                req = params.get("request", {})
                r = {"url": req.get("url", ""), "method": req.get("method", ""), "status": None}
                self.requests.append(r)
                self._by_id[rid] = r
            elif method == "Network.responseReceived":
                resp = params.get("response", {})
                r = self._by_id.get(params.get("requestId"))
                if r is None:  # its request was not logged: still count it
                    r = {"url": resp.get("url", ""), "method": "?", "status": None}
                    self.requests.append(r)
                    self._by_id[params.get("requestId")] = r
                r["status"] = int(resp.get("status", 0))
        return list(self.requests)


def origin_of(url):
    """(scheme, host, port, user, password) of a URL; a data: URL has no host."""
    u = urllib.parse.urlsplit(url)
    try:
        port = u.port
    except ValueError:
        port = "bad port"
    return (u.scheme.lower(), u.hostname, port, u.username, u.password)


def path_of(url):
    """The path and query a request asked for."""
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def short_url(url, n=100):
    return url if len(url) <= n else url[:n] + "..."


# --- PNG --------------------------------------------------------------------------------

def check_png(path):
    """A real, non-blank PNG: signature, IHDR, and image data with more than a
    handful of distinct byte values (a blank page compresses to a few)."""
    check(os.path.isfile(path), "no screenshot at " + path)
    data = open(path, "rb").read()
    check(len(data) > 1000, "%s is only %d bytes" % (path, len(data)))
    check(data[:8] == b"\x89PNG\r\n\x1a\n", path + " is not a PNG")
    pos, idat, width, height = 8, b"", 0, 0
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    check(width > 0 and height > 0, path + " has no size")
    raw = zlib.decompress(idat)
    check(len(set(raw)) > 16, path + " looks blank (%d distinct bytes)" % len(set(raw)))
    return width, height


# --- HTML audit -------------------------------------------------------------------------

URL_ATTRS = {"src", "href", "action", "formaction", "poster", "srcset", "data", "background",
             "cite", "longdesc", "manifest", "ping", "xlink:href", "icon"}
FOREIGN_TAGS = {"script", "iframe", "frame", "object", "embed", "applet", "base", "portal"}


class _Audit(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []  # (tag, dict(attrs))

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k.lower(): (v or "") for k, v in attrs}))

    handle_startendtag = handle_starttag


def parse_tags(text):
    p = _Audit()
    p.feed(text)
    p.close()
    return p.tags


def audit_html(text, base):
    """Problems that would make the page run code or reach past its origin."""
    problems = []
    origin = urllib.parse.urlsplit(base)[:2]
    for tag, attrs in parse_tags(text):
        if tag in FOREIGN_TAGS:
            problems.append("<%s> element" % tag)
        for k, v in attrs.items():
            if k.startswith("on"):
                problems.append("<%s %s=...> event handler" % (tag, k))
            if k == "style" and "url(" in v.replace(" ", "").lower():
                problems.append("<%s style> loads %r" % (tag, v))
            if k not in URL_ATTRS:
                continue
            values = [c.strip().split()[0] for c in v.split(",") if c.strip()] if k == "srcset" \
                else [v.strip()]
            for u in values:
                if u.lower().startswith(("javascript:", "data:", "vbscript:")):
                    problems.append("<%s %s=%r> scheme" % (tag, k, u))
                    continue
                if u.startswith("//") or urllib.parse.urlsplit(u).scheme:
                    problems.append("<%s %s=%r> is not a relative URL" % (tag, k, u))
                    continue
                if urllib.parse.urlsplit(urllib.parse.urljoin(base, u))[:2] != origin:
                    problems.append("<%s %s=%r> leaves the origin" % (tag, k, u))
        if tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
            problems.append("<meta http-equiv=refresh>")
    if re.search(r"<\s*script", text, re.I):
        problems.append("the text <script appears in the page")
    return problems


# --- HTTP (urllib, certificate not checked: it is our own self-signed one) --------------

def _ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def http_get(url):
    return http_get_with(url, {})


def http_get_with(url, headers):
    req = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(req, context=_ctx(), timeout=30) as r:
        return r.status, dict(r.headers), r.read().decode("utf-8")


def form_auth(base):
    """A form cookie of our choosing and the token the site's forms carry for
    it (every POST needs both: the server refuses a form from elsewhere)."""
    cookie = "__Host-sd-form=" + os.urandom(32).hex()
    status, headers, page = http_get_with(base, {"Cookie": cookie})
    m = re.search(r"csrf=([0-9a-f]{64})", page)
    check(status == 200 and m, "GET / gave no form token")
    return cookie, m.group(1)


def http_post_multipart(url, fields, files):
    """fields: [(name, text)], files: [(name, filename, bytes)]. Posts with a
    form cookie and its token, as a browser on the site's page would."""
    u = urllib.parse.urlsplit(url)
    cookie, token = form_auth("%s://%s/" % (u.scheme, u.netloc))
    url += ("&" if "?" in url else "?") + "csrf=" + token
    boundary = "----sealdropbrowsertest" + os.urandom(8).hex()
    body = b""
    for name, value in fields:
        body += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (boundary, name)).encode()
        body += value.encode("utf-8") + b"\r\n"
    for name, filename, data in files:
        body += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                 "Content-Type: application/octet-stream\r\n\r\n" % (boundary, name, filename)).encode()
        body += data + b"\r\n"
    body += ("--%s--\r\n" % boundary).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "multipart/form-data; boundary=" + boundary, "Cookie": cookie})
    with urllib.request.urlopen(req, context=_ctx(), timeout=60) as r:
        return r.status, dict(r.headers), r.read().decode("utf-8")


# --- the instance -----------------------------------------------------------------------

# Every line sealdrop-server may write to stderr while serving. None is per
# request: a line per request would stamp when each source came.
SERVER_LINES = (
    re.compile(r"^sealdrop-server: listening on \S+$"),
    re.compile(r"^sealdrop-server: stopped$"),
    re.compile(r"^sealdrop-server: removed \d+ unfinished uploads$"),
    re.compile(r"^sealdrop-server: today so far: \S.*$"),
    re.compile(r"^sealdrop-server: \d{4}-\d{2}-\d{2}: \S.*$"),
    # Once, at start, when started as root with no user to become (tests).
    re.compile(r"^sealdrop-server: warning: running as root; set user .*$"),
)


def is_server_line(line):
    return any(r.match(line) for r in SERVER_LINES)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    if p.returncode != 0:
        raise TestFailure("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(cmd), p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace")))
    return p.stdout.decode("utf-8", errors="replace")


class Instance:
    def __init__(self, server_bin, review_bin, workdir):
        self.server_bin, self.review_bin, self.work = server_bin, review_bin, workdir
        self.key = os.path.join(workdir, "reviewer.key")
        self.passfile = os.path.join(workdir, "passphrase")
        self.dir = os.path.join(workdir, "instance")
        self.vault = os.path.join(workdir, "vault")
        self.proc = None
        self.pump = None
        self.lines = []
        self.lock = threading.Lock()
        self.port = None

    def setup(self):
        with open(self.passfile, "w") as f:
            f.write("correct horse battery staple for sealdrop\nthis second line is ignored\n")
        os.chmod(self.passfile, 0o600)
        run([self.review_bin, "keygen", "--out", self.key, "--passphrase-file", self.passfile])
        init = run([self.server_bin, "init", self.dir, "--recipient", self.key + ".pub",
                    "--listen", "127.0.0.1:0"])
        m = re.search(r"^instance key ([0-9a-f]{64})$", init, re.M)
        if not m:
            raise TestFailure("sealdrop-server init printed no instance key:\n" + init)
        self.fingerprint = m.group(1)
        tls = os.path.join(self.dir, "tls")
        os.makedirs(tls, mode=0o700, exist_ok=True)
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", os.path.join(tls, "key.pem"), "-out", os.path.join(tls, "cert.pem")])
        os.chmod(os.path.join(tls, "key.pem"), 0o600)

    def start(self, timeout=30):
        self.proc = subprocess.Popen([self.server_bin, "serve", self.dir],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        ready = threading.Event()

        def pump():
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                with self.lock:
                    self.lines.append(line)
                m = re.search(r"listening on https://127\.0\.0\.1:(\d+)/", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        self.pump = threading.Thread(target=pump, daemon=True)
        self.pump.start()
        if not ready.wait(timeout) or self.port is None:
            self.stop()
            raise TestFailure("sealdrop-server did not start:\n" + "\n".join(self.lines))
        self.url = "https://127.0.0.1:%d/" % self.port

    def mark(self):
        with self.lock:
            return len(self.lines)

    def log_since(self, mark):
        with self.lock:
            return list(self.lines[mark:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.pump is not None:
            self.pump.join(5)  # every line the server wrote is in self.lines

    # --- the reviewer's side --------------------------------------------------------
    def export(self, bundle):
        return run([self.server_bin, "export", self.dir, "--out", bundle])

    def import_bundle(self, bundle):
        return run([self.review_bin, "import", bundle, "--vault", self.vault, "--key", self.key,
                    "--passphrase-file", self.passfile, "--instance-fingerprint", self.fingerprint])

    def list(self):
        return json.loads(run([self.review_bin, "list", "--vault", self.vault, "--json"]))

    def reply(self, sid, text):
        path = os.path.join(self.work, "reply-%s.txt" % sid)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return run([self.review_bin, "reply", sid, "--vault", self.vault, "--key", self.key,
                    "--passphrase-file", self.passfile, "--message-file", path])

    def send_replies(self, outbox):
        """Writes the queued replies into an outbox and imports it on the server."""
        run([self.review_bin, "outbox", "--vault", self.vault, "--signing-key", self.key + ".sign",
             "--passphrase-file", self.passfile, "--out", outbox])
        return run([self.server_bin, "import-outbox", self.dir, outbox])

    def extract(self, sid, out):
        return run([self.review_bin, "extract", sid, "--vault", self.vault, "--key", self.key,
                    "--passphrase-file", self.passfile, "--out", out])


def new_workdir():
    return tempfile.mkdtemp(prefix="sealdrop-browser-")


def remove_workdir(d):
    shutil.rmtree(d, ignore_errors=True)


def finish(ok, drivers, inst, work, keep):
    """Ends a browser test: quits the browsers, stops the server (showing its
    log if the test failed) and removes the work dir unless it failed or
    `keep` asks to keep it."""
    for d in drivers:
        if d is None:
            continue
        try:
            d.quit()
        except Exception:
            pass
    inst.stop()
    if not ok:
        log("server log:\n  " + "\n  ".join(inst.log_since(0)))
    if ok and not keep:
        remove_workdir(work)
    else:
        log("kept " + work)


def run_main(main):
    """Exits 0 on success and 1, saying why, on a failure or an unexpected error."""
    import traceback
    try:
        sys.exit(main())
    except TestFailure as e:
        print("FAIL: %s" % e, file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception:
        traceback.print_exc()
        print("FAIL: unexpected error", file=sys.stderr, flush=True)
        sys.exit(1)
