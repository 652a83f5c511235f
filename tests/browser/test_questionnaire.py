#!/usr/bin/python3
"""browser.questionnaire: sources fill in the shipped questionnaire ("Report an
abusive notice", intake/questionnaires/red-notice.toml) step by step in
Chromium with JavaScript OFF (Tor Browser at "Safest"), in English, Russian
and Arabic:

- English: the "detained" path (who, the notice, where they are now,
  detained: yes, so the extradition step with a hearing date appears, the
  CCF, the case, the last step);
- Russian: the insider path (the documents step instead);
- Arabic, right to left: the detained path again.

In each language a validation error is shown next to its field, in that
language, with what was typed kept, and then corrected; and the Back button
returns to the previous step with every answer kept, also what was typed on
the step left. Each ends with one submission and its codename. The reviewer
then finds exactly three submissions in the vault, and `sealdrop-review show
--json` shows that each carries exactly the answers given on its path, no
more. Screenshots of every step are kept in --shots.

  test_questionnaire.py --server BIN --review BIN --shots DIR [--keep]

Fails (never skips) when chromium, chromedriver or selenium are missing.
"""
import argparse
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, log  # noqa: E402

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
ARABIC = re.compile(r"[\u0600-\u06FF]")


class Source:
    """One source in one browser: fills in steps and keeps screenshots."""

    def __init__(self, driver, base, lang, shots):
        from selenium.webdriver.common.by import By
        self.By = By
        self.d, self.base, self.lang, self.shots = driver, base, lang, shots
        self.n = 0

    # --- reading the page ----------------------------------------------------------
    def step(self):
        el = self.d.find_elements(self.By.CSS_SELECTOR, "input[name='sd:step']")
        return el[0].get_attribute("value") if el else None

    def shot(self, what):
        self.n += 1
        path = os.path.join(self.shots, "questionnaire-%s-%02d-%s.png" % (self.lang, self.n, what))
        check(self.d.save_screenshot(path), "screenshot %s failed" % path)
        harness.check_png(path)

    def error(self, field):
        els = self.d.find_elements(self.By.CSS_SELECTOR, "#field-%s .error" % field)
        return els[0].text if els else None

    def errors(self):
        return [e.get_attribute("id") for e in
                self.d.find_elements(self.By.CSS_SELECTOR, ".field.invalid")]

    def value(self, field):
        return self.d.find_element(self.By.ID, "f-" + field).get_property("value")

    def checked(self, field):
        return sorted(e.get_attribute("value") for e in self.d.find_elements(
            self.By.CSS_SELECTOR, "input[name='%s']" % field) if e.is_selected())

    def expect_step(self, step, what=""):
        got = self.step()
        check(got == step, "%s: expected step %r, the page shows %r%s\n%s" % (
            self.lang, step, got, (" (" + what + ")") if what else "",
            self.d.find_element(self.By.TAG_NAME, "body").text[:3000]))
        html = self.d.find_element(self.By.TAG_NAME, "html")
        check(html.get_attribute("lang") == self.lang, "%s: <html lang=%r>" % (
            self.lang, html.get_attribute("lang")))
        want_dir = "rtl" if self.lang == "ar" else "ltr"
        check(html.get_attribute("dir") == want_dir, "%s: <html dir=%r>, expected %s" % (
            self.lang, html.get_attribute("dir"), want_dir))
        problems = harness.audit_html(self.d.page_source, self.d.current_url)
        check(not problems, "%s, step %s: %s" % (self.lang, step, "; ".join(problems)))

    # --- filling it in -------------------------------------------------------------
    def type(self, field, text):
        el = self.d.find_element(self.By.ID, "f-" + field)
        el.clear()
        el.send_keys(text)

    def choose(self, field, *values):
        for v in values:
            box = self.d.find_element(self.By.CSS_SELECTOR, "input[name='%s'][value='%s']" % (field, v))
            if not box.is_selected():
                box.click()

    def select(self, field, value):
        from selenium.webdriver.support.ui import Select
        Select(self.d.find_element(self.By.ID, "f-" + field)).select_by_value(value)

    def press(self, action):
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait
        old = self.d.find_element(self.By.TAG_NAME, "html")
        self.d.find_element(self.By.CSS_SELECTOR,
                            "button[name='sd:action'][value='%s']" % action).click()

        # The page before is gone once its <html> is. Chromium reports a node
        # of a replaced document either as stale or as "does not belong to
        # the document", a plain WebDriverException: both mean gone.
        def replaced(_):
            try:
                old.is_enabled()
                return False
            except WebDriverException:
                return True
        WebDriverWait(self.d, 60).until(replaced)

    def check_language(self, text, what):
        check(text, "%s: no text for %s" % (self.lang, what))
        check(not re.match(r"^[a-z_]+(\.[a-z_]+)+$", text), "%s: %s is a catalog key: %r" % (
            self.lang, what, text))
        if self.lang == "ru":
            check(CYRILLIC.search(text), "%s: %s is not in Russian: %r" % (self.lang, what, text))
        elif self.lang == "ar":
            check(ARABIC.search(text), "%s: %s is not in Arabic: %r" % (self.lang, what, text))
        else:
            check(not CYRILLIC.search(text) and not ARABIC.search(text),
                  "%s: %s is not in English: %r" % (self.lang, what, text))

    def finish(self):
        """After the last step: the receipt, with the codename to keep."""
        words = self.d.find_elements(self.By.CSS_SELECTOR, "p.words")
        body = self.d.find_element(self.By.TAG_NAME, "body").text
        check(words, "%s: no codename after the last step:\n%s" % (self.lang, body[:3000]))
        check(len(words[0].text.split()) == 7, "%s: the codename is not seven words: %r" % (
            self.lang, words[0].text))
        check(self.step() is None, "%s: the receipt still shows a step form" % self.lang)
        self.shot("receipt")
        return words[0].text


def start(s):
    s.d.delete_all_cookies()
    s.d.get(s.base + "?lang=" + s.lang)
    s.expect_step("start", "the first page")
    s.shot("start")
    # A required answer left out: the error sits next to the field, in the
    # page's language, and nothing moves on.
    s.press("next")
    s.expect_step("start", "role was required")
    err = s.error("role")
    s.check_language(err, "the error for a required field")
    check(s.errors() == ["field-role"], "%s: fields marked wrong: %r" % (s.lang, s.errors()))
    s.shot("start-required")


def detained_path(s, answers):
    """role targeted ... detained yes, hearing date; a wrong date corrected,
    Back from the extradition step and forward again."""
    start(s)
    s.choose("role", "targeted")
    s.press("next")
    s.expect_step("notice")
    s.select("requesting_country", "TJ")
    s.choose("kind", "red_notice")
    s.type("learned_how", answers["learned_how"])
    s.shot("notice")
    s.press("next")
    s.expect_step("now")
    s.select("current_country", "FR")
    s.choose("detained", "yes")
    s.choose("asylum", "pending")
    s.select("asylum_where", "FR")
    s.shot("now")
    s.press("next")
    s.expect_step("extradition", "detained: yes shows the extradition step")
    # Not a day of the calendar: refused next to the field, kept as typed.
    s.type("hearing_date", "2027-02-30")
    s.choose("lawyer", "no")
    s.press("next")
    s.expect_step("extradition", "2027-02-30 is no date")
    s.check_language(s.error("hearing_date"), "the error for a wrong date")
    check(s.value("hearing_date") == "2027-02-30", "%s: the wrong date was not kept: %r" % (
        s.lang, s.value("hearing_date")))
    check(s.checked("lawyer") == ["no"], "%s: the lawyer answer was lost with the error" % s.lang)
    s.shot("extradition-bad-date")
    s.type("hearing_date", answers["hearing_date"])
    # Back keeps what was typed here, and the earlier step shows its answers.
    s.press("back")
    s.expect_step("now", "Back from the extradition step")
    check(s.value("current_country") == "FR", "%s: Back lost the current country" % s.lang)
    check(s.checked("detained") == ["yes"], "%s: Back lost detained: yes" % s.lang)
    check(s.checked("asylum") == ["pending"], "%s: Back lost the asylum answer" % s.lang)
    s.shot("back-to-now")
    s.press("next")
    s.expect_step("extradition")
    check(s.value("hearing_date") == answers["hearing_date"],
          "%s: the date typed before Back is gone: %r" % (s.lang, s.value("hearing_date")))
    check(s.checked("lawyer") == ["no"], "%s: the lawyer answer is gone after Back" % s.lang)
    s.press("next")
    s.expect_step("ccf")
    s.choose("ccf_asked", "deletion")
    s.type("ccf_answer", answers["ccf_answer"])
    s.press("next")
    s.expect_step("case")
    s.type("offence", answers["offence"])
    s.press("next")
    s.expect_step("last")
    s.type("message", answers["message"])
    s.choose("contact", "this_site", "lawyer")
    s.shot("last")
    s.press("next")
    return s.finish()


def insider_path(s, answers):
    """role insider: the documents step, its required field left out and
    filled in, Back to the first step and forward again."""
    start(s)
    s.choose("role", "insider")
    s.press("next")
    s.expect_step("documents", "insider shows the documents step")
    s.type("how_obtained", answers["how_obtained"])
    s.press("next")
    s.expect_step("documents", "what_documents is required")
    s.check_language(s.error("what_documents"), "the error for a required text")
    check(s.value("how_obtained") == answers["how_obtained"],
          "%s: the text typed was lost with the error" % s.lang)
    s.shot("documents-required")
    s.type("what_documents", answers["what_documents"])
    s.press("back")
    s.expect_step("start", "Back from the documents step")
    check(s.checked("role") == ["insider"], "%s: Back lost the role" % s.lang)
    s.press("next")
    s.expect_step("documents")
    check(s.value("what_documents") == answers["what_documents"],
          "%s: the text typed before Back is gone" % s.lang)
    check(s.value("how_obtained") == answers["how_obtained"],
          "%s: the earlier text is gone after Back" % s.lang)
    s.shot("documents")
    s.press("next")
    s.expect_step("last")
    s.type("message", answers["message"])
    s.press("next")
    return s.finish()


ENGLISH = {"learned_how": "Stopped at the border in Vienna, told by the police.",
           "hearing_date": "2027-03-15",
           "ccf_answer": "No answer after nine months.",
           "offence": "Fraud, which I never committed.",
           "message": "Please write soon: the hearing is near."}
RUSSIAN = {"how_obtained": "Мне передал их коллега из министерства.",
           "what_documents": "Переписка о запросах красных уведомлений за 2024 год.",
           "message": "Свяжитесь со мной здесь, пожалуйста."}
ARABIC_ANSWERS = {"learned_how": "أوقفوني في المطار وأخبرني الضابط بالنشرة.",
                  "hearing_date": "2027-04-01",
                  "ccf_answer": "لم يصلني أي رد.",
                  "offence": "تهمة سياسية لا أساس لها.",
                  "message": "أرجو الرد قريبًا."}


def detained_answers(a):
    """What detained_path answers, as sealed: field -> values."""
    return {"role": ["targeted"], "requesting_country": ["TJ"], "kind": ["red_notice"],
            "learned_how": [a["learned_how"]], "current_country": ["FR"], "detained": ["yes"],
            "asylum": ["pending"], "asylum_where": ["FR"], "hearing_date": [a["hearing_date"]],
            "lawyer": ["no"], "ccf_asked": ["deletion"], "ccf_answer": [a["ccf_answer"]],
            "offence": [a["offence"]], "message": [a["message"]],
            "contact": ["this_site", "lawyer"]}


def insider_answers(a):
    return {"role": ["insider"], "what_documents": [a["what_documents"]],
            "how_obtained": [a["how_obtained"]], "message": [a["message"]]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--review", required=True)
    ap.add_argument("--shots", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()

    chromium, chromedriver = harness.find_browser()
    work = harness.new_workdir()
    log("work dir " + work)
    inst = harness.Instance(args.server, args.review, work)
    driver = None
    ok = False
    try:
        t0 = time.monotonic()
        inst.setup()
        # A top-level setting goes before the config's first table.
        cfg = os.path.join(inst.dir, "config.toml")
        text = open(cfg, encoding="utf-8").read()
        with open(cfg, "w", encoding="utf-8") as f:
            f.write('questionnaire = "red-notice"\n' + text)
        inst.start()
        base = inst.url
        log("server at %s with the shipped questionnaire (set-up %.1fs)" % (
            base, time.monotonic() - t0))
        os.makedirs(args.shots, exist_ok=True)

        driver = harness.make_driver(chromium, chromedriver, work)
        harness.assert_javascript_off(driver)
        log("JavaScript is off")

        for lang, path, answers in (("en", detained_path, ENGLISH),
                                    ("ru", insider_path, RUSSIAN),
                                    ("ar", detained_path, ARABIC_ANSWERS)):
            t = time.monotonic()
            s = Source(driver, base, lang, args.shots)
            path(s, answers)
            log("%s: %s, error shown and corrected, Back kept the answers, sent (%d screenshots, "
                "%.1fs)" % (lang, path.__name__.replace("_", " "), s.n, time.monotonic() - t))

        driver.quit()
        driver = None
        inst.stop()

        # Nothing of the answers in the server's output.
        whole_log = "\n".join(inst.log_since(0))
        for answers in (ENGLISH, RUSSIAN, ARABIC_ANSWERS):
            for v in answers.values():
                check(v not in whole_log, "the server log holds an answer: %r" % v)
        stray = [line for line in inst.log_since(0) if not harness.is_server_line(line)]
        check(not stray, "the server wrote lines of its own per request:\n  " + "\n  ".join(stray))

        # The reviewer: one submission per source, no more (no step left a
        # submission of its own behind).
        bundle = os.path.join(work, "bundle.sdb")
        log(inst.export(bundle).strip())
        log(inst.import_bundle(bundle).strip())
        listing = inst.list()
        check(len(listing) == 3, "expected 3 submissions in the vault, got %d: %r" % (
            len(listing), listing))
        # Each submission carries exactly the answers given on its path.
        want = {"targeted/en": detained_answers(ENGLISH), "insider": insider_answers(RUSSIAN),
                "targeted/ar": detained_answers(ARABIC_ANSWERS)}
        got = {}
        for sub in listing:
            shown = json.loads(harness.run([inst.review_bin, "show", sub["id"], "--vault",
                                            inst.vault, "--key", inst.key, "--passphrase-file",
                                            inst.passfile, "--json"]))
            answers = shown.get("answers")
            check(isinstance(answers, dict) and "fields" in answers,
                  "show --json gives no answers: %r" % shown)
            check(answers.get("questionnaire") == "red-notice",
                  "sealed for questionnaire %r" % answers.get("questionnaire"))
            given = {a["id"]: a["values"] for a in answers["fields"]}
            key = given.get("role", ["?"])[0]
            if key == "targeted":
                key += "/ar" if ARABIC.search(given.get("message", [""])[0]) else "/en"
            got[key] = given
        for key, expected in want.items():
            check(got.get(key) == expected, "%s: sealed answers differ:\n%r\nexpected\n%r" % (
                key, got.get(key), expected))
        log("show --json: each submission carries exactly the answers given")
        log("PASS in %.1fs" % (time.monotonic() - t0))
        ok = True
    finally:
        harness.finish(ok, [driver], inst, work, args.keep)
    return 0


if __name__ == "__main__":
    harness.run_main(main)
