// questionnaire_fuzz: intake::Parse (intake/intake.cc over toml++) on a
// questionnaire definition. The file is the operator's, but a mistake in it
// must be refused with a Status, never crash or throw. toml++ is compiled in
// header-only (fuzz/CMakeLists.txt), as for config_fuzz.
//
// Oracles besides the sanitizers, on a definition that parses: every id is
// unique and well formed; every text has English; choice fields have at
// least two choices and no other field has any; every condition names a
// field of an earlier step and only answers that field offers; and the
// limits on steps, fields and choices hold.
#include <set>
#include <string>

#include "fuzz/fuzz_util.h"
#include "intake/intake.h"

using namespace sealdrop;
using namespace sealdrop::intake;

namespace {

bool GoodId(const std::string& id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

void CheckCondition(const Condition& c, const std::map<std::string, const Field*>& earlier) {
  if (c.always()) return;
  auto it = earlier.find(c.field);
  FUZZ_CHECK(it != earlier.end(), "a condition names no field of an earlier step");
  const Field& f = *it->second;
  FUZZ_CHECK(!c.any_of.empty(), "a condition with no answers");
  for (const std::string& v : c.any_of) {
    bool ok = false;
    if (f.kind == Kind::kYesNo) ok = v == "yes" || v == "no";
    if (f.kind == Kind::kCountry) ok = v == "RU" || v == "TR";
    for (const Choice& ch : f.choices) ok = ok || ch.id == v;
    FUZZ_CHECK(ok, "a condition takes an answer its field does not offer");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Questionnaire q;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!Parse(text, "q.toml", {"RU", "TR"}, &q).ok()) return 0;
  FUZZ_CHECK(GoodId(q.id) && q.title.count("en"), "questionnaire id or title");
  FUZZ_CHECK(!q.steps.empty() && q.steps.size() <= kMaxSteps, "step count");
  std::set<std::string> ids;
  std::map<std::string, const Field*> earlier;
  size_t fields = 0;
  for (const Step& s : q.steps) {
    FUZZ_CHECK(GoodId(s.id) && ids.insert(s.id).second, "step id bad or twice");
    FUZZ_CHECK(s.title.count("en") && !s.fields.empty(), "step title or fields");
    CheckCondition(s.when, earlier);
    for (const Field& f : s.fields) {
      FUZZ_CHECK(GoodId(f.id) && ids.insert(f.id).second, "field id bad or twice");
      FUZZ_CHECK(f.label.count("en"), "field without an English label");
      fields++;
      const bool choosing = f.kind == Kind::kChoice || f.kind == Kind::kChoices;
      FUZZ_CHECK(choosing ? f.choices.size() >= 2 && f.choices.size() <= kMaxChoices
                          : f.choices.empty(),
                 "choices on the wrong kind of field, or too few");
      for (const Choice& c : f.choices) FUZZ_CHECK(GoodId(c.id) && c.label.count("en"), "choice");
      CheckCondition(f.when, earlier);
      for (const auto& texts : {f.label, f.help})
        for (const auto& [lang, t] : texts)
          FUZZ_CHECK(!t.empty() && t.size() <= kMaxTextBytes, "a text too long or empty");
    }
    for (const Field& f : s.fields) earlier[f.id] = &f;
  }
  FUZZ_CHECK(fields <= kMaxFields, "field count");
  (void)MissingTranslations(q, Languages());
  return 0;
}
