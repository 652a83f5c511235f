// Acknowledgements: the reviewers' word that their vault holds a submission,
// after which the server deletes it once a grace period has passed.
#include <algorithm>

#include "server/server.h"

namespace sealdrop {
namespace server {

Status MatchAcks(storage::Store* store, const std::vector<format::OutboxAck>& acks,
                 std::vector<storage::Id>* held, size_t* gone) {
  held->clear();
  *gone = 0;
  for (const format::OutboxAck& a : acks) {
    storage::SubmissionRec rec;
    Status st = store->Get(a.id, &rec);
    if (st.Is(Status::Code::kNotFound)) {
      ++*gone;
      continue;
    }
    SD_RETURN_IF_ERROR(st);
    const format::RecordDigest h = format::RecordHash(rec);
    if (!crypto::Equal(h.data(), a.hash.data(), h.size()))
      return Status::Corruption("the outbox acknowledges submission " +
                                crypto::ToHex(a.id.data(), a.id.size()) +
                                " with a record this server did not send");
    held->push_back(a.id);
  }
  return Status::OK();
}

namespace {

bool Due(const Config& cfg, const storage::AckRec& a, uint32_t today) {
  return uint64_t(a.day) + cfg.ack_grace_days <= today;
}

}  // namespace

Status DeleteAcknowledged(const Config& cfg, storage::Store* store, uint32_t today,
                          std::vector<storage::Id>* ids) {
  ids->clear();
  std::vector<storage::AckRec> acks;
  SD_RETURN_IF_ERROR(store->Acknowledged(&acks));
  for (const storage::AckRec& a : acks)
    if (Due(cfg, a, today) && cfg.Vouches(a.signer) != nullptr) ids->push_back(a.id);
  return WithdrawAll(store, ids);
}

Status SummariseAcks(const Config& cfg, storage::Store* store, AckSummary* out) {
  *out = AckSummary{};
  std::vector<storage::AckRec> acks;
  SD_RETURN_IF_ERROR(store->Acknowledged(&acks));
  for (const storage::AckRec& a : acks) {
    if (cfg.Vouches(a.signer) == nullptr) {
      out->unlisted++;
      continue;
    }
    out->waiting++;
    const uint32_t day = a.day + cfg.ack_grace_days;
    out->next_day = out->waiting == 1 ? day : std::min(out->next_day, day);
  }
  return Status::OK();
}

}  // namespace server
}  // namespace sealdrop
