// answers_fuzz: a questionnaire step's submitted values through
// intake::CheckStep, and the answers so far through Effective, ShownSteps
// and MoreAfter (intake/answers.cc). Values come from a source's browser, so
// anything at all may arrive; the site must refuse what is wrong by name and
// never crash.
//
// Input: the first byte chooses the step (its low 7 bits, mod the step
// count) and the mode (its high bit):
// - 0: the rest is records separated by '\n', each "<field id>=<value>" (a
//   record without '=' is an id with an empty value). Records whose id
//   starts with '^' are answers of earlier steps (`earlier`) instead of this
//   step's values.
// - 1: the rest is a multipart/form-data body (boundary "XyZ"), as a browser
//   posts a step to /answer: it goes through server::StepForm (the server's
//   own parsing of a step, server/stepform.cc), fed in two pieces split where
//   the second byte says, with an upload that refuses files; what it keeps
//   is then checked as the values of the step, with nothing answered before.
//
// Oracles besides the sanitizers:
// - every FieldError names a field submitted or a field of the step, at most
//   once; kUnknown exactly for ids the step does not show;
// - with no error, every value sent is what its field takes (a reference
//   reading: choice ids, yes/no, the country list, max_bytes, a calendar
//   date checked by timegm's round trip) and every required field shown has
//   a value that is not blank;
// - IsDate agrees with the reference on every 10-byte value;
// - StepForm keeps no empty value, keeps a value at most one byte past the
//   longest answer, and takes a file only for a file field of the step;
// - Effective is idempotent and decides ShownSteps alone; a step MoreAfter
//   calls the last has no shown step after it.
#include <time.h>

#include <algorithm>
#include <set>
#include <string>

#include "fuzz/fuzz_util.h"
#include "intake/intake.h"
#include "server/server.h"

using namespace sealdrop;
using namespace sealdrop::intake;

namespace {

// Every kind of field, conditions on a choice, a yes/no and a country, a
// required field behind a condition, and a field-level condition.
const char kDefinition[] = R"(id = "fuzz"
title.en = "Fuzz"
[[step]]
id = "one"
title.en = "One"
[[step.field]]
id = "role"
type = "choice"
required = true
label.en = "Role"
[[step.field.choice]]
id = "a"
label.en = "A"
[[step.field.choice]]
id = "b"
label.en = "B"
[[step.field]]
id = "where"
type = "country"
label.en = "Where"
[[step.field]]
id = "name"
type = "line"
max_bytes = 16
label.en = "Name"
[[step]]
id = "two"
title.en = "Two"
when = { field = "role", is = ["a"] }
[[step.field]]
id = "held"
type = "yesno"
required = true
label.en = "Held"
[[step.field]]
id = "why"
type = "text"
max_bytes = 64
label.en = "Why"
when = { field = "where", is = ["RU", "TR"] }
[[step.field]]
id = "docs"
type = "file"
label.en = "Docs"
[[step]]
id = "three"
title.en = "Three"
when = { field = "held", is = ["yes"] }
[[step.field]]
id = "hearing"
type = "date"
required = true
label.en = "Hearing"
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
[[step.field.choice]]
id = "other"
label.en = "Other"
[[step]]
id = "four"
title.en = "Four"
[[step.field]]
id = "message"
type = "text"
label.en = "Message"
)";

const std::vector<std::string>& Countries() {
  static const std::vector<std::string> c = {"DE", "FR", "RU", "TR", "US"};
  return c;
}

const Questionnaire& Definition() {
  static const Questionnaire q = [] {
    Questionnaire out;
    Status st = Parse(kDefinition, "fuzz.toml", Countries(), &out);
    FUZZ_CHECK(st.ok(), "the target's own definition does not parse");
    return out;
  }();
  return q;
}

// The reference date check: digits and dashes where YYYY-MM-DD has them, and
// a day that timegm neither moves nor refuses.
bool ReferenceDate(const std::string& v) {
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') return false;
  for (size_t i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (v[i] < '0' || v[i] > '9')) return false;
  struct tm tm = {};
  tm.tm_year = std::stoi(v.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(v.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(v.substr(8, 2));
  tm.tm_hour = 12;
  if (tm.tm_year + 1900 < 1 || tm.tm_mon < 0 || tm.tm_mday < 1) return false;
  struct tm in = tm;
  if (timegm(&tm) == -1 && tm.tm_year == in.tm_year) return false;
  return tm.tm_year == in.tm_year && tm.tm_mon == in.tm_mon && tm.tm_mday == in.tm_mday;
}

bool Blank(const std::string& v) { return v.find_first_not_of(" \t\r\n") == std::string::npos; }

bool Utf8(const std::string& s) {
  // Reference: decode with mbrtowc-free arithmetic, refusing what RFC 3629
  // refuses.
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned c = p[i];
    int len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                           : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    unsigned cp = len == 1 ? c : c & (0xFF >> (len + 1));
    for (int k = 1; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

// What the reference says of a value for field f.
bool ReferenceOk(const Field& f, const std::string& v) {
  switch (f.kind) {
    case Kind::kLine:
      return Utf8(v) && v.find_first_of("\r\n") == std::string::npos && v.size() <= f.max_bytes;
    case Kind::kText:
      return Utf8(v) && v.size() <= f.max_bytes;
    case Kind::kChoice:
    case Kind::kChoices:
      for (const Choice& c : f.choices)
        if (c.id == v) return true;
      return false;
    case Kind::kCountry:
      for (const std::string& c : Countries())
        if (c == v) return true;
      return false;
    case Kind::kDate: return ReferenceDate(v);
    case Kind::kYesNo: return v == "yes" || v == "no";
    case Kind::kFile: return true;
  }
  return false;
}


// The values a step's form gives, parsed by the server's StepForm; false if
// it refuses the body.
bool ParseForm(const Questionnaire& q, size_t step, const uint8_t* data, size_t size, Values* out) {
  std::vector<std::string> file_fields;
  for (const Field& f : q.steps[step].fields)
    if (f.kind == Kind::kFile) file_fields.push_back(f.id);
  bool asked_upload = false;
  server::StepForm form(
      file_fields,
      [&](server::Upload**) {
        asked_upload = true;
        return Status::Full("no uploads here");
      },
      5, 1 << 20);
  if (!form.Begin("multipart/form-data; boundary=XyZ").ok()) return false;
  const char* body = reinterpret_cast<const char*>(data + 1);
  const size_t len = size - 1, cut = size > 1 ? std::min<size_t>(data[0], len) : 0;
  bool ok = form.Feed(body, cut) && form.Feed(body + cut, len - cut) && form.Finish().ok();
  if (asked_upload) FUZZ_CHECK(!ok, "a form whose file was refused was taken");
  if (!ok) return false;
  for (const auto& kv : form.values()) {
    const bool file_field =
        std::find(file_fields.begin(), file_fields.end(), kv.first) != file_fields.end();
    FUZZ_CHECK(!file_field, "a file field holds a value without an upload");
    for (const std::string& v : kv.second) {
      FUZZ_CHECK(!v.empty(), "StepForm kept an empty value");
      FUZZ_CHECK(v.size() <= kMaxAnswerBytes + 1, "StepForm kept a value past the longest answer");
    }
  }
  *out = form.values();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Questionnaire& q = Definition();
  if (size == 0) return 0;
  const size_t step = (data[0] & 0x7F) % q.steps.size();
  Values earlier, sent;
  if (data[0] & 0x80) {
    if (size < 2 || !ParseForm(q, step, data + 1, size - 1, &sent)) return 0;
  } else {
    std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
    size_t pos = 0, records = 0;
    while (pos <= rest.size() && records++ < 256) {
      size_t end = rest.find('\n', pos);
      if (end == std::string::npos) end = rest.size();
      std::string rec = rest.substr(pos, end - pos);
      pos = end + 1;
      size_t eq = rec.find('=');
      std::string id = rec.substr(0, eq), value = eq == std::string::npos ? "" : rec.substr(eq + 1);
      if (!id.empty() && id[0] == '^') earlier[id.substr(1)].push_back(value);
      else sent[id].push_back(value);
    }
  }

  // IsDate against the reference, on whatever 10 bytes came.
  for (const auto& kv : sent)
    for (const std::string& v : kv.second)
      if (v.size() == 10) FUZZ_CHECK(IsDate(v) == ReferenceDate(v), "IsDate disagrees with timegm");

  // The answers so far only ever count through Effective.
  const Values eff = Effective(q, earlier);
  FUZZ_CHECK(Effective(q, eff) == eff, "Effective is not idempotent");
  FUZZ_CHECK(ShownSteps(q, earlier) == ShownSteps(q, eff), "stale answers change the steps shown");
  const std::vector<size_t> shown = ShownSteps(q, eff);
  for (size_t s = 0; s < q.steps.size(); s++)
    if (!MoreAfter(q, s, eff))
      for (size_t t : shown) FUZZ_CHECK(t <= s, "MoreAfter says last, but a later step is shown");

  const Step& st = q.steps[step];
  std::set<std::string> shown_fields;
  for (const Field& f : st.fields)
    if (Holds(f.when, eff)) shown_fields.insert(f.id);

  const std::vector<FieldError> errors = CheckStep(q, step, eff, sent, Countries());
  std::set<std::string> named;
  for (const FieldError& e : errors) {
    FUZZ_CHECK(named.insert(e.field).second, "a field named twice");
    FUZZ_CHECK(sent.count(e.field) || shown_fields.count(e.field), "an error names no field");
    FUZZ_CHECK((e.mistake == Mistake::kUnknown) == !shown_fields.count(e.field),
               "unknown is not exactly the fields the step does not show");
    FUZZ_CHECK(MistakeName(e.mistake) != nullptr, "mistake without a name");
  }
  for (const auto& kv : sent)
    if (!shown_fields.count(kv.first)) FUZZ_CHECK(named.count(kv.first), "an unknown field passed");
  if (!errors.empty()) return 0;

  // Accepted: the reference agrees with every value, and nothing required
  // is missing.
  for (const Field& f : st.fields) {
    if (!shown_fields.count(f.id)) continue;
    auto it = sent.find(f.id);
    std::vector<std::string> vals;
    if (it != sent.end())
      for (const std::string& v : it->second)
        if (!Blank(v)) vals.push_back(v);
    if (f.required) FUZZ_CHECK(!vals.empty(), "a required field passed empty");
    const bool many = f.kind == Kind::kChoices || f.kind == Kind::kFile;
    FUZZ_CHECK(many || vals.size() <= 1, "several values passed for a field that takes one");
    for (const std::string& v : vals) FUZZ_CHECK(ReferenceOk(f, v), "a wrong value passed");
  }
  return 0;
}
