// The source site's catalogs and pages (server/site/): every language has
// every message with the same placeholders and its own plural forms, uses the
// glossary's words, and every page renders whole in every language.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <set>

#include "server/server.h"

using namespace sealdrop;
using namespace sealdrop::server;

namespace {

std::set<std::string> Placeholders(const Catalog::Message& m) {
  std::set<std::string> out;
  static const std::regex kName(R"(\{([a-z_]+)\})");
  for (const auto& [cat, text] : m.forms)
    for (std::sregex_iterator it(text.begin(), text.end(), kName), end; it != end; ++it)
      out.insert((*it)[1]);
  return out;
}

const Catalog& English() { return Catalogs().front(); }

// Lower case for the scripts the catalogs use, enough to find a glossary stem
// at the start of a sentence: ASCII, Cyrillic (Russian, and Tajik's extra
// letters, paired upper-even, lower-odd in U+0460-U+04FF). Arabic has no case.
std::string Lower(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += char(std::tolower(c));
      i++;
      continue;
    }
    if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
      uint32_t cp = (uint32_t(c & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
      if (cp >= 0x410 && cp <= 0x42F) cp += 0x20;
      else if (cp >= 0x400 && cp <= 0x40F) cp += 0x50;
      else if (cp >= 0x460 && cp <= 0x4FF && cp % 2 == 0) cp += 1;
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
      i += 2;
      continue;
    }
    out += s[i++];
  }
  return out;
}

Config SiteConfig() {
  Config cfg;
  cfg.max_upload = uint64_t(2) << 30;
  cfg.max_files = 100;
  return cfg;
}

// What must never reach a page: an unfilled placeholder or a key shown in
// place of its message.
void RequireWhole(const std::string& page, const Catalog& c, const std::string& what) {
  INFO(c.code() << " " << what);
  CHECK(page.find("{{") == std::string::npos);
  CHECK(!std::regex_search(page, std::regex(R"(\{[a-z_]+\})")));
  CHECK(!std::regex_search(page, std::regex(R"(\b(page|index|receipt|error|size|codename|inbox|logout|step|answer)\.[a-z_]+\b)")));
  CHECK(page.find("<html lang=\"" + c.code() + "\" dir=\"" + (c.rtl() ? "rtl" : "ltr") + "\">") !=
        std::string::npos);
}

}  // namespace

TEST_CASE("SiteHasSixLanguagesEnglishFirstArabicRightToLeft") {
  std::vector<std::string> codes;
  for (const Catalog& c : Catalogs()) codes.push_back(c.code());
  CHECK(codes == std::vector<std::string>{"en", "ru", "tr", "tg", "fr", "ar"});
  for (const Catalog& c : Catalogs()) CHECK(c.rtl() == (c.code() == "ar"));
}

TEST_CASE("ATranslationMissingAMessageOrAddingOneFailsTheBuild") {
  std::vector<std::string> english;
  for (const auto& m : English().messages()) english.push_back(m.key);
  for (const Catalog& c : Catalogs()) {
    std::vector<std::string> keys;
    for (const auto& m : c.messages()) keys.push_back(m.key);
    INFO(c.code());
    CHECK(keys == english);
  }
}

TEST_CASE("ATranslationWithOtherPlaceholdersOrPluralFormsFailsTheBuild") {
  for (const Catalog& c : Catalogs()) {
    for (const auto& m : c.messages()) {
      const auto& en = *std::find_if(English().messages().begin(), English().messages().end(),
                                     [&](const auto& e) { return e.key == m.key; });
      INFO(c.code() << " " << m.key);
      CHECK(Placeholders(m) == Placeholders(en));
      bool plural = !en.forms.count("");
      CHECK(plural == !m.forms.count(""));
      if (plural) {
        std::set<std::string> cats, want;
        for (const auto& kv : m.forms) cats.insert(kv.first);
        for (const auto& cat : PluralCategories(c.code())) want.insert(cat);
        CHECK(cats == want);
      }
    }
  }
}

TEST_CASE("ATranslationUsingASynonymForAGlossaryTermFailsTheBuild") {
  const auto& en_glossary = English().glossary();
  REQUIRE(en_glossary.size() == 3);
  for (const Catalog& c : Catalogs()) {
    INFO(c.code());
    REQUIRE(c.glossary().size() == en_glossary.size());
    REQUIRE(c.messages().size() == English().messages().size());
    for (const auto& [term, en_word] : en_glossary) {
      REQUIRE(c.glossary().count(term));
      const std::string& stem = c.glossary().at(term).second;
      REQUIRE(!stem.empty());
      for (size_t i = 0; i < c.messages().size(); i++) {
        const auto& en = English().messages()[i];
        const auto& m = c.messages()[i];
        for (const auto& [cat, text] : en.forms) {
          if (Lower(text).find(en_word.second) == std::string::npos) continue;
          // Every form of the translation uses the term.
          for (const auto& [tcat, ttext] : m.forms) {
            INFO(m.key << " " << tcat << ": " << ttext << " lacks " << stem);
            CHECK(Lower(ttext).find(Lower(stem)) != std::string::npos);
          }
        }
      }
    }
  }
}

TEST_CASE("ACatalogLackingAPluralFormIsRefused") {
  std::string ru(SiteText("catalog/ru.toml"));
  Catalog c;
  REQUIRE(Catalog::Parse(ru, "ru.toml", &c).ok());
  // A Russian plural message with only English's two forms.
  std::string broken = ru + "\n[extra]\nx = { one = \"a\", other = \"b\" }\n";
  CHECK(!Catalog::Parse(broken, "ru.toml", &c).ok());
  std::string no_meta = std::string(SiteText("catalog/en.toml"));
  no_meta.replace(no_meta.find("[meta]"), 6, "[mete]");
  CHECK(!Catalog::Parse(no_meta, "en.toml", &c).ok());
}

TEST_CASE("PluralFormsFollowEachLanguagesRule") {
  auto cats = [](const char* code, std::vector<uint64_t> ns) {
    std::vector<std::string> out;
    for (uint64_t n : ns) out.push_back(PluralCategory(code, n));
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(cats("en", {0, 1, 2, 21}) == V{"other", "one", "other", "other"});
  CHECK(cats("fr", {0, 1, 2}) == V{"one", "one", "other"});
  CHECK(cats("ru", {1, 2, 4, 5, 11, 12, 21, 22, 25, 111, 112, 1001}) ==
        V{"one", "few", "few", "many", "many", "many", "one", "few", "many", "many", "many", "one"});
  CHECK(cats("ar", {0, 1, 2, 3, 10, 11, 99, 100, 101, 102, 103, 111}) ==
        V{"zero", "one", "two", "few", "few", "many", "many", "other", "other", "other", "few", "many"});
  const Catalog& ru = PickCatalog("ru", "");
  CHECK(ru.Plural("receipt.files", 21) != ru.Plural("receipt.files", 22));
  CHECK(ru.Plural("receipt.files", 22) != ru.Plural("receipt.files", 25));
}

TEST_CASE("LanguageComesFromTheLinkThenAcceptLanguageThenEnglish") {
  CHECK(PickCatalog("ru", "fr").code() == "ru");
  CHECK(PickCatalog("", "tr-TR,tr;q=0.9,en;q=0.5").code() == "tr");
  CHECK(PickCatalog("", "de-DE,de;q=0.9,ar;q=0.8,en;q=0.5").code() == "ar");
  CHECK(PickCatalog("", "en;q=0.4, tg;q=0.7").code() == "tg");
  CHECK(PickCatalog("", "FR-ca").code() == "fr");
  CHECK(PickCatalog("de", "de").code() == "en");
  CHECK(PickCatalog("../../etc", "").code() == "en");
  CHECK(PickCatalog("", std::string(5000, ',')).code() == "en");
}

TEST_CASE("EveryPageRendersWholeInEveryLanguageUnder30KB") {
  Config cfg = SiteConfig();
  cfg.site["en"] = {"Red Notice Watch", "A small team of lawyers.\n\nWe read every submission.",
                    "We never ask who you are."};
  Receipt r;
  r.message_chars = 1234;
  r.file_sizes = {0, 1, 5000, uint64_t(3) << 30};
  CodenameAsk ask;
  ask.ask[0] = 1;
  ask.ask[1] = 5;
  CodenameAsk wrong = ask;
  wrong.wrong = true;
  // The conversation with a reply the source can read and one it cannot.
  std::vector<OpenedReply> replies(2);
  replies[0].id[0] = 1;
  replies[0].day = 20500;
  replies[0].readable = true;
  replies[1].id[0] = 2;
  replies[1].day = 20501;
  replies[1].readable = false;
  for (const Catalog& c : Catalogs()) {
    std::vector<std::pair<std::string, std::string>> pages = {
        {"index", IndexPage(cfg, c, "tok")},
        {"receipt", ReceiptPage(r, c)},
        {"error too_large", ErrorPage(413, c, "too_large", {{"limit", c.Size(cfg.max_upload)},
                                                             {"count", "100"}})},
        {"error no_page", ErrorPage(404, c, "no_page")},
        {"receipt with codename", ReceiptPage(r, c, "tok", &ask)},
        {"receipt logged in", ReceiptPage(r, c, "tok", nullptr, true)},
        {"codename wrong", CodenamePage(c, "tok", wrong)},
        {"inbox", InboxPage(cfg, c, "tok")},
        {"inbox with replies", InboxPage(cfg, c, "tok", replies, true)},
        {"logged out", LoggedOutPage(c)},
    };
    for (const auto& [what, page] : pages) {
      RequireWhole(page, c, what);
      INFO(c.code() << " " << what);
      CHECK((page.size() + StyleSheet().size()) < 30 * 1024u);
      CHECK((what != "index" || page.find("Red Notice Watch") != std::string::npos));
      if (what == "inbox with replies") {
        // Both replies are shown, and only the readable one has a place for its text.
        size_t shown = 0;
        for (size_t at = page.find("<article class=\"reply\">"); at != std::string::npos;
             at = page.find("<article class=\"reply\">", at + 1))
          shown++;
        CHECK(shown == 2);
        const size_t mark = page.find(kReplyMark);
        CHECK(mark != std::string::npos);
        CHECK(page.find(kReplyMark, mark + 1) == std::string::npos);
        CHECK(page.find(HtmlEscape(c.Text("inbox.unreadable"))) != std::string::npos);
      }
      // Nothing from another origin, no script.
      CHECK(!std::regex_search(page, std::regex(R"((src|href|action)="(https?:)?//)")));
      CHECK(page.find("<script") == std::string::npos);
    }
  }
}

TEST_CASE("AnOperatorsSiteTextCannotInjectMarkup") {
  Config cfg = SiteConfig();
  cfg.site["en"] = {"<script>x</script>", "a & b", ""};
  std::string page = IndexPage(cfg, English(), "tok");
  CHECK(page.find("<script>x") == std::string::npos);
  CHECK(page.find("&lt;script&gt;x&lt;/script&gt;") != std::string::npos);
  CHECK(page.find("a &amp; b") != std::string::npos);
  // No policy given: its heading is not shown.
  CHECK(page.find(English().Text("index.policy")) == std::string::npos);
}

TEST_CASE("ALanguageWithoutItsOwnSiteTextShowsTheEnglishOne") {
  Config cfg = SiteConfig();
  cfg.site["en"] = {"Red Notice Watch", "", ""};
  cfg.site["ru"] = {"Наблюдение за красными уведомлениями", "", ""};
  CHECK(IndexPage(cfg, PickCatalog("tr", ""), "tok").find("Red Notice Watch") != std::string::npos);
  CHECK(IndexPage(cfg, PickCatalog("ru", ""), "tok").find("Red Notice Watch") == std::string::npos);
}

TEST_CASE("NumbersAndSizesAreWrittenTheLanguagesWay") {
  CHECK(English().Number(1048576) == "1,048,576");
  CHECK(English().Size(512) == "512 bytes");
  CHECK(English().Size(1) == "1 byte");
  CHECK(English().Size(uint64_t(3) << 29) == "1.5 GiB");
  const Catalog& fr = PickCatalog("fr", "");
  CHECK(fr.Number(1048576) == "1\u00a0048\u00a0576");
  CHECK(fr.Size(uint64_t(3) << 29).find("1,5") == 0);
}

// Every step of the shipped questionnaire, with every kind of mistake shown,
// in every language: no key or placeholder left, the field's mistake beside
// it, what was typed escaped, and the country list well under the budget.
TEST_CASE("EveryQuestionnaireStepRendersWholeInEveryLanguage") {
  Config cfg = SiteConfig();
  REQUIRE(intake::LoadCountries(intake::kCountriesPath, &cfg.countries).ok());
  for (const auto& k : cfg.countries) cfg.country_codes.push_back(k.code);
  std::sort(cfg.country_codes.begin(), cfg.country_codes.end());
  auto q = std::make_shared<intake::Questionnaire>();
  const std::string_view text =
      FindEmbedded(kQuestionnaireFiles, kQuestionnaireFilesCount, "red-notice.toml");
  REQUIRE(intake::Parse(std::string(text), "red-notice.toml", cfg.country_codes, q.get()).ok());
  cfg.questionnaire = q;
  const intake::Values values = {{"role", {"targeted"}},       {"detained", {"yes"}},
                                 {"requesting_country", {"RU"}}, {"learned_how", {"<b>&"}},
                                 {"contact", {"lawyer", "other"}}, {"files", {"1", "2"}}};
  const intake::Mistake kinds[] = {intake::Mistake::kRequired, intake::Mistake::kChoice,
                                   intake::Mistake::kCountry,  intake::Mistake::kDate,
                                   intake::Mistake::kYesNo,    intake::Mistake::kTooLong,
                                   intake::Mistake::kTooMany,  intake::Mistake::kText,
                                   intake::Mistake::kUnknown};
  for (const Catalog& c : Catalogs()) {
    size_t k = 0;
    for (size_t i = 0; i < q->steps.size(); i++) {
      StepView v;
      v.step = i;
      v.number = i + 1;
      v.first = i == 0;
      v.last = i + 1 == q->steps.size();
      v.values = &values;
      for (const intake::Field& f : q->steps[i].fields) v.errors.push_back({f.id, kinds[k++ % 9]});
      const std::string page = IndexPage(cfg, c, "tok", StepBlock(cfg, c, "tok", v));
      INFO(c.code() << " step " << q->steps[i].id);
      RequireWhole(page, c, "step " + q->steps[i].id);
      CHECK(page.size() < 60 * 1024u);
      CHECK(page.find("id=\"message\"") == std::string::npos);  // the message form is gone
      CHECK(page.find("<script") == std::string::npos);
      CHECK(page.find("<b>&") == std::string::npos);
      for (const intake::FieldError& e : v.errors) {
        const size_t at = page.find("id=\"field-" + e.field + "\"");
        REQUIRE(at != std::string::npos);
        const std::string msg =
            HtmlEscape(c.Text(std::string("answer.") + intake::MistakeName(e.mistake)));
        CHECK(page.find(msg, at) < page.find("</div>", at));
      }
      CHECK((page.find(">" + HtmlEscape(c.Text("step.back")) + "<") != std::string::npos) == !v.first);
      CHECK((page.find(">" + HtmlEscape(c.Text("step.send")) + "<") != std::string::npos) == v.last);
    }
  }
  // The page shows the country chosen, and the files held.
  StepView v;
  v.step = 1;
  v.values = &values;
  const std::string notice = StepBlock(cfg, Catalogs().front(), "tok", v);
  CHECK(notice.find("<option value=\"RU\" selected>") != std::string::npos);
  v.step = q->steps.size() - 1;
  const std::string last = StepBlock(cfg, Catalogs().front(), "tok", v);
  CHECK(last.find("Files attached so far: 2") != std::string::npos);
  CHECK(last.find("value=\"lawyer\" checked") != std::string::npos);
}

// A source chooses a country by its name in their own language, from the
// translations iso-codes ships; a language without them shows English.
TEST_CASE("CountriesAreNamedInThePagesLanguage") {
  Config cfg = SiteConfig();
  REQUIRE(intake::LoadCountries(intake::kCountriesPath, &cfg.countries).ok());
  LoadCountryNames(&cfg);
  REQUIRE(cfg.country_names.count("ru"));
  CHECK(cfg.country_names.at("ru").at("RU") == "Российская Федерация");
  CHECK(cfg.country_names.at("ar").at("DE") == "ألمانيا");
  CHECK(cfg.country_names.count("en") == 0);
  auto q = std::make_shared<intake::Questionnaire>();
  REQUIRE(intake::Parse(std::string(FindEmbedded(kQuestionnaireFiles, kQuestionnaireFilesCount,
                                                 "red-notice.toml")),
                        "red-notice.toml", {}, q.get())
              .ok());
  cfg.questionnaire = q;
  const intake::Values values = {{"role", {"targeted"}}, {"requesting_country", {"RU"}}};
  StepView v;
  v.step = 1;
  v.values = &values;
  CHECK(StepBlock(cfg, *FindCatalog("ru"), "tok", v)
            .find("<option value=\"RU\" selected>Российская Федерация</option>") != std::string::npos);
  CHECK(StepBlock(cfg, *FindCatalog("en"), "tok", v)
            .find("<option value=\"RU\" selected>Russian Federation</option>") != std::string::npos);
  // Ordered by the name the source reads: Germany before Russia in Russian too.
  const std::string ru = StepBlock(cfg, *FindCatalog("ru"), "tok", v);
  CHECK(ru.find("Германия") < ru.find("Российская Федерация"));
}

TEST_CASE("AGettextCatalogThatIsNoneOrRunsPastItsEndIsRefused") {
  std::map<std::string, std::string> out;
  CHECK(ReadMo("", &out).Is(Status::Code::kCorruption));
  CHECK(ReadMo(std::string(64, 'x'), &out).Is(Status::Code::kCorruption));
  // Magic, revision, one message, tables at 28 and 36; the message's text
  // lies past the end.
  std::string mo;
  auto put = [&](uint32_t v) { mo.append(reinterpret_cast<const char*>(&v), 4); };
  for (uint32_t v : {0x950412deu, 0u, 1u, 28u, 36u, 0u, 0u, 5u, 100u, 5u, 44u}) put(v);
  CHECK(ReadMo(mo, &out).Is(Status::Code::kCorruption));
  mo.resize(44);
  mo += "Spain";
  mo.replace(28, 8, std::string("\x05\0\0\0\x2c\0\0\0", 8));
  out.clear();
  REQUIRE(ReadMo(mo, &out).ok());
  CHECK(out.at("Spain") == "Spain");
}
