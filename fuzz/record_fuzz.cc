// record_fuzz: the record decoders of storage/storage.cc that read what the
// store and bundles hold: storage::DecodeSubmission (submission records, also
// from bundles), storage::DecodeReply (a reply as the server keeps it) and
// storage::DecodeQueuedReply (a reply queued in the vault). Every input goes
// to all three; DecodeReply gets a fixed 48-byte key (reply key, then id),
// and keys one byte shorter or longer.
// Oracles besides the sanitizers: a record that decodes re-encodes to the
// identical bytes (a reply's key gives back its source and id); a
// submission's chunk sizes add up to its stored size; a reply holds exactly
// the bytes after its fixed part; no input decodes as two kinds of record;
// a reply key of the wrong length is refused.
#include <cstring>
#include <string>

#include "fuzz/fuzz_util.h"
#include "storage/storage.h"

using namespace sealdrop;

namespace {

bool SameBytes(const std::string& s, const uint8_t* data, size_t size) {
  return s.size() == size && s.compare(0, size, reinterpret_cast<const char*>(data), size) == 0;
}

// A reply record as the server keeps it: 5-byte header, day, signer,
// signature, length, sealed reply.
constexpr size_t kReplyFixed = 5 + 4 + 32 + 64 + 4;
// A queued reply, version 1: header, id, submission, source, day, outbox,
// instance, length, sealed reply. Version 2: header, id, submission,
// source, day, length, sealed reply, count, then 40 bytes per instance.
constexpr size_t kQueuedFixed = 5 + 16 + 16 + 32 + 4 + 8 + 32 + 4;
constexpr size_t kQueuedHead = 5 + 16 + 16 + 32 + 4 + 4;

bool Reply(const uint8_t* data, size_t size) {
  uint8_t key[49];
  for (int i = 0; i < 49; i++) key[i] = uint8_t(0x30 + i);
  storage::ReplyRec bad;
  FUZZ_CHECK(!storage::DecodeReply(key, 47, data, size, &bad).ok(), "a 47-byte reply key was taken");
  FUZZ_CHECK(!storage::DecodeReply(key, 49, data, size, &bad).ok(), "a 49-byte reply key was taken");
  storage::ReplyRec rec;
  if (!storage::DecodeReply(key, 48, data, size, &rec).ok()) return false;
  FUZZ_CHECK(SameBytes(storage::EncodeReply(rec), data, size),
             "a decoded reply record does not re-encode to the same bytes");
  FUZZ_CHECK(std::memcmp(rec.source.data(), key, 32) == 0 &&
                 std::memcmp(rec.id.data(), key + 32, 16) == 0,
             "a reply's source and id are not its key's");
  FUZZ_CHECK(size >= kReplyFixed && rec.sealed.size() == size - kReplyFixed,
             "a reply's sealed bytes are not the rest of its record");
  return true;
}

bool Queued(const uint8_t* data, size_t size) {
  storage::QueuedReply rec;
  if (!storage::DecodeQueuedReply(data, size, &rec).ok()) return false;
  FUZZ_CHECK(rec.sent.size() <= storage::kMaxQueuedSent);
  if (data[4] == 1) {
    // Read as version 2 after a rewrite: the same reply, sent to the same
    // instance (none, or one).
    FUZZ_CHECK(size >= kQueuedFixed && rec.sealed.size() == size - kQueuedFixed,
               "a queued reply's sealed bytes are not the rest of its record");
    FUZZ_CHECK(rec.sent.size() <= 1, "a version 1 queued reply went to several instances");
    const std::string v2 = storage::EncodeQueuedReply(rec);
    storage::QueuedReply back;
    FUZZ_CHECK(storage::DecodeQueuedReply(reinterpret_cast<const uint8_t*>(v2.data()), v2.size(),
                                          &back).ok(),
               "a version 1 queued reply does not read back once rewritten");
    FUZZ_CHECK(back.sealed == rec.sealed && back.sent.size() == rec.sent.size() &&
                   back.id == rec.id && back.day == rec.day,
               "a version 1 queued reply changed when rewritten");
    return true;
  }
  FUZZ_CHECK(SameBytes(storage::EncodeQueuedReply(rec), data, size),
             "a decoded queued reply does not re-encode to the same bytes");
  FUZZ_CHECK(size == kQueuedHead + rec.sealed.size() + 2 + 40 * rec.sent.size(),
             "a queued reply's parts do not add up to its record");
  return true;
}

// A submission record.
bool Submission(const uint8_t* data, size_t size) {
  storage::SubmissionRec rec;
  if (!storage::DecodeSubmission(data, size, &rec).ok()) return false;
  FUZZ_CHECK(SameBytes(storage::EncodeSubmission(rec), data, size),
             "a decoded submission record does not re-encode to the same bytes");
  FUZZ_CHECK(rec.chunk_size > 0 && !rec.keys.empty() && !rec.items.empty());
  FUZZ_CHECK(rec.version >= 1 && rec.version <= 3, "a record of an unknown version was accepted");
  for (const auto& k : rec.keys)
    FUZZ_CHECK(k.alg != 0 && !k.box.empty() && k.box.size() <= storage::kMaxSealedKey &&
                   (k.alg != storage::kSealX25519 || k.box.size() == 80) &&
                   (rec.version >= 3 || k.alg == storage::kSealX25519),
               "a sealed content key of an impossible algorithm or size was accepted");
  // Stream version 1 adds 17 bytes per chunk, version 2 adds 16 (FORMAT.md).
  const uint64_t t = storage::StreamVersion(rec) == 1 ? 17 : 16;
  uint64_t total = 0;
  for (const auto& it : rec.items) {
    FUZZ_CHECK(it.padded > 0 && it.chunks > 0, "an empty item was accepted");
    FUZZ_CHECK(storage::ChunkCipherSize(rec, it, it.chunks) == 0, "a chunk past the end has a size");
    // Every chunk when there are few, else the first and the last.
    const uint32_t n = it.chunks;
    uint64_t sum = 0;
    for (uint32_t j = 0; j < n; j = (n <= 64 || j + 1 == n) ? j + 1 : n - 1) {
      const uint64_t c = storage::ChunkCipherSize(rec, it, j);
      FUZZ_CHECK(c > t && c <= uint64_t(rec.chunk_size) + t, "impossible chunk size");
      if (j + 1 < n) FUZZ_CHECK(c == uint64_t(rec.chunk_size) + t, "a short chunk before the last");
      sum += c;
    }
    if (n > 64) sum += uint64_t(n - 2) * (uint64_t(rec.chunk_size) + t);
    FUZZ_CHECK(sum == it.padded + uint64_t(n) * t, "chunk sizes do not add up to the item");
    total += sum;
  }
  FUZZ_CHECK(total == storage::StoredSize(rec), "chunk sizes do not add up to StoredSize");
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int kinds = int(Submission(data, size)) + int(Reply(data, size)) + int(Queued(data, size));
  FUZZ_CHECK(kinds <= 1, "one input decodes as " + std::to_string(kinds) + " kinds of record");
  return 0;
}
