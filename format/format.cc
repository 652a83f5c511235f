// docs/FORMAT.md, "Manifest" and "Bundle".
#include "format/format.h"

#include <algorithm>
#include <cstring>

namespace sealdrop {
namespace format {
namespace {

constexpr char kManifestMagic[4] = {'S', 'D', 'M', 'F'};
// Written: 3 with answers, else 2; 1 is still read.
constexpr uint8_t kManifestVersion = 2;
constexpr uint8_t kManifestAnswersVersion = 3;
constexpr uint8_t kNoReplyKey = 0;
constexpr uint8_t kReplyX25519 = 1;
constexpr uint8_t kNoAnswers = 0;
constexpr uint8_t kQuestionnaireAnswers = 1;

constexpr char kBundleMagic[8] = {'S', 'E', 'A', 'L', 'D', 'B', 'U', 'N'};
// Written: 2 when it carries DELETED records, else 1.
constexpr uint8_t kBundleVersion = 1;
constexpr uint8_t kBundleDeletionsVersion = 2;
constexpr uint8_t kKindSubmissions = 1;
constexpr size_t kBundleHeader = 8 + 1 + 1 + 2 + 32 + 4;
static_assert(kBundleHeader == kBundleHeaderSize, "format.h names the header's size");
constexpr uint8_t kRecSubmission = 1;
constexpr uint8_t kRecChunk = 2;
constexpr uint8_t kRecEnd = 3;
constexpr uint8_t kRecDeleted = 4;  // version 2
constexpr size_t kMaxRecord = (16u << 20) + 64;
constexpr char kSignContext[] = "sealdrop bundle v1";

void PutLE(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = uint8_t(v >> (8 * i));
}
uint64_t GetLE(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

void SignedMessage(const uint8_t digest[crypto::Hasher::kSize], std::vector<uint8_t>* out) {
  out->assign(kSignContext, kSignContext + sizeof(kSignContext) - 1);
  out->insert(out->end(), digest, digest + crypto::Hasher::kSize);
}

}  // namespace

// --- Manifest -------------------------------------------------------------------

uint64_t MaxPaddedManifest() { return crypto::PaddedSize(kMaxManifest); }

namespace {

// The answers' bytes, or the reason they cannot be written.
Status AnswersSize(const Answers& a, size_t* size) {
  auto id_ok = [](const std::string& id) { return !id.empty() && id.size() <= kMaxAnswerId; };
  if (!id_ok(a.questionnaire)) return Status::InvalidArgument("questionnaire id length");
  if (a.list.size() > kMaxAnswerCount) return Status::TooLarge("too many answers");
  size_t n = 32 + 1 + a.questionnaire.size() + 2;
  for (size_t i = 0; i < a.list.size(); i++) {
    const Answer& x = a.list[i];
    if (!id_ok(x.field)) return Status::InvalidArgument("answer field id length");
    for (size_t j = 0; j < i; j++)
      if (a.list[j].field == x.field) return Status::InvalidArgument("field answered twice");
    if (x.values.empty()) return Status::InvalidArgument("answer without a value");
    if (x.values.size() > kMaxAnswerValues) return Status::TooLarge("too many values");
    n += 1 + x.field.size() + 1;
    for (const auto& v : x.values) {
      if (v.empty()) return Status::InvalidArgument("empty answer value");
      if (v.size() > kMaxAnswers) return Status::TooLarge("answers are too long");
      n += 4 + v.size();
    }
    if (n > kMaxAnswers) return Status::TooLarge("answers are too long");
  }
  if (n > kMaxAnswers) return Status::TooLarge("answers are too long");
  *size = n;
  return Status::OK();
}

uint8_t* PutAnswers(const Answers& a, uint8_t* p) {
  std::memcpy(p, a.hash.data(), 32), p += 32;
  *p++ = uint8_t(a.questionnaire.size());
  std::memcpy(p, a.questionnaire.data(), a.questionnaire.size()), p += a.questionnaire.size();
  PutLE(p, a.list.size(), 2), p += 2;
  for (const Answer& x : a.list) {
    *p++ = uint8_t(x.field.size());
    std::memcpy(p, x.field.data(), x.field.size()), p += x.field.size();
    *p++ = uint8_t(x.values.size());
    for (const auto& v : x.values) {
      PutLE(p, v.size(), 4), p += 4;
      std::memcpy(p, v.data(), v.size()), p += v.size();
    }
  }
  return p;
}

}  // namespace

Status EncodeAnswers(const Answers& a, crypto::Secret* out) {
  size_t n = 0;
  SD_RETURN_IF_ERROR(AnswersSize(a, &n));
  crypto::Secret s(n);
  PutAnswers(a, s.data());
  *out = std::move(s);
  return Status::OK();
}

Status DecodeAnswers(const uint8_t* p, size_t n, Answers* out, size_t* used) {
  const uint8_t* const start = p;
  const uint8_t* end = p + std::min(n, kMaxAnswers);
  auto need = [&](size_t k) { return size_t(end - p) >= k; };
  auto bad = [](const char* what) { return Status::Corruption(std::string("answers: ") + what); };
  Answers a;
  if (!need(33)) return bad("truncated");
  std::memcpy(a.hash.data(), p, 32), p += 32;
  size_t ql = *p++;
  if (ql == 0 || ql > kMaxAnswerId || !need(ql + 2)) return bad("questionnaire id length");
  a.questionnaire.assign(reinterpret_cast<const char*>(p), ql), p += ql;
  size_t count = size_t(GetLE(p, 2));
  p += 2;
  if (count > kMaxAnswerCount) return bad("too many answers");
  a.list.reserve(count);
  for (size_t i = 0; i < count; i++) {
    Answer x;
    if (!need(1)) return bad("truncated");
    size_t fl = *p++;
    if (fl == 0 || fl > kMaxAnswerId || !need(fl + 1)) return bad("field id length");
    x.field.assign(reinterpret_cast<const char*>(p), fl), p += fl;
    for (const Answer& y : a.list)
      if (y.field == x.field) return bad("a field answered twice");
    size_t nv = *p++;
    if (nv == 0 || nv > kMaxAnswerValues) return bad("value count");
    for (size_t j = 0; j < nv; j++) {
      if (!need(4)) return bad("truncated");
      size_t vl = size_t(GetLE(p, 4));
      p += 4;
      if (vl == 0 || !need(vl)) return bad("value length");
      x.values.emplace_back(reinterpret_cast<const char*>(p), vl), p += vl;
    }
    a.list.push_back(std::move(x));
  }
  *used = size_t(p - start);
  *out = std::move(a);
  return Status::OK();
}

Status EncodeManifest(const uint8_t* message, size_t message_len,
                      const std::vector<FileEntry>& files, crypto::Secret* out,
                      const ReplyKey* reply, const Answers* answers) {
  if (answers != nullptr && answers->empty()) answers = nullptr;
  size_t answers_len = 0;
  if (answers != nullptr) SD_RETURN_IF_ERROR(AnswersSize(*answers, &answers_len));
  if (message_len > kMaxMessage) return Status::TooLarge("message is too long");
  if (files.size() > kMaxFiles) return Status::TooLarge("too many files");
  size_t n = kManifestHead + message_len + (answers ? 1 + answers_len : 0);
  for (const auto& f : files) {
    if (f.name.size() > kMaxName || f.type.size() > kMaxName)
      return Status::TooLarge("file name or type is too long");
    n += kManifestFileHead + f.name.size() + f.type.size();
  }
  crypto::Secret s(n);
  uint8_t* p = s.data();
  std::memcpy(p, kManifestMagic, 4), p += 4;
  *p++ = answers ? kManifestAnswersVersion : kManifestVersion;
  PutLE(p, message_len, 4), p += 4;
  if (message_len) std::memcpy(p, message, message_len), p += message_len;
  PutLE(p, files.size(), 4), p += 4;
  for (const auto& f : files) {
    PutLE(p, f.item, 4), p += 4;
    PutLE(p, f.name.size(), 2), p += 2;
    std::memcpy(p, f.name.data(), f.name.size()), p += f.name.size();
    PutLE(p, f.type.size(), 2), p += 2;
    std::memcpy(p, f.type.data(), f.type.size()), p += f.type.size();
    PutLE(p, f.size, 8), p += 8;
  }
  *p++ = reply != nullptr ? kReplyX25519 : kNoReplyKey;
  if (reply != nullptr) std::memcpy(p, reply->data(), reply->size());
  else std::memset(p, 0, crypto::kPublicKeySize);
  p += crypto::kPublicKeySize;
  if (answers != nullptr) {
    *p++ = kQuestionnaireAnswers;
    p = PutAnswers(*answers, p);
  }
  *out = std::move(s);
  return Status::OK();
}

Status DecodeManifest(const uint8_t* p, size_t n, Manifest* out) {
  const uint8_t* end = p + n;
  auto need = [&](size_t k) { return size_t(end - p) >= k; };
  if (!need(5) || std::memcmp(p, kManifestMagic, 4) != 0)
    return Status::Corruption("manifest has a bad magic");
  const uint8_t version = p[4];
  if (version < 1 || version > kManifestAnswersVersion)
    return Status::Version("manifest version " + std::to_string(version) + " is not supported");
  p += 5;
  if (!need(4)) return Status::Corruption("manifest is truncated");
  size_t mlen = size_t(GetLE(p, 4));
  p += 4;
  if (mlen > kMaxMessage || !need(mlen + 4)) return Status::Corruption("manifest message length");
  out->message.assign(reinterpret_cast<const char*>(p), mlen);
  p += mlen;
  size_t nf = size_t(GetLE(p, 4));
  p += 4;
  if (nf > kMaxFiles) return Status::Corruption("manifest lists too many files");
  out->files.clear();
  for (size_t i = 0; i < nf; i++) {
    FileEntry f;
    if (!need(6)) return Status::Corruption("manifest is truncated");
    f.item = uint32_t(GetLE(p, 4));
    size_t nl = size_t(GetLE(p + 4, 2));
    p += 6;
    if (nl > kMaxName) return Status::Corruption("manifest file name too long");
    if (!need(nl + 2)) return Status::Corruption("manifest is truncated");
    f.name.assign(reinterpret_cast<const char*>(p), nl);
    p += nl;
    size_t tl = size_t(GetLE(p, 2));
    p += 2;
    if (tl > kMaxName) return Status::Corruption("manifest file type too long");
    if (!need(tl + 8)) return Status::Corruption("manifest is truncated");
    f.type.assign(reinterpret_cast<const char*>(p), tl);
    p += tl;
    f.size = GetLE(p, 8);
    p += 8;
    if (f.item != i + 1) return Status::Corruption("manifest file items out of order");
    out->files.push_back(std::move(f));
  }
  out->has_reply_key = false;
  out->reply_key = {};
  if (version >= 2) {
    if (!need(1 + crypto::kPublicKeySize)) return Status::Corruption("manifest is truncated");
    const uint8_t tag = *p++;
    // An algorithm this reader does not know (a later post-quantum one) is a
    // newer format, not damage.
    if (tag != kNoReplyKey && tag != kReplyX25519)
      return Status::Version("manifest reply key algorithm " + std::to_string(tag) + " is not supported");
    out->has_reply_key = tag == kReplyX25519;
    std::memcpy(out->reply_key.data(), p, crypto::kPublicKeySize);
    if (!out->has_reply_key) {
      for (uint8_t b : out->reply_key)
        if (b != 0) return Status::Corruption("manifest has a key where it says there is none");
    }
    p += crypto::kPublicKeySize;
  }
  out->answers = Answers();
  if (version >= 3) {
    if (!need(1)) return Status::Corruption("manifest is truncated");
    const uint8_t tag = *p++;
    if (tag != kNoAnswers && tag != kQuestionnaireAnswers)
      return Status::Version("manifest answers kind " + std::to_string(tag) + " is not supported");
    if (tag == kQuestionnaireAnswers) {
      size_t used = 0;
      SD_RETURN_IF_ERROR(DecodeAnswers(p, size_t(end - p), &out->answers, &used));
      p += used;
    }
  }
  // Whatever follows is padding, and padding is zeros.
  for (; p < end; p++)
    if (*p != 0) return Status::Corruption("manifest has trailing bytes");
  return Status::OK();
}

// --- Bundle writer ----------------------------------------------------------------

BundleWriter::BundleWriter(const crypto::SigningKey& key, uint32_t day, Sink sink,
                           crypto::Digest* digest)
    : key_(key), day_(day), sink_(std::move(sink)), hash_(digest ? digest : &own_) {}

Status BundleWriter::Put(const uint8_t* p, size_t n) {
  hash_->Update(p, n);
  bytes_ += n;
  return sink_(p, n);
}

Status BundleWriter::Begin(bool deletions) {
  deletions_ = deletions;
  uint8_t h[kBundleHeader] = {};
  std::memcpy(h, kBundleMagic, 8);
  h[8] = deletions ? kBundleDeletionsVersion : kBundleVersion;
  h[9] = kKindSubmissions;
  std::memcpy(h + 12, key_.pk.data(), 32);
  PutLE(h + 44, day_, 4);
  return Put(h, sizeof(h));
}

Status BundleWriter::Record(uint8_t type, const uint8_t* a, size_t an, const uint8_t* b,
                            size_t bn) {
  if (an + bn > kMaxRecord) return Status::TooLarge("bundle record too large");
  uint8_t h[5];
  h[0] = type;
  PutLE(h + 1, an + bn, 4);
  SD_RETURN_IF_ERROR(Put(h, 5));
  if (an) SD_RETURN_IF_ERROR(Put(a, an));
  if (bn) SD_RETURN_IF_ERROR(Put(b, bn));
  return Status::OK();
}

Status BundleWriter::AddSubmission(const storage::SubmissionRec& rec) {
  std::string bytes = storage::EncodeSubmission(rec);
  subs_++;
  return Record(kRecSubmission, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                nullptr, 0);
}

Status BundleWriter::AddChunk(const storage::Id& id, uint32_t item, uint32_t index,
                              const uint8_t* p, size_t n) {
  uint8_t h[storage::kIdSize + 8];
  std::memcpy(h, id.data(), storage::kIdSize);
  PutLE(h + storage::kIdSize, item, 4);
  PutLE(h + storage::kIdSize + 4, index, 4);
  chunks_++;
  return Record(kRecChunk, h, sizeof(h), p, n);
}

Status BundleWriter::AddDeleted(const storage::Id& id) {
  if (!deletions_) return Status::InvalidArgument("a version 1 bundle carries no deletions");
  if (deleted_ >= kMaxBundleDeleted) return Status::TooLarge("too many deletions for one bundle");
  deleted_++;
  return Record(kRecDeleted, id.data(), id.size(), nullptr, 0);
}

Status BundleWriter::Finish() {
  uint8_t counts[16];
  PutLE(counts, subs_, 8);
  PutLE(counts + 8, chunks_, 8);
  uint8_t h[5];
  h[0] = kRecEnd;
  PutLE(h + 1, sizeof(counts) + crypto::kSignatureSize, 4);
  SD_RETURN_IF_ERROR(Put(h, 5));
  SD_RETURN_IF_ERROR(Put(counts, sizeof(counts)));
  uint8_t digest[crypto::Hasher::kSize];
  hash_->Final(digest);
  std::vector<uint8_t> msg;
  SignedMessage(digest, &msg);
  uint8_t sig[crypto::kSignatureSize];
  crypto::Sign(key_, msg.data(), msg.size(), sig);
  bytes_ += sizeof(sig);
  return sink_(sig, sizeof(sig));
}

// --- Bundle reader -----------------------------------------------------------------

namespace {

Status ReadFull(const Source& src, uint8_t* p, size_t n, bool* eof) {
  size_t have = 0;
  *eof = false;
  while (have < n) {
    size_t got = 0;
    SD_RETURN_IF_ERROR(src(p + have, n - have, &got));
    if (got == 0) {
      *eof = have == 0;
      return Status::Corruption("bundle is truncated");
    }
    have += got;
  }
  return Status::OK();
}

}  // namespace

Status ReadBundleHeader(const uint8_t* hdr, size_t n, BundleInfo* info) {
  if (n < kBundleHeader || std::memcmp(hdr, kBundleMagic, 8) != 0)
    return Status::Corruption("not a sealdrop bundle (bad magic)");
  if (hdr[8] != kBundleVersion && hdr[8] != kBundleDeletionsVersion)
    return Status::Version("bundle version " + std::to_string(hdr[8]) +
                           " is not one this build supports (1 and 2)");
  if (hdr[9] != kKindSubmissions || hdr[10] != 0 || hdr[11] != 0)
    return Status::Corruption("bundle of an unknown kind");
  std::memcpy(info->instance.data(), hdr + 12, 32);
  info->day = uint32_t(GetLE(hdr + 44, 4));
  info->version = hdr[8];
  info->submissions = info->chunks = info->deleted = 0;
  return Status::OK();
}

Status ReadBundle(const Source& src, const BundleHandler& h, BundleInfo* info) {
  crypto::Hasher hash;
  bool eof = false;
  uint8_t hdr[kBundleHeader];
  Status st = ReadFull(src, hdr, sizeof(hdr), &eof);
  if (!st.ok()) return Status::Corruption("not a sealdrop bundle (bad magic)");
  SD_RETURN_IF_ERROR(ReadBundleHeader(hdr, sizeof(hdr), info));
  hash.Update(hdr, sizeof(hdr));

  std::vector<uint8_t> buf;
  while (true) {
    uint8_t rh[5];
    SD_RETURN_IF_ERROR(ReadFull(src, rh, 5, &eof));
    size_t len = size_t(GetLE(rh + 1, 4));
    if (len > kMaxRecord) return Status::Corruption("bundle record is too large");
    if (rh[0] == kRecEnd) {
      if (len != 16 + crypto::kSignatureSize) return Status::Corruption("bad END record");
      uint8_t counts[16], sig[crypto::kSignatureSize];
      SD_RETURN_IF_ERROR(ReadFull(src, counts, 16, &eof));
      SD_RETURN_IF_ERROR(ReadFull(src, sig, sizeof(sig), &eof));
      hash.Update(rh, 5);
      hash.Update(counts, 16);
      uint8_t digest[crypto::Hasher::kSize];
      hash.Final(digest);
      std::vector<uint8_t> msg;
      SignedMessage(digest, &msg);
      if (!crypto::Verify(info->instance.data(), msg.data(), msg.size(), sig))
        return Status::AuthFailed("bundle signature does not verify (altered or truncated)");
      if (GetLE(counts, 8) != info->submissions || GetLE(counts + 8, 8) != info->chunks)
        return Status::Corruption("bundle record counts disagree");
      uint8_t extra;
      size_t got = 0;
      SD_RETURN_IF_ERROR(src(&extra, 1, &got));
      if (got != 0) return Status::Corruption("bytes after the end of the bundle");
      return Status::OK();
    }
    buf.resize(len);
    SD_RETURN_IF_ERROR(ReadFull(src, buf.data(), len, &eof));
    hash.Update(rh, 5);
    hash.Update(buf.data(), len);
    if (rh[0] == kRecSubmission) {
      storage::SubmissionRec rec;
      SD_RETURN_IF_ERROR(storage::DecodeSubmission(buf.data(), len, &rec));
      info->submissions++;
      if (h.submission) SD_RETURN_IF_ERROR(h.submission(rec));
    } else if (rh[0] == kRecChunk) {
      if (len < storage::kIdSize + 8) return Status::Corruption("bundle chunk is truncated");
      storage::Id id;
      std::memcpy(id.data(), buf.data(), storage::kIdSize);
      uint32_t item = uint32_t(GetLE(buf.data() + storage::kIdSize, 4));
      uint32_t index = uint32_t(GetLE(buf.data() + storage::kIdSize + 4, 4));
      info->chunks++;
      if (h.chunk)
        SD_RETURN_IF_ERROR(h.chunk(id, item, index, buf.data() + storage::kIdSize + 8,
                                   len - storage::kIdSize - 8));
    } else if (rh[0] == kRecDeleted && info->version >= kBundleDeletionsVersion) {
      if (len != storage::kIdSize) return Status::Corruption("bundle DELETED record has the wrong length");
      if (++info->deleted > kMaxBundleDeleted) return Status::Corruption("bundle deletes too many replies");
      storage::Id id;
      std::memcpy(id.data(), buf.data(), storage::kIdSize);
      if (h.deleted) SD_RETURN_IF_ERROR(h.deleted(id));
    } else {
      return Status::Corruption("bundle has a record of unknown type " + std::to_string(rh[0]));
    }
  }
}

}  // namespace format
}  // namespace sealdrop
