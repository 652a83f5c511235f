// bundle_fuzz: format::ReadBundle, which the air-gapped vault runs on a
// bundle carried over from the server (format/format.cc).
//
// Pass 1: handlers accept everything; the source hands out whatever is asked.
// Pass 2: the source hands out at most a few bytes per call (sizes from the
// input) and the chunk handler fails on the second chunk; that error must
// come back unchanged unless parsing failed before it.
// Oracles besides the sanitizers: what ReadBundle reports in BundleInfo
// matches what the handlers saw; a bundle accepted in pass 1 carries a valid
// signature, so pass 2 fails exactly with the handler's error if it holds two
// chunks.
#include <cstring>
#include <string>

#include "format/format.h"
#include "fuzz/fuzz_util.h"

using namespace sealdrop;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InitOnce();

  // Pass 1.
  size_t pos = 0;
  format::Source whole = [&](uint8_t* p, size_t n, size_t* got) {
    size_t k = std::min(n, size - pos);
    if (k) std::memcpy(p, data + pos, k);
    pos += k;
    *got = k;
    return Status::OK();
  };
  uint64_t subs = 0, chunks = 0, deleted = 0;
  format::BundleHandler accept;
  accept.deleted = [&](const storage::Id&) {
    deleted++;
    return Status::OK();
  };
  accept.submission = [&](const storage::SubmissionRec& rec) {
    FUZZ_CHECK(!rec.keys.empty() && !rec.items.empty(), "an invalid record was handed out");
    subs++;
    return Status::OK();
  };
  accept.chunk = [&](const storage::Id&, uint32_t, uint32_t, const uint8_t* p, size_t n) {
    FUZZ_CHECK(n == 0 || p != nullptr);
    chunks++;
    return Status::OK();
  };
  format::BundleInfo info;
  Status st1 = format::ReadBundle(whole, accept, &info);
  if (st1.ok()) {
    FUZZ_CHECK(pos == size, "ReadBundle accepted a bundle without reading all of it");
    FUZZ_CHECK(info.submissions == subs && info.chunks == chunks && info.deleted == deleted,
               "BundleInfo counts");
    FUZZ_CHECK(info.version == 1 || info.version == 2, "a bundle of an unknown version was accepted");
    FUZZ_CHECK(info.version == 2 || deleted == 0, "a version 1 bundle handed out deletions");
    FUZZ_CHECK(deleted <= format::kMaxBundleDeleted, "more deletions than a bundle carries");
  }

  // Pass 2.
  pos = 0;
  size_t calls = 0;
  format::Source dribble = [&](uint8_t* p, size_t n, size_t* got) {
    // 1..8 bytes per read, from the input itself.
    size_t k = std::min(n, size - pos);
    if (k) k = std::min(k, size_t(1) + (data[(pos + calls++) % size] & 7));
    if (k) std::memcpy(p, data + pos, k);
    pos += k;
    *got = k;
    return Status::OK();
  };
  uint64_t chunks2 = 0;
  format::BundleHandler refuse;
  refuse.submission = [&](const storage::SubmissionRec&) { return Status::OK(); };
  refuse.chunk = [&](const storage::Id&, uint32_t, uint32_t, const uint8_t*, size_t) {
    if (++chunks2 == 2) return Status::Full("fuzz: second chunk refused");
    return Status::OK();
  };
  format::BundleInfo info2;
  Status st2 = format::ReadBundle(dribble, refuse, &info2);
  if (st1.ok()) {
    if (chunks >= 2) {
      FUZZ_CHECK(st2.Is(Status::Code::kFull) && st2.message() == "fuzz: second chunk refused",
                 "handler error lost: " + st2.ToString());
    } else {
      FUZZ_CHECK(st2.ok(), "accepted whole but not when read in small pieces: " + st2.ToString());
    }
  } else if (st2.ok()) {
    fuzz::Die("accepted in small pieces but not whole", st1.ToString());
  }
  return 0;
}
