// The questionnaire's definition: what parses, and how each kind of mistake
// is named (file, line, step or field).
#include <catch2/catch.hpp>
#include <sodium.h>

#include <fstream>
#include <sstream>

#include "intake/intake.h"

using namespace sealdrop;
using namespace sealdrop::intake;

namespace {

std::string ReadSource(const std::string& rel) {
  std::ifstream in(std::string(SEALDROP_SOURCE_DIR) + "/" + rel);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A small valid definition; tests append or replace parts of it.
const char kHead[] =
    "id = \"t\"\n"                                    // 1
    "title.en = \"Test\"\n"                           // 2
    "[[step]]\n"                                      // 3
    "id = \"one\"\n"                                  // 4
    "title.en = \"First\"\n"                          // 5
    "[[step.field]]\n"                                // 6
    "id = \"colour\"\n"                               // 7
    "type = \"choice\"\n"                             // 8
    "label.en = \"Colour\"\n"                         // 9
    "[[step.field.choice]]\n"                         // 10
    "id = \"red\"\n"                                  // 11
    "label.en = \"Red\"\n"                            // 12
    "[[step.field.choice]]\n"                         // 13
    "id = \"blue\"\n"                                 // 14
    "label.en = \"Blue\"\n";                          // 15

Status ParseText(const std::string& text, Questionnaire* q = nullptr) {
  Questionnaire tmp;
  return Parse(text, "q.toml", {"RU", "TR", "TJ"}, q ? q : &tmp);
}

}  // namespace

TEST_CASE("ShippedQuestionnaireParsesWithEveryPath", "[intake]") {
  REQUIRE(sodium_init() >= 0);
  std::vector<std::string> codes;
  std::vector<Country> countries;
  if (LoadCountries(kCountriesPath, &countries).ok())
    for (const Country& c : countries) codes.push_back(c.code);
  Questionnaire q;
  Status st = Parse(ReadSource("intake/questionnaires/red-notice.toml"), "red-notice.toml", codes,
                    &q);
  INFO(st.ToString());
  REQUIRE(st.ok());
  CHECK(q.id == "red-notice");
  // The questions, for those targeted and for insiders.
  for (const char* id : {"requesting_country", "kind", "learned_how", "current_country",
                         "detained", "hearing_date", "ccf_asked", "ccf_answer", "asylum",
                         "offence", "context", "contact", "what_documents", "how_obtained",
                         "trace_risk"})
    CHECK(q.FindField(id) != nullptr);
  // Shipped in every site language: nothing falls back to English.
  const auto missing = MissingTranslations(q, Languages());
  INFO((missing.empty() ? std::string() : missing[0]));
  CHECK(missing.empty());
  const Field* kind = q.FindField("kind");
  REQUIRE(kind != nullptr);
  CHECK(kind->choices.size() == 4);
  CHECK(q.FindField("detained")->kind == Kind::kYesNo);
  // The hearing date is asked only of someone detained.
  bool found = false;
  for (const Step& s : q.steps)
    for (const Field& f : s.fields)
      if (f.id == "hearing_date") {
        found = true;
        CHECK(s.when.field == "detained");
        CHECK(s.when.any_of == std::vector<std::string>{"yes"});
      }
  CHECK(found);
}

TEST_CASE("EachKindOfMistakeNamesItsLineAndField", "[intake]") {
  REQUIRE(sodium_init() >= 0);
  REQUIRE(ParseText(kHead).ok());
  struct Bad {
    std::string text, says;
  };
  const std::string head = kHead;
  const std::string step2 = "[[step]]\nid = \"two\"\ntitle.en = \"Second\"\n";  // lines 16-18
  for (const Bad& b : std::vector<Bad>{
           {head + "colour = 1\n", "q.toml:16: field 'colour' choice 'blue': unknown setting"},
           {head + step2 + "[[step.field]]\nid = \"x\"\ntype = \"dropdown\"\nlabel.en = \"X\"\n",
            "q.toml:19: field 'x': type 'dropdown' is none of"},
           {head + step2 + "[[step.field]]\nid = \"x\"\ntype = \"line\"\n",
            "q.toml:19: field 'x': needs label.en"},
           {head + step2 + "[[step.field]]\nid = \"colour\"\ntype = \"line\"\nlabel.en = \"X\"\n",
            "q.toml:19: field 'colour': id used twice"},
           {head + step2 + "[[step.field]]\nid = \"Bad Id\"\ntype = \"line\"\nlabel.en = \"X\"\n",
            "q.toml:19: field 'Bad Id': a field needs an id"},
           {head + step2 + "[[step.field]]\nid = \"x\"\ntype = \"line\"\nlabel.de = \"X\"\n",
            "q.toml:22: field 'x': label.de: not a site language"},
           {head + step2 + "[[step.field]]\nid = \"x\"\ntype = \"line\"\nlabel.ru = \"X\"\n",
            "field 'x': label needs en"},
           {head + step2 + "[[step.field]]\nid = \"x\"\ntype = \"line\"\nrequired = \"yes\"\n"
                           "label.en = \"X\"\n",
            "q.toml:22: field 'x': required must be true or false"},
           {head + step2 + "[[step.field]]\nid = \"x\"\ntype = \"choice\"\nlabel.en = \"X\"\n",
            "q.toml:19: field 'x': a choice field needs at least two"},
           {head + step2 + "[[step.field]]\nid = \"x\"\ntype = \"date\"\nlabel.en = \"X\"\n"
                           "[[step.field.choice]]\nid = \"a\"\nlabel.en = \"A\"\n",
            "field 'x': only choice and choices fields take"},
           {head + step2 + "[[step.field]]\nid = \"x\"\ntype = \"line\"\nlabel.en = \"X\"\n"
                           "max_bytes = 0\n",
            "q.toml:23: field 'x': max_bytes must be a number from 1"},
           {head + step2 + "when = { field = \"colour\", is = [\"green\"] }\n"
                           "[[step.field]]\nid = \"x\"\ntype = \"line\"\nlabel.en = \"X\"\n",
            "q.toml:16: step 'two': when.is: 'green' is not an answer field 'colour' offers"},
           {head + step2 + "when = { field = \"nothing\", is = [\"a\"] }\n"
                           "[[step.field]]\nid = \"x\"\ntype = \"line\"\nlabel.en = \"X\"\n",
            "step 'two': when.field 'nothing' names no field of an earlier step"},
           // Without JavaScript a field cannot hang on an answer on its own page.
           {head + "[[step.field]]\nid = \"x\"\ntype = \"line\"\nlabel.en = \"X\"\n"
                   "when = { field = \"colour\", is = [\"red\"] }\n",
            "q.toml:16: field 'x': when.field 'colour' names no field of an earlier step"},
           {head + step2 + "[[step.field]]\nid = \"x\"\ntype = \"line\"\nlabel.en = \"X\"\n"
                           "[[step]]\nid = \"three\"\ntitle.en = \"T\"\n"
                           "when = { field = \"x\", is = [\"a\"] }\n"
                           "[[step.field]]\nid = \"y\"\ntype = \"line\"\nlabel.en = \"Y\"\n",
            "q.toml:23: step 'three': when.field 'x' is a line field"},
           {head + step2, "q.toml:16: step 'two': no [[step.field]]"},
           {head + step2 + "[[step.field]]\nid = \"x\"\ntype = \"line\"\nlabel.en = \"X\"\n"
                           "[[step]]\nid = \"c\"\ntitle.en = \"T\"\n"
                           "when = { field = \"colour\", is = [\"red\"], also = 1 }\n"
                           "[[step.field]]\nid = \"y\"\ntype = \"line\"\nlabel.en = \"Y\"\n",
            "q.toml:26: step 'c': unknown setting 'also'"},
           {"id = \"t\"\ntitle.en = \"T\"\n", "q.toml:1: no [[step]]"},
           {"id = \"t\"\n", "q.toml:1: needs title.en"},
           {"title.en = \"T\"\n", "q.toml:1: id must be"},
           {"id = \"t\"\ntitle.en = \"T\"\nsteps = 2\n", "q.toml:3: unknown setting 'steps'"},
           {"id = \"t\"\n[[step]\n", "q.toml:2:"},
       }) {
    Status st = ParseText(b.text);
    INFO(b.text);
    INFO(st.ToString());
    CHECK(st.Is(Status::Code::kInvalidArgument));
    CHECK(st.message().find(b.says) != std::string::npos);
  }
}

TEST_CASE("ConditionsOnYesNoAndCountryTakeOnlyTheirAnswers", "[intake]") {
  REQUIRE(sodium_init() >= 0);
  const std::string base =
      "id = \"t\"\ntitle.en = \"T\"\n"
      "[[step]]\nid = \"a\"\ntitle.en = \"A\"\n"
      "[[step.field]]\nid = \"detained\"\ntype = \"yesno\"\nlabel.en = \"D\"\n"
      "[[step.field]]\nid = \"where\"\ntype = \"country\"\nlabel.en = \"W\"\n"
      "[[step]]\nid = \"b\"\ntitle.en = \"B\"\n";
  const std::string field = "[[step.field]]\nid = \"x\"\ntype = \"date\"\nlabel.en = \"X\"\n";
  CHECK(ParseText(base + "when = { field = \"detained\", is = [\"yes\"] }\n" + field).ok());
  CHECK(ParseText(base + "when = { field = \"where\", is = [\"RU\", \"TJ\"] }\n" + field).ok());
  CHECK(ParseText(base + "when = { field = \"detained\", is = [\"maybe\"] }\n" + field)
            .message()
            .find("'maybe' is not an answer") != std::string::npos);
  CHECK(ParseText(base + "when = { field = \"where\", is = [\"XX\"] }\n" + field)
            .message()
            .find("'XX' is not an answer") != std::string::npos);
}

TEST_CASE("MissingTranslationsAreListedAndFallBackToEnglish", "[intake]") {
  REQUIRE(sodium_init() >= 0);
  std::string text = kHead;
  text.replace(text.find("label.en = \"Red\"\n"), 17, "label.en = \"Red\"\nlabel.ru = \"Красный\"\n");
  Questionnaire q;
  REQUIRE(ParseText(text, &q).ok());
  auto missing = MissingTranslations(q, {"ru"});
  CHECK(std::find(missing.begin(), missing.end(), "field 'colour' choice 'red': no ru") ==
        missing.end());
  CHECK(std::find(missing.begin(), missing.end(), "field 'colour' choice 'blue': no ru") !=
        missing.end());
  CHECK(std::find(missing.begin(), missing.end(), "title: no ru") != missing.end());
  const Field* f = q.FindField("colour");
  CHECK(Text(f->choices[0].label, "ru") == "Красный");
  CHECK(Text(f->choices[1].label, "ru") == "Blue");
}

TEST_CASE("AnotherDefinitionHasAnotherHash", "[intake]") {
  REQUIRE(sodium_init() >= 0);
  Questionnaire a, b;
  REQUIRE(ParseText(kHead, &a).ok());
  REQUIRE(ParseText(std::string(kHead) + "# a comment changes the bytes\n", &b).ok());
  CHECK(a.hash != b.hash);
  CHECK(a.hash != std::array<uint8_t, 32>{});
}

TEST_CASE("ExampleInTheSpecificationParses", "[intake]") {
  REQUIRE(sodium_init() >= 0);
  const std::string doc = ReadSource("docs/QUESTIONNAIRE.md");
  const size_t at = doc.find("## Example");
  REQUIRE(at != std::string::npos);
  std::string text;
  std::istringstream lines(doc.substr(at));
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("    ", 0) == 0) text += line.substr(4) + "\n";
    else if (line.empty()) text += "\n";
  Questionnaire q;
  Status st = ParseText(text, &q);
  INFO(text);
  INFO(st.ToString());
  REQUIRE(st.ok());
  CHECK(q.steps.size() == 2);
  CHECK(Text(q.FindField("hearing_date")->label, "ru") == "Когда следующее слушание?");
}

TEST_CASE("CountriesComeFromIsoCodes", "[intake]") {
  std::vector<Country> all;
  Status st = LoadCountries(kCountriesPath, &all);
  INFO(st.ToString());
  REQUIRE(st.ok());
  CHECK(all.size() > 240);
  auto has = [&](const char* code) {
    for (const Country& c : all)
      if (c.code == code) return true;
    return false;
  };
  CHECK(has("RU"));
  CHECK(has("TR"));
  CHECK(has("TJ"));
  CHECK(LoadCountries("/nonexistent.json", &all).Is(Status::Code::kNotFound));
}

namespace {

// kHead plus a second step with a yes/no, a date and a country, so that
// [review] has fields of each type to name. Lines 16-27.
const std::string kWithReview = std::string(kHead) +
                                "[[step]]\nid = \"two\"\ntitle.en = \"Second\"\n"
                                "[[step.field]]\nid = \"held\"\ntype = \"yesno\"\nlabel.en = \"H\"\n"
                                "[[step.field]]\nid = \"when\"\ntype = \"date\"\nlabel.en = \"W\"\n"
                                "[[step.field]]\nid = \"from\"\ntype = \"country\"\nlabel.en = \"F\"\n";

}  // namespace

TEST_CASE("ShippedQuestionnaireStatesUrgencyOutcomesAndStats", "[intake]") {
  REQUIRE(sodium_init() >= 0);
  Questionnaire q;
  REQUIRE(ParseText(ReadSource("intake/questionnaires/red-notice.toml"), &q).ok());
  REQUIRE(q.review.urgent.size() == 2);
  CHECK(q.review.urgent[0].field == "detained");
  CHECK(q.review.urgent[1].within_days == 30);
  CHECK(q.review.stats.country == "requesting_country");
  CHECK(q.review.stats.kind == "kind");
  CHECK(q.review.stats.detention == "detained");
  for (const char* id : {"ccf_deleted", "ccf_pending", "extradition_refused", "extradited",
                         "asylum_granted", "other"}) {
    const Outcome* o = q.review.FindOutcome(id);
    REQUIRE(o != nullptr);
    for (const std::string& lang : Languages()) CHECK(o->label.count(lang) == 1);
  }
}

TEST_CASE("EachKindOfReviewMistakeNamesItsLineAndField", "[intake]") {
  REQUIRE(sodium_init() >= 0);
  const std::string& head = kWithReview;  // 30 lines; [review] is line 31
  REQUIRE(ParseText(head + "[review]\nurgent = [ { field = \"held\", is = [\"yes\"] },\n"
                           "  { field = \"when\", within_days = 30 } ]\n"
                           "stats = { country = \"from\", kind = \"colour\", detention = \"held\" }\n"
                           "[[review.outcome]]\nid = \"done\"\nlabel.en = \"Done\"\n")
              .ok());
  struct Bad {
    std::string text, says;
  };
  for (const Bad& b : std::vector<Bad>{
           {"[review]\nsoon = 1\n", "q.toml:32: review: unknown setting 'soon'"},
           {"[review]\nurgent = [ { field = \"nobody\", is = [\"yes\"] } ]\n",
            "q.toml:32: review.urgent 'nobody': field names no field of the questionnaire"},
           {"[review]\nurgent = [ { field = \"held\", is = [\"maybe\"] } ]\n",
            "q.toml:32: review.urgent 'held': is: 'maybe' is not an answer field 'held' offers"},
           {"[review]\nurgent = [ { field = \"from\", is = [\"XX\"] } ]\n",
            "review.urgent 'from': is: 'XX' is not an answer"},
           {"[review]\nurgent = [ { field = \"held\", within_days = 3 } ]\n",
            "q.toml:32: review.urgent 'held': within_days is for date fields; 'held' is a yesno"},
           {"[review]\nurgent = [ { field = \"when\", is = [\"yes\"] } ]\n",
            "review.urgent 'when': 'when' is a date field; is takes choice"},
           {"[review]\nurgent = [ { field = \"when\" } ]\n",
            "review.urgent 'when': a rule takes either is"},
           {"[review]\nurgent = [ { field = \"when\", within_days = 0 } ]\n",
            "q.toml:32: review.urgent 'when': within_days must be a number of days from 1"},
           {"[review]\nurgent = [ { field = \"held\", is = [\"yes\"], past_days = 2 } ]\n",
            "review.urgent 'held': past_days goes with within_days"},
           {"[review]\nurgent = [ { field = \"held\", is = [\"yes\"], colour = 2 } ]\n",
            "review.urgent 'held': unknown setting 'colour'"},
           {"[review]\nstats = { country = \"held\" }\n",
            "q.toml:32: review.stats: country: 'held' is a yesno field; country takes a country"},
           {"[review]\nstats = { kind = \"from\" }\n",
            "review.stats: kind: 'from' is a country field; kind takes a choice"},
           {"[review]\nstats = { detention = \"when\" }\n",
            "review.stats: detention: 'when' is a date field; detention takes a yesno field"},
           {"[review]\nstats = { detention = \"colour\" }\n",
            "review.stats: detention: 'colour' is a choice field"},
           {"[review]\nstats = { country = \"gone\" }\n",
            "review.stats: country: 'gone' names no field"},
           {"[review]\nstats = { month = \"when\" }\n", "review.stats: unknown setting 'month'"},
           {"[[review.outcome]]\nid = \"Done!\"\nlabel.en = \"D\"\n",
            "q.toml:31: review.outcome 'Done!': an outcome needs an id"},
           {"[[review.outcome]]\nid = \"d\"\nlabel.en = \"D\"\n[[review.outcome]]\nid = \"d\"\n"
            "label.en = \"E\"\n",
            "q.toml:34: review.outcome 'd': outcome id listed twice"},
           {"[[review.outcome]]\nid = \"d\"\nlabel.ru = \"D\"\n",
            "review.outcome 'd': label needs en"},
           {"[[review.outcome]]\nid = \"d\"\n", "q.toml:31: review.outcome 'd': needs label.en"},
       }) {
    Status st = ParseText(head + b.text);
    INFO(b.text);
    INFO(st.ToString());
    CHECK(st.Is(Status::Code::kInvalidArgument));
    CHECK(st.message().find(b.says) != std::string::npos);
  }
}

TEST_CASE("UrgentWhenDetainedOrHearingNearOrJustPast", "[intake]") {
  REQUIRE(sodium_init() >= 0);
  Questionnaire q;
  REQUIRE(ParseText(kWithReview + "[review]\nurgent = [ { field = \"held\", is = [\"yes\"] },\n"
                                  "  { field = \"when\", within_days = 30, reason = \"hearing\" } ]\n",
                    &q)
              .ok());
  uint32_t today = 0;
  REQUIRE(ParseDate("2026-12-07", &today));
  CHECK_FALSE(Judge(q.review, {}, today).urgent);
  CHECK_FALSE(Judge(q.review, {{"held", {"no"}}}, today).urgent);
  Urgency u = Judge(q.review, {{"held", {"yes"}}, {"when", {"2026-12-13"}}}, today);
  CHECK(u.urgent);
  CHECK(u.why == std::vector<std::string>{"held", "hearing in 6 days"});
  CHECK(u.days == 6);
  CHECK(Judge(q.review, {{"when", {"2026-12-07"}}}, today).why[0] == "hearing today");
  // Just past (7 days by default) still counts: the result needs a call.
  u = Judge(q.review, {{"when", {"2026-12-01"}}}, today);
  CHECK(u.why == std::vector<std::string>{"hearing 6 days ago"});
  CHECK(u.days == -6);
  CHECK_FALSE(Judge(q.review, {{"when", {"2026-11-29"}}}, today).urgent);
  CHECK_FALSE(Judge(q.review, {{"when", {"2027-01-07"}}}, today).urgent);
  // A malformed date, as a source's browser might send, makes nothing urgent.
  CHECK_FALSE(Judge(q.review, {{"when", {"2026-02-30"}}}, today).urgent);
  CHECK_FALSE(Judge(q.review, {{"when", {"soon"}}}, today).urgent);
}
