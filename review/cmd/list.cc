// sealdrop-review list: the vault's submissions, newest first. Read without
// the key; with --key, also each one's triage (status, star, assignee) and
// deadlines, which the filters use, and urgent cases first: urgency is
// judged here, from the questionnaire's rules and the answers the vault's
// sealed index keeps (index.cc), never on the server.
#include <algorithm>
#include <cstdint>
#include <map>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "review/cmd/cmd.h"
#include "review/cmd/json.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::string vault, key, passfile;
  bool json = false;
  size_t limit = 100;
  bool all = false;
  // Filters. By day, without the key; the rest need it.
  std::string from, to, status, assignee;
  bool starred = false, overdue = false;
};

bool ParseDay(const std::string& text, uint32_t* day) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return false;
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) return false;
  // Days from civil (Howard Hinnant's algorithm).
  y -= m <= 2;
  const int era = y / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = unsigned((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *day = uint32_t(era * 146097 + int(doe) - 719468);
  return storage::DayName(*day) == text;  // refuses 2026-02-30
}

// What list shows of a submission beyond its record, with the key.
struct Seen {
  format::Triage t;
  Deadlines d;
  intake::Urgency u;
};

int Run(const Args& a) {
  const bool triage_filter = !a.status.empty() || !a.assignee.empty() || a.starred || a.overdue;
  if (triage_filter && a.key.empty())
    return Fail(Status::InvalidArgument("--status, --assignee, --starred and --overdue need --key"),
                "the triage is sealed: give your key to read it");
  format::CaseStatus want = format::CaseStatus::kNew;
  if (!a.status.empty() && !format::ParseStatusName(a.status, &want))
    return Fail(Status::InvalidArgument("unknown status '" + a.status + "'"),
                "--status takes new, in-progress or closed");
  uint32_t from = 0, to = UINT32_MAX;
  if (!a.from.empty() && !ParseDay(a.from, &from))
    return Fail(Status::InvalidArgument("--from takes a day as 2026-12-03"));
  if (!a.to.empty() && !ParseDay(a.to, &to))
    return Fail(Status::InvalidArgument("--to takes a day as 2026-12-03"));

  Reading rd;
  std::unique_ptr<storage::Store>& vault = rd.vault;
  if (!a.key.empty()) {
    if (int rc = BeginReading({}, a.vault, a.key, a.passfile, &rd)) return rc;
  } else {
    Status st = OpenVault(a.vault, false, &vault);
    if (!st.ok())
      return Fail(st, "import a bundle first: sealdrop-review import <bundle> --vault <dir> --key <key>");
  }
  const bool filtered = triage_filter || from > 0 || to < UINT32_MAX;
  std::vector<storage::SubmissionRec> all;
  uint64_t total = 0;
  // With the key every submission is a candidate: an urgent case from last
  // year comes before today's.
  Status st = vault->Newest(filtered || rd.key ? SIZE_MAX : a.limit, &all, &total);
  if (!st.ok()) return Fail(st);
  std::map<storage::Id, intake::Urgency> urgency;
  uint64_t others = 0;  // sealed to other keys only
  if (rd.key) {
    Questionnaires qs;
    std::vector<Indexed> index;
    st = ReadIndex(vault.get(), *rd.key, &qs, &index, &others);
    if (!st.ok()) return Fail(st);
    for (const Indexed& x : index) {
      const intake::Questionnaire* q = nullptr;
      if (!x.e.read) continue;
      st = qs.Find(vault.get(), x.e.questionnaire, &q);
      if (!st.ok()) return Fail(st);
      if (q == nullptr) continue;
      intake::Urgency u = intake::Judge(q->review, AnswersOf(x.e), storage::Today());
      if (u.urgent) urgency[x.id] = std::move(u);
    }
    // Urgent first, the earliest date first; the rest stay newest first.
    std::stable_sort(all.begin(), all.end(),
                     [&](const storage::SubmissionRec& x, const storage::SubmissionRec& y) {
                       auto ux = urgency.find(x.id), uy = urgency.find(y.id);
                       if ((ux != urgency.end()) != (uy != urgency.end())) return ux != urgency.end();
                       if (ux == urgency.end()) return false;
                       return ux->second.days < uy->second.days;
                     });
  }
  std::vector<storage::QueuedReply> replies;
  if (rd.key) {
    st = vault->QueuedReplies(&replies);
    if (!st.ok()) return Fail(st);
  }
  const uint32_t today = storage::Today();

  std::vector<std::pair<const storage::SubmissionRec*, Seen>> shown;
  size_t matched = 0;
  uint64_t sealed_to_others = 0;
  for (const auto& r : all) {
    if (r.day < from || r.day > to) continue;
    // Past the limit, only filters need what is sealed.
    if (!triage_filter && shown.size() >= a.limit) {
      matched++;
      continue;
    }
    Seen seen;
    if (auto u = urgency.find(r.id); u != urgency.end()) seen.u = u->second;
    if (rd.key) {
      crypto::Secret ck;
      st = crypto::OpenContentKey(SealedKeys(r), *rd.key, &ck);
      if (st.Is(Status::Code::kNotFound)) {
        sealed_to_others++;  // not ours to read: left out when filtering by triage
        if (triage_filter) continue;
      } else if (!st.ok()) {
        return Fail(st);
      } else {
        st = LoadTriage(vault.get(), r, ck, &seen.t);
        if (!st.ok()) return Fail(st);
      }
      seen.d = DeadlinesOf(r, seen.t, replies, today);
      if (!a.status.empty() && seen.t.status != want) continue;
      if (a.starred && !seen.t.starred) continue;
      if (!a.assignee.empty() && seen.t.assignee != a.assignee) continue;
      if (a.overdue && !seen.d.ack_overdue && !seen.d.feedback_overdue) continue;
    }
    matched++;
    if (shown.size() < a.limit) shown.push_back({&r, std::move(seen)});
  }

  nlohmann::json arr = nlohmann::json::array();
  if (!a.json) {
    std::printf("%-32s  %-10s  %5s  %14s", "id", "received", "files", "sealed bytes");
    if (rd.key) std::printf("  %-11s  %-1s  %-16s  %s", "status", "*", "assignee", "due");
    std::printf("\n");
  }
  for (const auto& [rp, seen] : shown) {
    const storage::SubmissionRec& r = *rp;
    if (a.json) {
      nlohmann::json j = {{"id", IdHex(r.id)},
                          {"received", storage::DayName(r.day)},
                          {"files", r.items.size() - 1},
                          {"sealed_bytes", storage::StoredSize(r)}};
      if (rd.key) {
        j["status"] = format::StatusName(seen.t.status);
        j["starred"] = seen.t.starred;
        j["assignee"] = seen.t.assignee;
        j["overdue"] = seen.d.ack_overdue || seen.d.feedback_overdue;
        j["urgent"] = seen.u.urgent;
        j["why"] = seen.u.why;
      }
      arr.push_back(std::move(j));
      continue;
    }
    std::printf("%-32s  %-10s  %5zu  %14llu", IdHex(r.id).c_str(), storage::DayName(r.day).c_str(),
                r.items.size() - 1, static_cast<unsigned long long>(storage::StoredSize(r)));
    if (rd.key) {
      const Deadlines& d = seen.d;
      std::string due = d.ack_overdue        ? "OVERDUE: acknowledge"
                        : d.feedback_overdue ? "OVERDUE: feedback"
                        : !d.acknowledged    ? "ack by " + storage::DayName(d.ack_due)
                        : !d.fed_back        ? "feedback by " + storage::DayName(d.feedback_due)
                                             : "";
      std::string why;
      for (const std::string& w : seen.u.why) why += (why.empty() ? "URGENT: " : ", ") + w;
      std::printf("  %-11s  %-1s  %-16s  %s%s%s", format::StatusName(seen.t.status),
                  seen.t.starred ? "*" : "", review::Printable(seen.t.assignee).c_str(),
                  due.c_str(), due.empty() || why.empty() ? "" : "  ", why.c_str());
    }
    std::printf("\n");
  }
  if (a.json) PrintJson(arr);
  const uint64_t of = filtered ? matched : total;
  if (shown.size() < of)
    std::fprintf(stderr, "%s: showing %zu of %llu; --all lists every one\n", kTool, shown.size(),
                 static_cast<unsigned long long>(of));
  if (!triage_filter) sealed_to_others = others;
  if (rd.key && sealed_to_others > 0)
    std::fprintf(stderr, "%s: %llu submissions are not sealed to your key%s\n", kTool,
                 static_cast<unsigned long long>(sealed_to_others), triage_filter ? " and were left out" : "");
  return 0;
}

}  // namespace

Command AddList(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("list", "list the submissions in the vault, newest first");
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_flag("--json", a->json, "print a JSON array");
  c->add_option("--limit", a->limit, "how many of the newest to list")->capture_default_str();
  c->add_flag("--all", a->all, "list every submission");
  c->add_option("--key", a->key,
                "your secret key file: adds status, star, assignee, deadlines; urgent cases first");
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  c->add_option("--from", a->from, "received on or after this day (2026-12-03)");
  c->add_option("--to", a->to, "received on or before this day");
  c->add_option("--status", a->status, "only new, in-progress or closed ones (needs --key)");
  c->add_flag("--starred", a->starred, "only starred ones (needs --key)");
  c->add_option("--assignee", a->assignee, "only those assigned to this name (needs --key)");
  c->add_flag("--overdue", a->overdue, "only those past a deadline (needs --key)");
  return {c, [a] {
            Args b = *a;
            if (b.all) b.limit = SIZE_MAX;
            return Run(b);
          }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
