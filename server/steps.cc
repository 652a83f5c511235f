// The questionnaire, a step at a time and without JavaScript: every step is
// a multipart form posted to /answer, whose values join the visitor's draft
// (server/drafts.cc) until the last step seals one submission with them.

#include "server/front.h"

namespace sealdrop {
namespace server {
namespace {

// What was typed, wiped when the request is done with it.
struct WipedValues {
  intake::Values v;
  ~WipedValues() { WipeValues(&v); }
};

// The visitor as the drafts know them, which is also their form token: a
// keyed hash of their session or form cookie (Sessions::Token), so that the
// table holds neither.
std::string Who(Site& site, const httplib::Request& req, httplib::Response& res) {
  const std::string id = LiveSession(site, req);
  if (!id.empty()) return site.sessions.Token("s:" + id);
  return FormToken(site, req, res);
}

Status DecodeValues(const crypto::Secret& s, intake::Values* out) {
  if (s.empty()) return Status::OK();
  format::Answers a;
  size_t used = 0;
  Status st = format::DecodeAnswers(s.data(), s.size(), &a, &used);
  for (auto& ans : a.list) {
    if (st.ok()) (*out)[ans.field] = ans.values;
    for (auto& v : ans.values) crypto::WipeString(&v);
  }
  return st;
}

// The answers in the order the questionnaire asks them.
void ToAnswers(const intake::Questionnaire& q, const intake::Values& values, format::Answers* a) {
  a->hash = q.hash;
  a->questionnaire = q.id;
  for (const intake::Step& s : q.steps)
    for (const intake::Field& f : s.fields) {
      auto it = values.find(f.id);
      if (it == values.end() || it->second.empty()) continue;
      format::Answer ans;
      ans.field = f.id;
      ans.values.assign(it->second.begin(),
                        it->second.begin() + std::min(it->second.size(), format::kMaxAnswerValues));
      a->list.push_back(std::move(ans));
    }
}

void WipeAnswers(format::Answers* a) {
  for (auto& ans : a->list)
    for (auto& v : ans.values) crypto::WipeString(&v);
}

Status Save(Drafts::Hold* hold, const intake::Questionnaire& q, const intake::Values& values) {
  format::Answers a;
  ToAnswers(q, values, &a);
  crypto::Secret enc;
  Status st = format::EncodeAnswers(a, &enc);
  WipeAnswers(&a);
  SD_RETURN_IF_ERROR(st);
  return hold->SetAnswers(std::move(enc));
}

// Gives up the draft's files (its upload aborts) and keeps its answers; ends
// the draft if even they cannot be kept.
void DropFiles(Drafts::Hold* hold, const intake::Questionnaire& q, intake::Values* values) {
  hold->draft().upload.reset();
  for (const intake::Step& s : q.steps)
    for (const intake::Field& f : s.fields)
      if (f.kind == intake::Kind::kFile) values->erase(f.id);
  if (!Save(hold, q, *values).ok()) hold->Remove();
}

void SendStep(Site& site, const httplib::Request& req, httplib::Response& res,
              const std::string& token, size_t step, const intake::Values& values,
              std::vector<intake::FieldError> errors = {}) {
  const intake::Questionnaire& q = *site.cfg.questionnaire;
  const std::vector<size_t> shown = intake::ShownSteps(q, values);
  StepView v;
  v.step = step;
  v.number = 1;
  for (size_t i : shown)
    if (i < step) v.number++;
  v.first = v.number == 1;
  v.last = !intake::MoreAfter(q, step, values);
  v.values = &values;
  v.errors = std::move(errors);
  const Catalog& c = Language(req);
  // What was typed is in the page: the copies on the way are wiped, and the
  // page itself once it is sent (routes.cc).
  std::string block = StepBlock(site.cfg, c, token, v);
  std::string page = IndexPage(site.cfg, c, token, block);
  crypto::WipeString(&block);
  res.set_content(std::move(page), kHtml);
}

// The first shown step of `shown` after (next) or before `step`; `step` if none.
size_t Neighbour(const std::vector<size_t>& shown, size_t step, bool next) {
  size_t out = step;
  for (size_t i : shown) {
    if (next && i > step) return i;
    if (!next && i < step) out = i;
  }
  return out;
}

// The submitted values of step `step` as CheckStep reads them: a file field
// holds every file it has, from this request and earlier ones.
intake::Values Checked(const intake::Step& s, const intake::Values& submitted,
                       const intake::Values& all) {
  intake::Values out = submitted;
  for (const intake::Field& f : s.fields) {
    if (f.kind != intake::Kind::kFile) continue;
    auto it = all.find(f.id);
    if (it != all.end() && !it->second.empty()) out[f.id] = it->second;
    else out.erase(f.id);
  }
  return out;
}

void HandleAnswer(Site& site, const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader) {
  const Config& cfg = site.cfg;
  if (!cfg.questionnaire) return Refuse(req, res, 404, "no_page");
  const intake::Questionnaire& q = *cfg.questionnaire;
  const std::string who = Who(site, req, res);
  Drafts::Hold hold;
  if (!site.drafts.Get(who, true, &hold).ok()) return Refuse(req, res, 503, "busy");
  Drafts::Draft& d = hold.draft();
  WipedValues all;
  if (!DecodeValues(d.answers, &all.v).ok()) {
    hold.Remove();
    return Refuse(req, res, 500, "server");
  }
  const intake::Step& s = q.steps[d.step];
  std::vector<std::string> file_fields;
  for (const intake::Field& f : s.fields)
    if (f.kind == intake::Kind::kFile) file_fields.push_back(f.id);
  const uint32_t held_files = d.upload ? uint32_t(d.upload->files()) : 0;
  const uint64_t held_bytes = d.upload ? d.upload->file_bytes() : 0;
  StepForm form(
      file_fields,
      [&](Upload** up) {
        if (!d.upload) {
          auto u = std::make_unique<Upload>(site.writer, cfg.recipients, storage::Today());
          SD_RETURN_IF_ERROR(u->Begin());
          d.upload = std::move(u);
        }
        *up = d.upload.get();
        return Status::OK();
      },
      cfg.max_files - std::min(cfg.max_files, held_files),
      cfg.max_upload - std::min(cfg.max_upload, held_bytes));
  Status st = form.Begin(req.get_header_value("Content-Type"));
  if (!st.ok()) return Refuse(req, res, 400, "not_a_form");
  bool too_slow = false;
  bool ok = ReadForm(cfg, req, reader,
                     [&](const char* data, size_t n) { return form.Feed(data, n); }, &too_slow);
  if (ok) st = form.Finish();
  if (!ok || !st.ok()) {
    // A file cut short cannot be told from a whole one: every file the
    // draft holds goes (its upload aborts), and the answers stay, so that
    // the source chooses the files again rather than typing everything.
    DropFiles(&hold, q, &all.v);
    if (too_slow) return Refuse(req, res, 408, "too_slow");
    const Status& err = ok ? st : form.error();
    if (!err.ok() && !err.Is(Status::Code::kInvalidArgument)) return RefuseFor(req, res, err, cfg);
    if (res.status == 413) return RefuseFor(req, res, Status::TooLarge(""), cfg);
    return Refuse(req, res, 400, "interrupted");
  }
  if (d.upload) (void)d.upload->Park();

  intake::Values& sub = form.values();
  // Files are kept whatever the button: they are sealed already.
  for (const std::string& id : file_fields) {
    auto it = sub.find(id);
    if (it == sub.end()) continue;
    auto& mine = all.v[id];
    mine.insert(mine.end(), it->second.begin(), it->second.end());
  }
  // A page from before (a second tab, a resent form): show where they are.
  if (form.step() != s.id) {
    if (!Save(&hold, q, all.v).ok()) return Refuse(req, res, 503, "busy");
    return SendStep(site, req, res, who, d.step, all.v);
  }
  // Whatever was typed is kept, right or wrong, so that it is shown again.
  WipedValues earlier;
  earlier.v = intake::Effective(q, all.v);
  for (const intake::Field& f : s.fields) {
    if (f.kind == intake::Kind::kFile || !intake::Holds(f.when, earlier.v)) continue;
    auto it = sub.find(f.id);
    if (it == sub.end()) {
      all.v.erase(f.id);
    } else {
      auto& mine = all.v[f.id];
      for (auto& v : mine) crypto::WipeString(&v);
      mine = it->second;
    }
  }
  WipedValues checked;
  checked.v = Checked(s, sub, all.v);
  std::vector<intake::FieldError> errors =
      intake::CheckStep(q, d.step, all.v, checked.v, cfg.country_codes);
  const bool back = form.action() == "back";
  size_t to = d.step;
  if (back) {
    to = Neighbour(intake::ShownSteps(q, all.v), d.step, false);
    errors.clear();
  } else if (errors.empty()) {
    to = Neighbour(intake::ShownSteps(q, all.v), d.step, true);
  }
  if (back || !errors.empty() || to != d.step) {
    if (!Save(&hold, q, all.v).ok()) return Refuse(req, res, 503, "busy");
    d.step = uint32_t(to);
    return SendStep(site, req, res, who, to, all.v, std::move(errors));
  }

  // The last step: every step shown is checked again, since going back may
  // have changed which fields an earlier one shows.
  WipedValues sealed;
  sealed.v = intake::Effective(q, all.v);
  for (size_t i : intake::ShownSteps(q, all.v)) {
    WipedValues mine;
    for (const intake::Field& f : q.steps[i].fields) {
      auto it = sealed.v.find(f.id);
      if (it != sealed.v.end()) mine.v[f.id] = it->second;
    }
    std::vector<intake::FieldError> e = intake::CheckStep(q, i, all.v, mine.v, cfg.country_codes);
    if (!e.empty()) {
      if (!Save(&hold, q, all.v).ok()) return Refuse(req, res, 503, "busy");
      d.step = uint32_t(i);
      return SendStep(site, req, res, who, i, all.v, std::move(e));
    }
  }
  Sender sender;
  st = IdentifySender(site, req, &sender);
  if (st.Is(Status::Code::kFull)) return Refuse(req, res, 503, "busy");
  if (st.Is(Status::Code::kNotFound)) return Refuse(req, res, 403, "login_needed");
  if (!st.ok()) return Refuse(req, res, 500, "server");
  if (!d.upload) {
    auto u = std::make_unique<Upload>(site.writer, cfg.recipients, storage::Today());
    st = u->Begin();
    if (!st.ok()) return RefuseFor(req, res, st, cfg);
    d.upload = std::move(u);
  }
  format::Answers answers;
  ToAnswers(q, sealed.v, &answers);
  d.upload->SetSource(sender.source);
  d.upload->SetAnswers(answers);
  Receipt receipt;
  receipt.answers = answers.list.size();
  WipeAnswers(&answers);
  st = d.upload->Commit(&receipt);
  if (!st.ok()) {
    // The store refused (full, say): what the upload wrote goes, and the
    // answers stay for another try.
    DropFiles(&hold, q, &all.v);
    return RefuseFor(req, res, st, cfg);
  }
  hold.Remove();
  Stats().Sealed();
  res.status = 200;
  AnswerUpload(site, req, res, &sender, receipt);
}

}  // namespace

void SendQuestionnaire(Site& site, const httplib::Request& req, httplib::Response& res) {
  const std::string who = Who(site, req, res);
  Drafts::Hold hold;
  WipedValues all;
  size_t step = 0;
  // A GET makes no draft: a flood of them fills nothing.
  if (site.drafts.Get(who, false, &hold).ok()) {
    if (!DecodeValues(hold.draft().answers, &all.v).ok()) return Refuse(req, res, 500, "server");
    step = hold.draft().step;
  }
  SendStep(site, req, res, who, step, all.v);
}

void AddSteps(Router& svr, Site& site) {
  svr.Get("/answer", [&site](const httplib::Request& req, httplib::Response& res) {
    if (!site.cfg.questionnaire) return Refuse(req, res, 404, "no_page");
    SendQuestionnaire(site, req, res);
  });
  svr.Post("/answer", [&site](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader) {
    HandleAnswer(site, req, res, reader);
  });
}

}  // namespace server
}  // namespace sealdrop
