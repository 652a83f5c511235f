#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <toml++/toml.h>

#include "base/cli.h"
#include "server/server.h"

namespace sealdrop {
namespace server {
namespace {

std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return dir + "/" + path;
}

Status CheckPrivate(const std::string& path, const char* what) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound(std::string(what) + " " + path + " is missing");
  if ((st.st_mode & 077) != 0)
    return Status::InvalidArgument(std::string(what) + " " + path +
                                   " is readable by others; chmod 600 it");
  return Status::OK();
}

}  // namespace

Status ParseSize(const std::string& text, uint64_t* out) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (v > (uint64_t(1) << 50)) return Status::InvalidArgument("size too large: " + text);
    v = v * 10 + uint64_t(text[i++] - '0');
  }
  if (i == 0) return Status::InvalidArgument("not a size: " + text);
  std::string unit = text.substr(i);
  while (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "KiB") shift = 10;
  else if (unit == "MiB") shift = 20;
  else if (unit == "GiB") shift = 30;
  else if (unit == "TiB") shift = 40;
  else return Status::InvalidArgument("unknown size unit in '" + text + "' (use KiB, MiB, GiB)");
  if (v > (~uint64_t(0) >> shift)) return Status::InvalidArgument("size too large: " + text);
  *out = v << shift;
  return Status::OK();
}

namespace {

// [site.<language>]: name, description, policy, in a language the site has.
Status LoadSite(const toml::table& t, const std::string& path, Config* c) {
  const toml::node* site = t.get("site");
  if (site == nullptr) return Status::OK();
  const toml::table* langs = site->as_table();
  if (langs == nullptr) return Status::InvalidArgument(path + ": site must be a table ([site.en])");
  for (const auto& [code_key, node] : *langs) {
    std::string code(code_key.str());
    std::string where = path + ": [site." + code + "]";
    if (FindCatalog(code) == nullptr) {
      std::string codes;
      for (const Catalog& cat : Catalogs()) codes += (codes.empty() ? "" : ", ") + cat.code();
      return Status::InvalidArgument(where + ": the site has no such language (it has " + codes + ")");
    }
    const toml::table* entry = node.as_table();
    if (entry == nullptr) return Status::InvalidArgument(where + " must be a table");
    Config::About about;
    for (const auto& [k, v] : *entry) {
      std::string key(k.str());
      std::string* into = key == "name" ? &about.name
                          : key == "description" ? &about.description
                          : key == "policy" ? &about.policy : nullptr;
      if (into == nullptr) return Status::InvalidArgument(where + ": unknown setting '" + key + "'");
      auto text = v.value<std::string>();
      if (!text) return Status::InvalidArgument(where + ": " + key + " must be a string");
      // Shown on every page: a sentence or a few paragraphs, not a document.
      if (text->size() > 4096) return Status::InvalidArgument(where + ": " + key + " is longer than 4096 bytes");
      *into = *text;
    }
    if (about.name.empty()) return Status::InvalidArgument(where + ": name is missing or empty");
    c->site[code] = std::move(about);
  }
  return Status::OK();
}

// `questionnaire`: a path (absolute, or relative to the instance) or the
// name of one sealdrop ships ("red-notice"), read and checked now, so that a
// mistake stops start-up with its file, line and field.
Status LoadQuestionnaire(const std::string& value, const std::string& path, Config* c) {
  std::string text, file;
  if (value.find('/') == std::string::npos && value.find('.') == std::string::npos) {
    file = "intake/questionnaires/" + value + ".toml (built in)";
    std::string_view shipped =
        FindEmbedded(kQuestionnaireFiles, kQuestionnaireFilesCount, value + ".toml");
    if (shipped.empty()) {
      std::string names;
      for (size_t i = 0; i < kQuestionnaireFilesCount; i++) {
        std::string n = kQuestionnaireFiles[i].name;
        names += (names.empty() ? "" : ", ") + n.substr(0, n.size() - 5);
      }
      return Status::InvalidArgument(path + ": questionnaire '" + value + "': sealdrop ships no "
                                     "questionnaire of that name (it ships " + names +
                                     "); give the path of a .toml file instead");
    }
    text = std::string(shipped);
  } else {
    file = Resolve(c->dir, value);
    Status st = cli::ReadFile(file, &text, intake::kMaxTextBytes * 1024);
    if (!st.ok()) return Status::InvalidArgument(path + ": questionnaire: " + st.message());
  }
  Status st = intake::LoadCountries(intake::kCountriesPath, &c->countries);
  if (!st.ok())
    return Status::InvalidArgument(path + ": questionnaire: " + st.message() +
                                   " (Debian's iso-codes package gives the country list)");
  for (const auto& country : c->countries) c->country_codes.push_back(country.code);
  std::sort(c->country_codes.begin(), c->country_codes.end());
  LoadCountryNames(c);
  c->country_options = std::make_shared<Config::CountryOptions>();
  auto q = std::make_shared<intake::Questionnaire>();
  SD_RETURN_IF_ERROR(intake::Parse(text, file, c->country_codes, q.get()));
  c->questionnaire_path = file;
  c->questionnaire = std::move(q);
  return Status::OK();
}

}  // namespace

Status LoadConfig(const std::string& dir_in, Config* out) {
  char* real = ::realpath(dir_in.c_str(), nullptr);
  if (real == nullptr) return Status::NotFound("no instance directory at " + dir_in);
  const std::string dir = real;
  ::free(real);
  std::string text;
  SD_RETURN_IF_ERROR(cli::ReadFile(dir + "/config.toml", &text));
  return ParseConfig(dir, text, out);
}

Status ParseConfig(const std::string& dir, const std::string& text, Config* out) {
  Config c;
  c.dir = dir;
  const std::string path = c.dir + "/config.toml";
  toml::table t;
  try {
    t = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::string what(e.description());
    return Status::InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ": " + what);
  }
  static const std::set<std::string> kKnown = {
      "listen", "tls_cert", "tls_key", "max_upload", "max_files", "store_quota", "threads",
      "connections", "header_timeout", "read_timeout", "write_timeout", "min_rate", "recipient",
      "site", "sessions", "session_idle", "session_lifetime", "login_workers", "login_queue",
      "reply_days", "store_reserve", "expire_days", "ack_grace_days", "api_listen", "courier",
      "user", "group", "questionnaire"};
  for (const auto& kv : t) {
    std::string k(kv.first.str());
    if (!kKnown.count(k)) return Status::InvalidArgument(path + ": unknown setting '" + k + "'");
  }
  auto str = [&](const char* key, std::string* v) -> Status {
    if (auto n = t[key]) {
      auto s = n.value<std::string>();
      if (!s) return Status::InvalidArgument(path + ": " + key + " must be a string");
      *v = *s;
    }
    return Status::OK();
  };
  auto num = [&](const char* key, uint32_t* v, uint32_t lo, uint32_t hi) -> Status {
    if (auto n = t[key]) {
      // Integers only: toml++ would convert a float, out of range or not.
      auto* iv = n.as_integer();
      std::optional<int64_t> i;
      if (iv != nullptr) i = iv->get();
      if (!i || *i < lo || *i > hi)
        return Status::InvalidArgument(path + ": " + key + " must be a number from " +
                                       std::to_string(lo) + " to " + std::to_string(hi));
      *v = uint32_t(*i);
    }
    return Status::OK();
  };
  auto size = [&](const char* key, uint64_t* v) -> Status {
    if (auto n = t[key]) {
      if (auto s = n.value<std::string>()) return ParseSize(*s, v);
      if (auto* iv = n.as_integer(); iv != nullptr && iv->get() > 0) {
        *v = uint64_t(iv->get());
        return Status::OK();
      }
      return Status::InvalidArgument(path + ": " + key + " must be a size such as \"2GiB\"");
    }
    return Status::OK();
  };
  SD_RETURN_IF_ERROR(str("listen", &c.listen));
  SD_RETURN_IF_ERROR(str("api_listen", &c.api_listen));
  // Port 0 picks a free port for each, so the two differ then too.
  if (!c.api_listen.empty() && c.api_listen == c.listen &&
      c.listen.size() > 2 && c.listen.compare(c.listen.size() - 2, 2, ":0") != 0)
    return Status::InvalidArgument(path + ": api_listen must differ from listen: the reviewer "
                                   "API listens apart from the source site");
  SD_RETURN_IF_ERROR(str("user", &c.user));
  SD_RETURN_IF_ERROR(str("group", &c.group));
  if (!c.group.empty() && c.user.empty())
    return Status::InvalidArgument(path + ": group is set without user");
  SD_RETURN_IF_ERROR(str("tls_cert", &c.tls_cert));
  SD_RETURN_IF_ERROR(str("tls_key", &c.tls_key));
  SD_RETURN_IF_ERROR(size("max_upload", &c.max_upload));
  SD_RETURN_IF_ERROR(size("store_quota", &c.store_quota));
  SD_RETURN_IF_ERROR(num("max_files", &c.max_files, 1, uint32_t(format::kMaxFiles)));
  SD_RETURN_IF_ERROR(num("threads", &c.threads, 1, 1024));
  SD_RETURN_IF_ERROR(num("connections", &c.connections, 1, 65536));
  SD_RETURN_IF_ERROR(num("header_timeout", &c.header_timeout, 1, 3600));
  SD_RETURN_IF_ERROR(num("read_timeout", &c.read_timeout, 1, 3600));
  SD_RETURN_IF_ERROR(num("write_timeout", &c.write_timeout, 1, 3600));
  SD_RETURN_IF_ERROR(num("min_rate", &c.min_rate, 0, 1u << 30));
  SD_RETURN_IF_ERROR(num("sessions", &c.sessions, 1, 1000000));
  SD_RETURN_IF_ERROR(num("session_idle", &c.session_idle, 60, 86400));
  SD_RETURN_IF_ERROR(num("session_lifetime", &c.session_lifetime, 60, 7 * 86400));
  SD_RETURN_IF_ERROR(num("login_workers", &c.login_workers, 1, 256));
  SD_RETURN_IF_ERROR(num("login_queue", &c.login_queue, 0, 65536));
  SD_RETURN_IF_ERROR(num("reply_days", &c.reply_days, 1, 3650));
  SD_RETURN_IF_ERROR(num("store_reserve", &c.store_reserve, 0, 50));
  SD_RETURN_IF_ERROR(num("expire_days", &c.expire_days, 0, 3650));
  SD_RETURN_IF_ERROR(num("ack_grace_days", &c.ack_grace_days, 0, 365));

  if (auto arr = t["recipient"].as_array()) {
    for (const auto& node : *arr) {
      const toml::table* r = node.as_table();
      if (r == nullptr) return Status::InvalidArgument(path + ": [[recipient]] must be a table");
      // A misspelt key here would otherwise be dropped without a word.
      for (const auto& kv : *r) {
        std::string k(kv.first.str());
        if (k != "name" && k != "key" && k != "signing" && k != "retired_signing")
          return Status::InvalidArgument(path + ": unknown setting '" + k + "' in a [[recipient]]");
      }
      Recipient rc;
      auto name = (*r)["name"].value<std::string>();
      auto key = (*r)["key"].value<std::string>();
      if (!key) return Status::InvalidArgument(path + ": a [[recipient]] has no key");
      rc.name = name.value_or("");
      Status st = crypto::ParsePublicKey(*key, &rc.key);
      if (!st.ok()) return Status::InvalidArgument(path + ": recipient '" + rc.name + "': " + st.message());
      if (auto signing = (*r)["signing"].value<std::string>()) {
        st = crypto::ParseSigningPublic(*signing, &rc.signing);
        if (!st.ok())
          return Status::InvalidArgument(path + ": recipient '" + rc.name + "': " + st.message());
        rc.has_signing = true;
      } else if (r->contains("signing")) {
        return Status::InvalidArgument(path + ": recipient '" + rc.name + "': signing must be a string");
      }
      if (const toml::node* old = r->get("retired_signing")) {
        const toml::array* list = old->as_array();
        if (list == nullptr)
          return Status::InvalidArgument(path + ": recipient '" + rc.name +
                                         "': retired_signing must be a list of sdsig1: keys");
        for (const auto& item : *list) {
          auto text = item.value<std::string>();
          crypto::SignPublic pk;
          st = text ? crypto::ParseSigningPublic(*text, &pk)
                    : Status::InvalidArgument("retired_signing must be a list of sdsig1: keys");
          if (!st.ok())
            return Status::InvalidArgument(path + ": recipient '" + rc.name + "': " + st.message());
          rc.retired.push_back(pk);
        }
      }
      // Every signing key, current or retired, speaks for one reviewer only.
      std::vector<crypto::SignPublic> mine = rc.retired;
      if (rc.has_signing) mine.push_back(rc.signing);
      for (size_t i = 0; i < mine.size(); i++)
        for (size_t j = 0; j < i; j++)
          if (mine[i] == mine[j])
            return Status::InvalidArgument(path + ": recipient '" + rc.name +
                                           "': signing key listed twice");
      for (const auto& other : c.recipients)
        if (other.key.id == rc.key.id)
          return Status::InvalidArgument(path + ": recipient key listed twice");
      for (const auto& pk : mine)
        if (const Recipient* other = c.Vouches(pk))
          return Status::InvalidArgument(path + ": recipient '" + rc.name + "': signing key "
                                         "listed twice (also " + other->name + "'s)");
      c.recipients.push_back(std::move(rc));
    }
  } else if (t.contains("recipient")) {
    return Status::InvalidArgument(path + ": recipient must be an array of tables ([[recipient]])");
  }
  if (c.recipients.empty())
    return Status::InvalidArgument(path + ": no [[recipient]]: nobody could read submissions");
  if (auto arr = t["courier"].as_array()) {
    for (const auto& node : *arr) {
      const toml::table* r = node.as_table();
      if (r == nullptr) return Status::InvalidArgument(path + ": [[courier]] must be a table");
      for (const auto& kv : *r) {
        std::string k(kv.first.str());
        if (k != "name" && k != "key")
          return Status::InvalidArgument(path + ": unknown setting '" + k + "' in a [[courier]]");
      }
      Courier co;
      co.name = (*r)["name"].value<std::string>().value_or("");
      auto key = (*r)["key"].value<std::string>();
      if (!key) return Status::InvalidArgument(path + ": a [[courier]] has no key");
      Status st = crypto::ParseSigningPublic(*key, &co.key);
      if (!st.ok()) return Status::InvalidArgument(path + ": courier '" + co.name + "': " + st.message());
      for (const auto& other : c.couriers)
        if (other.key == co.key) return Status::InvalidArgument(path + ": courier key listed twice");
      for (const auto& rc : c.recipients)
        if (c.Vouches(co.key) == &rc)
          return Status::InvalidArgument(path + ": courier '" + co.name + "' uses a reviewer's "
                                         "signing key: give the courier a key of its own "
                                         "(sealdrop-courier keygen)");
      c.couriers.push_back(std::move(co));
    }
  } else if (t.contains("courier")) {
    return Status::InvalidArgument(path + ": courier must be an array of tables ([[courier]])");
  }
  SD_RETURN_IF_ERROR(LoadSite(t, path, &c));
  std::string questionnaire;
  SD_RETURN_IF_ERROR(str("questionnaire", &questionnaire));
  if (!questionnaire.empty()) SD_RETURN_IF_ERROR(LoadQuestionnaire(questionnaire, path, &c));
  // The reserve takes no large upload, so one must fit in the rest.
  if (c.max_upload > c.store_quota - c.store_quota / 100 * c.store_reserve)
    return Status::InvalidArgument(path + ": max_upload is larger than store_quota leaves beside "
                                   "store_reserve (" + std::to_string(c.store_reserve) + "%)");

  if (!c.unix_socket()) {
    if (c.tls_cert.empty() || c.tls_key.empty())
      return Status::InvalidArgument(path + ": HTTPS needs tls_cert and tls_key (or listen = \"unix:/path\")");
    c.tls_cert = Resolve(c.dir, c.tls_cert);
    c.tls_key = Resolve(c.dir, c.tls_key);
  }
  struct stat pst;
  if (::lstat(c.codename_params().c_str(), &pst) == 0) {
    std::string params;
    SD_RETURN_IF_ERROR(cli::ReadFile(c.codename_params(), &params, 256));
    Status st = crypto::ParseCodenameParams(params, &c.codename);
    if (!st.ok()) return Status::InvalidArgument(c.codename_params() + ": " + st.message());
    SD_RETURN_IF_ERROR(CheckPrivate(c.codename_params(), "codename parameters"));
    c.has_codename = true;
  }
  *out = std::move(c);
  return Status::OK();
}

Status WriteCodenameParams(Config* cfg, const crypto::CodenameParams& cost) {
  crypto::CodenameParams p = cost;
  crypto::RandomBytes(p.salt.data(), p.salt.size());
  // Parsed back first: never write parameters that would not load.
  crypto::CodenameParams check;
  SD_RETURN_IF_ERROR(crypto::ParseCodenameParams(crypto::FormatCodenameParams(p), &check));
  Status st = cli::WriteNewFile(cfg->codename_params(), crypto::FormatCodenameParams(p), 0600);
  if (!st.ok()) return st;
  storage::SetDayTimes(cfg->codename_params());
  cfg->codename = p;
  cfg->has_codename = true;
  return Status::OK();
}

// Checks what serving needs beyond the config itself.
Status CheckServable(const Config& c, bool tls) {
  SD_RETURN_IF_ERROR(CheckPrivate(c.instance_key(), "instance key"));
  if (tls) SD_RETURN_IF_ERROR(CheckPrivate(c.tls_key, "TLS key"));
  // Whoever may change config.toml may add a recipient of their own.
  for (const std::string& path : {c.dir, c.dir + "/config.toml"}) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::NotFound(path + " is missing");
    if ((st.st_mode & 022) != 0)
      return Status::InvalidArgument(path + " is writable by others, who could add a recipient "
                                     "of their own; chmod go-w it");
  }
  return Status::OK();
}

}  // namespace server
}  // namespace sealdrop
