// A questionnaire step as a page: its fields filled with what the source
// typed, each mistake beside its field. Markup in templates/step.html,
// field.html and option.html; text from the questionnaire and the catalogs.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include "server/server.h"

namespace sealdrop {
namespace server {
namespace {

const std::vector<std::string>& ValuesOf(const intake::Values* values, const std::string& id) {
  static const std::vector<std::string> kNone;
  if (values == nullptr) return kNone;
  auto it = values->find(id);
  return it == values->end() ? kNone : it->second;
}

bool Has(const std::vector<std::string>& vs, const std::string& v) {
  return std::find(vs.begin(), vs.end(), v) != vs.end();
}

void FillCountries(const Config& cfg, const Catalog& c, Config::CountryOptions::List* out) {
  const auto names = cfg.country_names.find(c.code());
  std::vector<std::pair<std::string, std::string>> list;  // name, code
  for (const intake::Country& k : cfg.countries) {
    std::string name = k.name;
    if (names != cfg.country_names.end()) {
      auto it = names->second.find(k.code);
      if (it != names->second.end()) name = it->second;
    }
    list.emplace_back(std::move(name), k.code);
  }
  std::sort(list.begin(), list.end());
  const std::string_view t = SiteText("templates/option.html");
  for (const auto& [name, code] : list) {
    Vars vars = {{"select", "1"}, {"value", code}, {"label", name}};
    out->code.push_back(code);
    out->plain.push_back(Fill(t, c, vars));
    vars.emplace_back("checked", "1");
    out->chosen.push_back(Fill(t, c, vars));
  }
}

// The list for c's language: from the config's cache, filled on first use.
const Config::CountryOptions::List& Countries(const Config& cfg, const Catalog& c,
                                              Config::CountryOptions::List* scratch) {
  if (!cfg.country_options) {
    FillCountries(cfg, c, scratch);
    return *scratch;
  }
  Config::CountryOptions& cache = *cfg.country_options;
  std::lock_guard<std::mutex> l(cache.mu);
  auto it = cache.by_language.find(c.code());
  if (it == cache.by_language.end()) {
    it = cache.by_language.emplace(c.code(), Config::CountryOptions::List()).first;
    FillCountries(cfg, c, &it->second);
  }
  // Never changed or removed once made: safe to read unlocked.
  return it->second;
}

std::string Options(const Config& cfg, const Catalog& c, const intake::Field& f,
                    const std::vector<std::string>& chosen) {
  std::string out;
  const std::string_view t = SiteText("templates/option.html");
  // Which option is checked is the source's answer: nothing of it is left
  // in freed memory.
  auto box = [&](const char* type, const std::string& value, const std::string& label) {
    Vars vars = {{"box", "1"},
                 {"type", type},
                 {"name", f.id},
                 {"value", value},
                 {"label", label},
                 {"checked", Has(chosen, value) ? "1" : ""}};
    std::string one = Fill(t, c, vars);
    AppendWiping(&out, one);
    crypto::WipeString(&one);
    crypto::WipeString(&vars.back().second);
  };
  switch (f.kind) {
    case intake::Kind::kCountry: {
      Config::CountryOptions::List scratch;
      const Config::CountryOptions::List& all = Countries(cfg, c, &scratch);
      for (size_t i = 0; i < all.code.size(); i++)
        AppendWiping(&out, Has(chosen, all.code[i]) ? all.chosen[i] : all.plain[i]);
      break;
    }
    case intake::Kind::kYesNo:
      box("radio", "yes", c.Text("step.yes"));
      box("radio", "no", c.Text("step.no"));
      break;
    case intake::Kind::kChoice:
    case intake::Kind::kChoices:
      for (const intake::Choice& ch : f.choices)
        box(f.kind == intake::Kind::kChoice ? "radio" : "checkbox", ch.id,
            intake::Text(ch.label, c.code()));
      break;
    default:
      break;
  }
  return out;
}

std::string FieldHtml(const Config& cfg, const Catalog& c, const intake::Field& f,
                      const StepView& v) {
  using K = intake::Kind;
  const std::vector<std::string>& vals = ValuesOf(v.values, f.id);
  std::string error;
  for (const intake::FieldError& e : v.errors)
    if (e.field == f.id) {
      error = c.Text(std::string("answer.") + intake::MistakeName(e.mistake));
      break;
    }
  const bool group = f.kind == K::kChoice || f.kind == K::kChoices || f.kind == K::kYesNo;
  const uint32_t max = f.max_bytes ? f.max_bytes : (f.kind == K::kLine ? 512 : 16384);
  Vars vars = {{"id", f.id},
               {"label", intake::Text(f.label, c.code())},
               {"help", f.help.empty() ? "" : intake::Text(f.help, c.code())},
               {"required", f.required ? "1" : ""},
               {"error", error},
               {"is_group", group ? "1" : ""},
               {"is_single", group ? "" : "1"},
               {"is_line", f.kind == K::kLine ? "1" : ""},
               {"is_text", f.kind == K::kText ? "1" : ""},
               {"is_date", f.kind == K::kDate ? "1" : ""},
               {"is_country", f.kind == K::kCountry ? "1" : ""},
               {"is_file", f.kind == K::kFile ? "1" : ""},
               {"maxlength", std::to_string(max)}};
  if (f.kind == K::kLine || f.kind == K::kText || f.kind == K::kDate)
    vars.emplace_back("value", vals.empty() ? "" : vals.front());
  if (group || f.kind == K::kCountry) vars.emplace_back("options", Options(cfg, c, f, vals));
  if (f.kind == K::kFile && !vals.empty()) {
    vars.emplace_back("held", "1");
    vars.emplace_back("count", c.Number(vals.size()));
  }
  std::string html = Fill(SiteText("templates/field.html"), c, vars);
  // The typed text was copied into vars: wipe it with them.
  for (auto& kv : vars) crypto::WipeString(&kv.second);
  return html;
}

}  // namespace

std::string StepBlock(const Config& cfg, const Catalog& c, const std::string& csrf,
                      const StepView& v) {
  const intake::Questionnaire& q = *cfg.questionnaire;
  const intake::Step& s = q.steps[v.step];
  intake::Values eff = v.values ? intake::Effective(q, *v.values) : intake::Values();
  std::string fields;
  for (const intake::Field& f : s.fields) {
    if (!intake::Holds(f.when, eff)) continue;
    std::string one = FieldHtml(cfg, c, f, v);
    AppendWiping(&fields, one);
    crypto::WipeString(&one);
  }
  WipeValues(&eff);
  std::string html = Fill(SiteText("templates/step.html"), c,
              {{"lang", c.code()},
               {"csrf", csrf},
               {"questionnaire", intake::Text(q.title, c.code())},
               {"number", std::to_string(v.number)},
               {"title", intake::Text(s.title, c.code())},
               {"help", s.help.empty() ? "" : intake::Text(s.help, c.code())},
               {"errors", v.errors.empty() ? "" : "1"},
               {"step_id", s.id},
               {"fields", fields},
               {"more", v.last ? "" : "1"},
               {"last", v.last ? "1" : ""},
               {"back", v.first ? "" : "1"}});
  crypto::WipeString(&fields);
  return html;
}

}  // namespace server
}  // namespace sealdrop
