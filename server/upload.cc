#include <cstring>

#include "server/server.h"

namespace sealdrop {
namespace server {
namespace {

// Ciphertext is written in transactions of about this size: small enough to
// keep memory flat, large enough that the per-commit sync stays cheap.
constexpr size_t kBatchBytes = 1u << 20;

// Streams are written in version 2, sealed by OpenSSL: the same bytes as
// libsodium's, at more than twice the speed, and sealing is most of what an
// upload costs the server (docs/PERFORMANCE.md).
constexpr uint8_t kStream = crypto::kStreamV2;
// Records are written in version 3, whose streams are version 2.
constexpr uint8_t kRecord = 3;
constexpr crypto::ChunkSeal kSeal = crypto::SealChunkOpenssl;

// File names and types are plaintext of the submission: wiped, SSO bytes and
// all, before their memory goes back to the heap.
template <class Files>
void WipeFiles(Files* files) {
  for (auto& f : *files) {
    crypto::WipeString(&f.name);
    crypto::WipeString(&f.type);
  }
}

// Answers are the source's plaintext, as file names are.
void WipeAnswers(format::Answers* a) {
  if (a == nullptr) return;
  for (auto& ans : a->list)
    for (auto& v : ans.values) crypto::WipeString(&v);
}

}  // namespace

const char kMessageTooLong[] = "message is too long";

Upload::Upload(Writer* writer, const std::vector<Recipient>& to, uint32_t day)
    : writer_(writer), to_(to), tracker_(std::make_shared<Writer::Tracker>()) {
  rec_.version = kRecord;
  rec_.day = day;
  rec_.chunk_size = crypto::kChunkSize;
}

Upload::~Upload() {
  Abort();
  WipeFiles(&files_);
  WipeAnswers(answers_.get());
}

void Upload::SetAnswers(const format::Answers& answers) {
  WipeAnswers(answers_.get());
  answers_ = std::make_unique<format::Answers>(answers);
}

Status Upload::Park() {
  SD_RETURN_IF_ERROR(Flush());
  Bytes().swap(batch_);
  return Status::OK();
}



Status Upload::Begin() {
  id_ = crypto::RandomId();
  std::memcpy(rec_.id.data(), id_.data(), crypto::kIdSize);
  ck_ = crypto::NewContentKey();
  for (const Recipient& r : to_) {
    crypto::SealedKey sk;
    SD_RETURN_IF_ERROR(crypto::SealContentKey(ck_, r.key, &sk));
    storage::SealedKeyRec kr;
    kr.key_id = sk.key_id;
    kr.alg = sk.alg;
    kr.box = sk.box;
    rec_.keys.push_back(kr);
  }
  rec_.items.resize(1);  // item 0, the manifest, is sealed last
  begun_ = true;
  batch_.reserve(kBatchBytes + crypto::kChunkSize + crypto::kChunkOverhead);
  return Status::OK();
}

Status Upload::AppendMessage(const uint8_t* p, size_t n) {
  if (message_len_ + n > format::kMaxMessage) return Status::TooLarge(kMessageTooLong);
  if (message_len_ + n > message_.size()) {
    size_t cap = std::max<size_t>(16 * 1024, message_.size());
    while (cap < message_len_ + n) cap *= 2;
    cap = std::min(cap, format::kMaxMessage);
    crypto::Secret bigger(cap);
    if (message_len_) std::memcpy(bigger.data(), message_.data(), message_len_);
    message_ = std::move(bigger);
  }
  std::memcpy(message_.data() + message_len_, p, n);
  message_len_ += n;
  return Status::OK();
}

// Every stream of an upload seals each chunk straight into the batch: room
// for it is taken in Room, and OnChunk finds the chunk already in place.
Status Upload::Open(crypto::StreamWriter* w, uint32_t item, crypto::StreamHeader* header) {
  SD_RETURN_IF_ERROR(w->Init(ck_, id_, item, header, kStream, kSeal));
  w->SetOut([this](size_t n) { return Room(n); });
  return Status::OK();
}

uint8_t* Upload::Room(size_t n) {
  // A parked upload's batch has no buffer: take one before the first chunk.
  if (batch_.capacity() == 0) batch_.reserve(kBatchBytes + crypto::kChunkSize + crypto::kChunkOverhead);
  size_t off = batch_.size();
  // Never grow: a reallocation would move chunks the batch already lists.
  if (off + n > batch_.capacity()) return nullptr;
  batch_.resize(off + n);
  return batch_.data() + off;
}

Status Upload::OnChunk(uint32_t item, const uint8_t* p, size_t n) {
  if (n > batch_.size() || p != batch_.data() + batch_.size() - n)
    return Status::InvalidArgument("chunk not sealed in place");
  uint32_t index = rec_.items[item].chunks++;
  batch_chunks_.push_back({item, index, batch_.size() - n, n});
  if (batch_.size() >= kBatchBytes) return Flush();
  return Status::OK();
}

Status Upload::Flush() {
  {
    std::lock_guard<std::mutex> l(tracker_->mu);
    SD_RETURN_IF_ERROR(tracker_->error);
  }
  if (batch_chunks_.empty()) return Status::OK();
  std::vector<storage::ChunkWrite> writes;
  writes.reserve(batch_chunks_.size());
  for (const auto& c : batch_chunks_)
    writes.push_back({c.item, c.index, batch_.data() + c.off, c.len});
  // The writer owns the bytes from here; the pointers stay valid because a
  // moved vector keeps its buffer.
  writer_->PutChunks(rec_.id, std::move(batch_), std::move(writes), file_bytes_ <= kSmallFiles,
                     tracker_);
  wrote_ = true;
  batch_ = writer_->Buffer();
  batch_.reserve(kBatchBytes + crypto::kChunkSize + crypto::kChunkOverhead);
  batch_chunks_.clear();
  return Status::OK();
}

Status Upload::StartFile(std::string_view name, std::string_view type) {
  if (!begun_ || done_) return Status::InvalidArgument("upload not open");
  if (in_file_) SD_RETURN_IF_ERROR(EndFile());
  if (files_.size() >= format::kMaxFiles) return Status::TooLarge("too many files");
  format::FileEntry f;
  f.item = uint32_t(rec_.items.size());
  f.name = std::string(name.substr(0, format::kMaxName));
  f.type = std::string(type.substr(0, format::kMaxName));
  rec_.items.emplace_back();
  storage::ItemRec& it = rec_.items.back();
  SD_RETURN_IF_ERROR(Open(&stream_, f.item, &it.header));
  files_.push_back(std::move(f));
  in_file_ = true;
  return Status::OK();
}

Status Upload::Write(const uint8_t* p, size_t n) {
  if (!in_file_) return Status::InvalidArgument("no file open");
  file_bytes_ += n;
  uint32_t item = files_.back().item;
  return stream_.Write(p, n, [&](const uint8_t* c, size_t cn) { return OnChunk(item, c, cn); });
}

Status Upload::EndFile() {
  if (!in_file_) return Status::OK();
  in_file_ = false;
  uint32_t item = files_.back().item;
  SD_RETURN_IF_ERROR(
      stream_.Finish([&](const uint8_t* c, size_t cn) { return OnChunk(item, c, cn); }));
  files_.back().size = stream_.length();
  rec_.items[item].padded = stream_.padded();
  return Status::OK();
}

Status Upload::Commit(Receipt* receipt) {
  if (!begun_ || done_) return Status::InvalidArgument("upload not open");
  SD_RETURN_IF_ERROR(EndFile());
  crypto::Secret manifest;
  std::vector<format::FileEntry> files(files_.begin(), files_.end());
  const format::ReplyKey* reply = has_source_ ? &source_.reply_key : nullptr;
  Status est = format::EncodeManifest(message_.data(), message_len_, files, &manifest, reply,
                                      answers_.get());
  WipeFiles(&files);
  SD_RETURN_IF_ERROR(est);
  crypto::StreamWriter w;
  SD_RETURN_IF_ERROR(Open(&w, 0, &rec_.items[0].header));
  auto sink = [&](const uint8_t* c, size_t cn) { return OnChunk(0, c, cn); };
  SD_RETURN_IF_ERROR(w.Write(manifest.data(), manifest.size(), sink));
  SD_RETURN_IF_ERROR(w.Finish(sink));
  rec_.items[0].padded = w.padded();
  SD_RETURN_IF_ERROR(Flush());
  wrote_ = true;
  Status st = writer_->Commit(rec_);
  if (!st.ok()) {
    // A queued chunk write that failed is the cause worth reporting.
    std::lock_guard<std::mutex> l(tracker_->mu);
    return tracker_->error.ok() ? st : tracker_->error;
  }
  done_ = true;
  receipt->message_chars = 0;
  // Characters as the source sees them: browsers send each line break as
  // CR LF, which is one character on screen.
  const uint8_t* m = message_.data();
  for (size_t i = 0; i < message_len_; i++) {
    bool cont = (m[i] & 0xC0) == 0x80;
    bool cr_of_crlf = m[i] == '\r' && i + 1 < message_len_ && m[i + 1] == '\n';
    if (!cont && !cr_of_crlf) receipt->message_chars++;
  }
  receipt->file_sizes.clear();
  for (const auto& f : files_) receipt->file_sizes.push_back(f.size);
  return Status::OK();
}

void Upload::Abort() {
  if (begun_ && !done_) {
    done_ = true;
    // If this fails too (a full disk), the writer tries again after its next
    // successful write, and the start-up sweep removes whatever is left.
    if (wrote_) (void)writer_->Abort(rec_.id);
  }
}

}  // namespace server
}  // namespace sealdrop
