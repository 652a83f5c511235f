#!/usr/bin/python3
"""browser.no_js_submit: a source sends a multilingual message and three files
through the real form with JavaScript OFF (Tor Browser at "Safest"), and the
reviewer gets back exactly those bytes.

  test_no_js_submit.py --server BIN --review BIN --shots DIR [--keep]

Fails (never skips) when chromium, chromedriver or selenium are missing.
"""
import argparse
import hashlib
import os
import re
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, log  # noqa: E402

MESSAGE = ("Здравствуйте! Документы о закупках за февраль прилагаю.\n"
           "Merhaba, şubat ayı raporu ekte: İstanbul, Iğdır, çağrı, Ödül, ığ.\n"
           "مرحبا، التقرير المرفق يخص شهر فبراير.\n"
           "Mixed: отчёт / rapor / تقرير — end.")
URLLIB_MESSAGE = "urllib probe: Привет, günaydın, صباح الخير"

RANDOM_NAME = "zufallsdaten-5MiB.bin"
PDF_NAME = "rapor şubat.pdf"
SMALL_NAME = "tiny-note.txt"


def make_files(outbox):
    os.makedirs(outbox)
    files = {
        RANDOM_NAME: os.urandom(5 * 1024 * 1024),
        PDF_NAME: b"%PDF-1.4\n% not a real PDF, just bytes for the test\n" + os.urandom(3000)
                  + b"\n%%EOF\n",
        SMALL_NAME: "küçük not\n".encode("utf-8"),
    }
    paths = []
    for name, data in files.items():
        p = os.path.join(outbox, name)
        with open(p, "wb") as f:
            f.write(data)
        paths.append(p)
    return files, paths


def name_variants(name):
    """The name and the pieces of it that must not show up on a page or in the log."""
    stem = os.path.splitext(name)[0]
    out = {name, stem, urllib.parse.quote(name), urllib.parse.quote(stem)}
    out.update(w for w in stem.replace("-", " ").split() if len(w) >= 5)
    return out


def check_form_html(tags):
    forms = [a for t, a in tags if t == "form" and a.get("action", "").startswith("/submit")]
    check(len(forms) == 1, "expected one <form> to /submit, found %d" % len(forms))
    logins = [a for t, a in tags if t == "form" and a.get("action", "").startswith("/login")]
    check(len(logins) == 1, "expected one log-in <form>, found %d" % len(logins))
    f = forms[0]
    check(f.get("method", "").lower() == "post", "form method is %r" % f.get("method"))
    check(re.match(r"^/submit\?lang=en&csrf=[0-9a-f]{64}$", f.get("action", "")),
          "form action is %r" % f.get("action"))
    check(f.get("enctype", "").lower() == "multipart/form-data", "form enctype is %r" % f.get("enctype"))
    tas = [a for t, a in tags if t == "textarea" and a.get("name") == "message"]
    check(len(tas) == 1, "no <textarea name=message>")
    ins = [a for t, a in tags if t == "input" and a.get("name") == "files"]
    check(len(ins) == 1 and ins[0].get("type") == "file", "no <input type=file name=files>")
    check("multiple" in ins[0], "the file input lacks `multiple`")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--review", required=True)
    ap.add_argument("--shots", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()

    chromium, chromedriver = harness.find_browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    work = harness.new_workdir()
    log("work dir " + work)
    inst = harness.Instance(args.server, args.review, work)
    driver = None
    ok = False
    try:
        t0 = time.monotonic()
        inst.setup()
        inst.start()
        base = inst.url
        log("server at %s (set-up %.1fs)" % (base, time.monotonic() - t0))

        # --- the pages as the server sends them (urllib) ------------------------------
        status, headers, index_html = harness.http_get(base)
        check(status == 200, "GET / gave %d" % status)
        csp = headers.get("Content-Security-Policy", "")
        check("default-src 'none'" in csp and "form-action 'self'" in csp,
              "GET / has no strict Content-Security-Policy: %r" % csp)
        problems = harness.audit_html(index_html, base)
        check(not problems, "form page: " + "; ".join(problems))
        check_form_html(harness.parse_tags(index_html))

        status, headers, receipt_html = harness.http_post_multipart(
            base + "submit", [("message", URLLIB_MESSAGE)], [("files", "", b"")])
        check(status == 200 and "Received" in receipt_html, "urllib submission failed: %d" % status)
        problems = harness.audit_html(receipt_html, base + "submit")
        check(not problems, "receipt page: " + "; ".join(problems))
        check("default-src 'none'" in headers.get("Content-Security-Policy", ""),
              "the receipt page has no strict Content-Security-Policy")
        log("both pages: no script, no handlers, only same-origin URLs, CSP default-src 'none'")

        # --- the browser, JavaScript off ----------------------------------------------
        files, paths = make_files(os.path.join(work, "outbox"))
        driver = harness.make_driver(chromium, chromedriver, work)
        harness.assert_javascript_off(driver)
        log("JavaScript is off (inline script did not run, <noscript> shown)")

        # From here on, Chromium's network log is the record of what the browser
        # fetched; the data: page of the JavaScript probe is not the site's.
        net = harness.NetworkLog(driver)
        net.discard()
        driver.get(base)
        net.read()
        check(driver.title == "Send documents securely", "form page title is %r" % driver.title)
        form = driver.find_element(By.CSS_SELECTOR, "form[action*='/submit']")
        check(form.get_attribute("method").lower() == "post", "form method")
        action = form.get_attribute("action")
        check(re.match(re.escape(base) + r"submit\?lang=en&csrf=[0-9a-f]{64}$", action),
              "form action is %r" % action)
        check(form.get_attribute("enctype") == "multipart/form-data", "form enctype")
        textarea = form.find_element(By.CSS_SELECTOR, "textarea[name=message]")
        file_input = form.find_element(By.CSS_SELECTOR, "input[type=file][name=files]")
        check(file_input.get_attribute("multiple") is not None, "file input lacks multiple")

        textarea.send_keys(MESSAGE)
        typed = textarea.get_property("value")
        check(typed == MESSAGE, "the textarea holds %r, not what was typed" % typed)
        file_input.send_keys("\n".join(paths))

        os.makedirs(args.shots, exist_ok=True)
        form_png = os.path.join(args.shots, "form.png")
        check(driver.save_screenshot(form_png), "screenshot of the form failed")

        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(driver, 120).until(lambda d: d.title in ("Received", "Not sent"))
        net.read()
        page = driver.page_source
        body = driver.find_element(By.TAG_NAME, "body").text
        receipt_png = os.path.join(args.shots, "receipt.png")
        check(driver.save_screenshot(receipt_png), "screenshot of the receipt failed")
        check(driver.title == "Received", "the submission was refused:\n" + body)
        check(driver.current_url == action, "receipt at %r" % driver.current_url)
        check("Received" in body, "receipt lacks 'Received'")
        check("3 files" in body, "receipt lacks '3 files':\n" + body)
        # The source typed len(MESSAGE) characters; the browser sends each
        # newline as CRLF, and the server counts the code points it got.
        typed_chars, sent_chars = len(MESSAGE), len(MESSAGE.replace("\n", "\r\n"))
        counts = [n for n in (typed_chars, sent_chars) if "Message: %d characters" % n in body]
        check(counts, "receipt counts neither %d typed nor %d sent characters:\n%s" % (
            typed_chars, sent_chars, body))
        if counts[0] != typed_chars:
            log("note: the receipt says %d characters for %d typed (CRLF counted as two)"
                % (sent_chars, typed_chars))
        for size in ("5.0 MiB", "%.1f KiB" % (len(files[PDF_NAME]) / 1024),
                     "%d bytes" % len(files[SMALL_NAME])):
            check(size in body, "receipt lacks the size %r:\n%s" % (size, body))
        for name in files:
            for v in name_variants(name):
                check(v not in page and v not in body, "the receipt shows the file name %r" % v)
        problems = harness.audit_html(page, base + "submit")
        check(not problems, "receipt page in the browser: " + "; ".join(problems))
        for p in (form_png, receipt_png):
            w, h = harness.check_png(p)
            log("screenshot %s %dx%d, %d bytes" % (p, w, h, os.path.getsize(p)))

        # --- what the browser fetched, from its own network log -----------------------
        time.sleep(1.0)  # a late favicon request
        requests = net.read()
        log("browser requests: " + ", ".join(
            "%s %s %s" % (r["method"], harness.short_url(r["url"]), r["status"]) for r in requests))
        data = [harness.short_url(r["url"]) for r in requests if r["url"].lower().startswith("data:")]
        check(not data, "the browser loaded data: URLs: %r" % data)
        away = ["%s %s" % (r["method"], harness.short_url(r["url"])) for r in requests
                if harness.origin_of(r["url"]) != harness.origin_of(base)]
        check(not away, "the browser fetched from other origins than %s: %r" % (base, away))
        # The form's token differs per visitor: compare paths without it.
        seen = [(r["method"], re.sub(r"csrf=[0-9a-f]{64}", "csrf=T", harness.path_of(r["url"])),
                 r["status"]) for r in requests]
        allowed = {("GET", "/", 200), ("GET", "/style.css", 200), ("POST", "/submit?lang=en&csrf=T", 200),
                   ("GET", "/favicon.ico", 204)}
        extra = [r for r in seen if r not in allowed]
        check(not extra, "unexpected requests from the browser: %r" % extra)
        check(("GET", "/", 200) in seen, "the browser's GET / is not in its network log")
        check(("GET", "/style.css", 200) in seen, "the browser never fetched /style.css")
        check(seen.count(("POST", "/submit?lang=en&csrf=T", 200)) == 1, "expected exactly one POST /submit")

        driver.quit()
        driver = None
        inst.stop()

        # --- the server's stderr: no line per request, no names, no words --------------
        lines = inst.log_since(0)
        stray = [line for line in lines if not harness.is_server_line(line)]
        check(not stray, "the server wrote lines that are none of its own (a line per request?):\n  "
              + "\n  ".join(stray))
        whole_log = "\n".join(lines)
        for name in files:
            for v in name_variants(name):
                check(v not in whole_log, "the server log mentions %r" % v)
        for word in ("Здравствуйте", "şubat", "مرحبا", "Привет"):
            check(word not in whole_log, "the server log mentions %r" % word)
        log("server stderr: %d lines, none per request, no file names or message words" % len(lines))

        # --- the reviewer's side ------------------------------------------------------
        bundle = os.path.join(work, "bundle.sdb")
        log(inst.export(bundle).strip())
        log(inst.import_bundle(bundle).strip())
        listing = inst.list()
        check(len(listing) == 2, "expected 2 submissions in the vault, got %r" % listing)
        by_files = {s["files"]: s["id"] for s in listing}
        check(set(by_files) == {0, 3}, "file counts in the vault: %r" % listing)

        out = os.path.join(work, "extracted")
        inst.extract(by_files[3], out)
        got = sorted(os.listdir(out))
        want = sorted(list(files) + ["message.txt"])
        check(got == want, "extracted %r, expected %r" % (got, want))
        for name, data in files.items():
            sent = hashlib.sha256(data).hexdigest()
            back = harness.sha256_file(os.path.join(out, name))
            check(sent == back, "%s: sent sha256 %s, extracted %s" % (name, sent, back))
            log("%-26s %9d bytes  sha256 %s  matches" % (name, len(data), back[:16]))
        raw = open(os.path.join(out, "message.txt"), "rb").read()
        check(b"\r\n" in raw, "the browser's CRLF newlines did not reach the vault")
        msg = raw.decode("utf-8").replace("\r\n", "\n")
        check(msg == MESSAGE, "message differs:\n%r\n%r" % (msg, MESSAGE))
        log("message.txt: %d bytes (CRLF), matches the typed text after CRLF->LF" % len(raw))

        out2 = os.path.join(work, "extracted-urllib")
        inst.extract(by_files[0], out2)
        check(os.listdir(out2) == ["message.txt"], "urllib submission: %r" % os.listdir(out2))
        check(open(os.path.join(out2, "message.txt"), encoding="utf-8").read() == URLLIB_MESSAGE,
              "urllib submission's message differs")
        log("PASS in %.1fs" % (time.monotonic() - t0))
        ok = True
    finally:
        harness.finish(ok, [driver], inst, work, args.keep)
    return 0


if __name__ == "__main__":
    harness.run_main(main)
