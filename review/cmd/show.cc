// sealdrop-review show: prints a submission's message and what its files are,
// without writing them anywhere.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::string id, vault, key, passfile;
  bool json = false;
};

std::string ReplyKeyHex(const format::Manifest& m) {
  return crypto::ToHex(m.reply_key.data(), m.reply_key.size());
}

// Submissions from one source carry one reply key: its first 16 hex digits
// tell them apart at a glance.
std::string SourceLabel(const format::Manifest& m) {
  if (!m.has_reply_key) return "none (sent without a codename; no reply possible)";
  return ReplyKeyHex(m).substr(0, 16) + " (reply key " + ReplyKeyHex(m) + ")";
}

// The recipient keys its content key was sealed to: who else can read it.
std::vector<std::string> KeyIds(const storage::SubmissionRec& rec) {
  std::vector<std::string> out;
  for (const auto& k : rec.keys) out.push_back(crypto::ToHex(k.key_id.data(), k.key_id.size()));
  return out;
}

int Run(const std::string& id, const std::string& vault_dir, const std::string& keyfile,
        const std::string& passfile, bool json) {
  Opened o;
  if (int rc = OpenSubmission(id, vault_dir, keyfile, passfile, &o)) return rc;
  const storage::SubmissionRec& rec = o.rec;
  const format::Manifest& m = o.m;
  const std::string mine = crypto::ToHex(o.key_id.data(), o.key_id.size());
  if (json) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : m.files)
      files.push_back({{"name", review::SafeName(f.name)}, {"type", f.type}, {"size", f.size}});
    nlohmann::json j = {{"id", IdHex(rec.id)},
                        {"received", storage::DayName(rec.day)},
                        {"reply_key", m.has_reply_key ? nlohmann::json(ReplyKeyHex(m)) : nlohmann::json()},
                        {"keys", KeyIds(rec)},
                        {"opened_with", mine},
                        {"message", m.message},
                        {"files", files}};
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::string keys;
  for (const std::string& k : KeyIds(rec))
    keys += (keys.empty() ? "" : ", ") + k + (k == mine ? " (yours)" : "");
  std::printf("id:       %s\nreceived: %s\nsource:   %s\nkeys:     %s\nfiles:    %zu\n",
              IdHex(rec.id).c_str(), storage::DayName(rec.day).c_str(), SourceLabel(m).c_str(),
              keys.c_str(), m.files.size());
  for (size_t i = 0; i < m.files.size(); i++)
    std::printf("  %zu. %s  (%llu bytes, %s)\n", i + 1, review::SafeName(m.files[i].name).c_str(),
                static_cast<unsigned long long>(m.files[i].size),
                review::Printable(m.files[i].type).c_str());
  std::printf("message:\n%s\n", review::Printable(m.message).c_str());
  return 0;
}

}  // namespace

Command AddShow(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("show", "decrypt and print a submission's message and files");
  c->add_option("id", a->id, "submission id (or a unique prefix)")->required();
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_option("--key", a->key, "your secret key file")->required();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  c->add_flag("--json", a->json, "print JSON");
  return {c, [a] { return Run(a->id, a->vault, a->key, a->passfile, a->json); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
