#!/usr/bin/python3
"""The limits that the page, the server and the reviewer must agree on.

At the limit: with max_files at the manifest's maximum (4096), max_upload
exactly the files' bytes, every file with a 1024-byte name (escaped as a
browser escapes '"', three bytes a byte) and a 1024-byte type, and a 1 MiB
message, the real server accepts the submission over HTTPS, and export ->
import -> show opens it in the vault and lists every file. (sealdrop-review
once refused manifests padded past 4 MiB, about 2000 such files, and
max_files stopped at 4000.)

The message box: its maxlength is counted in UTF-16 code units, up to 3 bytes
of UTF-8 each, so maxlength x 3 must be at most the server's 1 MiB, or a
source writing Russian, Arabic or Chinese is refused only after the upload;
the page states the limit in bytes beside the box. A message of exactly 1 MiB
of Cyrillic is accepted; one byte more gets a 413 page that says the message
is too long, in bytes.
"""
import re

import harness
from harness import check, fail, TestFailure

MAX_MESSAGE = 1 << 20  # format::kMaxMessage (format/format.h)
MAX_FILES = 4096       # format::kMaxFiles
MAX_NAME = 1024        # format::kMaxName, for the name and for the type
# A boundary as long as RFC 2046 allows: the most framing per part.
BOUNDARY = "sealdrop-limits-" + "b" * 54


def escape_name(name):
    """As browsers write a file name into Content-Disposition (HTML spec)."""
    return name.replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")


def form(message, files=()):
    """message: bytes; files: [(name bytes, type bytes, data bytes)] -> the body."""
    b = BOUNDARY.encode()
    parts = [b"--" + b + b'\r\nContent-Disposition: form-data; name="message"\r\n\r\n' +
             message + b"\r\n"]
    for name, ctype, data in files:
        parts.append(b"--" + b + b'\r\nContent-Disposition: form-data; name="files"; filename="' +
                     escape_name(name) + b'"\r\nContent-Type: ' + ctype + b"\r\n\r\n" + data +
                     b"\r\n")
    parts.append(b"--" + b + b"--\r\n")
    return b"".join(parts)


def post(srv, body, timeout=120):
    """POSTs a form body over HTTPS; returns the response (harness.RawResponse).
    The server may answer and close before it has read the whole body."""
    c = srv.connect(timeout=timeout)
    c.send(srv.post_line() + b"Host: 127.0.0.1\r\nUser-Agent: sealdrop-it\r\n"
           b"Content-Type: multipart/form-data; boundary=" + BOUNDARY.encode() +
           b"\r\nContent-Length: %d\r\n\r\n" % len(body))
    c.try_send(body)
    resps, raw, _ = c.read_responses(1, timeout=timeout)
    c.close()
    check(resps, "no response to a %d-byte form; got:\n%r" % (len(body), raw[:2000]))
    return resps[0]


def page_text(resp):
    return resp.body.decode("utf-8", "replace")


def test_message_box(h, srv):
    """The page's box cannot hold more than the server takes."""
    status, _, body, rc, err = h.curl(srv.url + "/")
    check(status == 200, "GET /: HTTP %s (curl exit %d %s)" % (status, rc, err.strip()))
    page = body.decode("utf-8")
    m = re.search(r'<textarea[^>]*\bname="message"[^>]*>', page)
    check(m, "the page has no message box:\n" + page)
    ml = re.search(r'\bmaxlength="(\d+)"', m.group(0))
    check(ml, "the message box has no maxlength: " + m.group(0))
    maxlength = int(ml.group(1))
    h.note("message box maxlength", "%d UTF-16 code units, at most %d bytes of UTF-8" %
           (maxlength, 3 * maxlength))
    check(3 * maxlength <= MAX_MESSAGE,
          "the message box takes %d UTF-16 code units, up to %d bytes of UTF-8 (%d of "
          "Cyrillic): more than the %d bytes the server takes, so a long message is refused "
          "only after it is sent" % (maxlength, 3 * maxlength, 2 * maxlength, MAX_MESSAGE))
    # The limit in words, beside the box: between it and the files' label.
    after = page[m.end():page.find("<label", m.end())]
    check("1,048,576 bytes" in after,
          "the page does not state the message limit in bytes beside the box:\n" + after)
    chars = re.search(r"([\d,]+) characters", after)
    check(chars and 0.9 * maxlength <= int(chars.group(1).replace(",", "")) <= maxlength,
          "the page does not give the box's limit as a character count near %d:\n%s" %
          (maxlength, after))


def test_message_length(h, srv):
    """Exactly 1 MiB of message is taken; one byte more is refused, saying why."""
    exact = ("ж" * (MAX_MESSAGE // 2)).encode("utf-8")
    check(len(exact) == MAX_MESSAGE, "the test's message is %d bytes" % len(exact))
    r = post(srv, form(exact))
    check(r.status == 200 and "Received" in page_text(r),
          "a message of exactly %d bytes was refused: HTTP %d\n%s" %
          (MAX_MESSAGE, r.status, page_text(r)[:2000]))
    r = post(srv, form(exact + b"a"))
    text = page_text(r)
    check(r.status == 413, "a message of %d bytes: HTTP %d, not 413\n%s" %
          (MAX_MESSAGE + 1, r.status, text[:2000]))
    check("message is too long" in text and "1,048,576 bytes" in text,
          "the 413 page for a message one byte too long does not say that the message is too "
          "long, and by how many bytes:\n" + text[:2000])
    h.note("message of 1 MiB + 1 byte", "413: " +
           re.sub(r"\s+", " ", re.search(r'class="error">([^<]*)', text).group(1)))


def test_at_the_limit(h, rv):
    """A submission at every limit: accepted by the server."""
    inst = harness.Instance(h, "limits", rv.pub, max_upload="4KiB")
    inst.set_config("max_files", str(MAX_FILES))
    srv = inst.server("limits").start()
    # 3 bytes a character: 349,525 of them and one ASCII byte make 1 MiB.
    message = ("文" * (MAX_MESSAGE // 3) + "a").encode("utf-8")
    check(len(message) == MAX_MESSAGE, "the test's message is %d bytes" % len(message))
    files = []
    for i in range(MAX_FILES):
        head, tail = b"f%04d-" % i, b".bin"
        name = head + b'"' * (MAX_NAME - len(head) - len(tail)) + tail
        ctype = b"application/x-sealdrop-limit-%04d-" % i
        ctype += b"t" * (MAX_NAME - len(ctype))
        files.append((name, ctype, bytes([i % 256])))
    check(all(len(n) == MAX_NAME and len(t) == MAX_NAME for n, t, _ in files),
          "the test's names or types are not %d bytes" % MAX_NAME)
    body = form(message, files)
    h.note("form at the limit", "%d files, %d-byte names and types, a %d-byte message: "
           "%d bytes" % (MAX_FILES, MAX_NAME, len(message), len(body)))

    h.step("posting it over HTTPS")
    r = post(srv, body)
    text = page_text(r)
    check(r.status == 200 and "Received" in text,
          "the server refused a submission at its limits: HTTP %d\n%s" % (r.status, text[:2000]))
    check(re.search(r"\b%s files\b" % format(MAX_FILES, ","), text),
          "the receipt does not count %d files:\n%s" % (MAX_FILES, text[:2000]))
    srv.stop()
    return inst, message, files


def test(h):
    rv = harness.Reviewer(h)
    # Each part runs even when one before it failed, so that one run shows
    # every limit that disagrees.
    failures = []
    parts = {}

    def run(name, fn, *args):
        h.step(name)
        try:
            parts[name] = fn(h, *args)
        except TestFailure as e:
            print("  FAIL (%s): %s" % (name, e), flush=True)
            failures.append("%s: %s" % (name, e))

    srv = harness.Instance(h, "message", rv.pub).server("message").start()
    run("the message box", test_message_box, srv)
    run("a message of exactly 1 MiB, then one byte more", test_message_length, srv)
    srv.stop()
    run("a submission at every limit", test_at_the_limit, rv)

    if "a submission at every limit" in parts:
        h.step("export, import, show")
        inst, message, files = parts["a submission at every limit"]
        vault = h.path("vault")
        check(inst.export(h.path("limits.sdb")) == 1, "the export did not take the submission")
        rv.import_(h.path("limits.sdb"), vault,
                   extra=["--instance-fingerprint", inst.fingerprint], expect=0)
        listing = rv.list(vault)
        check(len(listing) == 1 and listing[0]["files"] == MAX_FILES,
              "the vault does not list one submission of %d files: %r" % (MAX_FILES, listing))
        r = h.run([h.review_bin, "show", listing[0]["id"], "--vault", vault, "--key", rv.key,
                   "--passphrase-file", rv.passfile, "--json"])
        if r.returncode != 0:
            failures.append("sealdrop-review cannot open a submission the server accepted "
                            "(exit %d):\n%s" % (r.returncode, r.stderr.strip()))
        else:
            shown = rv.show(listing[0]["id"], vault)
            check(shown["message"] == message.decode("utf-8"),
                  "show gives a message of %d characters, not the one sent" %
                  len(shown["message"]))
            got = shown["files"]
            check(len(got) == MAX_FILES, "show lists %d files, not %d" % (len(got), MAX_FILES))
            for i, (f, (name, ctype, data)) in enumerate(zip(got, files)):
                check(f["name"].startswith("f%04d-" % i) and f["name"].endswith(".bin"),
                      "file %d is shown as %r" % (i + 1, f["name"]))
                check(f["type"] == ctype.decode() and f["size"] == len(data),
                      "file %d is shown with type %r, size %r" % (i + 1, f["type"], f["size"]))
            h.note("reviewer", "show opened the manifest and listed all %d files" % MAX_FILES)

    if failures:
        fail("\n".join(failures))


if __name__ == "__main__":
    harness.Harness("limits", __doc__).main(test)
