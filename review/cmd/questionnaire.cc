// sealdrop-review questionnaire: the definitions the vault reads answers
// against. Each is kept whole under its hash (docs/QUESTIONNAIRE.md
// "Identity"), so that answers read against the questionnaire that asked
// them even after the operator edits it. Definitions are the site's public
// questions, not sealed: the vault's meta holds them as they came.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "review/cmd/cmd.h"
#include "review/cmd/json.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

constexpr char kList[] = "questionnaires";
constexpr char kPrefix[] = "questionnaire:";
constexpr size_t kMaxDefinition = 1u << 20;

std::string HashHex(const std::array<uint8_t, 32>& h) { return crypto::ToHex(h.data(), h.size()); }

Status Hashes(storage::Store* vault, std::vector<std::string>* out) {
  out->clear();
  std::string list;
  Status st = vault->GetMeta(kList, &list);
  if (st.Is(Status::Code::kNotFound)) return Status::OK();
  SD_RETURN_IF_ERROR(st);
  for (size_t pos = 0; pos < list.size();) {
    size_t nl = list.find('\n', pos);
    if (nl == std::string::npos) nl = list.size();
    if (nl > pos) out->push_back(list.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return Status::OK();
}

struct Args {
  std::string vault, file;
  bool json = false;
};

int Add(const Args& a) {
  std::string text;
  Status st = cli::ReadFile(a.file, &text, kMaxDefinition);
  if (!st.ok()) return Fail(st);
  intake::Questionnaire q;
  st = intake::Parse(text, a.file, CountryCodes(), &q);
  if (!st.ok()) return Fail(st, "the server refuses the same file at start-up: fix it there first");
  std::unique_ptr<storage::Store> vault;
  st = OpenVault(a.vault, false, &vault);
  if (!st.ok()) return Fail(st);
  std::vector<std::string> have;
  st = Hashes(vault.get(), &have);
  if (!st.ok()) return Fail(st);
  const std::string hex = HashHex(q.hash);
  if (std::find(have.begin(), have.end(), hex) != have.end()) {
    std::printf("questionnaire %s (%s) is in the vault already\n", q.id.c_str(), hex.c_str());
    return 0;
  }
  // The definition, then the list that names it: a failure between leaves
  // an unlisted definition, which nothing reads.
  std::string list;
  for (const std::string& h : have) list += h + "\n";
  st = vault->PutMeta(kPrefix + hex, text);
  if (st.ok()) st = vault->PutMeta(kList, list + hex + "\n");
  if (!st.ok()) return Fail(st);
  std::printf("added questionnaire %s (%s): its answers now read with their labels\n", q.id.c_str(),
              hex.c_str());
  return 0;
}

int List(const Args& a) {
  std::unique_ptr<storage::Store> vault;
  Status st = OpenVault(a.vault, false, &vault);
  if (!st.ok()) return Fail(st);
  std::vector<std::string> have;
  st = Hashes(vault.get(), &have);
  if (!st.ok()) return Fail(st);
  nlohmann::json arr = nlohmann::json::array();
  for (const std::string& hex : have) {
    intake::Questionnaire q;
    st = LoadQuestionnaire(vault.get(), hex, &q);
    if (!st.ok()) return Fail(st);
    size_t fields = 0;
    for (const auto& s : q.steps) fields += s.fields.size();
    if (a.json) {
      arr.push_back({{"hash", hex},
                     {"id", q.id},
                     {"title", intake::Text(q.title, "en")},
                     {"steps", q.steps.size()},
                     {"fields", fields},
                     {"urgency_rules", q.review.urgent.size()},
                     {"outcomes", q.review.outcomes.size()}});
    } else {
      std::printf("%s  %s  %s  (%zu steps, %zu fields, %zu urgency rules, %zu outcomes)\n",
                  hex.c_str(), q.id.c_str(), review::Printable(intake::Text(q.title, "en")).c_str(),
                  q.steps.size(), fields, q.review.urgent.size(), q.review.outcomes.size());
    }
  }
  if (a.json)
    PrintJson(arr);
  else if (have.empty())
    std::printf(
        "this vault holds no questionnaire; sealdrop-review questionnaire add FILE "
        "--vault %s adds the one the site asks\n",
        a.vault.c_str());
  return 0;
}

}  // namespace

const std::vector<std::string>& CountryCodes() {
  static const std::vector<std::string> codes = [] {
    std::vector<std::string> v;
    for (const auto& [code, name] : CountryNames()) v.push_back(code);
    return v;
  }();
  return codes;
}

const std::map<std::string, std::string>& CountryNames() {
  static const std::map<std::string, std::string> names = [] {
    std::map<std::string, std::string> m;
    std::vector<intake::Country> all;
    // Without iso-codes the codes are shown as they are.
    if (intake::LoadCountries(intake::kCountriesPath, &all).ok())
      for (const auto& c : all) m[c.code] = c.name;
    return m;
  }();
  return names;
}

Status LoadQuestionnaire(storage::Store* vault, const std::string& hash_hex,
                         intake::Questionnaire* out) {
  std::string text;
  Status st = vault->GetMeta(kPrefix + hash_hex, &text);
  if (st.Is(Status::Code::kNotFound))
    return Status::NotFound("questionnaire " + hash_hex + " is not in the vault");
  SD_RETURN_IF_ERROR(st);
  SD_RETURN_IF_ERROR(
      intake::Parse(text, "questionnaire " + hash_hex.substr(0, 16), CountryCodes(), out));
  if (HashHex(out->hash) != hash_hex)
    return Status::Corruption("questionnaire " + hash_hex + " has other bytes");
  return Status::OK();
}

Status Questionnaires::Find(storage::Store* vault, const std::array<uint8_t, 32>& hash,
                            const intake::Questionnaire** out) {
  const std::string hex = HashHex(hash);
  auto it = cache_.find(hex);
  if (it == cache_.end()) {
    auto q = std::make_unique<intake::Questionnaire>();
    Status st = LoadQuestionnaire(vault, hex, q.get());
    if (st.Is(Status::Code::kNotFound))
      q.reset();
    else
      SD_RETURN_IF_ERROR(st);
    it = cache_.emplace(hex, std::move(q)).first;
  }
  *out = it->second.get();
  return Status::OK();
}

std::string AddQuestionnaireHint(const std::string& vault_dir) {
  return "sealdrop-review questionnaire add <the site's questionnaire file> --vault " + vault_dir +
         " shows them with their questions and labels";
}

Command AddQuestionnaire(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("questionnaire",
                                   "keep the questionnaire definitions answers are read against");
  c->require_subcommand(1);
  CLI::App* add =
      c->add_subcommand("add", "store a definition (the site's TOML file) in the vault");
  add->add_option("file", a->file, "the questionnaire's TOML file, as the server reads it")
      ->required();
  add->add_option("--vault", a->vault, "vault directory")->required();
  CLI::App* list = c->add_subcommand("list", "list the definitions the vault holds");
  list->add_option("--vault", a->vault, "vault directory")->required();
  list->add_flag("--json", a->json, "print a JSON array");
  return {c, [a, add] { return *add ? Add(*a) : List(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
