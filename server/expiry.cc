// Deleting old submissions, when the operator asks for it (expire_days).
#include "server/server.h"

namespace sealdrop {
namespace server {

Status ExpireSubmissions(const Config& cfg, storage::Store* store, uint32_t today,
                         std::vector<storage::Id>* ids) {
  ids->clear();
  if (cfg.expire_days == 0 || today < cfg.expire_days) return Status::OK();
  SD_RETURN_IF_ERROR(store->ExportedBefore(today - cfg.expire_days + 1, ids));
  return store->Withdraw(*ids);
}

}  // namespace server
}  // namespace sealdrop
