// sealdrop-review show: prints submissions' messages and what their files
// are, without writing them anywhere; one unlock for all of them.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "review/cmd/cmd.h"
#include "review/cmd/json.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::vector<std::string> ids;
  std::string vault, key, passfile;
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


nlohmann::json Json(const Opened& o) {
  const format::Manifest& m = o.m;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : m.files)
    files.push_back({{"name", review::SafeName(f.name)}, {"type", f.type}, {"size", f.size}});
  // The questionnaire's answers as sealed, field by field (null: none asked).
  nlohmann::json answers;
  if (!m.answers.questionnaire.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : m.answers.list) list.push_back({{"field", a.field}, {"values", a.values}});
    answers = {{"questionnaire", m.answers.questionnaire},
               {"hash", crypto::ToHex(m.answers.hash.data(), m.answers.hash.size())},
               {"list", list}};
  }
  return {{"id", IdHex(o.rec.id)},
          {"received", storage::DayName(o.rec.day)},
          {"reply_key", m.has_reply_key ? nlohmann::json(ReplyKeyHex(m)) : nlohmann::json()},
          {"keys", KeyIds(o.rec)},
          {"opened_with", crypto::ToHex(o.key_id.data(), o.key_id.size())},
          {"message", m.message},
          {"files", files},
          {"answers", answers}};
}

void PrintText(const Opened& o, const std::vector<std::string>& mine) {
  const storage::SubmissionRec& rec = o.rec;
  const format::Manifest& m = o.m;
  std::string keys;
  for (const std::string& k : KeyIds(rec))
    keys += (keys.empty() ? "" : ", ") + k +
            (std::find(mine.begin(), mine.end(), k) != mine.end() ? " (yours)" : "");
  std::printf("id:       %s\nreceived: %s\nsource:   %s\nkeys:     %s\nfiles:    %zu\n",
              IdHex(rec.id).c_str(), storage::DayName(rec.day).c_str(), SourceLabel(m).c_str(),
              keys.c_str(), m.files.size());
  for (size_t i = 0; i < m.files.size(); i++)
    std::printf("  %zu. %s  (%llu bytes, %s)\n", i + 1, review::SafeName(m.files[i].name).c_str(),
                static_cast<unsigned long long>(m.files[i].size),
                review::Printable(m.files[i].type).c_str());
  std::printf("message:\n%s\n", review::Printable(m.message).c_str());
}

// Several ids share one unlock: text blocks one after another, or for
// --json an array (one id alone gives one object).
int Run(const Args& a) {
  Reading rd;
  if (int rc = BeginReading(a.ids, a.vault, a.key, a.passfile, &rd)) return rc;
  const std::vector<std::string> mine = RingIds(*rd.key);
  nlohmann::json all = nlohmann::json::array();
  for (size_t i = 0; i < rd.recs.size(); i++) {
    Opened o;
    if (int rc = OpenSubmission(rd, i, &o)) return rc;
    if (!a.json) {
      if (i > 0) std::printf("\n");
      PrintText(o, mine);
      std::fflush(stdout);
    } else {
      all.push_back(Json(o));
    }
  }
  if (a.json) PrintJsonItems(all);
  return 0;
}

}  // namespace

Command AddShow(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c =
      app.add_subcommand("show", "decrypt and print submissions' messages and files, one unlock");
  c->add_option("ids", a->ids, "submission ids (or unique prefixes)")->required();
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_option("--key", a->key, "your secret key file")->required();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  c->add_flag("--json", a->json, "print JSON");
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
