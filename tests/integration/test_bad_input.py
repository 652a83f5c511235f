#!/usr/bin/python3
"""Bad input against one running server (max_upload = 1MiB, read_timeout = 3,
header_timeout = 5):
each refusal gets the right status, a "Not sent" page with a clear sentence,
Connection: close and the security headers; after each case another client
still submits fine; a stalled upload is dropped after the read timeout, and
a request head dribbled a line at a time after the header timeout; a
refused request's body is never read as a second request. At the end the
store is sound, nothing is left pending, and the bundle holds exactly the
good submissions.
"""
import gzip
import os
import re
import secrets
import threading
import time

import harness
from harness import check, fail

READ_TIMEOUT = 3
HEADER_TIMEOUT = 5
KEEP_ALIVE = 5  # cpp-httplib's keep-alive timeout as http.cc sets it
PROMPT = 2.5    # a refused connection must close well before KEEP_ALIVE
BOUNDARY = "----sealdropTestBoundary7MA4YWxkTrZu0gW"


def multipart(fields, boundary=BOUNDARY):
    return harness.multipart(fields, boundary)


def post_head(length, extra=b"", ctype=b"multipart/form-data; boundary=" + BOUNDARY.encode(),
              start=b"POST /submit HTTP/1.1\r\n"):
    """A POST /submit head. `start` is the request line (and a Cookie line):
    Server.post_line() for a request that must get past the form token;
    without a token, one refused earlier (415, 411, 413, ...)."""
    return (start + b"Host: 127.0.0.1\r\nUser-Agent: sealdrop-it\r\n"
            b"Content-Type: " + ctype + b"\r\n" + extra +
            (b"Content-Length: %d\r\n" % length if length is not None else b"") + b"\r\n")


def desync(s, srv, label):
    """A refused request (Content-Encoding: gzip) whose body is a complete GET:
    exactly one response, and the connection closed promptly."""
    smuggled = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    gz_head = post_head(len(smuggled), b"Content-Encoding: gzip\r\n")
    # (a) one write, as a single client would send it.
    c = srv.connect()
    c.send(gz_head + smuggled)
    data, closed, secs = c.read_until_close(timeout=KEEP_ALIVE + 3)
    c.close()
    resps, _ = harness.parse_responses(data)
    n = harness.count_status_lines(data)
    check(n == 1 and len(resps) == 1, "desync (%s, one write): %d responses came back:\n%s" %
          (label, n, data.decode("latin-1")[:3000]))
    check(resps[0].status == 415, "desync (%s, one write): HTTP %d, expected 415" %
          (label, resps[0].status))
    s.headers_ok(resps[0].header_dict(), "the desync refusal (%s)" % label)
    check(closed and secs < PROMPT, "desync (%s, one write): the connection was %s after %.1fs" %
          (label, "closed only" if closed else "still open", secs))
    # (b) the body sent after the refusal came back: a server that kept
    # reading would now see the GET (with TLS, buffering can hide it in (a)).
    c = srv.connect()
    c.send(gz_head)
    resps, data, closed = c.read_responses(1, timeout=10)
    check(len(resps) == 1 and resps[0].status == 415,
          "desync (%s, split): expected a 415 first, got %r" % (label, data[:500]))
    c.try_send(smuggled)
    more, closed2, secs = c.read_until_close(timeout=KEEP_ALIVE + 3)
    c.close()
    n = harness.count_status_lines(data + more)
    check(n == 1, "desync (%s, split): the body was served as a request, %d responses:\n%s" %
          (label, n, (data + more).decode("latin-1")[:3000]))
    check(closed or (closed2 and secs < PROMPT),
          "desync (%s, split): the connection was %s after %.1fs" %
          (label, "closed only" if closed2 else "still open", secs))


class Suite:
    def __init__(self, h):
        self.h = h
        self.good = []      # messages of submissions that must arrive
        self.refused = []   # markers of requests that must not
        self.responses = 0  # responses whose security headers were checked
        self.sentences = []  # the refusals' texts, for the summary

    def headers_ok(self, headers, what):
        harness.check_security_headers(headers, what)
        self.responses += 1

    def refusal(self, what, status, headers, body, want_status, sentence):
        """A refusal: the status, a "Not sent" page whose error paragraph is a
        whole sentence matching the regex `sentence`, Connection: close and the
        security headers."""
        page = body.decode("utf-8", "replace")
        check(status == want_status, "%s: HTTP %s, expected %d\n%s" %
              (what, status, want_status, page[:1500]))
        check("Not sent" in page, "%s: the page does not say 'Not sent':\n%s" % (what, page))
        m = re.search(r'<p class="error">([^<]*)</p>', page)
        check(m, "%s: the page has no error sentence:\n%s" % (what, page))
        text = m.group(1).strip()
        check(len(text.split()) >= 4 and text[0].isupper() and text.endswith("."),
              "%s: the error %r is not a clear sentence" % (what, text))
        check(re.search(sentence, text), "%s: the error %r does not match %r" %
              (what, text, sentence))
        check(headers.get("connection", "").lower() == "close",
              "%s: no 'Connection: close' header (got %r)" % (what, headers.get("connection")))
        self.headers_ok(headers, what)
        self.sentences.append("%d %s" % (status, text))

    def good_submission(self, url, after):
        msg = "good submission after %s %s" % (after, secrets.token_hex(8))
        headers, _ = self.h.submit_ok(url, msg, what="the normal submission after " + after)
        self.headers_ok(headers, "the receipt after " + after)
        self.good.append(msg)

    def refused_marker(self):
        m = "REFUSED-" + secrets.token_hex(10)
        self.refused.append(m)
        return m


def test(h):
    s = Suite(h)
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    inst.set_config("max_upload", '"1MiB"')
    inst.set_config("read_timeout", str(READ_TIMEOUT))
    inst.set_config("header_timeout", str(HEADER_TIMEOUT))
    srv = inst.server("serve1").start()
    url = srv.url
    cases = []

    h.step("GET / and GET /nonexistent")
    st, hd, body, rc, err = h.curl(url + "/")
    check(st == 200 and re.search(rb'action="/submit\?lang=en&amp;csrf=[0-9a-f]{64}"', body),
          "GET / did not give the form with its token: %s\n%s" %
          (st, body.decode("utf-8", "replace")[:2000]))
    check(re.match(r"__Host-sd-form=[0-9a-f]{64}; ", hd.get("set-cookie", "")),
          "GET / without a form cookie did not set one: %r" % hd.get("set-cookie"))
    s.headers_ok(hd, "GET /")
    st, hd, body, rc, err = h.curl(url + "/nonexistent")
    page = body.decode("utf-8", "replace")
    check(st == 404, "GET /nonexistent: HTTP %s, expected 404" % st)
    check("There is no such page" in page, "the 404 page lacks its sentence:\n" + page)
    s.headers_ok(hd, "the 404 page")
    cases.append("404")
    s.good_submission(url, "404")

    h.step("three pipelined requests, each in its own TLS record, sent at once")
    # The server reads TLS ahead; records already read must not wait for the
    # socket to become readable again (that would stall until keep-alive).
    c = srv.connect()
    for _ in range(3):
        c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    t0 = time.monotonic()
    resps, raw, _ = c.read_responses(3, timeout=KEEP_ALIVE + 3)
    secs = time.monotonic() - t0
    c.close()
    check(len(resps) == 3 and all(r.status == 200 for r in resps),
          "pipelined GETs: %d responses %s" % (len(resps), [r.status for r in resps]))
    check(secs < PROMPT, "pipelined GETs took %.1f s" % secs)
    h.note("3 pipelined GETs in separate TLS records", "answered in %.2f s" % secs)

    h.step("malformed multipart (boundary declared, body garbage)")
    mark = s.refused_marker()
    garbage = h.path("garbage.bin")
    with open(garbage, "wb") as f:
        f.write(os.urandom(3000) + mark.encode() + os.urandom(3000))
    st, hd, body, rc, err = h.curl(url + "/submit", [
        "-H", "Content-Type: multipart/form-data; boundary=" + BOUNDARY,
        "--data-binary", "@" + garbage])
    s.refusal("malformed multipart", st, hd, body, 400, "malformed")
    cases.append("malformed multipart 400")
    s.good_submission(url, "malformed multipart")

    h.step("missing boundary")
    mark = s.refused_marker()
    nob = h.path("noboundary.bin")
    with open(nob, "wb") as f:
        f.write(multipart([("message", None, mark.encode())]))
    st, hd, body, rc, err = h.curl(url + "/submit", [
        "-H", "Content-Type: multipart/form-data", "--data-binary", "@" + nob])
    s.refusal("missing boundary", st, hd, body, 400, "malformed|not sent as a form")
    cases.append("missing boundary 400")
    s.good_submission(url, "missing boundary")

    h.step("a 2 MiB file against max_upload = 1MiB")
    mark = s.refused_marker()
    two = h.path("two-mib.bin")
    harness.write_random_file(two, 2)
    st, hd, body, rc, err = h.submit(url, mark, [(two, "two-mib.bin")])
    s.refusal("the 2 MiB upload", st, hd, body, 413, "larger than this server accepts")
    cases.append("too large 413")
    s.good_submission(url, "the too-large upload")

    h.step("a 4 MiB file: refused from its Content-Length, with and without Expect")
    four = h.path("four-mib.bin")
    harness.write_random_file(four, 4)
    mark = s.refused_marker()
    st, hd, body, rc, err = h.submit(url, mark, [(four, "four-mib.bin")])
    sent = h.last_size_upload
    s.refusal("the 4 MiB upload (Expect: 100-continue)", st, hd, body, 413,
              "larger than this server accepts")
    check(0 <= sent < 1 << 20, "curl sent %d body bytes although the server could refuse at "
          "Expect: 100-continue" % sent)
    mark = s.refused_marker()
    st, hd, body, rc, err = h.submit(url, mark, [(four, "four-mib.bin")], extra=["-H", "Expect:"])
    s.refusal("the 4 MiB upload (no Expect)", st, hd, body, 413, "larger than this server accepts")
    h.note("4 MiB upload refused at Expect: 100-continue", "413 after %d body bytes" % sent)
    cases.append("too large by Content-Length 413 (Expect and not)")
    s.good_submission(url, "the 4 MiB uploads")

    h.step("no form token, and the token of another cookie: 403 before the body")
    # A valid form (a message and a 256 KiB file), sent with Expect:
    # 100-continue: curl sends the body only if the server lets it.
    tokened = h.path("tokened.bin")
    with open(tokened, "wb") as f:
        f.write(os.urandom(256 << 10))
    expect = ["-H", "Expect: 100-continue"]

    def stored():
        _, out, _ = inst.check()
        m = re.search(r"^submissions: (\d+)$", out, re.M)
        check(m, "check printed no 'submissions:' line:\n" + out)
        return int(m.group(1))

    before = stored()
    other_cookie, other_token = srv.fetch_form_auth()  # another visitor's cookie and token
    mine = harness.new_form_cookie()
    for what, auth in (("a POST without a form token or cookie", False),
                       ("a POST with the token of another cookie", (mine, other_token))):
        mark = s.refused_marker()
        st, hd, body, rc, err = h.submit(url, mark, [(tokened, "tokened.bin")], extra=expect,
                                         auth=auth)
        sent = h.last_size_upload
        s.refusal(what, st, hd, body, 403, "expired or did not come from this site")
        check(0 <= sent < 65536, "%s: curl sent %d body bytes although the server could refuse "
              "at Expect: 100-continue" % (what, sent))
        h.note(what, "403 after %d body bytes" % sent)
    check(stored() == before, "a POST refused for its token was stored: check counts %d "
          "submissions, %d before" % (stored(), before))
    # The same form with this visitor's own cookie and its token goes through.
    msg = "good submission with its own token %s" % secrets.token_hex(8)
    st, hd, body, rc, err = h.submit(url, msg, [(tokened, "tokened.bin")], extra=expect,
                                     auth=(mine, srv.fetch_form_auth(mine)[1]))
    check(st == 200 and b"Received" in body,
          "the same form with its own cookie's token: HTTP %s (curl exit %d %s)" %
          (st, rc, err.strip()))
    s.good.append(msg)
    check(stored() == before + 1, "check counts %d submissions after a good one, %d before" %
          (stored(), before))
    cases.append("no token / another cookie's token 403, nothing stored")

    h.step("Transfer-Encoding: chunked (raw TLS)")
    mark = s.refused_marker()
    form = multipart([("message", None, mark.encode())])
    chunked = b"%x\r\n" % len(form) + form + b"\r\n0\r\n\r\n"
    c = srv.connect()
    c.send(post_head(None, b"Transfer-Encoding: chunked\r\n") + chunked)
    resps, raw, _ = c.read_responses(1, timeout=10)
    _, closed, secs = c.read_until_close(timeout=KEEP_ALIVE + 3)
    c.close()
    check(resps, "no response to the chunked request: %r" % raw[:500])
    r = resps[0]
    s.refusal("the chunked upload", r.status, r.header_dict(), r.body, 411,
              "say how long")
    check(closed and secs < PROMPT, "the connection stayed open after the 411 (%s after %.1fs)"
          % ("closed" if closed else "still open", secs))
    cases.append("chunked 411")
    s.good_submission(url, "the chunked upload")

    h.step("Content-Encoding: gzip")
    mark = s.refused_marker()
    gz = h.path("form.gz")
    with open(gz, "wb") as f:
        f.write(gzip.compress(multipart([("message", None, mark.encode())])))
    st, hd, body, rc, err = h.curl(url + "/submit", [
        "-H", "Content-Type: multipart/form-data; boundary=" + BOUNDARY,
        "-H", "Content-Encoding: gzip", "--data-binary", "@" + gz])
    s.refusal("the gzip upload", st, hd, body, 415, "[Cc]ompressed")
    cases.append("gzip 415")
    s.good_submission(url, "the gzip upload")

    h.step("a client that stalls after 100000 of 800000 bytes")
    mark = s.refused_marker()
    start = multipart([("message", None, mark.encode())])[:-len(BOUNDARY) - 6]
    start += (b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data; name=\"files\"; "
              b"filename=\"stall.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n")
    start += os.urandom(100000 - len(start))
    assert len(start) == 100000
    c = srv.connect()
    c.send(post_head(800000, start=srv.post_line()) + start)
    stalled_at = time.monotonic()
    result = {}
    # Alongside: a client that stalls in the middle of its headers.
    c2 = srv.connect()
    c2.send(b"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
    head_stalled_at = time.monotonic()
    result2 = {}

    def watch():
        result["data"], result["closed"], _ = c.read_until_close(timeout=READ_TIMEOUT + 20)
        result["secs"] = time.monotonic() - stalled_at

    def watch2():
        _, result2["closed"], _ = c2.read_until_close(timeout=READ_TIMEOUT + 20)
        result2["secs"] = time.monotonic() - head_stalled_at

    t = threading.Thread(target=watch)
    t.start()
    t2 = threading.Thread(target=watch2)
    t2.start()
    time.sleep(0.3)
    rc, out, pending_during = inst.check()
    t0 = time.monotonic()
    s.good_submission(url, "(during) the stall")
    during = time.monotonic() - t0
    t.join()
    t2.join()
    c.close()
    c2.close()
    check(result2["closed"] and result2["secs"] <= READ_TIMEOUT + 5,
          "the client stalled in its headers was %s after %.1fs" %
          ("dropped only" if result2["closed"] else "still connected", result2["secs"]))
    h.note("client stalled in its headers dropped after", "%.1fs" % result2["secs"])
    check(result["closed"], "the stalled connection was still open %.0fs later" % result["secs"])
    check(READ_TIMEOUT - 0.5 <= result["secs"] <= READ_TIMEOUT + 5,
          "the stalled client was dropped after %.1fs; read_timeout is %ds" %
          (result["secs"], READ_TIMEOUT))
    check(during < READ_TIMEOUT, "the submission during the stall took %.1fs" % during)
    h.note("stalled client dropped after", "%.1fs (read_timeout %ds); a submission during "
           "the stall took %.2fs; unfinished uploads during the stall: %d" %
           (result["secs"], READ_TIMEOUT, during, pending_during))
    resps, _ = harness.parse_responses(result["data"])
    if resps:
        r = resps[0]
        check(r.status in (400, 408), "the stalled upload got HTTP %d" % r.status)
        s.headers_ok(r.header_dict(), "the reply to the stalled upload")
    cases.append("stall dropped")
    rc, out, pending_after = inst.check()
    check(pending_after == 0, "after the stalled upload was dropped, check still reports "
          "%d unfinished uploads (the aborted upload was not removed):\n%s" %
          (pending_after, out))
    s.good_submission(url, "the stall")

    h.step("a client that dribbles its request head, a line a second")
    # Each line comes well within read_timeout, so only the deadline on the
    # whole head can end it: without one it would hold the connection forever.
    c = srv.connect()
    t0 = time.monotonic()
    c.send(b"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    lines, resps, closed = 0, [], False
    while time.monotonic() - t0 < HEADER_TIMEOUT + 10:
        # A second of listening for the server's answer, then the next line.
        resps, _data, closed = c.read_responses(1, timeout=1.0)
        if resps or closed or not c.try_send(b"X-Dribble-%d: %s\r\n" % (lines, b"a" * 20)):
            break
        lines += 1
    secs = time.monotonic() - t0
    c.close()
    check(resps or closed, "a head dribbled for %.0fs was still being read" % secs)
    check(secs <= HEADER_TIMEOUT + 3, "the dribbled head was cut only after %.1fs; "
          "header_timeout is %ds" % (secs, HEADER_TIMEOUT))
    check(not resps or resps[0].status in (400, 408),
          "the dribbled head got HTTP %d" % (resps[0].status if resps else 0))
    h.note("dribbled head cut after", "%.1fs, %d header lines (header_timeout %ds, "
           "read_timeout %ds)" % (secs, lines, HEADER_TIMEOUT, READ_TIMEOUT))
    cases.append("dribbled head cut")
    s.good_submission(url, "the dribbled head")

    h.step("desync: a refused request whose body is a whole GET request")
    desync(s, srv, "HTTPS")
    h.note("desync (HTTPS)", "one response (415), connection closed, in one write and split")
    cases.append("desync")
    s.good_submission(url, "the desync")

    h.step("desync over a Unix socket (plain HTTP, the deployment behind tor)")
    uinst = harness.Instance(h, "unix-instance", rv.pub)
    upath = h.path("unix-instance", "http.sock")
    uinst.set_config("listen", '"unix:%s"' % upath)
    usrv = uinst.server("unix").start()
    check(usrv.unix_path == upath, "the Unix server listens on %r" % usrv.unix_path)
    desync(s, usrv, "Unix socket")
    st, hd, body, rc, err = h.curl("http://localhost/submit", [
        "--unix-socket", upath, "--form-string", "message=over the unix socket"])
    check(st == 200 and b"Received" in body,
          "a normal submission over the Unix socket after the desync: HTTP %s %s" % (st, err))
    usrv.stop()
    h.note("desync (Unix socket)", "one response (415), connection closed, in one write and split")
    cases.append("desync over a Unix socket")

    # Responses the earlier cases did not look at.
    for path in ("/style.css", "/submit"):
        st, hd, body, rc, err = h.curl(url + path)
        s.headers_ok(hd, "GET " + path + " (HTTP %d)" % st)

    h.step("no line per request")
    extra = srv.request_lines()
    check(not extra, "the server wrote lines per request or refusal:\n" + "\n".join(extra))
    check("nonexistent" not in srv.log(), "the raw path reached the log")
    for m in s.refused:
        check(m not in srv.log(), "a refused request's content reached the log")
    counts = srv.counts()
    h.note("counts on SIGUSR1", ", ".join("%s %s" % kv for kv in sorted(counts.items())))
    check(counts["refused"] != "<10", "the refusals were not counted: %r" % counts)

    h.step("stop, check, restart (sweep), check")
    srv.stop()
    rc, out, pending = inst.check()
    h.note("unfinished uploads after stop (before the sweep)", pending)
    srv2 = inst.server("serve2").start()
    m = re.search(r"removed (\d+) unfinished uploads", srv2.log())
    h.note("restart swept", m.group(1) if m else "nothing")
    srv2.stop()
    rc, out, pending = inst.check()
    check(rc == 0 and re.search(r"^ok$", out, re.M) and pending == 0,
          "check after the restart: exit %d, unfinished %d:\n%s" % (rc, pending, out))

    h.step("export and import: exactly the good submissions")
    bundle = h.path("bundle.sdb")
    n = inst.export(bundle)
    check(n == len(s.good), "export wrote %d submissions, expected the %d good ones" %
          (n, len(s.good)))
    for m in s.refused:
        check(not harness.file_contains(bundle, [m.encode()]), "a refused marker is in the bundle")
    vault = h.path("vault")
    rv.import_(bundle, vault, extra=["--instance-fingerprint", inst.fingerprint], expect=0)
    subs = rv.list(vault)
    check(len(subs) == len(s.good), "the vault lists %d submissions, expected %d" %
          (len(subs), len(s.good)))
    got = []
    for sub in subs:
        got.append(rv.show(sub["id"], vault)["message"])
    check(sorted(got) == sorted(s.good),
          "the vault's messages are not exactly the good submissions:\n got %s\nwant %s" %
          (sorted(got), sorted(s.good)))
    for m in s.refused:
        check(all(m not in g for g in got), "a refused request's message was stored")
    h.note("cases", ", ".join(cases))
    h.note("good submissions exported and imported", "%d of %d, none of the %d refused" %
           (len(subs), len(s.good), len(s.refused)))
    h.note("responses checked for security headers", s.responses)
    for text in s.sentences:
        h.note("refusal", text)


if __name__ == "__main__":
    harness.Harness("bad_input", __doc__).main(test)
