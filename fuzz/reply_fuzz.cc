// reply_fuzz: crypto::OpenReply (crypto/reply.cc), which the server runs on
// every stored reply with the keys a source's codename derives, and
// crypto::SealReply, which the vault runs.
//
// The source's keys are fixed: the X25519 secret of RFC 7748's Alice (the
// recipient secret of FORMAT.md's `reply` vector) and its public key; Bob's
// stand for someone else's. The first byte picks the input's use (& 3):
//   0: the rest is a sealed reply, opened as is. Mutations never open, the
//      seeds (sealed to the fixed key) do.
//   1: the rest is a reply's plaintext (magic, version, length, message,
//      padding), sealed here with crypto_box_seal to the fixed key, so that
//      what OpenReply checks after decrypting is fuzzed.
//   2: as 1, with the plaintext zero-padded to its Padmé length first.
//   3: the rest is a message for SealReply (longer than kMaxReply refused);
//      a second byte of 0xff makes it kMaxReply bytes (third byte odd: one
//      more) by repeating the input.
// Oracles besides the sanitizers:
// - 0: a reply that opens holds at most kMaxReply bytes and its sealed
//   length is Padmé(9 + length) + 48.
// - 1, 2: OpenReply accepts exactly the plaintexts SealReply would write
//   (this file's reference reading: length within bounds, "SDRP", version
//   1, length <= kMaxReply, plaintext length = Padmé(9 + length), zero
//   padding), with the same message; it refuses with Corruption or Version
//   as the reference says; sealed to another key, it is AuthFailed.
// - 3: SealReply refuses more than kMaxReply bytes (TooLarge); otherwise its
//   output is Padmé(9 + n) + 48 bytes, at most MaxSealedReply(), and opens
//   to the same message; with one byte changed, it is refused (AuthFailed).
#include <sodium.h>

#include <cstring>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "fuzz/fuzz_util.h"

using namespace sealdrop;

namespace {

struct Keys {
  crypto::SourceKeys mine;   // the source's
  crypto::SourceKeys other;  // someone else's
};

void Fill(crypto::SourceKeys* k, const char* hex) {
  std::vector<uint8_t> sk;
  crypto::FromHex(hex, &sk);
  k->sk = crypto::Secret(32);
  std::memcpy(k->sk.data(), sk.data(), 32);
  if (crypto_scalarmult_base(k->pk.data(), k->sk.data()) != 0) fuzz::Die("scalarmult_base");
}

const Keys& K() {
  static const Keys* keys = [] {
    fuzz::InitOnce();
    auto* k = new Keys;
    Fill(&k->mine, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    Fill(&k->other, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    return k;
  }();
  return *keys;
}

constexpr size_t kSealBytes = crypto_box_SEALBYTES;  // 48

bool Same(const crypto::Secret& m, const uint8_t* p, size_t n) {
  return m.size() == n && (n == 0 || std::memcmp(m.data(), p, n) == 0);
}

// Mode 0.
void OpenRaw(const uint8_t* p, size_t n) {
  crypto::Secret msg;
  Status s = crypto::OpenReply(p, n, K().mine, &msg);
  FUZZ_CHECK(s.ok() || s.Is(Status::Code::kCorruption) || s.Is(Status::Code::kAuthFailed) ||
                 s.Is(Status::Code::kVersion),
             "OpenReply failed with an undocumented code: " + s.ToString());
  if (!s.ok()) return;
  FUZZ_CHECK(msg.size() <= crypto::kMaxReply, "a reply longer than kMaxReply opened");
  FUZZ_CHECK(n == crypto::PaddedSize(crypto::kReplyHead + msg.size()) + kSealBytes,
             "a reply opened whose length is not its message's padded length");
  FUZZ_CHECK(n <= crypto::MaxSealedReply());
}

// Modes 1 and 2: `plain` is sealed as it is.
void OpenPlain(const std::vector<uint8_t>& plain) {
  const size_t L = plain.size();
  // The reference reading.
  Status::Code want = Status::Code::kOk;
  size_t len = 0;
  if (L < crypto::kMinPadded || L + kSealBytes > crypto::MaxSealedReply()) {
    want = Status::Code::kCorruption;
  } else if (std::memcmp(plain.data(), "SDRP", 4) != 0) {
    want = Status::Code::kCorruption;
  } else if (plain[4] != 1) {
    want = Status::Code::kVersion;
  } else {
    len = size_t(plain[5]) | size_t(plain[6]) << 8 | size_t(plain[7]) << 16 |
          size_t(plain[8]) << 24;
    if (len > crypto::kMaxReply || crypto::PaddedSize(crypto::kReplyHead + len) != L) {
      want = Status::Code::kCorruption;
    } else {
      for (size_t i = crypto::kReplyHead + len; i < L; i++)
        if (plain[i] != 0) want = Status::Code::kCorruption;
    }
  }
  std::vector<uint8_t> sealed(L + kSealBytes);
  if (crypto_box_seal(sealed.data(), plain.data(), L, K().mine.pk.data()) != 0)
    fuzz::Die("crypto_box_seal");
  crypto::Secret msg;
  Status s = crypto::OpenReply(sealed.data(), sealed.size(), K().mine, &msg);
  FUZZ_CHECK(s.code() == want, "OpenReply says " + s.ToString() + ", the reference code " +
                                   std::to_string(static_cast<int>(want)));
  if (s.ok()) {
    FUZZ_CHECK(Same(msg, plain.data() + crypto::kReplyHead, len),
               "OpenReply gives another message than the plaintext holds");
    // What opens is exactly what SealReply writes for that message.
    std::vector<uint8_t> again;
    FUZZ_CHECK(crypto::SealReply(msg.data(), msg.size(), K().mine.pk.data(), &again).ok());
    FUZZ_CHECK(again.size() == sealed.size(), "SealReply pads the message otherwise");
    // Someone else's key never opens it (checked for what opens only: the
    // length check comes first).
    crypto::Secret m2;
    Status s2 = crypto::OpenReply(sealed.data(), sealed.size(), K().other, &m2);
    FUZZ_CHECK(s2.Is(Status::Code::kAuthFailed), "another key: " + s2.ToString());
  }
}

// Mode 3.
void RoundTrip(const uint8_t* p, size_t n) {
  std::vector<uint8_t> m(p, p + n);
  size_t flip = n > 0 ? p[0] : 0;
  if (n >= 2 && p[0] == 0xff) {
    const size_t want = crypto::kMaxReply + (p[1] & 1);
    m.resize(want);
    for (size_t i = n; i < want; i++) m[i] = p[i % n];
    flip = size_t(p[1]) << 8;
  }
  std::vector<uint8_t> sealed;
  Status s = crypto::SealReply(m.data(), m.size(), K().mine.pk.data(), &sealed);
  if (m.size() > crypto::kMaxReply) {
    FUZZ_CHECK(s.Is(Status::Code::kTooLarge), "SealReply of a message too long: " + s.ToString());
    return;
  }
  FUZZ_CHECK(s.ok(), "SealReply refused: " + s.ToString());
  FUZZ_CHECK(sealed.size() == crypto::PaddedSize(crypto::kReplyHead + m.size()) + kSealBytes,
             "SealReply's output is not the padded length");
  FUZZ_CHECK(sealed.size() <= crypto::MaxSealedReply(), "SealReply wrote more than MaxSealedReply");
  if (m.size() == crypto::kMaxReply)
    FUZZ_CHECK(sealed.size() == crypto::MaxSealedReply(), "the longest reply is not MaxSealedReply");
  crypto::Secret back;
  Status so = crypto::OpenReply(sealed.data(), sealed.size(), K().mine, &back);
  FUZZ_CHECK(so.ok(), "a sealed reply does not open: " + so.ToString());
  FUZZ_CHECK(Same(back, m.data(), m.size()), "a reply opens to another message");
  crypto::Secret other;
  Status s2 = crypto::OpenReply(sealed.data(), sealed.size(), K().other, &other);
  FUZZ_CHECK(s2.Is(Status::Code::kAuthFailed), "opened with another key: " + s2.ToString());
  // One changed byte.
  const size_t at = (flip * 131 + m.size()) % sealed.size();
  sealed[at] ^= uint8_t(1u << (flip % 8));
  Status s3 = crypto::OpenReply(sealed.data(), sealed.size(), K().mine, &other);
  FUZZ_CHECK(s3.Is(Status::Code::kAuthFailed),
             "with byte " + std::to_string(at) + " changed: " + s3.ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  K();
  if (size == 0) return 0;
  const uint8_t* p = data + 1;
  const size_t n = size - 1;
  switch (data[0] & 3) {
    case 0:
      OpenRaw(p, n);
      break;
    case 1:
      OpenPlain(std::vector<uint8_t>(p, p + n));
      break;
    case 2: {
      std::vector<uint8_t> plain(p, p + n);
      plain.resize(size_t(crypto::PaddedSize(n)), 0);
      OpenPlain(plain);
      break;
    }
    default:
      RoundTrip(p, n);
  }
  return 0;
}
