// Which steps and fields a source sees, and whether one step's values are
// acceptable. The server calls these for every step page, so they stay
// linear in the size of the definition and allocate little.
#include <algorithm>
#include <set>

#include "intake/intake.h"

namespace sealdrop {
namespace intake {
namespace {

bool Blank(const std::string& v) {
  return v.find_first_not_of(" \t\r\n") == std::string::npos;
}

// Well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool Utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

bool HasChoice(const Field& f, const std::string& v) {
  for (const Choice& c : f.choices)
    if (c.id == v) return true;
  return false;
}

// The mistake in one value of field f, if any.
bool CheckValue(const Field& f, const std::string& v, const std::vector<std::string>& countries,
                Mistake* out) {
  switch (f.kind) {
    case Kind::kLine:
    case Kind::kText:
      if (!Utf8(v) || (f.kind == Kind::kLine && v.find_first_of("\r\n") != std::string::npos))
        return *out = Mistake::kText, true;
      if (v.size() > f.max_bytes) return *out = Mistake::kTooLong, true;
      return false;
    case Kind::kChoice:
    case Kind::kChoices:
      if (!HasChoice(f, v)) return *out = Mistake::kChoice, true;
      return false;
    case Kind::kCountry:
      if (!std::binary_search(countries.begin(), countries.end(), v))
        return *out = Mistake::kCountry, true;
      return false;
    case Kind::kDate:
      if (!IsDate(v)) return *out = Mistake::kDate, true;
      return false;
    case Kind::kYesNo:
      if (v != "yes" && v != "no") return *out = Mistake::kYesNo, true;
      return false;
    case Kind::kFile:
      return false;
  }
  return false;
}

}  // namespace

bool Holds(const Condition& when, const Values& values) {
  if (when.always()) return true;
  auto it = values.find(when.field);
  if (it == values.end()) return false;
  for (const std::string& v : it->second)
    if (std::find(when.any_of.begin(), when.any_of.end(), v) != when.any_of.end()) return true;
  return false;
}

namespace {

// The answers that count, as pointers into the values given: deciding what
// is shown copies none of the source's text.
using Seen = std::map<std::string, const std::vector<std::string>*>;

bool HoldsSeen(const Condition& when, const Seen& seen) {
  if (when.always()) return true;
  auto it = seen.find(when.field);
  if (it == seen.end()) return false;
  for (const std::string& v : *it->second)
    if (std::find(when.any_of.begin(), when.any_of.end(), v) != when.any_of.end()) return true;
  return false;
}

Seen Walk(const Questionnaire& q, const Values& values) {
  Seen seen;
  for (const Step& step : q.steps) {
    if (!HoldsSeen(step.when, seen)) continue;
    for (const Field& field : step.fields) {
      if (!HoldsSeen(field.when, seen)) continue;
      auto it = values.find(field.id);
      if (it != values.end() && !it->second.empty()) seen[field.id] = &it->second;
    }
  }
  return seen;
}

}  // namespace

Values Effective(const Questionnaire& q, const Values& values) {
  Values out;
  for (const auto& kv : Walk(q, values)) out[kv.first] = *kv.second;
  return out;
}

std::vector<size_t> ShownSteps(const Questionnaire& q, const Values& values) {
  const Seen seen = Walk(q, values);
  std::vector<size_t> out;
  for (size_t s = 0; s < q.steps.size(); s++)
    if (HoldsSeen(q.steps[s].when, seen)) out.push_back(s);
  return out;
}

bool MoreAfter(const Questionnaire& q, size_t step, const Values& values) {
  if (step >= q.steps.size()) return false;
  const Seen seen = Walk(q, values);
  for (size_t s = step + 1; s < q.steps.size(); s++) {
    const Condition& w = q.steps[s].when;
    if (HoldsSeen(w, seen)) return true;
    for (const Field& f : q.steps[step].fields)
      if (f.id == w.field && !seen.count(f.id)) return true;
  }
  return false;
}

const char* MistakeName(Mistake m) {
  switch (m) {
    case Mistake::kRequired: return "required";
    case Mistake::kChoice: return "choice";
    case Mistake::kCountry: return "country";
    case Mistake::kDate: return "date";
    case Mistake::kYesNo: return "yesno";
    case Mistake::kTooLong: return "too_long";
    case Mistake::kTooMany: return "too_many";
    case Mistake::kText: return "text";
    case Mistake::kUnknown: return "unknown";
  }
  return "unknown";
}

std::vector<FieldError> CheckStep(const Questionnaire& q, size_t step, const Values& earlier,
                                  const Values& submitted,
                                  const std::vector<std::string>& countries) {
  std::vector<FieldError> out;
  if (step >= q.steps.size()) {
    for (const auto& kv : submitted) out.push_back({kv.first, Mistake::kUnknown});
    return out;
  }
  const Step& s = q.steps[step];
  // Only the answers that count decide: not one left on a path turned away from.
  const Seen seen = Walk(q, earlier);
  std::vector<const Field*> shown;
  for (const Field& f : s.fields)
    if (HoldsSeen(f.when, seen)) shown.push_back(&f);
  for (const auto& kv : submitted) {
    bool known = false;
    for (const Field* f : shown) known = known || f->id == kv.first;
    if (!known) out.push_back({kv.first, Mistake::kUnknown});
  }
  for (const Field* f : shown) {
    auto it = submitted.find(f->id);
    std::vector<const std::string*> vals;
    if (it != submitted.end())
      for (const std::string& v : it->second)
        if (!Blank(v)) vals.push_back(&v);
    if (vals.empty()) {
      if (f->required) out.push_back({f->id, Mistake::kRequired});
      continue;
    }
    const bool many = f->kind == Kind::kChoices || f->kind == Kind::kFile;
    bool twice = false;
    for (size_t i = 0; i < vals.size() && !twice; i++)
      for (size_t j = 0; j < i && !twice; j++) twice = *vals[i] == *vals[j];
    if ((!many && vals.size() > 1) || twice) {
      out.push_back({f->id, Mistake::kTooMany});
      continue;
    }
    for (const std::string* v : vals) {
      Mistake m;
      if (CheckValue(*f, *v, countries, &m)) {
        out.push_back({f->id, m});
        break;
      }
    }
  }
  return out;
}

bool IsDate(const std::string& t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (t[i] < '0' || t[i] > '9') return false;
  const int y = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
  const int m = (t[5] - '0') * 10 + (t[6] - '0');
  const int d = (t[8] - '0') * 10 + (t[9] - '0');
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

}  // namespace intake
}  // namespace sealdrop
