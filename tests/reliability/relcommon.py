"""Shared helpers for the sealdrop reliability tests (tests/reliability/).

Builds on tests/integration/harness.py (imported read-only: instances, servers,
curl, export/import) and adds what the reliability tests need on top: uploads
running in the background, `check` parsing, vault verification against what
the clients sent, memory and latency figures, and FINDING lines.

Stdlib only. Every loop is bounded in count and in time.
"""
import concurrent.futures
import hashlib
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402  (tests/integration/harness.py)
from harness import TestFailure, check, fail  # noqa: E402,F401

MARKER_RE = re.compile(r"marker ([0-9a-f]{32})")
_upload_seq = itertools.count()


def private_binaries(h):
    """Runs the whole test on copies of the binaries: the build directory is
    shared, and a rebuild in the middle of a run (the crash test restarts the
    server 150 times) must not swap or break the binary under it."""
    d = h.path("bin")
    os.makedirs(d, exist_ok=True)
    for attr in ("server_bin", "review_bin"):
        src = getattr(h, attr)
        dst = os.path.join(d, os.path.basename(src))
        for _ in range(30):  # bounded: a link in progress ends within seconds
            try:
                shutil.copy2(src, dst)
                break
            except OSError:
                time.sleep(2)
        else:
            fail("cannot copy %s" % src)
        setattr(h, attr, dst)


# --- check -------------------------------------------------------------------------------
def run_check(h, inst):
    """Runs `sealdrop-server check`; returns a dict with rc, out, submissions,
    chunks, unfinished, ok (the "ok" line) and problems (the "problem:" lines)."""
    r = h.run([h.server_bin, "check", inst.dir], timeout=120)
    out = r.stdout + r.stderr
    d = {"rc": r.returncode, "out": out, "ok": bool(re.search(r"^ok$", r.stdout, re.M)),
         "problems": re.findall(r"^problem: (.*)$", r.stdout, re.M)}
    for key, label in (("submissions", "submissions"), ("chunks", "chunks"),
                       ("unfinished", "unfinished uploads"), ("sealed", "sealed bytes")):
        m = re.search(r"^%s: (\d+)" % label, r.stdout, re.M)
        check(m, "check printed no '%s:' line (exit %d):\n%s" % (label, r.returncode, out))
        d[key] = int(m.group(1))
    m = re.search(r"^store (\d+)% full, reserve (\d+)%$", r.stdout, re.M)
    check(m, "check printed no 'store N%% full' line (exit %d):\n%s" % (r.returncode, out))
    d["fill"], d["reserve"] = int(m.group(1)), int(m.group(2))
    return d


def check_clean(h, inst, what, wait=0.0):
    """`check` must exit 0, say ok, list no problem and nothing unfinished.

    wait: seconds a running server may take to finish dropping refused
    uploads, which its writer does in the pauses between other writes."""
    deadline = time.monotonic() + wait
    c = run_check(h, inst)
    while c["unfinished"] and time.monotonic() < deadline:
        time.sleep(0.2)
        c = run_check(h, inst)
    check(c["rc"] == 0 and c["ok"] and not c["problems"] and c["unfinished"] == 0,
          "check %s: exit %d, ok=%s, unfinished %d, problems %s:\n%s" %
          (what, c["rc"], c["ok"], c["unfinished"], c["problems"], c["out"]))
    return c


# --- uploads in the background -------------------------------------------------------------
class Upload:
    """One curl POST /submit running in the background.

    files: [(local path, name sent)]. auth: the form cookie and token to send
    ((cookie, token); None: the server's own, from h.form_auth, fetched before
    curl starts; False: none). After finish(): status (0 if no HTTP
    response), body (bytes), rc (curl exit), err, seconds."""

    def __init__(self, h, url, message, files=(), max_time=60, extra=(), tag=None, auth=None):
        self.h = h
        self.tag = tag or "%d" % next(_upload_seq)
        self.body_path = h.path("upload-body-%s" % self.tag)
        if auth is None:
            auth = h.form_auth(url, extra)
        cookie, token = auth if auth else (None, None)
        args = ["curl", "-k", "-sS", "--max-time", str(max_time), "-o", self.body_path,
                "-w", "%{http_code}"]
        if cookie:
            args += ["-H", "Cookie: " + cookie]
        if message is not None:
            args += ["--form-string", "message=" + message]
        for local, name in files:
            args += ["-F", 'files=@"%s";filename="%s";type=application/octet-stream' %
                     (local, name)]
        target = url + "/submit"
        args += list(extra) + [harness.with_csrf(target, token) if token else target]
        self.max_time = max_time
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.status = None
        self.body = b""
        self.rc = None
        self.err = ""
        self.seconds = None

    def finish(self, timeout=None):
        try:
            out, err = self.proc.communicate(timeout=timeout or self.max_time + 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            err += b" (killed by the test: curl outlived --max-time)"
        self.seconds = time.monotonic() - self.t0
        code = out.decode("ascii", "replace").strip()
        self.status = int(code) if code.isdigit() else 0
        if 100 <= self.status < 200:
            # Only an interim "100 Continue" came back (curl prints the last
            # code it saw): no final response.
            self.status = 0
        self.rc = self.proc.returncode
        self.err = err.decode("utf-8", "replace").strip()
        try:
            with open(self.body_path, "rb") as f:
                self.body = f.read()
            os.unlink(self.body_path)
        except FileNotFoundError:
            self.body = b""
        return self

    @property
    def received(self):
        return self.status == 200 and b"Received" in self.body


# --- what the clients sent, and what the vault holds -----------------------------------
class Sent:
    """One submission a client sent in full: its message and files."""

    def __init__(self, marker, message, files):
        self.marker = marker
        self.message = message           # str
        self.files = files               # {name sent: (size, sha256 hex)}
        self.confirmed = False           # got 200 "Received"
        self.status = None
        self.found_id = None


def new_marker():
    return os.urandom(16).hex()


def write_payload(path, marker, size, blob):
    """Writes `size` bytes: the marker, then a slice of `blob` at a random
    offset. Returns (size, sha256 hex)."""
    head = marker.encode()[:size]
    rest = size - len(head)
    off = int.from_bytes(os.urandom(4), "little") % max(1, len(blob) - rest + 1) if rest else 0
    data_h = hashlib.sha256()
    with open(path, "wb") as f:
        f.write(head)
        data_h.update(head)
        if rest:
            chunk = blob[off:off + rest]
            f.write(chunk)
            data_h.update(chunk)
    return size, data_h.hexdigest()


class VaultVerifier:
    """Exports the instance, imports into one vault, extracts every submission
    not extracted before (in parallel: each extract pays the Argon2id of the
    key file) and matches it against `sent` (marker -> Sent).

    Each extracted submission must equal, byte for byte, one that a client
    sent in full (message and every file); no marker may appear twice."""

    def __init__(self, h, rv, inst, sent, workers=2):
        self.h = h
        self.rv = rv
        self.inst = inst
        self.sent = sent
        self.workers = workers
        self.vault = h.path("vault")
        self.done_ids = set()
        self.exports = 0
        self.exported_total = 0
        self.extracted = 0

    def export_import(self):
        self.exports += 1
        bundle = self.h.path("bundle-%03d.sdb" % self.exports)
        n = self.inst.export(bundle)
        self.exported_total += n
        if n:
            self.rv.import_(bundle, self.vault, expect=0,
                            extra=["--instance-fingerprint", self.inst.fingerprint])
        os.unlink(bundle)
        return n

    def _extract_one(self, sid):
        out = self.h.path("extract-%s" % sid)
        self.rv.extract(sid, self.vault, out, expect=0)
        got_msg = None
        files = {}
        for name in sorted(os.listdir(out)):
            p = os.path.join(out, name)
            if name == "message.txt":
                with open(p, "rb") as f:
                    got_msg = f.read().decode("utf-8", "replace")
            else:
                files[name] = (os.path.getsize(p), harness.sha256_file(p))
        shutil.rmtree(out, ignore_errors=True)
        return sid, got_msg, files

    def list_all(self):
        """Every submission in the vault (`list` shows only the newest 100
        unless given --all)."""
        if not os.path.isdir(self.vault):
            return []
        r = self.h.run([self.h.review_bin, "list", "--vault", self.vault, "--json", "--all"],
                       timeout=120)
        check(r.returncode == 0, "sealdrop-review list --json --all: exit %d\n%s%s" %
              (r.returncode, r.stdout, r.stderr))
        try:
            return json.loads(r.stdout)
        except ValueError:
            fail("list --json --all printed invalid JSON:\n%s" % r.stdout[:2000])

    def verify_new(self):
        """Extracts what is new in the vault; returns the number verified."""
        listing = self.list_all()
        check(len(listing) == self.exported_total,
              "the vault lists %d submissions, %d were exported into it" %
              (len(listing), self.exported_total))
        new = [s["id"] for s in listing if s["id"] not in self.done_ids]
        results = []
        with concurrent.futures.ThreadPoolExecutor(self.workers) as ex:
            for r in ex.map(self._extract_one, new):
                results.append(r)
        for sid, got_msg, files in results:
            self.done_ids.add(sid)
            self.extracted += 1
            check(got_msg is not None, "submission %s has no message.txt (every client sent "
                  "a message); files: %s" % (sid, sorted(files)))
            m = MARKER_RE.search(got_msg)
            check(m, "submission %s: its message carries no marker: %r" % (sid, got_msg[:200]))
            s = self.sent.get(m.group(1))
            check(s is not None, "submission %s carries marker %s, which no client sent in full" %
                  (sid, m.group(1)))
            check(s.found_id is None, "marker %s is in the vault twice (%s and %s)" %
                  (s.marker, s.found_id, sid))
            check(got_msg == s.message, "submission %s: the message differs from the one sent:"
                  "\n got  %r\n sent %r" % (sid, got_msg[:300], s.message[:300]))
            check(files == s.files, "submission %s (marker %s): files differ from those sent:"
                  "\n got  %s\n sent %s" % (sid, s.marker, files, s.files))
            s.found_id = sid
        return len(results)

    def missing_confirmed(self):
        return [s for s in self.sent.values() if s.confirmed and s.found_id is None]


# --- a reviewer key that unlocks in milliseconds -------------------------------------------
def _format_vectors():
    path = os.path.join(HERE, "..", "..", "docs", "FORMAT.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    vectors = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"^([a-z0-9-]+): (.*)$", line)
        if not m:
            continue
        if m.group(1) == "vector":
            cur = vectors.setdefault(m.group(2), {})
        elif cur is not None:
            cur[m.group(1)] = m.group(2)
    return vectors


class VectorReviewer(harness.Reviewer):
    """The reviewer key of docs/FORMAT.md's "key-file" vector (Argon2id with
    opslimit 1 and 8 MiB), so that unlocking it for each of hundreds of
    extracts costs milliseconds instead of keygen's 256 MiB Argon2id (about
    0.5 s of CPU each). Its secret is public: for tests only."""

    def __init__(self, h, name="vector-reviewer"):
        v = _format_vectors()
        kf, pk = v.get("key-file"), v.get("public-key")
        check(kf and pk and "expect" in kf and "passphrase" in kf and "expect" in pk and
              kf.get("secret") == pk.get("secret") and kf.get("epoch") == pk.get("epoch"),
              "docs/FORMAT.md lacks the key-file and public-key vectors for one key")
        self.h = h
        self.key = os.path.join(h.tmp, name + ".key")
        self.pub = self.key + ".pub"
        self.passfile = os.path.join(h.tmp, name + ".pass")
        fd = os.open(self.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(bytes.fromhex(kf["expect"]))
        with open(self.pub, "w") as f:
            f.write(pk["expect"] + "\n")
        fd = os.open(self.passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(kf["passphrase"] + "\n")


# --- processes and figures -------------------------------------------------------------------
def vm_hwm_kib(pid):
    """VmHWM (peak RSS) of a live process in KiB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"VmHWM:\s+(\d+) kB", f.read())
        return int(m.group(1)) if m else None
    except OSError:
        return None


def thread_count(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"Threads:\s+(\d+)", f.read())
        return int(m.group(1)) if m else None
    except OSError:
        return None


def latency_summary(values):
    if not values:
        return "no samples"
    return "n=%d median %.2fs max %.2fs" % (len(values), statistics.median(values), max(values))


class Findings:
    """Product findings: printed as FINDING: lines at once and again at the
    end; the test exits non-zero if there is any."""

    def __init__(self, h):
        self.h = h
        self.items = []

    def add(self, text):
        self.items.append(text)
        print("FINDING: %s" % text, flush=True)

    def expect(self, cond, text):
        if not cond:
            self.add(text)
        return cond

    def raise_if_any(self):
        if self.items:
            for t in self.items:
                print("FINDING: %s" % t, flush=True)
            fail("%d product finding(s) (FINDING: lines above); the test asserts the desired "
                 "behaviour" % len(self.items))
