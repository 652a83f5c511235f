// Deleting submissions: old ones when the operator asks for it
// (expire_days), and acknowledged ones once their grace is over.
#include <cstdio>

#include "server/server.h"

namespace sealdrop {
namespace server {

Status ExpireSubmissions(const Config& cfg, storage::Store* store, uint32_t today,
                         std::vector<storage::Id>* ids) {
  ids->clear();
  if (cfg.expire_days == 0 || today < cfg.expire_days) return Status::OK();
  SD_RETURN_IF_ERROR(store->ExportedBefore(today - cfg.expire_days + 1, ids));
  return WithdrawAll(store, ids);
}

Status WithdrawAll(storage::Store* store, std::vector<storage::Id>* ids) {
  Status st = store->Withdraw(*ids);
  // Nothing was withdrawn: the caller must not remove these ids' chunks.
  if (!st.ok()) ids->clear();
  return st;
}

Status DeleteDue(const Config& cfg, storage::Store* store, uint32_t today, Deleted* out) {
  Status st = ExpireSubmissions(cfg, store, today, &out->expired);
  Status st2 = DeleteAcknowledged(cfg, store, today, &out->acknowledged);
  return st.ok() ? st2 : st;
}

void ReportDeleted(const Config& cfg, const Deleted& d) {
  if (!d.expired.empty())
    std::fprintf(stderr, "sealdrop-server: deleted %zu exported submissions received %u days ago "
                 "or earlier\n", d.expired.size(), cfg.expire_days);
  if (!d.acknowledged.empty())
    std::fprintf(stderr, "sealdrop-server: deleted %zu submissions the reviewers acknowledged %u "
                 "days ago or earlier\n", d.acknowledged.size(), cfg.ack_grace_days);
}

}  // namespace server
}  // namespace sealdrop
