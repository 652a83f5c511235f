// Parsing and checking a questionnaire (docs/QUESTIONNAIRE.md). Every
// refusal names the file, the line and the step or field, because the
// operator fixes it by hand.
#include "intake/intake.h"

#include <sodium.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <toml++/toml.h>

namespace sealdrop {
namespace intake {
namespace {

const std::pair<const char*, Kind> kKinds[] = {
    {"line", Kind::kLine},       {"text", Kind::kText},       {"choice", Kind::kChoice},
    {"choices", Kind::kChoices}, {"country", Kind::kCountry}, {"date", Kind::kDate},
    {"yesno", Kind::kYesNo},     {"file", Kind::kFile},
};

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

// Builds "<path>:<line>: <what>: <message>" refusals.
class Where {
 public:
  Where(const std::string& path, uint32_t line, std::string what)
      : path_(path), line_(line), what_(std::move(what)) {}
  Status Bad(const std::string& msg) const {
    return Status::InvalidArgument(path_ + ":" + std::to_string(line_) + ": " +
                                   (what_.empty() ? "" : what_ + ": ") + msg);
  }
  // The same step or field, at the line of `n`.
  Where Line(const toml::node& n) const {
    return Where(path_, uint32_t(n.source().begin.line), what_);
  }
  // Something inside it, at the line of `n`: "field 'x' choice 'y'".
  Where Sub(const toml::node& n, const std::string& more) const {
    return Where(path_, uint32_t(n.source().begin.line), what_.empty() ? more : what_ + " " + more);
  }

 private:
  const std::string& path_;
  uint32_t line_;
  std::string what_;
};

Status OnlyKeys(const toml::table& t, const Where& w, std::initializer_list<const char*> keys) {
  for (const auto& [k, v] : t) {
    bool known = false;
    for (const char* key : keys) known = known || k.str() == key;
    if (!known) return w.Line(v).Bad("unknown setting '" + std::string(k.str()) + "'");
  }
  return Status::OK();
}

// A table of texts per language: { en = "...", ru = "..." }.
Status ReadTexts(const toml::table& parent, const char* key, bool required, const Where& w,
                 Texts* out) {
  const toml::node* n = parent.get(key);
  if (n == nullptr) {
    if (required) return w.Bad(std::string("needs ") + key + ".en");
    return Status::OK();
  }
  const toml::table* t = n->as_table();
  if (t == nullptr) return w.Line(*n).Bad(std::string(key) + " must be a table of languages, "
                                                               "such as " + key + ".en = \"...\"");
  for (const auto& [lang, v] : *t) {
    const std::string code(lang.str());
    const Where here = w.Line(v);
    if (std::find(Languages().begin(), Languages().end(), code) == Languages().end())
      return here.Bad(std::string(key) + "." + code + ": not a site language (en, ru, tr, tg, ar, fr)");
    auto s = v.value<std::string>();
    if (!s || s->empty()) return here.Bad(std::string(key) + "." + code + " must be text");
    if (s->size() > kMaxTextBytes)
      return here.Bad(std::string(key) + "." + code + " is longer than " +
                      std::to_string(kMaxTextBytes) + " bytes");
    (*out)[code] = *s;
  }
  if (!out->count("en")) return w.Line(*n).Bad(std::string(key) + " needs en, the fallback");
  return Status::OK();
}

Status ReadCondition(const toml::table& parent, const Where& w, Condition* out) {
  const toml::node* n = parent.get("when");
  if (n == nullptr) return Status::OK();
  const toml::table* t = n->as_table();
  const Where here = w.Line(*n);
  if (t == nullptr) return here.Bad("when must be { field = \"...\", is = [...] }");
  SD_RETURN_IF_ERROR(OnlyKeys(*t, here, {"field", "is"}));
  auto field = (*t)["field"].value<std::string>();
  if (!field || !ValidId(*field)) return here.Bad("when needs field, the id of an earlier field");
  out->field = *field;
  const toml::node* is = t->get("is");
  const toml::array* values = is == nullptr ? nullptr : is->as_array();
  if (values == nullptr || values->empty()) return here.Bad("when needs is, a list of answers");
  for (const auto& v : *values) {
    auto s = v.value<std::string>();
    if (!s) return here.Bad("when.is must list answers as text");
    out->any_of.push_back(*s);
  }
  return Status::OK();
}

// A condition may only look back: at a field of an earlier step whose
// answers are from a known set, and at answers that set holds.
Status CheckCondition(const Condition& c, const std::map<std::string, const Field*>& earlier,
                      const std::vector<std::string>& countries, const Where& w) {
  if (c.always()) return Status::OK();
  auto it = earlier.find(c.field);
  if (it == earlier.end())
    return w.Bad("when.field '" + c.field + "' names no field of an earlier step");
  const Field& f = *it->second;
  for (const std::string& v : c.any_of) {
    bool known = false;
    const bool ok = Offered(f, v, countries, &known);
    if (!known)
      return w.Bad("when.field '" + c.field + "' is a " + KindName(f.kind) +
                   " field; conditions take choice, choices, yesno or country fields");
    if (!ok) return w.Bad("when.is: '" + v + "' is not an answer field '" + c.field + "' offers");
  }
  return Status::OK();
}

Status ReadDays(const toml::table& t, const char* key, uint32_t min, const Where& w,
                uint32_t* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::OK();
  const auto* i = n->as_integer();
  if (i == nullptr || i->get() < int64_t(min) || i->get() > int64_t(kMaxUrgentDays))
    return w.Line(*n).Bad(std::string(key) + " must be a number of days from " +
                          std::to_string(min) + " to " + std::to_string(kMaxUrgentDays));
  *out = uint32_t(i->get());
  return Status::OK();
}

// One urgency rule: { field = "detained", is = ["yes"] } or
// { field = "hearing_date", within_days = 30, past_days = 7 }.
Status ReadUrgentRule(const toml::node& node, const std::map<std::string, const Field*>& fields,
                      const std::vector<std::string>& countries, const Where& top,
                      UrgentRule* r) {
  const toml::table* t = node.as_table();
  r->line = uint32_t(node.source().begin.line);
  if (t == nullptr) return top.Line(node).Bad("review.urgent lists rules such as "
                                              "{ field = \"detained\", is = [\"yes\"] }");
  r->field = (*t)["field"].value<std::string>().value_or("");
  const Where w = top.Sub(node, "review.urgent '" + r->field + "'");
  SD_RETURN_IF_ERROR(OnlyKeys(*t, w, {"field", "is", "within_days", "past_days", "reason"}));
  auto it = fields.find(r->field);
  if (it == fields.end()) return w.Bad("field names no field of the questionnaire");
  const Field& f = *it->second;
  if (const toml::node* rn = t->get("reason")) {
    auto s = rn->value<std::string>();
    if (!s || s->empty() || s->size() > 64) return w.Line(*rn).Bad("reason must be 1 to 64 bytes of text");
    r->reason = *s;
  }
  const toml::node* is = t->get("is");
  const bool dated = t->get("within_days") != nullptr;
  if ((is == nullptr) == !dated)
    return w.Bad("a rule takes either is (a list of answers) or within_days (a date field)");
  if (dated) {
    if (f.kind != Kind::kDate)
      return w.Bad("within_days is for date fields; '" + f.id + "' is a " + KindName(f.kind) +
                   " field");
    SD_RETURN_IF_ERROR(ReadDays(*t, "within_days", 1, w, &r->within_days));
    r->past_days = 7;
    return ReadDays(*t, "past_days", 0, w, &r->past_days);
  }
  if (t->get("past_days") != nullptr) return w.Bad("past_days goes with within_days");
  const toml::array* values = is->as_array();
  if (values == nullptr || values->empty()) return w.Bad("is must list answers");
  for (const auto& v : *values) {
    auto s = v.value<std::string>();
    if (!s) return w.Bad("is must list answers as text");
    bool known = false;
    const bool ok = Offered(f, *s, countries, &known);
    if (!known)
      return w.Bad("'" + f.id + "' is a " + KindName(f.kind) +
                   " field; is takes choice, choices, yesno or country fields");
    if (!ok) return w.Bad("is: '" + *s + "' is not an answer field '" + f.id + "' offers");
    r->any_of.push_back(*s);
  }
  return Status::OK();
}

// [review]: urgency rules, outcome choices, the fields stats counts. Every
// id must name a field of the type the rule reads.
Status ReadReview(const toml::table& root, const std::map<std::string, const Field*>& fields,
                  const std::vector<std::string>& countries, const Where& top, Review* out) {
  const toml::node* rn = root.get("review");
  if (rn == nullptr) return Status::OK();
  const toml::table* t = rn->as_table();
  const Where w = top.Sub(*rn, "review");
  if (t == nullptr) return w.Bad("review must be a table: [review]");
  SD_RETURN_IF_ERROR(OnlyKeys(*t, w, {"urgent", "outcome", "stats"}));
  if (const toml::node* un = t->get("urgent")) {
    const toml::array* arr = un->as_array();
    if (arr == nullptr) return w.Line(*un).Bad("urgent must be a list of rules");
    if (arr->size() > kMaxUrgentRules)
      return w.Line(*un).Bad("more than " + std::to_string(kMaxUrgentRules) + " urgency rules");
    for (const auto& node : *arr) {
      UrgentRule r;
      SD_RETURN_IF_ERROR(ReadUrgentRule(node, fields, countries, top, &r));
      out->urgent.push_back(std::move(r));
    }
  }
  if (const toml::node* on = t->get("outcome")) {
    const toml::array* arr = on->as_array();
    if (arr == nullptr) return w.Line(*on).Bad("outcomes are [[review.outcome]] tables");
    if (arr->size() > kMaxOutcomes)
      return w.Line(*on).Bad("more than " + std::to_string(kMaxOutcomes) + " outcomes");
    std::set<std::string> ids;
    for (const auto& node : *arr) {
      const toml::table* ot = node.as_table();
      if (ot == nullptr) return w.Line(node).Bad("an outcome must be a table");
      Outcome o;
      o.id = (*ot)["id"].value<std::string>().value_or("");
      const Where ow = top.Sub(node, "review.outcome '" + o.id + "'");
      if (!ValidId(o.id)) return ow.Bad("an outcome needs an id of a-z, 0-9, _ or -, at most 32");
      if (!ids.insert(o.id).second) return ow.Bad("outcome id listed twice");
      SD_RETURN_IF_ERROR(OnlyKeys(*ot, ow, {"id", "label"}));
      SD_RETURN_IF_ERROR(ReadTexts(*ot, "label", true, ow, &o.label));
      out->outcomes.push_back(std::move(o));
    }
  }
  if (const toml::node* sn = t->get("stats")) {
    const toml::table* st = sn->as_table();
    const Where sw = top.Sub(*sn, "review.stats");
    if (st == nullptr) return sw.Bad("stats must be { country = \"...\", kind = \"...\", ... }");
    SD_RETURN_IF_ERROR(OnlyKeys(*st, sw, {"country", "kind", "detention"}));
    struct Want {
      const char* key;
      std::string* to;
      std::initializer_list<Kind> kinds;
      const char* says;
    };
    for (const Want& want : {Want{"country", &out->stats.country, {Kind::kCountry}, "a country"},
                             Want{"kind", &out->stats.kind, {Kind::kChoice}, "a choice"},
                             Want{"detention", &out->stats.detention, {Kind::kYesNo},
                                  "a yesno"}}) {
      const toml::node* n = st->get(want.key);
      if (n == nullptr) continue;
      auto id = n->value<std::string>();
      const Where kw = sw.Line(*n);
      if (!id) return kw.Bad(std::string(want.key) + " must be a field id");
      auto it = fields.find(*id);
      if (it == fields.end())
        return kw.Bad(std::string(want.key) + ": '" + *id + "' names no field of the questionnaire");
      if (std::find(want.kinds.begin(), want.kinds.end(), it->second->kind) == want.kinds.end())
        return kw.Bad(std::string(want.key) + ": '" + *id + "' is a " +
                      KindName(it->second->kind) + " field; " + want.key + " takes " + want.says +
                      " field");
      *want.to = *id;
    }
  }
  return Status::OK();
}

Status ReadField(const toml::table& t, const Where& w, Field* f) {
  SD_RETURN_IF_ERROR(OnlyKeys(t, w, {"id", "type", "required", "label", "help", "choice", "when",
                                     "max_bytes"}));
  auto type = t["type"].value<std::string>();
  if (!type) return w.Bad("needs type (line, text, choice, choices, country, date, yesno, file)");
  bool known = false;
  for (const auto& [name, kind] : kKinds)
    if (*type == name) f->kind = kind, known = true;
  if (!known) return w.Bad("type '" + *type + "' is none of line, text, choice, choices, country, "
                                             "date, yesno, file");
  if (const toml::node* r = t.get("required")) {
    auto b = r->value<bool>();
    if (!b) return w.Line(*r).Bad("required must be true or false");
    f->required = *b;
  }
  SD_RETURN_IF_ERROR(ReadTexts(t, "label", true, w, &f->label));
  SD_RETURN_IF_ERROR(ReadTexts(t, "help", false, w, &f->help));
  SD_RETURN_IF_ERROR(ReadCondition(t, w, &f->when));
  const bool text = f->kind == Kind::kLine || f->kind == Kind::kText;
  f->max_bytes = f->kind == Kind::kLine ? 512 : f->kind == Kind::kText ? 16384 : 0;
  if (const toml::node* m = t.get("max_bytes")) {
    auto* i = m->as_integer();
    if (!text) return w.Line(*m).Bad("max_bytes is for line and text fields");
    if (i == nullptr || i->get() < 1 || i->get() > int64_t(kMaxAnswerBytes))
      return w.Line(*m).Bad("max_bytes must be a number from 1 to " +
                              std::to_string(kMaxAnswerBytes));
    f->max_bytes = uint32_t(i->get());
  }
  const toml::node* cn = t.get("choice");
  const bool choosing = f->kind == Kind::kChoice || f->kind == Kind::kChoices;
  if (cn != nullptr && !choosing)
    return w.Line(*cn).Bad("only choice and choices fields take [[...choice]] tables");
  if (!choosing) return Status::OK();
  const toml::array* arr = cn == nullptr ? nullptr : cn->as_array();
  if (arr == nullptr || arr->size() < 2)
    return w.Bad("a " + *type + " field needs at least two [[...choice]] tables");
  if (arr->size() > kMaxChoices)
    return w.Bad("more than " + std::to_string(kMaxChoices) + " choices");
  std::set<std::string> ids;
  for (const auto& node : *arr) {
    const toml::table* ct = node.as_table();
    if (ct == nullptr) return w.Line(node).Bad("a choice must be a table");
    Choice c;
    c.id = (*ct)["id"].value<std::string>().value_or("");
    const Where cw = w.Sub(node, "choice '" + c.id + "'");
    if (!ValidId(c.id)) return cw.Bad("a choice needs an id of a-z, 0-9, _ or -, at most 32");
    if (!ids.insert(c.id).second) return cw.Bad("choice id listed twice");
    SD_RETURN_IF_ERROR(OnlyKeys(*ct, cw, {"id", "label"}));
    SD_RETURN_IF_ERROR(ReadTexts(*ct, "label", true, cw, &c.label));
    f->choices.push_back(std::move(c));
  }
  return Status::OK();
}

void Missing(const Texts& t, const std::string& what, const std::vector<std::string>& langs,
             std::vector<std::string>* out) {
  if (t.empty()) return;
  for (const std::string& l : langs)
    if (!t.count(l)) out->push_back(what + ": no " + l);
}

}  // namespace

const std::vector<std::string>& Languages() {
  static const std::vector<std::string> all = {"en", "ru", "tr", "tg", "ar", "fr"};
  return all;
}

const std::string& Text(const Texts& t, const std::string& lang) {
  static const std::string none;
  auto it = t.find(lang);
  if (it == t.end()) it = t.find("en");
  return it == t.end() ? none : it->second;
}

const char* KindName(Kind k) {
  for (const auto& [name, kind] : kKinds)
    if (kind == k) return name;
  return "?";
}

bool Offered(const Field& f, const std::string& v, const std::vector<std::string>& countries,
             bool* known) {
  *known = true;
  switch (f.kind) {
    case Kind::kChoice:
    case Kind::kChoices:
      for (const Choice& ch : f.choices)
        if (ch.id == v) return true;
      return false;
    case Kind::kYesNo:
      return v == "yes" || v == "no";
    case Kind::kCountry:
      return countries.empty() ? v.size() == 2
                               : std::find(countries.begin(), countries.end(), v) != countries.end();
    default:
      *known = false;
      return false;
  }
}

const Outcome* Review::FindOutcome(const std::string& id) const {
  for (const Outcome& o : outcomes)
    if (o.id == id) return &o;
  return nullptr;
}

const Field* Questionnaire::FindField(const std::string& id) const {
  for (const Step& s : steps)
    for (const Field& f : s.fields)
      if (f.id == id) return &f;
  return nullptr;
}

Status Parse(const std::string& text, const std::string& path,
             const std::vector<std::string>& countries, Questionnaire* out) {
  toml::table t;
  try {
    t = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  }
  const Where top(path, 1, "");
  SD_RETURN_IF_ERROR(OnlyKeys(t, top, {"id", "title", "step", "review"}));
  Questionnaire q;
  q.id = t["id"].value<std::string>().value_or("");
  if (!ValidId(q.id)) return top.Bad("id must be a-z, 0-9, _ or -, at most 32");
  SD_RETURN_IF_ERROR(ReadTexts(t, "title", true, top, &q.title));
  const toml::node* sn = t.get("step");
  const toml::array* steps = sn == nullptr ? nullptr : sn->as_array();
  if (steps == nullptr || steps->empty()) return top.Bad("no [[step]]: nothing to ask");
  if (steps->size() > kMaxSteps)
    return top.Bad("more than " + std::to_string(kMaxSteps) + " steps");
  std::set<std::string> ids;
  std::map<std::string, const Field*> earlier;  // fields of the steps before this one
  size_t fields = 0;
  // Pointers into q.steps stay valid: every step is in place before the
  // conditions that refer to it are checked.
  q.steps.reserve(steps->size());
  for (const auto& node : *steps) {
    const toml::table* st = node.as_table();
    if (st == nullptr) return top.Line(node).Bad("a step must be a table");
    Step s;
    s.line = uint32_t(node.source().begin.line);
    s.id = (*st)["id"].value<std::string>().value_or("");
    const Where sw = top.Sub(node, "step '" + s.id + "'");
    if (!ValidId(s.id)) return sw.Bad("a step needs an id of a-z, 0-9, _ or -, at most 32");
    if (!ids.insert(s.id).second) return sw.Bad("id used twice");
    SD_RETURN_IF_ERROR(OnlyKeys(*st, sw, {"id", "title", "help", "when", "field"}));
    SD_RETURN_IF_ERROR(ReadTexts(*st, "title", true, sw, &s.title));
    SD_RETURN_IF_ERROR(ReadTexts(*st, "help", false, sw, &s.help));
    SD_RETURN_IF_ERROR(ReadCondition(*st, sw, &s.when));
    SD_RETURN_IF_ERROR(CheckCondition(s.when, earlier, countries, sw));
    const toml::node* fn = st->get("field");
    const toml::array* arr = fn == nullptr ? nullptr : fn->as_array();
    if (arr == nullptr || arr->empty()) return sw.Bad("no [[step.field]]: nothing to ask");
    for (const auto& fnode : *arr) {
      const toml::table* ft = fnode.as_table();
      if (ft == nullptr) return sw.Line(fnode).Bad("a field must be a table");
      Field f;
      f.line = uint32_t(fnode.source().begin.line);
      f.id = (*ft)["id"].value<std::string>().value_or("");
      const Where fw = top.Sub(fnode, "field '" + f.id + "'");
      if (!ValidId(f.id)) return fw.Bad("a field needs an id of a-z, 0-9, _ or -, at most 32");
      if (!ids.insert(f.id).second) return fw.Bad("id used twice");
      if (++fields > kMaxFields) return fw.Bad("more than " + std::to_string(kMaxFields) + " fields");
      SD_RETURN_IF_ERROR(ReadField(*ft, fw, &f));
      // Without JavaScript a page cannot change as it is filled in: a
      // field can depend only on what earlier steps asked.
      SD_RETURN_IF_ERROR(CheckCondition(f.when, earlier, countries, fw));
      s.fields.push_back(std::move(f));
    }
    q.steps.push_back(std::move(s));
    for (const Field& f : q.steps.back().fields) earlier[f.id] = &f;
  }
  SD_RETURN_IF_ERROR(ReadReview(t, earlier, countries, top, &q.review));
  crypto_generichash(q.hash.data(), q.hash.size(), reinterpret_cast<const uint8_t*>(text.data()),
                     text.size(), nullptr, 0);
  *out = std::move(q);
  return Status::OK();
}

std::vector<std::string> MissingTranslations(const Questionnaire& q,
                                             const std::vector<std::string>& languages) {
  std::vector<std::string> out;
  Missing(q.title, "title", languages, &out);
  for (const Step& s : q.steps) {
    Missing(s.title, "step '" + s.id + "' title", languages, &out);
    Missing(s.help, "step '" + s.id + "' help", languages, &out);
    for (const Field& f : s.fields) {
      Missing(f.label, "field '" + f.id + "' label", languages, &out);
      Missing(f.help, "field '" + f.id + "' help", languages, &out);
      for (const Choice& c : f.choices)
        Missing(c.label, "field '" + f.id + "' choice '" + c.id + "'", languages, &out);
    }
  }
  return out;
}

Status LoadCountries(const std::string& path, std::vector<Country>* out) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read " + path + " (Debian's iso-codes package)");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("3166-1") || !j["3166-1"].is_array())
    return Status::Corruption(path + " is not iso-codes' ISO 3166-1 list");
  std::vector<Country> v;
  for (const auto& c : j["3166-1"]) {
    if (!c.contains("alpha_2") || !c.contains("name") || !c["alpha_2"].is_string() ||
        !c["name"].is_string())
      return Status::Corruption(path + " has an entry without alpha_2 or name");
    v.push_back({c["alpha_2"].get<std::string>(), c["name"].get<std::string>()});
  }
  if (v.empty()) return Status::Corruption(path + " lists no country");
  *out = std::move(v);
  return Status::OK();
}

}  // namespace intake
}  // namespace sealdrop
