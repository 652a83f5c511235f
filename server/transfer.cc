// Transfers between the server and the vault: bundles out, outboxes in. Both
// the command line (export, import-outbox) and the reviewer API use these.
#include <set>

#include "server/server.h"

namespace sealdrop {
namespace server {

Status BundleIds(storage::Store* store, bool resend, std::vector<storage::Id>* ids,
                 std::vector<storage::Id>* deleted) {
  ids->clear();
  // Every bundle carries the replies sources deleted here, until they would
  // have expired: a lost bundle loses none of them.
  SD_RETURN_IF_ERROR(store->DeletedReplies(format::kMaxBundleDeleted, deleted));
  if (!resend) return store->Unexported(ids);
  // Every submission held that no reviewer acknowledged: any of them a lost
  // or damaged bundle may have stranded. An acknowledged one is in a vault,
  // and only waits to be deleted.
  std::vector<storage::AckRec> acks;
  SD_RETURN_IF_ERROR(store->Acknowledged(&acks));
  std::set<storage::Id> acked;
  for (const auto& a : acks) acked.insert(a.id);
  return store->ForEach([&](const storage::SubmissionRec& rec) {
    if (!acked.count(rec.id)) ids->push_back(rec.id);
    return true;
  });
}

Status WriteBundle(storage::Store* store, const crypto::SigningKey& key,
                   const std::vector<storage::Id>& ids, const std::vector<storage::Id>& deleted,
                   uint32_t day, const format::Sink& sink, uint64_t* sealed) {
  *sealed = 0;
  // OpenSSL's BLAKE2b: hashing was two thirds of a courier fetch's time on
  // the API's one sending thread. libsodium's if this OpenSSL lacks it.
  std::unique_ptr<crypto::Digest> digest = crypto::NewOpensslBlake2b();
  format::BundleWriter w(key, day, sink, digest.get());
  SD_RETURN_IF_ERROR(w.Begin(!deleted.empty()));
  for (const storage::Id& id : deleted) SD_RETURN_IF_ERROR(w.AddDeleted(id));
  // Every page of the store read through its map counts in this process's
  // memory until let go: a 1 GiB bundle took the reviewer API to 1 GiB.
  constexpr uint64_t kLetGo = 16u << 20;
  uint64_t unreleased = 0;
  auto let_go = [&] {
    if (unreleased >= kLetGo) {
      store->DropMappedPages();
      unreleased = 0;
    }
    return Status::OK();
  };
  for (const storage::Id& id : ids) {
    storage::SubmissionRec rec;
    SD_RETURN_IF_ERROR(store->Get(id, &rec));
    SD_RETURN_IF_ERROR(w.AddSubmission(rec));
    for (uint32_t item = 0; item < rec.items.size(); item++)
      SD_RETURN_IF_ERROR(store->ReadItem(
          rec, item,
          [&](uint32_t index, const uint8_t* p, size_t n) {
            unreleased += n;
            return w.AddChunk(rec.id, item, index, p, n);
          },
          let_go));
    *sealed += storage::StoredSize(rec);
  }
  return w.Finish();
}

Status ImportOutboxBytes(const Config& cfg, const crypto::SignPublic& instance,
                         storage::Store* store, const std::string& bytes, OutboxImport* out,
                         std::string* hint) {
  *out = OutboxImport{};
  const char* nothing = "nothing was imported";
  *hint = nothing;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  // The header first, to name what is wrong; nothing it says is believed
  // until ReadOutbox has checked the signatures.
  format::OutboxInfo info;
  SD_RETURN_IF_ERROR(format::ReadOutboxHeader(p, bytes.size(), &info));
  const std::string signer = crypto::FormatSigningPublic(info.signer);
  const Recipient* who = cfg.Signer(info.signer);
  if (who == nullptr && cfg.Vouches(info.signer) != nullptr) {
    *hint = std::string(nothing) + "; write the outbox again with the reviewer's current "
            "signing key (sealdrop-review outbox --signing-key)";
    return Status::AuthFailed("the outbox is signed by " + signer + ", which " +
                              cfg.Vouches(info.signer)->name + " retired (retired_signing)");
  }
  if (who == nullptr) {
    *hint = std::string(nothing) + "; a reviewer's key is listed as `signing` in their [[recipient]]";
    return Status::AuthFailed("the outbox is signed by " + signer +
                              ", which is no reviewer's signing key in config.toml");
  }
  if (info.instance != instance) {
    *hint = std::string(nothing) + "; import it on the instance it names";
    return Status::AuthFailed("the outbox is for instance " +
                              crypto::ToHex(info.instance.data(), 32) + ", not this one (" +
                              crypto::ToHex(instance.data(), 32) + ")");
  }
  std::vector<format::OutboxReply> replies;
  std::vector<format::OutboxAck> acks;
  std::vector<storage::Id> deleted;
  Status st = format::ReadOutbox(p, bytes.size(), &info, &replies, &acks, &deleted);
  if (!st.ok()) {
    *hint = std::string(nothing) + "; the outbox was damaged or altered on its way: write it "
            "again with sealdrop-review outbox --again " + std::to_string(info.sequence);
    return st;
  }
  std::vector<storage::Id> held;
  st = MatchAcks(store, acks, &held, &out->gone);
  if (!st.ok()) {
    *hint = std::string(nothing) + "; the vault that wrote it did not get that submission from "
            "this server's bundles: ask the reviewer who signed it";
    return st;
  }
  std::vector<storage::ReplyRec> recs;
  const uint32_t today = storage::Today();
  for (auto& r : replies) {
    storage::ReplyRec rec;
    rec.source = r.source;
    rec.id = r.id;
    rec.day = today;
    rec.signer = info.signer;
    rec.sig = r.sig;
    rec.sealed = std::move(r.sealed);
    recs.push_back(std::move(rec));
  }
  uint64_t expected = 0, removed = 0;
  st = store->ImportOutbox(info.signer, info.sequence, recs, held, today, &expected, deleted,
                           &removed);
  const std::string number = std::to_string(info.sequence);
  if (st.Is(Status::Code::kExists)) {
    *hint = std::string(nothing) + "; the next outbox from this reviewer is number " +
            std::to_string(expected);
    return Status::Exists("outbox " + number + " from " + who->name +
                          " was imported before (a replay)");
  }
  if (st.Is(Status::Code::kInvalidArgument)) {
    *hint = std::string(nothing) + "; import outbox " + std::to_string(expected) +
            " first, or have it written again with sealdrop-review outbox --again " +
            std::to_string(expected);
    return Status::InvalidArgument("outbox " + number + " from " + who->name +
                                   " is out of order: this instance expects number " +
                                   std::to_string(expected));
  }
  SD_RETURN_IF_ERROR(st);
  hint->clear();
  out->number = info.sequence;
  out->from = who->name;
  out->replies = recs.size();
  out->acks = acks.size();
  out->held = held.size();
  out->deleted = removed;
  out->delete_day = today + cfg.ack_grace_days;
  return Status::OK();
}

std::string OutboxImport::Report(uint32_t grace) const {
  std::string s = "imported outbox " + std::to_string(number) + " from " + from + ": " +
                  std::to_string(replies) + " replies, " + std::to_string(acks) +
                  " acknowledgements\n";
  if (gone > 0)
    s += std::to_string(gone) + " of the acknowledged submissions were deleted already\n";
  if (deleted > 0)
    s += std::to_string(deleted) + " replies deleted, as their sources asked through another "
         "instance\n";
  if (held > 0)
    s += std::to_string(held) + " acknowledged submissions will be deleted from " +
         storage::DayName(delete_day) + " (ack_grace_days = " + std::to_string(grace) +
         "), at a start or change of day of sealdrop-server serve\n";
  return s;
}

}  // namespace server
}  // namespace sealdrop
