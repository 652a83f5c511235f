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
