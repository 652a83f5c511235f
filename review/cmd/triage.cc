// sealdrop-review triage: the team's notes on submissions (status, star,
// assignee, outcome, dated notes), kept in the vault only and sealed under
// each submission's content key; and the deadlines list marks.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "review/cmd/cmd.h"
#include "review/cmd/json.h"

namespace sealdrop {
namespace review {
namespace cmd {

Status LoadTriage(storage::Store* vault, const storage::SubmissionRec& rec,
                  const crypto::Secret& ck, format::Triage* t) {
  *t = format::Triage();
  std::vector<uint8_t> sealed;
  Status st = vault->GetTriage(rec.id, &sealed);
  if (st.Is(Status::Code::kNotFound)) return Status::OK();
  SD_RETURN_IF_ERROR(st);
  crypto::Secret plain;
  SD_RETURN_IF_ERROR(crypto::OpenTriage(ck, rec.id, sealed.data(), sealed.size(), &plain));
  return format::DecodeTriage(plain.data(), plain.size(), t);
}

Status SealTriageOf(const storage::SubmissionRec& rec, const crypto::Secret& ck,
                    const format::Triage& t, std::vector<uint8_t>* sealed) {
  crypto::Secret plain;
  SD_RETURN_IF_ERROR(format::EncodeTriage(t, &plain));
  return crypto::SealTriage(ck, rec.id, plain.data(), plain.size(), sealed);
}

Status SaveTriage(storage::Store* vault, const storage::SubmissionRec& rec,
                  const crypto::Secret& ck, const format::Triage& t) {
  std::vector<uint8_t> sealed;
  SD_RETURN_IF_ERROR(SealTriageOf(rec, ck, t, &sealed));
  return vault->PutTriage(rec.id, sealed);
}

namespace {

struct Args {
  std::vector<std::string> ids;
  std::string vault, key, passfile, status, assign, outcome, note, note_file;
  bool star = false, unstar = false, unassign = false, json = false;
};

bool Changes(const Args& a) {
  return !a.status.empty() || a.star || a.unstar || !a.assign.empty() || a.unassign ||
         !a.outcome.empty() || !a.note.empty() || !a.note_file.empty();
}

std::string DueText(const Deadlines& d) {
  if (d.ack_overdue) return "acknowledgement overdue since " + storage::DayName(d.ack_due);
  if (d.feedback_overdue) return "feedback overdue since " + storage::DayName(d.feedback_due);
  if (!d.acknowledged) return "acknowledge by " + storage::DayName(d.ack_due);
  if (!d.fed_back) return "feedback by " + storage::DayName(d.feedback_due);
  return "deadlines met";
}

// The label of an outcome its questionnaire defines; empty for free text.
std::string OutcomeLabel(const format::Triage& t, const intake::Questionnaire* q) {
  const intake::Outcome* o = q ? q->review.FindOutcome(t.outcome) : nullptr;
  return o ? intake::Text(o->label, "en") : "";
}

void Print(const storage::SubmissionRec& rec, const format::Triage& t, const Deadlines& d,
           const std::string& label) {
  std::printf("%s: %s%s%s; %s\n", IdHex(rec.id).c_str(), format::StatusName(t.status),
              t.starred ? ", starred" : "",
              t.assignee.empty() ? "" : (", assigned to " + review::Printable(t.assignee)).c_str(),
              DueText(d).c_str());
  std::printf("  %s\n", t.extracted ? ("extracted " + storage::DayName(t.extracted)).c_str()
                                     : "never extracted");
  if (!t.outcome.empty())
    std::printf("  outcome: %s%s\n", review::Printable(t.outcome).c_str(),
                label.empty() ? "" : (" (" + review::Printable(label) + ")").c_str());
  for (const auto& n : t.notes)
    std::printf("  %s  %s\n", storage::DayName(n.day).c_str(), review::Printable(n.text).c_str());
}

nlohmann::json Json(const storage::SubmissionRec& rec, const format::Triage& t,
                    const Deadlines& d, const std::string& label) {
  nlohmann::json notes = nlohmann::json::array();
  for (const auto& n : t.notes) notes.push_back({{"day", storage::DayName(n.day)}, {"text", n.text}});
  return {{"id", IdHex(rec.id)},
          {"status", format::StatusName(t.status)},
          {"starred", t.starred},
          {"extracted", t.extracted ? nlohmann::json(storage::DayName(t.extracted)) : nlohmann::json()},
          {"assignee", t.assignee},
          {"outcome", t.outcome},
          {"outcome_label", label.empty() ? nlohmann::json() : nlohmann::json(label)},
          {"notes", notes},
          {"acknowledged", d.acknowledged},
          {"ack_due", storage::DayName(d.ack_due)},
          {"feedback_due", storage::DayName(d.feedback_due)},
          {"overdue", d.ack_overdue || d.feedback_overdue}};
}

int Run(const Args& a) {
  format::CaseStatus status = format::CaseStatus::kNew;
  if (!a.status.empty() && !format::ParseStatusName(a.status, &status))
    return Fail(Status::InvalidArgument("unknown status '" + a.status + "'"),
                "--status takes new, in-progress or closed");
  if (a.star && a.unstar) return Fail(Status::InvalidArgument("--star and --unstar together"));
  if (!a.assign.empty() && a.unassign)
    return Fail(Status::InvalidArgument("--assign and --unassign together"));
  std::string note = a.note;
  if (!a.note_file.empty()) {
    if (!note.empty()) return Fail(Status::InvalidArgument("--note and --note-file together"));
    Status st = cli::ReadFile(a.note_file, &note, format::kMaxNote);
    if (!st.ok()) return Fail(st);
  }
  Reading rd;
  if (int rc = BeginReading(a.ids, a.vault, a.key, a.passfile, &rd)) return rc;
  std::vector<storage::QueuedReply> replies;
  Status st = rd.vault->QueuedReplies(&replies);
  if (!st.ok()) return Fail(st);
  const uint32_t today = storage::Today();
  nlohmann::json all = nlohmann::json::array();
  Questionnaires qs;
  // Every case is checked before any changes: a refused outcome changes
  // nothing.
  if (!a.outcome.empty())
    for (const storage::SubmissionRec& rec : rd.recs) {
      crypto::Secret ck;
      format::Manifest m;
      st = ReadManifest(rd.vault.get(), rec, *rd.key, &ck, &m);
      if (!st.ok()) return Fail(st, "only reviewers whose key it is sealed to can see its notes");
      const intake::Questionnaire* q = nullptr;
      if (!m.answers.empty()) {
        st = qs.Find(rd.vault.get(), m.answers.hash, &q);
        if (!st.ok()) return Fail(st);
      }
      if (q == nullptr || q->review.outcomes.empty() || q->review.FindOutcome(a.outcome)) continue;
      std::string ids;
      for (const auto& o : q->review.outcomes)
        ids += (ids.empty() ? "" : ", ") + o.id + " (" + intake::Text(o.label, "en") + ")";
      return Fail(Status::InvalidArgument("'" + a.outcome + "' is not an outcome questionnaire " +
                                          q->id + " defines, which " + IdHex(rec.id) +
                                          " answered"),
                  "--outcome takes one of " + ids);
    }
  for (const storage::SubmissionRec& rec : rd.recs) {
    crypto::Secret ck;
    st = crypto::OpenContentKey(SealedKeys(rec), *rd.key, &ck);
    if (!st.ok()) return Fail(st, "only reviewers whose key it is sealed to can see its notes");
    format::Triage t;
    st = LoadTriage(rd.vault.get(), rec, ck, &t);
    if (!st.ok()) return Fail(st);
    if (Changes(a)) {
      if (!a.status.empty()) t.status = status;
      if (a.star || a.unstar) t.starred = a.star;
      if (!a.assign.empty() || a.unassign) t.assignee = a.assign;
      if (!a.outcome.empty()) t.outcome = a.outcome;
      if (!note.empty()) t.notes.push_back({today, note});
      st = SaveTriage(rd.vault.get(), rec, ck, t);
      // The index keeps the outcome for stats; list rebuilds it if this fails.
      if (st.ok()) st = Reindex(rd.vault.get(), *rd.key, {rec}, &qs);
      if (!st.ok()) return Fail(st);
    }
    const Deadlines d = DeadlinesOf(rec, t, replies, today);
    // An outcome the case's questionnaire defines is shown with its label.
    std::string label;
    if (!t.outcome.empty()) {
      format::Manifest m;
      crypto::Secret mck;
      st = ReadManifest(rd.vault.get(), rec, *rd.key, &mck, &m);
      const intake::Questionnaire* q = nullptr;
      if (st.ok() && !m.answers.empty()) st = qs.Find(rd.vault.get(), m.answers.hash, &q);
      if (!st.ok()) return Fail(st);
      label = OutcomeLabel(t, q);
    }
    if (a.json) all.push_back(Json(rec, t, d, label));
    else Print(rec, t, d, label);
  }
  if (a.json) PrintJsonItems(all);
  return 0;
}

}  // namespace

Command AddTriage(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand(
      "triage", "show or change the team's notes on submissions (status, star, assignee, ...)");
  c->add_option("ids", a->ids, "submission ids (or unique prefixes)")->required();
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_option("--key", a->key, "your secret key file")->required();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  c->add_option("--status", a->status, "new, in-progress or closed");
  c->add_flag("--star", a->star, "star it");
  c->add_flag("--unstar", a->unstar, "remove the star");
  c->add_option("--assign", a->assign, "who works on it (a name the team uses)");
  c->add_flag("--unassign", a->unassign, "no one works on it");
  c->add_option("--outcome", a->outcome,
                "what came of it: one of its questionnaire's outcome ids, else a few words");
  c->add_option("--note", a->note, "add a dated note");
  c->add_option("--note-file", a->note_file, "add a dated note from a file");
  c->add_flag("--json", a->json, "print JSON");
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
