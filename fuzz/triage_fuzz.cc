// triage_fuzz: format::DecodeTriage (format/triage.cc), which the review tool
// runs on every triage record it opens from the vault, and
// crypto::OpenTriage, which opens it.
//
// The first byte picks the input's use (& 1):
//   0: the rest is a triage plaintext, decoded as is.
//   1: the rest is a sealed record, opened with a fixed content key and id.
// Oracles besides the sanitizers:
// - 0: a plaintext that decodes has every field within its limit, and
//   encoding what was decoded gives back the input exactly (one reading of
//   the layout: nothing accepted is ignored).
// - 1: mutations of a sealed record never open (AuthFailed), short ones are
//   Corruption, and what opens decodes or is refused without a crash.
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
    format::Triage t;
    Status st = format::DecodeTriage(p, n, &t);
    if (!st.ok()) {
      FUZZ_CHECK(st.Is(Status::Code::kCorruption) || st.Is(Status::Code::kVersion),
                 st.ToString());
      return 0;
    }
    FUZZ_CHECK(t.assignee.size() <= format::kMaxAssignee);
    FUZZ_CHECK(t.outcome.size() <= format::kMaxOutcome);
    FUZZ_CHECK(t.notes.size() <= format::kMaxNotes);
    crypto::Secret again;
    st = format::EncodeTriage(t, &again);
    // Decoding takes any length of zero padding; encoding writes Padmé's.
    if (st.ok() && again.size() == n)
      FUZZ_CHECK(std::memcmp(again.data(), p, n) == 0, "re-encoding differs");
    return 0;
  }
  crypto::Secret ck(crypto::kContentKeySize);
  for (size_t i = 0; i < ck.size(); i++) ck.data()[i] = uint8_t(i);
  crypto::Id id{};
  for (size_t i = 0; i < id.size(); i++) id[i] = uint8_t(0xa0 + i);
  crypto::Secret plain;
  Status st = crypto::OpenTriage(ck, id, p, n, &plain);
  if (!st.ok()) {
    FUZZ_CHECK(st.Is(Status::Code::kAuthFailed) || st.Is(Status::Code::kCorruption),
               st.ToString());
    return 0;
  }
  format::Triage t;
  (void)format::DecodeTriage(plain.data(), plain.size(), &t);
  return 0;
}
