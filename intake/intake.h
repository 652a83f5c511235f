// sealdrop intake: the questionnaire a source fills in instead of (or beside)
// a free-text message. An operator writes it in TOML (docs/QUESTIONNAIRE.md
// gives the language); the server shows it step by step without JavaScript
// and seals the answers, and the review tool reads them with the same
// definition. This module parses and checks a definition; it keeps no state.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace sealdrop {
namespace intake {

// The site's languages: every text may carry one of these, English always.
const std::vector<std::string>& Languages();

// A text in several languages: code -> text. "en" is always present.
using Texts = std::map<std::string, std::string>;
// The text for `lang`, else English's.
const std::string& Text(const Texts& t, const std::string& lang);

enum class Kind {
  kLine,     // one line of text
  kText,     // several lines
  kChoice,   // one of `choices`
  kChoices,  // any of `choices`
  kCountry,  // an ISO 3166-1 alpha-2 code (Debian's iso-codes)
  kDate,     // YYYY-MM-DD
  kYesNo,    // "yes" or "no"
  kFile,     // files, sealed as the submission's items
};
// The name a definition uses for a kind ("line", "text", ...).
const char* KindName(Kind k);

// Shown only when an earlier answer to `field` is one of `any_of` (for a
// multiple choice: includes one of them). Empty field: always shown.
struct Condition {
  std::string field;
  std::vector<std::string> any_of;
  bool always() const { return field.empty(); }
};

struct Choice {
  std::string id;
  Texts label;
};

struct Field {
  std::string id;
  Kind kind = Kind::kLine;
  bool required = false;
  Texts label, help;
  std::vector<Choice> choices;  // kChoice and kChoices only
  Condition when;
  uint32_t max_bytes = 0;  // kLine and kText: the longest answer taken
  uint32_t line = 0;       // where the definition gives it, for messages
};

struct Step {
  std::string id;
  Texts title, help;
  Condition when;
  std::vector<Field> fields;
  uint32_t line = 0;
};

// --- Review: what the laptop reads from [review] (docs/QUESTIONNAIRE.md) ----

// A case is urgent when any rule holds. A rule on a choice, choices, yesno
// or country field holds when an answer is one of `any_of`; a rule on a date
// field holds when the date is at most `within_days` ahead of today or at
// most `past_days` behind it (a hearing just passed still needs a call).
struct UrgentRule {
  std::string field;
  std::vector<std::string> any_of;
  uint32_t within_days = 0;  // date fields only, 1 or more
  uint32_t past_days = 0;
  std::string reason;  // what list prints: "detained", "hearing"; default the field id
  uint32_t line = 0;
};

// A value the team's triage outcome may take, instead of free text.
struct Outcome {
  std::string id;
  Texts label;
};

// The fields whose answers `sealdrop-review stats` counts; empty: not counted.
struct StatsFields {
  std::string country;    // a country field: the state that asked for the notice
  std::string kind;       // a choice field: the kind of notice
  std::string detention;  // a yesno field: detained now
};

struct Review {
  std::vector<UrgentRule> urgent;
  std::vector<Outcome> outcomes;
  StatsFields stats;
  const Outcome* FindOutcome(const std::string& id) const;
};

constexpr size_t kMaxUrgentRules = 32;
constexpr size_t kMaxOutcomes = 64;
constexpr uint32_t kMaxUrgentDays = 3650;

struct Questionnaire {
  std::string id;  // names the questionnaire in sealed answers
  Texts title;
  std::vector<Step> steps;
  Review review;  // empty when the definition has no [review]
  // BLAKE2b-256 of the definition's bytes, sealed beside every answer so the
  // laptop reads answers against the questionnaire that asked them.
  std::array<uint8_t, 32> hash{};

  const Field* FindField(const std::string& id) const;
};

// Limits on a definition, so that a step renders in bounded time.
constexpr size_t kMaxSteps = 32;
constexpr size_t kMaxFields = 200;
constexpr size_t kMaxChoices = 64;
constexpr size_t kMaxTextBytes = 4096;
constexpr uint32_t kMaxAnswerBytes = 65536;

// Parses and checks a definition. `path` names the file in messages, which
// give its line and the field: "<path>:12: field 'detained': ...". `countries`
// (alpha-2 codes) checks the values of conditions on country fields; empty
// skips that check. Stores nothing in *out on error.
Status Parse(const std::string& text, const std::string& path,
             const std::vector<std::string>& countries, Questionnaire* out);

// Where a text is missing in one of `languages` (each falls back to
// English): "field 'role' label: no tg", one line per language and text.
std::vector<std::string> MissingTranslations(const Questionnaire& q,
                                             const std::vector<std::string>& languages);

// ISO 3166-1 countries from Debian's iso-codes
// (/usr/share/iso-codes/json/iso_3166-1.json): alpha-2 code and English name,
// in the file's order.
struct Country {
  std::string code, name;
};
constexpr const char* kCountriesPath = "/usr/share/iso-codes/json/iso_3166-1.json";
Status LoadCountries(const std::string& path, std::vector<Country>* out);

// What a source typed, by field id: one value for most kinds, several for
// `choices`, and for a `file` field the item numbers of its files (decimal).
// A field left empty has no entry. The site holds them between steps; the
// laptop reads them from a sealed manifest.
using Values = std::map<std::string, std::vector<std::string>>;

// --- Review: urgency, judged on the laptop only (intake/review.cc) ---------


struct Urgency {
  bool urgent = false;
  // Why, one entry per rule that holds: "detained", "hearing in 6 days",
  // "hearing 2 days ago", "hearing today".
  std::vector<std::string> why;
  // Days from today to the earliest date that made it urgent (negative:
  // past); INT32_MAX when no date did. Urgent cases sort by it.
  int32_t days = INT32_MAX;
};

// `today` in days since 1970-01-01. Answers the rules do not expect (an
// unknown value, a malformed date) make nothing urgent.
Urgency Judge(const Review& r, const Values& answers, uint32_t today);

// Whether `v` is an answer field `f` offers (a choice id, yes or no, a code
// of `countries`, or any two letters when it is empty). *known is false, and
// the answer false, for fields without a fixed set of answers.
bool Offered(const Field& f, const std::string& v, const std::vector<std::string>& countries,
             bool* known);

// Days since 1970-01-01 of "YYYY-MM-DD"; false for anything else.
bool ParseDate(const std::string& text, uint32_t* day);

// --- Answers (answers.cc) --------------------------------------------------------
// Pure functions of the definition: the site holds a source's Values between
// steps, these say what to show and what is wrong.

// Whether `when` holds for `values`.
bool Holds(const Condition& when, const Values& values);
// The answers that count: those to fields shown, walking the steps in order,
// so that an answer left on a path the source turned away from (they went
// back and chose otherwise) neither shows a step nor is sealed.
Values Effective(const Questionnaire& q, const Values& values);
// The steps shown for `values` (indexes into q.steps, in order).
std::vector<size_t> ShownSteps(const Questionnaire& q, const Values& values);
// Whether a step after `step` could still be shown: one without a
// condition, one whose condition holds now, or one whose condition reads a
// field of `step` itself, not answered yet. False: `step` is the last.
bool MoreAfter(const Questionnaire& q, size_t step, const Values& values);

// What is wrong with one answer. MistakeName gives the catalogs' key.
enum class Mistake {
  kRequired,   // a required field left empty
  kChoice,     // not one of the field's choices
  kCountry,    // not an ISO 3166-1 alpha-2 code of the list
  kDate,       // not a real calendar date YYYY-MM-DD
  kYesNo,      // neither "yes" nor "no"
  kTooLong,    // longer than max_bytes
  kTooMany,    // several values for a field that takes one, or a value twice
  kText,       // not UTF-8, or a line break in a one-line field
  kUnknown,    // no field of that id on this step
};
const char* MistakeName(Mistake m);
struct FieldError {
  std::string field;
  Mistake mistake;
};

// Checks `submitted`, the values sent for step `step`, against the
// definition: each field of the step that `earlier` (every answer so far;
// only those that count, as Effective says, decide) shows, and nothing
// else. `countries`: the alpha-2 codes,
// sorted. File fields hold item numbers the site made, and are only checked
// for `required`. Empty: nothing wrong.
std::vector<FieldError> CheckStep(const Questionnaire& q, size_t step, const Values& earlier,
                                  const Values& submitted,
                                  const std::vector<std::string>& countries);
// Whether `date` is YYYY-MM-DD and a day of the calendar (years 1 to 9999).
bool IsDate(const std::string& date);

}  // namespace intake
}  // namespace sealdrop
