// Replies on the server: which ones a logged-in source can read, opened with
// the keys their session holds, and their deletion once they are old.
#include <algorithm>

#include "server/server.h"

namespace sealdrop {
namespace server {

Status ReadReplies(const Config& cfg, storage::Store* store, const crypto::SourceKeys& keys,
                   std::vector<OpenedReply>* out) {
  out->clear();
  std::vector<storage::ReplyRec> recs;
  SD_RETURN_IF_ERROR(store->Replies(keys.pk, kMaxShownReplies, &recs));
  std::sort(recs.begin(), recs.end(), [](const storage::ReplyRec& a, const storage::ReplyRec& b) {
    return a.day != b.day ? a.day < b.day : a.id < b.id;
  });
  for (const storage::ReplyRec& rec : recs) {
    OpenedReply r;
    r.id = rec.id;
    r.day = rec.day;
    // Checked again at every showing: a reply written into the store by
    // anyone but a reviewer listed now is never shown as theirs.
    const std::vector<uint8_t> signed_bytes = crypto::ReplySignedBytes(
        cfg.instance, rec.id, rec.source.data(), rec.sealed.data(), rec.sealed.size());
    r.readable = cfg.Vouches(rec.signer) != nullptr &&
                 crypto::Verify(rec.signer.data(), signed_bytes.data(), signed_bytes.size(),
                                rec.sig.data()) &&
                 crypto::OpenReply(rec.sealed.data(), rec.sealed.size(), keys, &r.text).ok();
    if (!r.readable) r.text = crypto::Secret();
    out->push_back(std::move(r));
  }
  return Status::OK();
}

Status ExpireOldReplies(const Config& cfg, storage::Store* store) {
  const uint32_t today = storage::Today();
  if (today < cfg.reply_days) return Status::OK();
  uint64_t removed = 0;
  return store->ExpireReplies(today - cfg.reply_days + 1, &removed);
}

}  // namespace server
}  // namespace sealdrop
