// The vault's index: what each submission told the vault when it was first
// read (day, source, questionnaire, the answers its rules and stats read,
// the triage outcome), sealed per reviewer (crypto.h "index key"), so that
// list and stats over 100,000 submissions open small records under one key
// instead of 100,000 sealed boxes (FORMAT.md "Index record").
#include <algorithm>
#include <map>
#include <set>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

constexpr size_t kBatch = 1000;

bool SealedToRing(const storage::SubmissionRec& rec, const crypto::Keyring& ring) {
  for (const auto& k : rec.keys)
    for (const auto& mine : ring.keys)
      if (k.key_id == mine.pub.id) return true;
  return false;
}

// The fields an index entry keeps: those the urgency rules and stats read.
std::set<std::string> Wanted(const intake::Questionnaire& q) {
  std::set<std::string> f;
  for (const auto& r : q.review.urgent) f.insert(r.field);
  for (const std::string* s :
       {&q.review.stats.country, &q.review.stats.kind, &q.review.stats.detention})
    if (!s->empty()) f.insert(*s);
  return f;
}

// The nonce that names the current version of a submission's triage record.
Status TriageNonce(storage::Store* vault, const storage::Id& id, std::array<uint8_t, 24>* out) {
  out->fill(0);
  std::vector<uint8_t> sealed;
  Status st = vault->GetTriage(id, &sealed);
  if (st.Is(Status::Code::kNotFound)) return Status::OK();
  SD_RETURN_IF_ERROR(st);
  if (sealed.size() < out->size()) return Status::Corruption("a triage record is truncated");
  std::copy(sealed.begin(), sealed.begin() + out->size(), out->begin());
  return Status::OK();
}

Status Build(storage::Store* vault, const crypto::Keyring& ring, const storage::SubmissionRec& rec,
             Questionnaires* qs, format::IndexEntry* e) {
  crypto::Secret ck;
  format::Manifest m;
  SD_RETURN_IF_ERROR(ReadManifest(vault, rec, ring, &ck, &m));
  *e = format::IndexEntry();
  e->day = rec.day;
  e->has_source = m.has_reply_key;
  if (m.has_reply_key) e->source = format::SourceOf(m.reply_key);
  if (!m.answers.empty()) {
    e->answered = true;
    e->questionnaire = m.answers.hash;
    const intake::Questionnaire* q = nullptr;
    SD_RETURN_IF_ERROR(qs->Find(vault, m.answers.hash, &q));
    if (q != nullptr) {
      e->read = true;
      const std::set<std::string> want = Wanted(*q);
      for (const auto& a : m.answers.list) {
        if (!want.count(a.field) || e->answers.size() == format::kMaxIndexAnswers) continue;
        format::Answer kept{a.field, {}};
        for (const auto& v : a.values)
          if (v.size() <= format::kMaxIndexValue) kept.values.push_back(v);
        if (!kept.values.empty()) e->answers.push_back(std::move(kept));
      }
    }
  }
  SD_RETURN_IF_ERROR(TriageNonce(vault, rec.id, &e->triage));
  if (e->triage != std::array<uint8_t, 24>{}) {
    format::Triage t;
    SD_RETURN_IF_ERROR(LoadTriage(vault, rec, ck, &t));
    e->outcome = t.outcome;
  }
  return Status::OK();
}

Status Seal(const crypto::Secret& key, const crypto::IndexId& iid, const storage::Id& id,
            const format::IndexEntry& e, std::vector<uint8_t>* sealed) {
  crypto::Secret plain;
  SD_RETURN_IF_ERROR(format::EncodeIndex(e, &plain));
  crypto::Id cid;
  std::copy(id.begin(), id.end(), cid.begin());
  return crypto::SealIndex(key, iid, cid, plain.data(), plain.size(), sealed);
}

}  // namespace

intake::Values AnswersOf(const format::IndexEntry& e) {
  intake::Values m;
  for (const auto& a : e.answers) m[a.field] = a.values;
  return m;
}

Status ReadIndex(storage::Store* vault, const crypto::Keyring& ring, Questionnaires* qs,
                 std::vector<Indexed>* out, uint64_t* others) {
  out->clear();
  *others = 0;
  crypto::Secret key;
  crypto::IndexId iid;
  SD_RETURN_IF_ERROR(DeriveIndexKey(ring, &key, &iid));
  std::map<storage::Id, format::IndexEntry> have;
  SD_RETURN_IF_ERROR(
      vault->ForEachIndex(iid, [&](const storage::Id& id, const uint8_t* p, size_t n) {
        crypto::Id cid;
        std::copy(id.begin(), id.end(), cid.begin());
        crypto::Secret plain;
        format::IndexEntry e;
        // A record that does not open or read is rebuilt, not trusted.
        if (crypto::OpenIndex(key, iid, cid, p, n, &plain).ok() &&
            format::DecodeIndex(plain.data(), plain.size(), &e).ok())
          have.emplace(id, std::move(e));
        return Status::OK();
      }));
  std::vector<storage::SubmissionRec> stale;
  Status inner = Status::OK();
  SD_RETURN_IF_ERROR(vault->ForEach([&](const storage::SubmissionRec& rec) {
    if (!SealedToRing(rec, ring)) {
      ++*others;
      return true;
    }
    auto it = have.find(rec.id);
    bool fresh = it != have.end();
    if (fresh && it->second.answered && !it->second.read) {
      const intake::Questionnaire* q = nullptr;
      inner = qs->Find(vault, it->second.questionnaire, &q);
      fresh = q == nullptr;
    }
    std::array<uint8_t, 24> nonce{};
    if (fresh && inner.ok()) {
      inner = TriageNonce(vault, rec.id, &nonce);
      fresh = nonce == it->second.triage;
    }
    if (!inner.ok()) return false;
    if (fresh)
      out->push_back({rec.id, std::move(it->second)});
    else
      stale.push_back(rec);
    return true;
  }));
  SD_RETURN_IF_ERROR(inner);
  std::vector<std::pair<storage::Id, std::vector<uint8_t>>> batch;
  for (size_t i = 0; i < stale.size(); i++) {
    Indexed x{stale[i].id, {}};
    SD_RETURN_IF_ERROR(Build(vault, ring, stale[i], qs, &x.e));
    std::vector<uint8_t> sealed;
    SD_RETURN_IF_ERROR(Seal(key, iid, x.id, x.e, &sealed));
    batch.push_back({x.id, std::move(sealed)});
    out->push_back(std::move(x));
    if (batch.size() == kBatch || i + 1 == stale.size()) {
      SD_RETURN_IF_ERROR(vault->PutIndex(iid, batch));
      batch.clear();
    }
  }
  if (!stale.empty())
    std::sort(out->begin(), out->end(),
              [](const Indexed& a, const Indexed& b) { return a.id < b.id; });
  return Status::OK();
}

Status Reindex(storage::Store* vault, const crypto::Keyring& ring,
               const std::vector<storage::SubmissionRec>& recs, Questionnaires* qs) {
  crypto::Secret key;
  crypto::IndexId iid;
  SD_RETURN_IF_ERROR(DeriveIndexKey(ring, &key, &iid));
  std::vector<std::pair<storage::Id, std::vector<uint8_t>>> batch;
  for (size_t i = 0; i < recs.size(); i++) {
    if (SealedToRing(recs[i], ring)) {
      format::IndexEntry e;
      SD_RETURN_IF_ERROR(Build(vault, ring, recs[i], qs, &e));
      std::vector<uint8_t> sealed;
      SD_RETURN_IF_ERROR(Seal(key, iid, recs[i].id, e, &sealed));
      batch.push_back({recs[i].id, std::move(sealed)});
    }
    if (batch.size() == kBatch || i + 1 == recs.size()) {
      SD_RETURN_IF_ERROR(vault->PutIndex(iid, batch));
      batch.clear();
    }
  }
  return Status::OK();
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
