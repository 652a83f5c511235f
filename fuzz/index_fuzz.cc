// index_fuzz: format::DecodeIndex (format/index.cc), which the review tool
// runs on every index record it opens from the vault, and crypto::OpenIndex,
// which opens it.
//
// The first byte picks the input's use (& 1):
//   0: the rest is an index record's plaintext, decoded as is.
//   1: the rest is a sealed record, opened with the index key of the
//      FORMAT.md vector's keyring and submission a0a1…af.
// Oracles besides the sanitizers:
// - 0: a plaintext that decodes has every field within its limit, and
//   encoding what was decoded gives back the input exactly (one reading of
//   the layout: nothing accepted is ignored).
// - 1: what does not open is AuthFailed or Corruption, and what opens
//   decodes or is refused without a crash.
#include <cstring>
#include <string>

#include "crypto/crypto.h"
#include "format/format.h"
#include "fuzz/fuzz_util.h"

using namespace sealdrop;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool ready = crypto::Init().ok();
  if (!ready || size < 1) return 0;
  const uint8_t mode = data[0] & 1;
  const uint8_t* p = data + 1;
  const size_t n = size - 1;
  if (mode == 0) {
    format::IndexEntry e;
    Status st = format::DecodeIndex(p, n, &e);
    if (!st.ok()) {
      FUZZ_CHECK(st.Is(Status::Code::kCorruption) || st.Is(Status::Code::kVersion), st.ToString());
      return 0;
    }
    FUZZ_CHECK(e.outcome.size() <= format::kMaxOutcome);
    FUZZ_CHECK(e.answers.size() <= format::kMaxIndexAnswers);
    for (const auto& a : e.answers)
      for (const auto& v : a.values) FUZZ_CHECK(!v.empty() && v.size() <= format::kMaxIndexValue);
    crypto::Secret again;
    st = format::EncodeIndex(e, &again);
    FUZZ_CHECK(st.ok(), st.ToString());
    FUZZ_CHECK(again.size() == n && std::memcmp(again.data(), p, n) == 0, "re-encoding differs");
    return 0;
  }
  static const uint8_t kSecret[32] = {0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d,
                                      0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
                                      0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a,
                                      0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a};
  static crypto::Keyring* ring = [] {
    auto* r = new crypto::Keyring();
    r->keys.emplace_back();
    (void)crypto::RecipientKeyFromSecret(kSecret, sizeof(kSecret), 1, &r->keys[0]);
    return r;
  }();
  crypto::Secret key;
  crypto::IndexId iid;
  FUZZ_CHECK(crypto::DeriveIndexKey(*ring, &key, &iid).ok());
  crypto::Id id{};
  for (size_t i = 0; i < id.size(); i++) id[i] = uint8_t(0xa0 + i);
  crypto::Secret plain;
  Status st = crypto::OpenIndex(key, iid, id, p, n, &plain);
  if (!st.ok()) {
    FUZZ_CHECK(st.Is(Status::Code::kAuthFailed) || st.Is(Status::Code::kCorruption), st.ToString());
    return 0;
  }
  format::IndexEntry e;
  (void)format::DecodeIndex(plain.data(), plain.size(), &e);
  return 0;
}
