// sealdrop-review show: prints submissions' messages, questionnaire answers
// and what their files are, without writing them anywhere; one unlock for
// all of them. Answers read against the questionnaire that asked them, when
// the vault holds it (questionnaire.cc); else as sent.
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


// A value as the team reads it: a choice's label, a country's name, a file's
// name; the value itself when the questionnaire does not define it.
std::string ValueLabel(const intake::Field& f, const std::string& v, const format::Manifest& m) {
  switch (f.kind) {
    case intake::Kind::kChoice:
    case intake::Kind::kChoices:
      for (const auto& c : f.choices)
        if (c.id == v) return intake::Text(c.label, "en");
      break;
    case intake::Kind::kCountry: {
      auto it = CountryNames().find(v);
      if (it != CountryNames().end()) return it->second + " (" + v + ")";
      break;
    }
    case intake::Kind::kYesNo:
      if (v == "yes") return "yes";
      if (v == "no") return "no";
      break;
    case intake::Kind::kFile:
      for (const auto& file : m.files)
        if (std::to_string(file.item) == v) return "file: " + review::SafeName(file.name);
      break;
    default:
      return v;
  }
  return v + " (not an answer the questionnaire offers)";
}

// The answers in the questionnaire's order, each under its step; then any
// the questionnaire does not define, as the source's words.
struct Rendered {
  struct Item {
    const intake::Step* step = nullptr;
    const intake::Field* field = nullptr;  // null: not in the questionnaire
    const format::Answer* answer = nullptr;
  };
  std::vector<Item> items;
};

Rendered Arrange(const format::Answers& a, const intake::Questionnaire* q) {
  Rendered r;
  std::vector<bool> used(a.list.size(), false);
  if (q != nullptr)
    for (const auto& s : q->steps)
      for (const auto& f : s.fields)
        for (size_t i = 0; i < a.list.size(); i++)
          if (!used[i] && a.list[i].field == f.id) {
            used[i] = true;
            r.items.push_back({&s, &f, &a.list[i]});
          }
  for (size_t i = 0; i < a.list.size(); i++)
    if (!used[i]) r.items.push_back({nullptr, nullptr, &a.list[i]});
  return r;
}

intake::Values Map(const format::Answers& a) {
  intake::Values m;
  for (const auto& x : a.list) m[x.field] = x.values;
  return m;
}

nlohmann::json AnswersJson(const format::Manifest& m, const intake::Questionnaire* q) {
  const format::Answers& a = m.answers;
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& it : Arrange(a, q).items) {
    nlohmann::json j = {{"id", it.answer->field}, {"values", it.answer->values}};
    if (it.field != nullptr) {
      nlohmann::json labels = nlohmann::json::array();
      for (const auto& v : it.answer->values) labels.push_back(ValueLabel(*it.field, v, m));
      j["type"] = intake::KindName(it.field->kind);
      j["label"] = intake::Text(it.field->label, "en");
      j["step"] = it.step->id;
      j["value_labels"] = labels;
    } else {
      j["type"] = nullptr;
      j["label"] = nullptr;
      j["step"] = nullptr;
      j["value_labels"] = nullptr;
    }
    fields.push_back(std::move(j));
  }
  nlohmann::json out = {{"questionnaire", a.questionnaire},
                        {"hash", crypto::ToHex(a.hash.data(), a.hash.size())},
                        {"known", q != nullptr},
                        {"fields", fields}};
  if (q != nullptr) {
    const intake::Urgency u = intake::Judge(q->review, Map(a), storage::Today());
    out["urgent"] = u.urgent;
    out["why"] = u.why;
  }
  return out;
}

void PrintAnswers(const format::Manifest& m, const intake::Questionnaire* q) {
  const format::Answers& a = m.answers;
  const std::string hex = crypto::ToHex(a.hash.data(), a.hash.size());
  if (q == nullptr) {
    std::printf("answers:  to questionnaire %s (%s), not in this vault: as sent\n",
                review::Printable(a.questionnaire).c_str(), hex.substr(0, 16).c_str());
  } else {
    std::printf("answers:  %s (%s, %s)\n", review::Printable(intake::Text(q->title, "en")).c_str(),
                q->id.c_str(), hex.substr(0, 16).c_str());
    const intake::Urgency u = intake::Judge(q->review, Map(a), storage::Today());
    if (u.urgent) {
      std::string why;
      for (const auto& w : u.why) why += (why.empty() ? "" : ", ") + w;
      std::printf("  URGENT: %s\n", why.c_str());
    }
  }
  const intake::Step* step = nullptr;
  bool others = false;
  for (const auto& it : Arrange(a, q).items) {
    if (it.field != nullptr && it.step != step) {
      step = it.step;
      std::printf("  == %s ==\n", review::Printable(intake::Text(step->title, "en")).c_str());
    }
    if (it.field == nullptr && q != nullptr && !others) {
      others = true;
      std::printf("  == not in the questionnaire (the source's words) ==\n");
    }
    std::string label = it.field ? intake::Text(it.field->label, "en") : it.answer->field;
    std::printf("  %s\n", review::Printable(label).c_str());
    for (const auto& v : it.answer->values) {
      std::string shown = it.field ? ValueLabel(*it.field, v, m) : v;
      // Every line of a long answer indented under its question.
      std::string text = review::Printable(shown), out;
      for (char c : text) out += c == '\n' ? std::string("\n      ") : std::string(1, c);
      std::printf("      %s\n", out.c_str());
    }
  }
}

nlohmann::json Json(const Opened& o, const intake::Questionnaire* q) {
  const format::Manifest& m = o.m;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : m.files)
    files.push_back({{"name", review::SafeName(f.name)}, {"type", f.type}, {"size", f.size}});
  return {{"id", IdHex(o.rec.id)},
          {"received", storage::DayName(o.rec.day)},
          {"reply_key", m.has_reply_key ? nlohmann::json(ReplyKeyHex(m)) : nlohmann::json()},
          {"keys", KeyIds(o.rec)},
          {"opened_with", crypto::ToHex(o.key_id.data(), o.key_id.size())},
          {"message", m.message},
          {"files", files},
          {"answers", m.answers.empty() ? nlohmann::json() : AnswersJson(m, q)}};
}

void PrintText(const Opened& o, const std::vector<std::string>& mine,
               const intake::Questionnaire* q) {
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
  if (!m.answers.empty()) PrintAnswers(m, q);
  std::printf("message:\n%s\n", review::Printable(m.message).c_str());
}

// Several ids share one unlock: text blocks one after another, or for
// --json an array (one id alone gives one object).
int Run(const Args& a) {
  Reading rd;
  if (int rc = BeginReading(a.ids, a.vault, a.key, a.passfile, &rd)) return rc;
  const std::vector<std::string> mine = RingIds(*rd.key);
  nlohmann::json all = nlohmann::json::array();
  Questionnaires known;
  bool unknown = false;
  for (size_t i = 0; i < rd.recs.size(); i++) {
    Opened o;
    if (int rc = OpenSubmission(rd, i, &o)) return rc;
    const intake::Questionnaire* q = nullptr;
    if (!o.m.answers.empty()) {
      Status st = known.Find(rd.vault.get(), o.m.answers.hash, &q);
      if (!st.ok()) return Fail(st);
      unknown = unknown || q == nullptr;
    }
    if (!a.json) {
      if (i > 0) std::printf("\n");
      PrintText(o, mine, q);
      std::fflush(stdout);
    } else {
      all.push_back(Json(o, q));
    }
  }
  if (a.json) PrintJsonItems(all);
  if (unknown)
    std::fprintf(stderr, "%s: hint: answers shown as sent; %s\n", kTool,
                 AddQuestionnaireHint(a.vault).c_str());
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
