// record_fuzz: storage::DecodeSubmission, which reads submission records
// from the store and from bundles (storage/storage.cc).
// Oracles besides the sanitizers: a record that decodes re-encodes to the
// identical bytes, and its chunk sizes add up to its stored size.
#include <string>

#include "fuzz/fuzz_util.h"
#include "storage/storage.h"

using namespace sealdrop;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  storage::SubmissionRec rec;
  if (!storage::DecodeSubmission(data, size, &rec).ok()) return 0;
  const std::string again = storage::EncodeSubmission(rec);
  FUZZ_CHECK(again.size() == size && again.compare(0, size, reinterpret_cast<const char*>(data),
                                                   size) == 0,
             "a decoded submission record does not re-encode to the same bytes");
  FUZZ_CHECK(rec.chunk_size > 0 && !rec.keys.empty() && !rec.items.empty());
  FUZZ_CHECK(rec.version == 1 || rec.version == 2, "a record of an unknown version was accepted");
  // Stream version 1 adds 17 bytes per chunk, version 2 adds 16 (FORMAT.md).
  const uint64_t t = rec.version == 1 ? 17 : 16;
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
  return 0;
}
