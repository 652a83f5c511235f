// The site's languages: the catalogs compiled in from server/site/catalog/,
// their plural rules, and the choice of language for a request.
#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "server/server.h"

namespace sealdrop {
namespace server {

// CLDR's rules for integers (README.md in server/site/catalog/).
std::string PluralCategory(const std::string& code, uint64_t n) {
  const uint64_t m10 = n % 10, m100 = n % 100;
  if (code == "ru") {
    if (m10 == 1 && m100 != 11) return "one";
    if (m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14)) return "few";
    return "many";
  }
  if (code == "ar") {
    if (n == 0) return "zero";
    if (n == 1) return "one";
    if (n == 2) return "two";
    if (m100 >= 3 && m100 <= 10) return "few";
    if (m100 >= 11) return "many";
    return "other";
  }
  if (code == "fr") return n <= 1 ? "one" : "other";
  return n == 1 ? "one" : "other";
}

std::vector<std::string> PluralCategories(const std::string& code) {
  if (code == "ru") return {"one", "few", "many"};
  if (code == "ar") return {"zero", "one", "two", "few", "many", "other"};
  return {"one", "other"};
}

namespace {

// "{name}" -> value, for every pair; an unknown placeholder stays as it is.
std::string Substitute(const std::string& text, const Vars& vars) {
  std::string out;
  out.reserve(text.size() + 32);
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '{') {
      size_t end = text.find('}', i);
      if (end != std::string::npos) {
        std::string_view name(text.data() + i + 1, end - i - 1);
        auto it = std::find_if(vars.begin(), vars.end(), [&](const auto& kv) { return kv.first == name; });
        if (it != vars.end()) {
          out += it->second;
          i = end + 1;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

Status Invalid(const std::string& name, const std::string& what) {
  return Status::InvalidArgument(name + ": " + what);
}

}  // namespace

Status Catalog::Parse(std::string_view text, const std::string& name, Catalog* out) {
  toml::table t;
  try {
    t = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return Invalid(name + ":" + std::to_string(e.source().begin.line), std::string(e.description()));
  }
  Catalog c;
  const toml::table* meta = t["meta"].as_table();
  if (meta == nullptr) return Invalid(name, "no [meta]");
  auto str = [&](const char* key, std::string* v) -> Status {
    auto s = (*meta)[key].value<std::string>();
    if (!s || s->empty()) return Invalid(name, std::string("[meta] needs ") + key);
    *v = *s;
    return Status::OK();
  };
  std::string dir;
  SD_RETURN_IF_ERROR(str("code", &c.code_));
  SD_RETURN_IF_ERROR(str("name", &c.name_));
  SD_RETURN_IF_ERROR(str("dir", &dir));
  SD_RETURN_IF_ERROR(str("decimal", &c.decimal_));
  SD_RETURN_IF_ERROR(str("group", &c.group_));
  if (dir != "ltr" && dir != "rtl") return Invalid(name, "[meta] dir must be ltr or rtl");
  c.rtl_ = dir == "rtl";
  if (const toml::array* p = (*meta)["plural"].as_array())
    for (const auto& v : *p)
      if (auto s = v.value<std::string>()) c.plural_.push_back(*s);
  if (c.plural_ != PluralCategories(c.code_))
    return Invalid(name, "[meta] plural must list this language's categories");
  if (const toml::table* g = t["glossary"].as_table()) {
    for (const auto& [term, node] : *g) {
      const toml::array* a = node.as_array();
      if (a == nullptr || a->size() != 2 || !(*a)[0].is_string() || !(*a)[1].is_string())
        return Invalid(name, "[glossary] " + std::string(term.str()) + " must be [word, stem]");
      c.glossary_[std::string(term.str())] = {*(*a)[0].value<std::string>(), *(*a)[1].value<std::string>()};
    }
  }
  for (const auto& [section, node] : t) {
    if (section == "meta" || section == "glossary") continue;
    const toml::table* s = node.as_table();
    if (s == nullptr) return Invalid(name, std::string(section.str()) + " must be a table");
    for (const auto& [key, value] : *s) {
      Message m;
      m.key = std::string(section.str()) + "." + std::string(key.str());
      if (auto v = value.value<std::string>()) {
        m.forms[""] = *v;
      } else if (const toml::table* forms = value.as_table()) {
        for (const auto& [cat, form] : *forms) {
          auto f = form.value<std::string>();
          if (!f) return Invalid(name, m.key + "." + std::string(cat.str()) + " must be text");
          m.forms[std::string(cat.str())] = *f;
        }
        for (const std::string& cat : c.plural_)
          if (!m.forms.count(cat)) return Invalid(name, m.key + " lacks the plural form " + cat);
        if (m.forms.size() != c.plural_.size())
          return Invalid(name, m.key + " has a plural form this language does not use");
      } else {
        return Invalid(name, m.key + " must be text or a table of plural forms");
      }
      c.messages_.push_back(std::move(m));
    }
  }
  std::sort(c.messages_.begin(), c.messages_.end(),
            [](const Message& a, const Message& b) { return a.key < b.key; });
  *out = std::move(c);
  return Status::OK();
}

const Catalog::Message* Catalog::Find(std::string_view key) const {
  auto it = std::lower_bound(messages_.begin(), messages_.end(), key,
                             [](const Message& m, std::string_view k) { return m.key < k; });
  return it != messages_.end() && it->key == key ? &*it : nullptr;
}

std::string Catalog::Text(std::string_view key, const Vars& vars) const {
  const Message* m = Find(key);
  if (m == nullptr) return std::string(key);
  if (!m->forms.count("")) {
    // A plural message: its form follows the var "count".
    Vars rest;
    uint64_t n = 0;
    for (const auto& kv : vars) {
      if (kv.first == "count") n = std::strtoull(kv.second.c_str(), nullptr, 10);
      else rest.push_back(kv);
    }
    return Plural(key, n, std::move(rest));
  }
  return Substitute(m->forms.at(""), vars);
}

std::string Catalog::Plural(std::string_view key, uint64_t n, Vars vars) const {
  const Message* m = Find(key);
  if (m == nullptr) return std::string(key);
  auto it = m->forms.find(PluralCategory(code_, n));
  if (it == m->forms.end()) return std::string(key);
  vars.emplace_back("count", Number(n));
  return Substitute(it->second, vars);
}

std::string Catalog::Number(uint64_t n) const {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); i++) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += group_;
    out += digits[i];
  }
  return out;
}

std::string Catalog::Size(uint64_t n) const {
  if (n < 1024) return Plural("size.bytes", n);
  static const char* kUnits[] = {"size.kib", "size.mib", "size.gib", "size.tib"};
  double v = double(n) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) v /= 1024, u++;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string num(buf);
  size_t dot = num.find('.');
  if (dot != std::string::npos) num.replace(dot, 1, decimal_);
  return Text(kUnits[u], {{"size", num}});
}

const Catalog* FindCatalog(std::string_view code) {
  for (const Catalog& c : Catalogs())
    if (c.code() == code) return &c;
  return nullptr;
}

const std::vector<Catalog>& Catalogs() {
  static const std::vector<Catalog> all = [] {
    std::vector<Catalog> v;
    for (const char* code : {"en", "ru", "tr", "tg", "fr", "ar"}) {
      std::string name = std::string("catalog/") + code + ".toml";
      Catalog c;
      Status st = Catalog::Parse(SiteText(name), name, &c);
      if (!st.ok() || c.code() != code) {
        std::fprintf(stderr, "sealdrop-server: error: the built-in %s is broken: %s\n", name.c_str(),
                     st.ok() ? "wrong code" : st.message().c_str());
        std::abort();
      }
      v.push_back(std::move(c));
    }
    return v;
  }();
  return all;
}

namespace {

// Accept-Language: "ru-RU,ru;q=0.9,en;q=0.5". The highest q the site has
// wins; among equal q, the first listed.
const Catalog* FromAcceptLanguage(std::string_view header) {
  const Catalog* best = nullptr;
  double best_q = 0;
  size_t pos = 0;
  while (pos < header.size() && pos < 1024) {
    size_t end = header.find(',', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view item = header.substr(pos, end - pos);
    pos = end + 1;
    double q = 1;
    size_t semi = item.find(';');
    std::string_view tag = item.substr(0, semi);
    if (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      size_t qp = params.find("q=");
      if (qp != std::string_view::npos) q = std::atof(std::string(params.substr(qp + 2, 5)).c_str());
    }
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    std::string primary;
    for (char ch : tag.substr(0, tag.find('-'))) primary += char(ch | 0x20);
    const Catalog* c = FindCatalog(primary);
    if (c != nullptr && q > best_q) best = c, best_q = q;
  }
  return best;
}

}  // namespace

const Catalog& PickCatalog(std::string_view lang, std::string_view accept_language) {
  if (const Catalog* c = FindCatalog(lang)) return *c;
  if (const Catalog* c = FromAcceptLanguage(accept_language)) return *c;
  return Catalogs().front();
}

}  // namespace server
}  // namespace sealdrop
