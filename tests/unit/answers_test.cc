// A source's answers against the questionnaire (intake/answers.cc): which
// steps and fields are shown for the answers given, and each kind of
// mistake in a step's values.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "intake/intake.h"

using namespace sealdrop;
using namespace sealdrop::intake;

namespace {

const char kDefinition[] = R"(id = "t"
title.en = "Test"
[[step]]
id = "one"
title.en = "One"
[[step.field]]
id = "role"
type = "choice"
required = true
label.en = "Role"
[[step.field.choice]]
id = "targeted"
label.en = "Targeted"
[[step.field.choice]]
id = "insider"
label.en = "Insider"
[[step.field]]
id = "where"
type = "country"
label.en = "Where"
[[step.field]]
id = "name"
type = "line"
max_bytes = 8
label.en = "Name"
[[step]]
id = "now"
title.en = "Now"
when = { field = "role", is = ["targeted"] }
[[step.field]]
id = "detained"
type = "yesno"
required = true
label.en = "Detained"
[[step.field]]
id = "why"
type = "text"
max_bytes = 16
label.en = "Why"
when = { field = "where", is = ["RU"] }
[[step]]
id = "hearing"
title.en = "Hearing"
when = { field = "detained", is = ["yes"] }
[[step.field]]
id = "date"
type = "date"
required = true
label.en = "Date"
[[step.field]]
id = "contact"
type = "choices"
label.en = "Contact"
[[step.field.choice]]
id = "site"
label.en = "Site"
[[step.field.choice]]
id = "lawyer"
label.en = "Lawyer"
[[step]]
id = "docs"
title.en = "Documents"
when = { field = "role", is = ["insider"] }
[[step.field]]
id = "files"
type = "file"
required = true
label.en = "Files"
[[step]]
id = "last"
title.en = "Last"
[[step.field]]
id = "message"
type = "text"
label.en = "Message"
)";

const std::vector<std::string> kCountries = {"DE", "FR", "RU", "TJ", "TR"};

Questionnaire Load() {
  Questionnaire q;
  Status st = Parse(kDefinition, "t.toml", kCountries, &q);
  INFO(st.message());
  REQUIRE(st.ok());
  return q;
}

std::vector<std::string> StepIds(const Questionnaire& q, const Values& v) {
  std::vector<std::string> out;
  for (size_t s : ShownSteps(q, v)) out.push_back(q.steps[s].id);
  return out;
}

// The one mistake CheckStep finds for `field` on step `s` with `sent`.
Mistake OnlyMistake(const Questionnaire& q, size_t s, const Values& earlier, const Values& sent,
                    const std::string& field) {
  std::vector<FieldError> errors = CheckStep(q, s, earlier, sent, kCountries);
  INFO("errors: " << errors.size());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == field);
  return errors[0].mistake;
}

}  // namespace

TEST_CASE("StepsWhoseConditionFailsAreNotShown", "[answers]") {
  Questionnaire q = Load();
  CHECK(StepIds(q, {}) == std::vector<std::string>{"one", "last"});
  CHECK(StepIds(q, {{"role", {"targeted"}}}) == std::vector<std::string>{"one", "now", "last"});
  CHECK(StepIds(q, {{"role", {"targeted"}}, {"detained", {"yes"}}}) ==
        std::vector<std::string>{"one", "now", "hearing", "last"});
  CHECK(StepIds(q, {{"role", {"insider"}}}) == std::vector<std::string>{"one", "docs", "last"});
}

TEST_CASE("AnAnswerLeftOnAPathTheSourceTurnedAwayFromCountsForNothing", "[answers]") {
  Questionnaire q = Load();
  // Detained on the targeted path, then back to the first step as an
  // insider: the hearing step must not come back with the old answer.
  Values v = {{"role", {"insider"}}, {"detained", {"yes"}}, {"date", {"2027-03-15"}}};
  CHECK(StepIds(q, v) == std::vector<std::string>{"one", "docs", "last"});
  Values eff = Effective(q, v);
  CHECK(eff.count("role") == 1);
  CHECK(eff.count("detained") == 0);
  CHECK(eff.count("date") == 0);
  CHECK(Effective(q, eff) == eff);
}

TEST_CASE("AFieldWhoseConditionFailsIsNotAskedNorTaken", "[answers]") {
  Questionnaire q = Load();
  const Values targeted = {{"role", {"targeted"}}, {"where", {"DE"}}};
  // "why" is shown only for where = RU: sent anyway, it is a field the
  // step did not show.
  CHECK(OnlyMistake(q, 1, targeted, {{"detained", {"no"}}, {"why", {"x"}}}, "why") ==
        Mistake::kUnknown);
  const Values from_ru = {{"role", {"targeted"}}, {"where", {"RU"}}};
  CHECK(CheckStep(q, 1, from_ru, {{"detained", {"no"}}, {"why", {"x"}}}, kCountries).empty());
}

TEST_CASE("MoreAfterSaysWhetherTheStepIsTheLast", "[answers]") {
  Questionnaire q = Load();
  CHECK(MoreAfter(q, 0, {}));                      // "last" has no condition
  CHECK(!MoreAfter(q, 4, {{"role", {"insider"}}}));  // "last" is the last
  // "hearing" reads "detained", a field of "now" not yet answered: "now"
  // is never the last while it may show it.
  CHECK(MoreAfter(q, 1, {{"role", {"targeted"}}}));
}

TEST_CASE("ARequiredFieldLeftEmptyIsRefused", "[answers]") {
  Questionnaire q = Load();
  CHECK(OnlyMistake(q, 0, {}, {}, "role") == Mistake::kRequired);
  CHECK(OnlyMistake(q, 0, {}, {{"role", {""}}}, "role") == Mistake::kRequired);
  // Only spaces and line breaks are no answer either.
  const Values t = {{"role", {"targeted"}}, {"detained", {"yes"}}};
  CHECK(OnlyMistake(q, 2, t, {{"date", {" \r\n"}}}, "date") == Mistake::kRequired);
  CHECK(OnlyMistake(q, 3, {{"role", {"insider"}}}, {}, "files") == Mistake::kRequired);
}

TEST_CASE("AValueThatIsNoneOfTheChoicesIsRefused", "[answers]") {
  Questionnaire q = Load();
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"journalist"}}}, "role") == Mistake::kChoice);
  const Values t = {{"role", {"targeted"}}, {"detained", {"yes"}}};
  CHECK(OnlyMistake(q, 2, t, {{"date", {"2027-01-01"}}, {"contact", {"site", "phone"}}},
                    "contact") == Mistake::kChoice);
  CHECK(CheckStep(q, 2, t, {{"date", {"2027-01-01"}}, {"contact", {"site", "lawyer"}}}, kCountries)
            .empty());
}

TEST_CASE("ACountryOutsideTheListIsRefused", "[answers]") {
  Questionnaire q = Load();
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted"}}, {"where", {"XX"}}}, "where") ==
        Mistake::kCountry);
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted"}}, {"where", {"ru"}}}, "where") ==
        Mistake::kCountry);
  CHECK(CheckStep(q, 0, {}, {{"role", {"targeted"}}, {"where", {"TJ"}}}, kCountries).empty());
}

TEST_CASE("ADateThatIsNotOnTheCalendarIsRefused", "[answers]") {
  Questionnaire q = Load();
  const Values t = {{"role", {"targeted"}}, {"detained", {"yes"}}};
  for (const char* bad : {"2027-02-29", "2027-02-30", "2027-13-01", "2027-00-10", "2027-04-31",
                          "0000-01-01", "27-03-15", "2027/03/15", "15.03.2027", "2027-3-15",
                          "2027-03-15 ", "2027-03-1x"}) {
    INFO(bad);
    CHECK(OnlyMistake(q, 2, t, {{"date", {bad}}}, "date") == Mistake::kDate);
  }
  for (const char* good : {"2028-02-29", "2000-02-29", "2027-12-31", "0001-01-01", "9999-12-31"}) {
    INFO(good);
    CHECK(CheckStep(q, 2, t, {{"date", {good}}}, kCountries).empty());
  }
  CHECK(!IsDate("1900-02-29"));  // not a leap year: divisible by 100
}

TEST_CASE("AYesNoThatIsNeitherIsRefused", "[answers]") {
  Questionnaire q = Load();
  const Values t = {{"role", {"targeted"}}};
  CHECK(OnlyMistake(q, 1, t, {{"detained", {"maybe"}}}, "detained") == Mistake::kYesNo);
  CHECK(OnlyMistake(q, 1, t, {{"detained", {"Yes"}}}, "detained") == Mistake::kYesNo);
}

TEST_CASE("TextOverMaxBytesIsRefusedCountingBytesNotCharacters", "[answers]") {
  Questionnaire q = Load();
  CHECK(CheckStep(q, 0, {}, {{"role", {"targeted"}}, {"name", {"12345678"}}}, kCountries).empty());
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted"}}, {"name", {"123456789"}}}, "name") ==
        Mistake::kTooLong);
  // Five Cyrillic letters are ten bytes.
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted"}}, {"name", {"Иван!"}}}, "name") ==
        Mistake::kTooLong);
}

TEST_CASE("ALineWithALineBreakOrBytesThatAreNotUtf8IsRefused", "[answers]") {
  Questionnaire q = Load();
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted"}}, {"name", {"a\r\nb"}}}, "name") ==
        Mistake::kText);
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted"}}, {"name", {"a\xff"}}}, "name") ==
        Mistake::kText);
  // An overlong encoding of '/' and a lone surrogate.
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted"}}, {"name", {"\xc0\xaf"}}}, "name") ==
        Mistake::kText);
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted"}}, {"name", {"\xed\xa0\x80"}}}, "name") ==
        Mistake::kText);
}

TEST_CASE("SeveralValuesForAFieldThatTakesOneAreRefused", "[answers]") {
  Questionnaire q = Load();
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted", "insider"}}}, "role") == Mistake::kTooMany);
  const Values t = {{"role", {"targeted"}}, {"detained", {"yes"}}};
  CHECK(OnlyMistake(q, 2, t, {{"date", {"2027-01-01"}}, {"contact", {"site", "site"}}},
                    "contact") == Mistake::kTooMany);
}

TEST_CASE("AFieldOfAnotherStepOrOfNoStepIsRefused", "[answers]") {
  Questionnaire q = Load();
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted"}}, {"detained", {"yes"}}}, "detained") ==
        Mistake::kUnknown);
  CHECK(OnlyMistake(q, 0, {}, {{"role", {"targeted"}}, {"admin", {"1"}}}, "admin") ==
        Mistake::kUnknown);
}

TEST_CASE("EveryMistakeHasACatalogName", "[answers]") {
  std::vector<std::string> names;
  for (Mistake m : {Mistake::kRequired, Mistake::kChoice, Mistake::kCountry, Mistake::kDate,
                    Mistake::kYesNo, Mistake::kTooLong, Mistake::kTooMany, Mistake::kText,
                    Mistake::kUnknown})
    names.push_back(MistakeName(m));
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::unique(sorted.begin(), sorted.end()) == sorted.end());
}

TEST_CASE("ShippedQuestionnaireDetainedPathShowsTheExtraditionStep", "[answers]") {
  std::ifstream in(std::string(SEALDROP_SOURCE_DIR) + "/intake/questionnaires/red-notice.toml");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  Questionnaire q;
  REQUIRE(Parse(ss.str(), "red-notice.toml", {}, &q).ok());
  Values v = {{"role", {"targeted"}}, {"detained", {"yes"}}};
  std::vector<std::string> ids;
  for (size_t s : ShownSteps(q, v)) ids.push_back(q.steps[s].id);
  CHECK(ids == std::vector<std::string>{"start", "notice", "now", "extradition", "ccf", "case",
                                        "last"});
  v = {{"role", {"insider"}}, {"detained", {"yes"}}};
  ids.clear();
  for (size_t s : ShownSteps(q, v)) ids.push_back(q.steps[s].id);
  CHECK(ids == std::vector<std::string>{"start", "documents", "last"});
}

// A field whose condition reads an answer left on a path the source turned
// away from is not on the page: it must not be asked for either.
TEST_CASE("AnAnswerLeftBehindShowsNoFieldToCheck", "[answers]") {
  const char def[] = R"(id = "t"
title.en = "T"
[[step]]
id = "a"
title.en = "A"
[[step.field]]
id = "role"
type = "choice"
label.en = "Role"
[[step.field.choice]]
id = "targeted"
label.en = "T"
[[step.field.choice]]
id = "insider"
label.en = "I"
[[step]]
id = "b"
title.en = "B"
when = { field = "role", is = ["targeted"] }
[[step.field]]
id = "detained"
type = "yesno"
label.en = "D"
[[step]]
id = "c"
title.en = "C"
[[step.field]]
id = "hearing"
type = "date"
required = true
label.en = "H"
when = { field = "detained", is = ["yes"] }
)";
  Questionnaire q;
  REQUIRE(Parse(def, "t.toml", {}, &q).ok());
  const Values raw = {{"role", {"insider"}}, {"detained", {"yes"}}};
  CHECK(CheckStep(q, 2, raw, {}, {}).empty());
  const Values kept = {{"role", {"targeted"}}, {"detained", {"yes"}}};
  auto errors = CheckStep(q, 2, kept, {}, {});
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == "hearing");
  CHECK(errors[0].mistake == Mistake::kRequired);
}
