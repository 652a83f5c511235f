// The outbox: replies the team wrote on the air-gapped laptop, and the
// submissions its vault holds, carried to one instance, signed by a reviewer
// (FORMAT.md "Outbox").
#include <cstring>
#include <set>

#include "format/format.h"

namespace sealdrop {
namespace format {
namespace {

constexpr char kMagic[8] = {'S', 'D', 'O', 'U', 'T', 'B', 'O', 'X'};
// Written: 3 when it forwards deletions, else 2. 1 is still read: replies only.
constexpr uint8_t kVersion = 2;
constexpr uint8_t kDeletionsVersion = 3;

void Put(std::string* s, const void* p, size_t n) { s->append(static_cast<const char*>(p), n); }

void PutLe(std::string* s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) s->push_back(char(uint8_t(v >> (8 * i))));
}

uint64_t GetLe(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

}  // namespace

size_t MaxOutbox() {
  return kOutboxHeaderSize +
         kMaxOutboxReplies * (kOutboxEntryHead + crypto::MaxSealedReply() + crypto::kSignatureSize) +
         4 + kMaxOutboxAcks * kOutboxAckSize + 4 + kMaxOutboxDeleted * storage::kIdSize +
         crypto::kSignatureSize;
}

RecordDigest RecordHash(const storage::SubmissionRec& rec) {
  const std::string bytes = storage::EncodeSubmission(rec);
  RecordDigest h;
  crypto::Hash256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), h.data());
  return h;
}

Status WriteOutbox(const crypto::SigningKey& key, const OutboxInfo& info,
                   std::vector<OutboxReply>* replies, const std::vector<OutboxAck>& acks,
                   std::string* out, const std::vector<storage::Id>& deleted) {
  if (replies->size() > kMaxOutboxReplies)
    return Status::TooLarge("an outbox holds at most " + std::to_string(kMaxOutboxReplies) +
                            " replies");
  if (acks.size() > kMaxOutboxAcks)
    return Status::TooLarge("an outbox holds at most " + std::to_string(kMaxOutboxAcks) +
                            " acknowledgements");
  if (deleted.size() > kMaxOutboxDeleted)
    return Status::TooLarge("an outbox forwards at most " + std::to_string(kMaxOutboxDeleted) +
                            " deletions");
  if (info.sequence == 0) return Status::InvalidArgument("outbox numbers start at 1");
  out->clear();
  Put(out, kMagic, 8);
  out->push_back(char(deleted.empty() ? kVersion : kDeletionsVersion));
  Put(out, info.instance.data(), 32);
  Put(out, key.pk.data(), 32);
  PutLe(out, info.sequence, 8);
  PutLe(out, replies->size(), 4);
  std::set<storage::Id> ids;
  for (OutboxReply& r : *replies) {
    // A reader refuses an outbox that holds one reply twice.
    if (!ids.insert(r.id).second) return Status::InvalidArgument("one reply given twice");
    if (r.sealed.size() > crypto::MaxSealedReply())
      return Status::TooLarge("a sealed reply is longer than any reply can be");
    std::vector<uint8_t> m = crypto::ReplySignedBytes(info.instance, r.id, r.source.data(),
                                                      r.sealed.data(), r.sealed.size());
    crypto::Sign(key, m.data(), m.size(), r.sig.data());
    Put(out, r.id.data(), r.id.size());
    Put(out, r.source.data(), r.source.size());
    PutLe(out, r.sealed.size(), 4);
    Put(out, r.sealed.data(), r.sealed.size());
    Put(out, r.sig.data(), r.sig.size());
  }
  PutLe(out, acks.size(), 4);
  std::set<storage::Id> acked;
  for (const OutboxAck& a : acks) {
    if (!acked.insert(a.id).second) return Status::InvalidArgument("one submission acknowledged twice");
    Put(out, a.id.data(), a.id.size());
    Put(out, a.hash.data(), a.hash.size());
  }
  if (!deleted.empty()) {
    PutLe(out, deleted.size(), 4);
    std::set<storage::Id> gone;
    for (const storage::Id& id : deleted) {
      if (!gone.insert(id).second) return Status::InvalidArgument("one deletion given twice");
      Put(out, id.data(), id.size());
    }
  }
  uint8_t sig[crypto::kSignatureSize];
  crypto::Sign(key, reinterpret_cast<const uint8_t*>(out->data()), out->size(), sig);
  Put(out, sig, sizeof sig);
  return Status::OK();
}

Status ReadOutboxHeader(const uint8_t* p, size_t n, OutboxInfo* info) {
  if (n < 8 || std::memcmp(p, kMagic, 8) != 0)
    return Status::Corruption("not a sealdrop outbox (bad magic)");
  if (n < 9) return Status::Corruption("outbox is truncated");
  if (p[8] < 1 || p[8] > kDeletionsVersion)
    return Status::Version("outbox version " + std::to_string(p[8]) +
                           " is not supported by this build (supports 1 to 3)");
  if (n < kOutboxHeaderSize) return Status::Corruption("outbox is truncated");
  std::memcpy(info->instance.data(), p + 9, 32);
  std::memcpy(info->signer.data(), p + 41, 32);
  info->sequence = GetLe(p + 73, 8);
  info->count = uint32_t(GetLe(p + 81, 4));
  info->version = p[8];
  if (info->sequence == 0) return Status::Corruption("outbox number 0");
  if (info->count > kMaxOutboxReplies) return Status::Corruption("outbox holds too many replies");
  return Status::OK();
}

Status ReadOutbox(const uint8_t* p, size_t n, OutboxInfo* info, std::vector<OutboxReply>* out,
                  std::vector<OutboxAck>* acks, std::vector<storage::Id>* deleted) {
  SD_RETURN_IF_ERROR(ReadOutboxHeader(p, n, info));
  if (n > MaxOutbox()) return Status::Corruption("outbox is longer than any outbox can be");
  // Nothing past the header is read until the whole outbox is proven.
  if (n < kOutboxHeaderSize + crypto::kSignatureSize)
    return Status::AuthFailed("outbox is not signed (it ends before its signature)");
  const size_t body = n - crypto::kSignatureSize;
  if (!crypto::Verify(info->signer.data(), p, body, p + body))
    return Status::AuthFailed("outbox signature does not verify: it was altered or cut short");
  out->clear();
  acks->clear();
  if (deleted != nullptr) deleted->clear();
  std::set<storage::Id> seen;
  size_t off = kOutboxHeaderSize;
  for (uint32_t i = 0; i < info->count; i++) {
    if (body - off < kOutboxEntryHead) return Status::Corruption("outbox ends inside a reply");
    OutboxReply r;
    std::memcpy(r.id.data(), p + off, 16);
    std::memcpy(r.source.data(), p + off + 16, 32);
    const size_t len = size_t(GetLe(p + off + 48, 4));
    off += kOutboxEntryHead;
    if (len > crypto::MaxSealedReply() || body - off < len + crypto::kSignatureSize)
      return Status::Corruption("outbox reply has an impossible length");
    r.sealed.assign(p + off, p + off + len);
    off += len;
    std::memcpy(r.sig.data(), p + off, crypto::kSignatureSize);
    off += crypto::kSignatureSize;
    std::vector<uint8_t> m = crypto::ReplySignedBytes(info->instance, r.id, r.source.data(),
                                                      r.sealed.data(), r.sealed.size());
    if (!crypto::Verify(info->signer.data(), m.data(), m.size(), r.sig.data()))
      return Status::AuthFailed("a reply's own signature does not verify");
    if (!seen.insert(r.id).second) return Status::Corruption("outbox holds one reply twice");
    out->push_back(std::move(r));
  }
  if (info->version >= 2) {
    if (body - off < 4) return Status::Corruption("outbox ends before its acknowledgements");
    const uint64_t count = GetLe(p + off, 4);
    off += 4;
    if (count > kMaxOutboxAcks || (body - off) / kOutboxAckSize < count)
      return Status::Corruption("outbox has an impossible number of acknowledgements");
    std::set<storage::Id> acked;
    for (uint64_t i = 0; i < count; i++) {
      OutboxAck a;
      std::memcpy(a.id.data(), p + off, a.id.size());
      std::memcpy(a.hash.data(), p + off + a.id.size(), a.hash.size());
      off += kOutboxAckSize;
      if (!acked.insert(a.id).second)
        return Status::Corruption("outbox acknowledges one submission twice");
      acks->push_back(a);
    }
  }
  if (info->version >= kDeletionsVersion) {
    if (body - off < 4) return Status::Corruption("outbox ends before its deletions");
    const uint64_t count = GetLe(p + off, 4);
    off += 4;
    if (count == 0 || count > kMaxOutboxDeleted || (body - off) / storage::kIdSize < count)
      return Status::Corruption("outbox has an impossible number of deletions");
    std::set<storage::Id> gone;
    for (uint64_t i = 0; i < count; i++) {
      storage::Id id;
      std::memcpy(id.data(), p + off, id.size());
      off += id.size();
      if (!gone.insert(id).second) return Status::Corruption("outbox deletes one reply twice");
      if (deleted != nullptr) deleted->push_back(id);
    }
  }
  if (off != body) return Status::Corruption("outbox has bytes after its last entry");
  return Status::OK();
}

}  // namespace format
}  // namespace sealdrop
