#!/usr/bin/python3
"""browser.languages: the source site in its six languages, in Chromium with
JavaScript OFF (Tor Browser at "Safest"), and the JavaScript warning.

For every language: the form, a refusal, the receipt with its codename, the
confirmation, the conversation page, log-out, log-in with the codename typed
carelessly and a follow-up, each in that language (texts from
server/site/catalog/), screenshotted; then a reply to each source made with
the real `sealdrop-review reply` and `outbox` and `sealdrop-server
import-outbox`: the source logs in, reads it, sends a follow-up file, deletes
the reply and logs out, in their language; Arabic pages right-to-left;
the instance's name in the language's own words or else in English; the
language menu and the links keep the language without a cookie (the site's
only cookies are its form and session ones); the reviewer sees six cases; every page is
the document and at most its stylesheet, all from the site's own origin. Then,
with JavaScript ON, the warning to choose "Safest" shows, which proves that the
<noscript> rule hiding it is what the CSP's hash lets through.

  test_languages.py --server BIN --review BIN --shots DIR [--keep]
"""
import argparse
import json
import os
import re
import sys
import time
import tomllib

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, log  # noqa: E402

CATALOGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "server", "site",
                        "catalog")
CODES = ("en", "ru", "tr", "tg", "fr", "ar")
# What the team writes back to each source, in the source's language.
REPLIES = {
    "en": "We read your submission. Are you safe where you are now?",
    "ru": "Мы прочитали ваши материалы. Вы сейчас в безопасности?",
    "tr": "Gönderinizi okuduk. Şu an bulunduğunuz yerde güvende misiniz?",
    "tg": "Мо маводи шуморо хондем. Шумо ҳозир дар амон ҳастед?",
    "fr": "Nous avons lu votre envoi. Êtes-vous en sécurité là où vous êtes ?",
    "ar": "قرأنا ما أرسلته. هل أنت في أمان حيث أنت الآن؟",
}
SITE = {
    "en": ("Red Notice Watch", "A small team of lawyers who defend people targeted by abusive notices."),
    "ru": ("Наблюдение за красными уведомлениями", "Небольшая группа юристов."),
    "ar": ("مرصد النشرات الحمراء", "فريق صغير من المحامين."),
}


def norm(text):
    """Text as a page shows it: WebDriver gives no-break spaces as spaces."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def load(code):
    with open(os.path.join(CATALOGS, code + ".toml"), "rb") as f:
        return tomllib.load(f)


def codename_of(driver, code):
    """The codename a receipt shows: seven words."""
    from selenium.webdriver.common.by import By
    words = driver.find_element(By.CSS_SELECTOR, ".words").text.strip()
    check(len(words.split()) == 7, "%s: the receipt shows no seven-word codename: %r" % (code, words))
    check(driver.find_element(By.CSS_SELECTOR, ".words").get_attribute("dir") == "ltr",
          "%s: the codename is not laid out left to right" % code)
    return words


def confirm(driver, code, cat, words):
    """Types back the two words the page asks for, found by their labels'
    numbers, and sends."""
    import re
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    w = words.split()
    for field in ("w1", "w2"):
        label = driver.find_element(By.CSS_SELECTOR, "label[for=%s]" % field).text
        n = re.search(r"\d+", label)
        check(n, "%s: the label %r names no word number" % (code, label))
        driver.find_element(By.ID, field).send_keys(w[int(n.group(0)) - 1])
    driver.find_element(By.CSS_SELECTOR, "form[action^='/confirm'] button").click()
    WebDriverWait(driver, 60).until(lambda d: d.title != cat["receipt"]["title"])


def write_site(inst):
    with open(os.path.join(inst.dir, "config.toml"), "a", encoding="utf-8") as f:
        for code, (name, description) in SITE.items():
            f.write('\n[site.%s]\nname = "%s"\ndescription = "%s"\n' % (code, name, description))


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
    from selenium.common.exceptions import StaleElementReferenceException

    work = harness.new_workdir()
    inst = harness.Instance(args.server, args.review, work)
    drivers = []
    ok = False
    try:
        t0 = time.monotonic()
        inst.setup()
        write_site(inst)
        inst.start()
        base = inst.url
        os.makedirs(args.shots, exist_ok=True)

        # --- without a browser: the choice of language -------------------------------
        for accept, want in (("ru-RU,ru;q=0.9,en;q=0.5", "ru"), ("de,ar;q=0.8", "ar"), ("de", "en")):
            st, hd, page = harness.http_get_with(base, {"Accept-Language": accept})
            check(st == 200 and '<html lang="%s"' % want in page,
                  "Accept-Language %r gave no %s page" % (accept, want))
            cookie = hd.get("Set-Cookie", "")
            # Only the form cookie: random, and nothing of the language in it.
            check(re.match(r"^__Host-sd-form=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict; Secure$",
                           cookie), "GET / set another cookie than its form's: %r" % cookie)
        st, hd, page = harness.http_get_with(base + "?lang=tr", {"Accept-Language": "ru"})
        check('<html lang="tr"' in page, "?lang=tr did not win over Accept-Language")
        log("language: ?lang= first, then Accept-Language, then English; never in a cookie")

        driver = harness.make_driver(chromium, chromedriver, work)
        drivers.append(driver)
        harness.assert_javascript_off(driver)
        net = harness.NetworkLog(driver)
        net.discard()

        def shoot(drv, name):
            """A screenshot of the page, kept as a test artefact."""
            shot = os.path.join(args.shots, name + ".png")
            check(drv.save_screenshot(shot), "screenshot " + shot)
            harness.check_png(shot)

        def visit(what):
            """The requests of the page just shown: the document, at most its
            stylesheet (and the favicon browsers ask for), all same-origin."""
            # Wait until the page's stylesheet request is logged, so that a
            # late one is not counted against the next page.
            before = len(net.requests)
            deadline = time.monotonic() + 5
            while True:
                reqs = net.read()[before:]
                paths = [harness.path_of(r["url"]) for r in reqs]
                if "/style.css" in paths or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            time.sleep(0.1)
            reqs = net.read()[before:]
            away = [r["url"] for r in reqs if harness.origin_of(r["url"]) != harness.origin_of(base)]
            check(not away, "%s: requests to other origins: %r" % (what, away))
            own = [harness.path_of(r["url"]) for r in reqs if harness.path_of(r["url"]) != "/favicon.ico"]
            check(len(own) <= 2, "%s: %d requests (%r): a page is its document and stylesheet"
                  % (what, len(own), own))
            problems = harness.audit_html(driver.page_source, base)
            check(not problems, "%s: %s" % (what, "; ".join(problems)))

        codenames = {}
        for i, code in enumerate(CODES):
            cat = load(code)
            html_el = lambda: driver.find_element(By.TAG_NAME, "html")  # noqa: E731
            driver.get(base + "?lang=" + code)
            visit(code + " form")
            check(driver.title == cat["index"]["title"], "%s: title %r" % (code, driver.title))
            check(html_el().get_attribute("lang") == code, "%s: <html lang> is not %s" % (code, code))
            want_dir = "rtl" if code == "ar" else "ltr"
            check(html_el().get_attribute("dir") == want_dir, "%s: <html dir> is not %s" % (code, want_dir))
            main_el = driver.find_element(By.TAG_NAME, "main")
            check(main_el.value_of_css_property("direction") == want_dir,
                  "%s: the page is laid out %s" % (code, main_el.value_of_css_property("direction")))
            warning = driver.find_element(By.CSS_SELECTOR, ".js-on")
            check(not warning.is_displayed(), "%s: the JavaScript warning shows with JavaScript off" % code)
            name = SITE.get(code, SITE["en"])[0]
            body = norm(driver.find_element(By.TAG_NAME, "body").text)
            check(name in body, "%s: the page does not say whom the source writes to (%r)" % (code, name))
            check(norm(cat["index"]["intro"]) in body, "%s: the intro is not in %s" % (code, code))
            shoot(driver, "form-%s" % code)

            # A refusal: the empty form, in this language.
            driver.find_element(By.CSS_SELECTOR, "form[action^='/submit'] button").click()
            WebDriverWait(driver, 60).until(lambda d: d.title != cat["index"]["title"])
            visit(code + " refusal")
            check(driver.title == cat["error"]["title"], "%s: refusal titled %r" % (code, driver.title))
            body = norm(driver.find_element(By.TAG_NAME, "body").text)
            check(norm(cat["error"]["empty"]) in body, "%s: the refusal does not say why:\n%s" % (code, body))
            check(html_el().get_attribute("dir") == want_dir, "%s: refusal not %s" % (code, want_dir))
            shoot(driver, "refusal-%s" % code)

            # Back to the form by its link, still in this language; then send.
            driver.find_element(By.CSS_SELECTOR, "main a[href^='/?lang=%s']" % code).click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["index"]["title"])
            visit(code + " form again")
            driver.find_element(By.CSS_SELECTOR, "textarea[name=message]").send_keys("test " + code)
            driver.find_element(By.CSS_SELECTOR, "form[action^='/submit'] button").click()
            WebDriverWait(driver, 60).until(lambda d: d.title != cat["index"]["title"])
            visit(code + " receipt")
            body = norm(driver.find_element(By.TAG_NAME, "body").text)
            check(driver.title == cat["receipt"]["title"], "%s: receipt titled %r:\n%s"
                  % (code, driver.title, body))
            check(norm(cat["receipt"]["ok"]) in body, "%s: the receipt does not say it was stored" % code)
            shoot(driver, "receipt-%s" % code)

            words = codename_of(driver, code)
            codenames[code] = words
            confirm(driver, code, cat, words)
            visit(code + " confirmed")
            check(driver.title == cat["inbox"]["title"], "%s: confirming led to %r" % (code, driver.title))
            body = norm(driver.find_element(By.TAG_NAME, "body").text)
            check(norm(cat["inbox"]["none"]) in body, "%s: the conversation page lacks its text" % code)
            shoot(driver, "conversation-%s" % code)

            # Log out, and back in with the codename typed carelessly.
            driver.find_element(By.CSS_SELECTOR, "form[action^='/logout'] button").click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["logout"]["title"])
            visit(code + " logged out")
            shoot(driver, "logged-out-%s" % code)
            driver.find_element(By.CSS_SELECTOR, "main a[href^='/?lang=%s']" % code).click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["index"]["title"])
            visit(code + " start again")
            driver.find_element(By.ID, "codename").send_keys("  " + words.upper().replace(" ", "  ") + " ")
            driver.find_element(By.CSS_SELECTOR, "form[action^='/login'] button").click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["inbox"]["title"])
            visit(code + " logged in")
            # A follow-up from the conversation page joins the same case.
            driver.find_element(By.CSS_SELECTOR, "textarea[name=message]").send_keys("follow-up " + code)
            driver.find_element(By.CSS_SELECTOR, "form[action^='/submit'] button").click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["receipt"]["title"])
            visit(code + " follow-up")
            check(not driver.find_elements(By.CSS_SELECTOR, ".words"), "%s: a follow-up showed a codename" % code)
            driver.find_element(By.CSS_SELECTOR, "main a[href^='/inbox']").click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["inbox"]["title"])
            visit(code + " conversation again")
            driver.find_element(By.CSS_SELECTOR, "form[action^='/logout'] button").click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["logout"]["title"])
            visit(code + " logged out again")

            # The menu leads to the next language.
            nxt = CODES[(i + 1) % len(CODES)]
            driver.find_element(By.CSS_SELECTOR, "nav a[hreflang='%s']" % nxt).click()
            WebDriverWait(driver, 60).until(lambda d: html_el().get_attribute("lang") == nxt)
            visit(code + " menu to " + nxt)
            # Only the site's own two cookies, neither holding the language.
            for c in driver.get_cookies():
                check(c["name"] in ("__Host-sd-form", "__Host-sd-session") and c.get("httpOnly")
                      and c.get("sameSite") == "Strict" and c.get("secure"),
                      "%s: an unexpected cookie: %r" % (code, c))
                check(code not in c["value"].split("-"), "%s: a cookie carries the language" % code)
            log("%s: form, refusal, receipt, codename, conversation, log-out, log-in, follow-up "
                "and menu in %s (%s)" % (code, cat["meta"]["name"], want_dir))

        # --- replies: written on the laptop, read and deleted by each source --------------
        bundle = os.path.join(work, "bundle-1.sdb")
        inst.export(bundle)
        inst.import_bundle(bundle)
        for sub in inst.list():
            shown = json.loads(harness.run([args.review, "show", sub["id"], "--vault", inst.vault,
                                            "--key", inst.key, "--passphrase-file", inst.passfile,
                                            "--json"]))
            m = re.match(r"^test (\w+)$", shown["message"])
            if m:
                inst.reply(sub["id"], REPLIES[m.group(1)])
        out = inst.send_replies(os.path.join(work, "replies-1.sdo"))
        check("6 replies" in out, "import-outbox did not store six replies:\n" + out)
        log("replies: six written with reply, carried by outbox, stored by import-outbox")
        attachment = os.path.join(work, "follow-up.txt")
        with open(attachment, "w") as f:
            f.write("a document sent after reading the reply\n")
        html_el = lambda: driver.find_element(By.TAG_NAME, "html")  # noqa: E731
        for code in CODES:
            cat = load(code)
            driver.get(base + "?lang=" + code)
            visit(code + " form, to read the reply")
            driver.find_element(By.ID, "codename").send_keys(codenames[code])
            driver.find_element(By.CSS_SELECTOR, "form[action^='/login'] button").click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["inbox"]["title"])
            visit(code + " conversation with a reply")
            texts = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".reply-text")]
            check(texts == [REPLIES[code]], "%s: the conversation shows replies %r" % (code, texts))
            heading = norm(driver.find_element(By.CSS_SELECTOR, ".reply h3").text)
            day = time.strftime("%Y-%m-%d", time.gmtime())
            check(heading == norm(cat["inbox"]["reply_day"].replace("{day}", day)),
                  "%s: the reply's heading is %r" % (code, heading))
            want_dir = "rtl" if code == "ar" else "ltr"
            reply_el = driver.find_element(By.CSS_SELECTOR, ".reply-text")
            check(reply_el.value_of_css_property("direction") == want_dir,
                  "%s: the reply is laid out %s" % (code, reply_el.value_of_css_property("direction")))
            shoot(driver, "reply-%s" % code)
            # A follow-up file, sent from the page that shows the reply.
            driver.find_element(By.CSS_SELECTOR, "textarea[name=message]").send_keys("answer " + code)
            driver.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(attachment)
            driver.find_element(By.CSS_SELECTOR, "form[action^='/submit'] button").click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["receipt"]["title"])
            visit(code + " follow-up file")
            shoot(driver, "follow-up-file-%s" % code)
            driver.find_element(By.CSS_SELECTOR, "main a[href^='/inbox']").click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["inbox"]["title"])
            visit(code + " back to the reply")
            driver.find_element(By.CSS_SELECTOR, "form[action^='/reply/delete'] button").click()
            # The same title before and after: wait for the notice, through the
            # moment the old page's elements go stale.
            WebDriverWait(driver, 60, ignored_exceptions=(StaleElementReferenceException,)).until(
                lambda d: norm(cat["inbox"]["deleted"]) in norm(d.find_element(By.TAG_NAME, "body").text))
            visit(code + " reply deleted")
            check(not driver.find_elements(By.CSS_SELECTOR, ".reply"), "%s: the reply is still shown" % code)
            body = norm(driver.find_element(By.TAG_NAME, "body").text)
            check(norm(cat["inbox"]["none"]) in body, "%s: after deleting, no 'no reply yet'" % code)
            check(html_el().get_attribute("dir") == want_dir, "%s: page not %s" % (code, want_dir))
            shoot(driver, "reply-deleted-%s" % code)
            driver.find_element(By.CSS_SELECTOR, "form[action^='/logout'] button").click()
            WebDriverWait(driver, 60).until(lambda d: d.title == cat["logout"]["title"])
            visit(code + " logged out after the reply")
            log("%s: log-in, reply read, follow-up file, reply deleted, log-out" % code)
        out = harness.run([args.server, "check", inst.dir])
        check("\nreplies: 0\n" in out, "replies left on the server after the sources deleted them:\n" + out)

        # --- JavaScript ON: the warning shows ---------------------------------------
        js = harness.make_driver(chromium, chromedriver, work, javascript=True)
        drivers.append(js)
        js.get(base + "?lang=ru")
        warning = js.find_element(By.CSS_SELECTOR, ".js-on")
        check(warning.is_displayed(), "with JavaScript on, the warning to choose Safest is hidden")
        check(norm(load("ru")["page"]["js_warning"]) in norm(warning.text), "the warning is not in Russian")
        shoot(js, "js-warning-ru")
        log("JavaScript on: the warning shows; off: the <noscript> rule (CSP hash) hides it")

        # --- check names the languages without their own site text -----------------------
        inst.stop()
        bundle = os.path.join(work, "bundle-2.sdb")
        inst.export(bundle)
        inst.import_bundle(bundle)
        cases = {}
        for sub in inst.list():
            shown = json.loads(harness.run([args.review, "show", sub["id"], "--vault", inst.vault,
                                            "--key", inst.key, "--passphrase-file", inst.passfile,
                                            "--json"]))
            cases.setdefault(shown["reply_key"], set()).add(shown["message"])
        want = sorted(sorted(["test " + c, "follow-up " + c, "answer " + c]) for c in CODES)
        check(sorted(sorted(v) for v in cases.values()) == want,
              "the vault's cases by reply key: %r" % cases)
        log("vault: six cases, each a first submission, its follow-up after log-in and the "
            "answer to the reply")
        out = harness.run([args.server, "check", inst.dir])
        warned = sorted(c for c in CODES if "warning: no [site.%s]" % c in out)
        check(warned == sorted(set(CODES) - set(SITE)), "check warned about %r:\n%s" % (warned, out))
        check(out.rstrip().endswith("ok"), "check did not pass with warnings only:\n" + out)
        log("check: warnings for %s, still ok" % ", ".join(warned))
        log("PASS in %.1fs" % (time.monotonic() - t0))
        ok = True
    finally:
        harness.finish(ok, drivers, inst, work, args.keep)
    return 0


if __name__ == "__main__":
    harness.run_main(main)
