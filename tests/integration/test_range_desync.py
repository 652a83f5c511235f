#!/usr/bin/python3
"""Request desync through the 416 path (a regression test).

A request with an unparsable Range header and a body is answered 416 by
cpp-httplib before routing, so the server's own request hygiene never sees it.
deploy/httplib/close-after-refusal.patch closes the connection there too; without
it the connection stayed open with the body unread, and the body's bytes were
served as a second request.

The smuggled request is a whole submission, so if the server ever routes it,
the store says so: it holds a submission that no client was answered for."""
import re

import harness
from harness import check, fail


SMUGGLED_FORM = (b"--XyZ\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n"
                 b"smuggled by range\r\n--XyZ--\r\n")


def smuggled(srv):
    """A whole submission, with the server's form cookie and token: routed, it
    would be stored."""
    return (srv.post_line() + b"Host: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=XyZ\r\n"
            b"Content-Length: %d\r\n\r\n" % len(SMUGGLED_FORM)) + SMUGGLED_FORM


def attempt(h, srv, label, split):
    """Sends the Range request and its body-that-is-a-request; returns problems."""
    SMUGGLED = smuggled(srv)
    head = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=zz\r\n"
            b"Content-Length: %d\r\n\r\n" % len(SMUGGLED))
    c = srv.connect()
    if split:
        # The body in its own packet/TLS record, after the refusal came back
        # (one write would hide it: cpp-httplib drops bytes it buffered for
        # the previous request).
        c.send(head)
        resps, data, closed = c.read_responses(1, timeout=10)
        c.try_send(SMUGGLED)
    else:
        c.send(head + SMUGGLED)
        data = b""
    # Stop at a second response (the bug) or the close (fixed).
    _, more, _ = c.read_responses(1 if split else 2, timeout=8)
    c.close()
    data += more
    resps, _ = harness.parse_responses(data)
    check(resps, "%s: no response at all: %r" % (label, data[:300]))
    first = resps[0]
    harness.check_security_headers(first.header_dict(), "the %d response" % first.status)
    n = harness.count_status_lines(data)
    srv.stop()
    rc, report, _ = srv.instance.check()
    m = re.search(r"^submissions: (\d+)$", report, re.M)
    check(m, "check printed no 'submissions:' line:\n" + report)
    routed = int(m.group(1))
    h.note(label, "first response %d (Connection: %s), %d responses on the connection, "
           "body routed as a request: %s" % (first.status, first.header("connection"), n,
                                             "yes" if routed else "no"))
    problems = []
    if n != 1 or routed:
        problems.append("%s: the %d-byte body of the Range request was served as a second "
                        "request (%d responses; %d submissions stored)" %
                        (label, len(SMUGGLED), n, routed))
    if first.status >= 400 and (first.header("connection") or "").lower() != "close":
        problems.append("%s: the %d refusal has no 'Connection: close' (got %r)" %
                        (label, first.status, first.header("connection")))
    return problems


def test(h):
    rv = harness.Reviewer(h)
    h.step("HTTPS: a GET with a bad Range header whose body is a second request")
    inst = harness.Instance(h, "instance", rv.pub)
    srv = inst.server().start()
    problems = attempt(h, srv, "HTTPS, body sent after the 416", split=True)

    h.step("Unix socket (plain HTTP, the deployment behind tor): the same")
    uinst = harness.Instance(h, "unix-instance", rv.pub)
    uinst.set_config("listen", '"unix:%s"' % h.path("unix-instance", "http.sock"))
    usrv = uinst.server("unix").start()
    problems += attempt(h, usrv, "Unix socket, body sent after the 416", split=True)
    if problems:
        fail("KNOWN PRODUCT BUG (request desync via the 416 Range path in "
             ".deps/cpp-httplib/httplib.h Server::process_request; fix in "
             "deploy/httplib/close-after-refusal.patch):\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    harness.Harness("range_desync", __doc__).main(test)
