// keyring_fuzz: the keyring reader and writer of crypto/keyring.cc (FORMAT.md
// "Keyring"): PeekKeyring and OpenKeyring (passphrase "x"), which every
// sealdrop-review command that takes --key runs on the file it is given (a
// keyring, or a recipient key file read as a keyring of one); IsKeyring; and
// SealKeyringDeterministic. OpenKeyring runs Argon2id with the costs the file
// names (bounded by the product to opslimit <= 16, memlimit <= 4 GiB): far
// too slow here, so it is only called when the file asks for opslimit 1 and
// memlimit <= 64 KiB, or is too short to name costs at all, or has a version
// or an algorithm that must be refused before anything is derived.
//
// Every input goes through pass 1; one that starts with "SEALDRNG" and has at
// least 16 bytes through pass 2 too:
// 1. Raw: the input is read as sealdrop-review reads --key. Mutations seldom
//    survive the AEAD, so OpenKeyring mostly opens the seeds (passphrase "x",
//    Argon2id 1 / 8 KiB) and refuses headers.
// 2. Re-seal: the bytes after the magic choose 1 to 4 X25519 secrets with
//    rising epochs, a salt and a nonce (FuzzedDataProvider);
//    SealKeyringDeterministic seals them under "x" with Argon2id 1 / 8 KiB,
//    and the keyring goes through pass 1; then one flipped byte, the last byte
//    cut or one byte appended, and it must be refused.
//
// Oracles besides the sanitizers, written from FORMAT.md (Reference() below
// is this file's own reading of it), not from the library:
// - IsKeyring is true exactly when the input starts with the magic.
// - PeekKeyring succeeds only on a keyring of valid layout (80 + 80n bytes,
//   1 <= n <= 64, every algorithm byte 1, every key id BLAKE2b-8 of its
//   public key, epochs rising strictly, no id twice) or a valid recipient key
//   file (152 bytes, SEALDKEY, version 1, kind 1, right key id: one key), and
//   on every such file unless it asks for Argon2id costs outside the bounds
//   (Corruption then); it returns exactly the entries; it fails only with
//   Corruption, Version or InvalidArgument (what the key file reader returns).
// - The magic, the 16-byte header whole and a version other than 1: Version,
//   naming the version. The magic, version 1, the whole entry table there and
//   an entry with an unknown algorithm after valid ones: Version, naming the
//   algorithm, from PeekKeyring and from OpenKeyring.
// - OpenKeyring never succeeds where PeekKeyring fails, nor on costs outside
//   the bounds; it fails only with Corruption, Version, InvalidArgument or
//   AuthFailed, handing out no key. When it succeeds it returns Peek's keys,
//   each with a 32-byte secret whose X25519 public half (crypto_scalarmult_base)
//   is its entry's public key, and sealing them again with the file's costs,
//   salt and nonce (SealKeyringDeterministic; SealKeyFileDeterministic for a
//   key file) gives back the input byte for byte.
// - Pass 2: SealKeyringDeterministic writes FORMAT.md's layout, whose AEAD
//   opens here with libsodium to the secrets in order; OpenKeyring gives back
//   the keys sealed; any flipped byte (but one that only raises the memlimit,
//   too slow to try), the cut and the appended byte make OpenKeyring fail.
#include <fuzzer/FuzzedDataProvider.h>
#include <sodium.h>

#include <cstring>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "fuzz/fuzz_util.h"

using namespace sealdrop;

namespace {

// FORMAT.md "Keyring" and "Key file", as written there.
constexpr uint8_t kRingMagic[8] = {'S', 'E', 'A', 'L', 'D', 'R', 'N', 'G'};
constexpr uint8_t kFileMagic[8] = {'S', 'E', 'A', 'L', 'D', 'K', 'E', 'Y'};
constexpr size_t kHead = 16;   // magic, version, reserved (3), count (4)
constexpr size_t kEntry = 48;  // algorithm, reserved (3), epoch, key id, public key
constexpr uint32_t kDocMaxKeys = 64;
constexpr size_t kKeyFileSize = 152;
constexpr uint32_t kDocMaxOps = 16;
constexpr uint32_t kDocMinMemKib = 8, kDocMaxMemKib = 4u * 1024 * 1024;
// The costs under which OpenKeyring is cheap enough to run on every input.
constexpr uint32_t kCheapMemKib = 64;

uint32_t U32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

size_t RingSize(size_t n) { return 80 + 80 * n; }

bool SamePub(const crypto::PublicKey& a, const crypto::PublicKey& b) {
  return a.pk == b.pk && a.epoch == b.epoch && a.id == b.id;
}

// Whether `msg` holds `word` followed by `number` as a whole decimal number
// ("algorithm 2" names algorithm 2, "algorithm 25" does not).
bool Names(const std::string& msg, const std::string& word, uint32_t number) {
  const std::string want = word + std::to_string(number);
  for (size_t at = msg.find(want); at != std::string::npos; at = msg.find(want, at + 1)) {
    const size_t end = at + want.size();
    if (end == msg.size() || msg[end] < '0' || msg[end] > '9') return true;
  }
  return false;
}

// What FORMAT.md says of an input read as --key.
enum class Doc {
  kRefused,    // not a valid keyring or key file
  kKeyring,    // a keyring of valid layout
  kKeyFile,    // a valid recipient key file
  kVersion,    // the keyring magic and an unknown version
  kAlgorithm,  // a keyring entry with an unknown algorithm after valid ones
};

struct Reading {
  Doc doc = Doc::kRefused;
  std::string why;                     // kRefused: the first rule broken
  std::vector<crypto::PublicKey> keys;  // kKeyring, kKeyFile
  uint32_t number = 0;                 // kVersion: the version; kAlgorithm: the algorithm
  size_t kdf_at = 0;                   // where the costs, salt and nonce are; 0: nowhere
};

Reading Reference(const uint8_t* data, size_t size) {
  Reading r;
  auto refuse = [&r](std::string why) {
    r.why = std::move(why);
    r.keys.clear();
    return r;
  };
  if (size >= 8 && std::memcmp(data, kRingMagic, 8) == 0) {
    // The version is named as soon as its byte is there; the other rules
    // ask for the fixed header whole.
    if (size >= 9 && data[8] != 1) {
      r.doc = Doc::kVersion;
      r.number = data[8];
      return r;
    }
    if (size < kHead) return refuse("keyring header cut short");
    const uint32_t n = U32(data + 12);
    if (n >= 1 && n <= kDocMaxKeys) r.kdf_at = kHead + kEntry * n;
    if (data[9] != 0 || data[10] != 0 || data[11] != 0) return refuse("reserved bytes not zero");
    if (n < 1 || n > kDocMaxKeys) return refuse("count " + std::to_string(n));
    if (size < kHead + kEntry * n) return refuse("entry table cut short");
    for (uint32_t i = 0; i < n; i++) {
      const uint8_t* e = data + kHead + kEntry * i;
      const std::string key = "key " + std::to_string(i + 1);
      if (e[0] != 1) {
        r.doc = Doc::kAlgorithm;
        r.number = e[0];
        r.keys.clear();
        return r;
      }
      if (e[1] != 0 || e[2] != 0 || e[3] != 0) return refuse(key + ": reserved bytes not zero");
      crypto::PublicKey k;
      k.epoch = U32(e + 4);
      std::memcpy(k.id.data(), e + 8, k.id.size());
      std::memcpy(k.pk.data(), e + 16, k.pk.size());
      if (k.id != crypto::ComputeKeyId(k.pk.data(), k.pk.size()))
        return refuse(key + ": key id is not BLAKE2b-8 of the public key");
      if (!r.keys.empty() && k.epoch <= r.keys.back().epoch)
        return refuse(key + ": epoch does not rise");
      for (const auto& o : r.keys)
        if (o.id == k.id) return refuse(key + ": listed twice");
      r.keys.push_back(k);
    }
    if (size != RingSize(n))
      return refuse(std::to_string(size) + " bytes for " + std::to_string(n) + " keys");
    r.doc = Doc::kKeyring;
    return r;
  }
  r.kdf_at = 56;
  if (size != kKeyFileSize) return refuse("not a keyring, and not a key file's length");
  if (std::memcmp(data, kFileMagic, 8) != 0) return refuse("neither magic");
  if (data[8] != 1) return refuse("key file version " + std::to_string(data[8]));
  if (data[9] != 1) return refuse("key file kind " + std::to_string(data[9]));
  crypto::PublicKey k;
  k.epoch = U32(data + 12);
  std::memcpy(k.id.data(), data + 16, k.id.size());
  std::memcpy(k.pk.data(), data + 24, k.pk.size());
  if (k.id != crypto::ComputeKeyId(k.pk.data(), k.pk.size()))
    return refuse("key file's key id is not BLAKE2b-8 of its public key");
  r.keys.push_back(k);
  r.doc = Doc::kKeyFile;
  return r;
}

struct Outcome {
  bool opened = false;  // whether OpenKeyring ran
  Status status;        // its result
  crypto::Keyring ring;
};

// Pass 1. `force` runs OpenKeyring whatever costs the file names (pass 2
// knows them to be cheap or refused before Argon2id).
Outcome Raw(const std::string& bytes, bool force) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  const Reading r = Reference(data, size);
  const bool ring_magic = size >= 8 && std::memcmp(data, kRingMagic, 8) == 0;
  FUZZ_CHECK(crypto::IsKeyring(bytes) == ring_magic, "IsKeyring disagrees with the magic");

  const bool costs_known = r.kdf_at != 0 && size >= r.kdf_at + 8;
  const uint32_t ops = costs_known ? U32(data + r.kdf_at) : 0;
  const uint32_t mem_kib = costs_known ? U32(data + r.kdf_at + 4) : 0;
  const bool in_bounds =
      ops >= 1 && ops <= kDocMaxOps && mem_kib >= kDocMinMemKib && mem_kib <= kDocMaxMemKib;
  const bool valid = r.doc == Doc::kKeyring || r.doc == Doc::kKeyFile;

  std::vector<crypto::PublicKey> peeked;
  const Status sp = crypto::PeekKeyring(bytes, &peeked);
  if (sp.ok()) {
    FUZZ_CHECK(valid, "PeekKeyring accepted what FORMAT.md refuses: " + r.why);
    FUZZ_CHECK(peeked.size() == r.keys.size(), "PeekKeyring returned " +
                   std::to_string(peeked.size()) + " keys of " + std::to_string(r.keys.size()));
    for (size_t i = 0; i < peeked.size(); i++)
      FUZZ_CHECK(SamePub(peeked[i], r.keys[i]), "PeekKeyring returned another key " +
                                                    std::to_string(i + 1) + " than the file's");
  } else {
    FUZZ_CHECK(sp.Is(Status::Code::kCorruption) || sp.Is(Status::Code::kVersion) ||
                   sp.Is(Status::Code::kInvalidArgument),
               "PeekKeyring failed with " + sp.ToString());
    FUZZ_CHECK(!valid || (!in_bounds && sp.Is(Status::Code::kCorruption)),
               "PeekKeyring refused a valid file: " + sp.ToString());
  }
  if (r.doc == Doc::kVersion)
    FUZZ_CHECK(sp.Is(Status::Code::kVersion) && Names(sp.message(), "version ", r.number),
               "keyring version " + std::to_string(r.number) + ": " + sp.ToString());
  if (r.doc == Doc::kAlgorithm)
    FUZZ_CHECK(sp.Is(Status::Code::kVersion) && Names(sp.message(), "algorithm ", r.number),
               "keyring algorithm " + std::to_string(r.number) + ": " + sp.ToString());

  // A reader refuses an unknown version or algorithm before deriving
  // anything, and cannot derive from a file too short to name costs.
  Outcome out;
  const bool cheap = ops == 1 && mem_kib <= kCheapMemKib;
  if (!(force || !costs_known || cheap || r.doc == Doc::kVersion || r.doc == Doc::kAlgorithm))
    return out;
  out.opened = true;
  out.status = crypto::OpenKeyring(bytes, fuzz::TestPassphrase(), &out.ring);
  const Status& so = out.status;
  if (!so.ok()) {
    FUZZ_CHECK(so.Is(Status::Code::kCorruption) || so.Is(Status::Code::kVersion) ||
                   so.Is(Status::Code::kInvalidArgument) || so.Is(Status::Code::kAuthFailed),
               "OpenKeyring failed with " + so.ToString());
    FUZZ_CHECK(out.ring.keys.empty(), "OpenKeyring failed yet handed out keys");
    if (r.doc == Doc::kVersion || r.doc == Doc::kAlgorithm)
      FUZZ_CHECK(so.Is(Status::Code::kVersion) &&
                     Names(so.message(), r.doc == Doc::kVersion ? "version " : "algorithm ",
                           r.number),
                 "OpenKeyring on an unknown version or algorithm: " + so.ToString());
    return out;
  }
  FUZZ_CHECK(sp.ok(), "OpenKeyring opened what PeekKeyring refused: " + sp.ToString());
  FUZZ_CHECK(in_bounds, "OpenKeyring ran Argon2id with costs outside the bounds");
  const crypto::Keyring& ring = out.ring;
  FUZZ_CHECK(ring.keys.size() == peeked.size(), "OpenKeyring returned " +
                 std::to_string(ring.keys.size()) + " keys, PeekKeyring " +
                 std::to_string(peeked.size()));
  for (size_t i = 0; i < ring.keys.size(); i++) {
    const crypto::RecipientKey& k = ring.keys[i];
    const std::string key = "key " + std::to_string(i + 1);
    FUZZ_CHECK(SamePub(k.pub, peeked[i]), "OpenKeyring and PeekKeyring disagree on " + key);
    FUZZ_CHECK(k.sk.size() == crypto_scalarmult_SCALARBYTES, key + " has no secret half");
    uint8_t pk[crypto_scalarmult_BYTES];
    crypto_scalarmult_base(pk, k.sk.data());
    FUZZ_CHECK(std::memcmp(pk, k.pub.pk.data(), sizeof pk) == 0,
               "opened " + key + "'s secret is not its entry's public key's");
  }
  std::string again;
  const crypto::KdfParams kdf{ops, mem_kib};
  const uint8_t* salt = data + r.kdf_at + 8;
  const uint8_t* nonce = data + r.kdf_at + 24;
  Status st = r.doc == Doc::kKeyring
                  ? crypto::SealKeyringDeterministic(ring, fuzz::TestPassphrase(), kdf, salt, nonce, &again)
                  : crypto::SealKeyFileDeterministic(ring.keys[0], fuzz::TestPassphrase(), kdf, salt,
                                                     nonce, &again);
  FUZZ_CHECK(st.ok(), "sealing an opened keyring again: " + st.ToString());
  FUZZ_CHECK(again == bytes, "an opened keyring does not re-seal to itself");
  return out;
}

// FORMAT.md's layout of what SealKeyringDeterministic wrote for `ring`
// (Argon2id 1 / 8 KiB), its AEAD opened here with libsodium.
void CheckWritten(const std::string& bytes, const crypto::Keyring& ring, const uint8_t salt[16],
                  const uint8_t nonce[24]) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = ring.keys.size();
  FUZZ_CHECK(bytes.size() == RingSize(n), "SealKeyringDeterministic wrote " +
                 std::to_string(bytes.size()) + " bytes for " + std::to_string(n) + " keys");
  static const uint8_t kZero[3] = {0, 0, 0};
  FUZZ_CHECK(std::memcmp(b, kRingMagic, 8) == 0 && b[8] == 1 && std::memcmp(b + 9, kZero, 3) == 0 &&
                 U32(b + 12) == n,
             "SealKeyringDeterministic wrote another header");
  for (size_t i = 0; i < n; i++) {
    const uint8_t* e = b + kHead + kEntry * i;
    const crypto::PublicKey& k = ring.keys[i].pub;
    const crypto::KeyId id = crypto::ComputeKeyId(k.pk.data(), k.pk.size());
    FUZZ_CHECK(e[0] == 1 && std::memcmp(e + 1, kZero, 3) == 0 && U32(e + 4) == k.epoch &&
                   std::memcmp(e + 8, id.data(), id.size()) == 0 &&
                   std::memcmp(e + 16, k.pk.data(), k.pk.size()) == 0,
               "SealKeyringDeterministic wrote another entry " + std::to_string(i + 1));
  }
  const size_t ad = kHead + kEntry * n + 48;
  const uint8_t* kdf = b + ad - 48;
  FUZZ_CHECK(U32(kdf) == 1 && U32(kdf + 4) == 8 && std::memcmp(kdf + 8, salt, 16) == 0 &&
                 std::memcmp(kdf + 24, nonce, 24) == 0,
             "SealKeyringDeterministic wrote other costs, salt or nonce");
  uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
  FUZZ_CHECK(crypto_pwhash(key, sizeof key, "x", 1, salt, 1, 8 * 1024,
                           crypto_pwhash_ALG_ARGON2ID13) == 0,
             "Argon2id failed");
  std::vector<uint8_t> plain(32 * n);
  unsigned long long len = 0;
  FUZZ_CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &len, nullptr, b + ad,
                                                        bytes.size() - ad, b, ad, nonce,
                                                        key) == 0 &&
                 len == plain.size(),
             "the AEAD of SealKeyringDeterministic's keyring does not open as FORMAT.md says");
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK(std::memcmp(plain.data() + 32 * i, ring.keys[i].sk.data(), 32) == 0,
               "SealKeyringDeterministic sealed another secret " + std::to_string(i + 1));
  sodium_memzero(key, sizeof key);
  sodium_memzero(plain.data(), plain.size());
}

// Pass 2.
void Reseal(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data + 8, size - 8);
  const size_t want = in.ConsumeIntegralInRange<size_t>(1, 4);
  crypto::Keyring ring;
  uint32_t epoch = in.ConsumeIntegral<uint32_t>();
  for (size_t i = 0; i < want; i++) {
    if (i > 0) {
      const uint32_t step = 1 + in.ConsumeIntegralInRange<uint32_t>(0, 1000);
      if (epoch > UINT32_MAX - step) break;  // no later epoch left
      epoch += step;
    }
    std::vector<uint8_t> secret = in.ConsumeBytes<uint8_t>(32);
    secret.resize(32, uint8_t(0x5a + i));  // input used up: still a key of its own
    crypto::RecipientKey k;
    k.sk = crypto::Secret(32);
    std::memcpy(k.sk.data(), secret.data(), 32);
    crypto_scalarmult_base(k.pub.pk.data(), k.sk.data());
    k.pub.epoch = epoch;
    k.pub.id = crypto::ComputeKeyId(k.pub.pk.data(), k.pub.pk.size());
    // Secrets that differ only in the bits X25519 clamps share a public key,
    // and a keyring may not list a key twice: such a twin is left out.
    bool twin = false;
    for (const auto& o : ring.keys) twin |= o.pub.pk == k.pub.pk;
    if (!twin) ring.keys.push_back(std::move(k));
  }
  uint8_t salt[16] = {}, nonce[24] = {};
  in.ConsumeData(salt, sizeof salt);
  in.ConsumeData(nonce, sizeof nonce);

  std::string sealed;
  const Status st =
      crypto::SealKeyringDeterministic(ring, fuzz::TestPassphrase(), crypto::KdfParams{1, 8}, salt, nonce,
                                       &sealed);
  FUZZ_CHECK(st.ok(), "SealKeyringDeterministic refused a valid keyring: " + st.ToString());
  CheckWritten(sealed, ring, salt, nonce);
  const Outcome o = Raw(sealed, true);
  FUZZ_CHECK(o.status.ok(), "OpenKeyring refused what SealKeyringDeterministic wrote: " +
                                o.status.ToString());
  FUZZ_CHECK(o.ring.keys.size() == ring.keys.size(), "OpenKeyring returned another key count");
  for (size_t i = 0; i < ring.keys.size(); i++)
    FUZZ_CHECK(SamePub(o.ring.keys[i].pub, ring.keys[i].pub) &&
                   std::memcmp(o.ring.keys[i].sk.data(), ring.keys[i].sk.data(), 32) == 0,
               "OpenKeyring returned another key " + std::to_string(i + 1) + " than was sealed");

  // The AEAD covers every byte, and the length is exact: one change and the
  // keyring must not open.
  std::string bad = sealed;
  std::string what;
  bool force = true;
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: {
      const size_t at = in.ConsumeIntegralInRange<size_t>(0, bad.size() - 1);
      const uint8_t mask = in.ConsumeIntegralInRange<uint8_t>(1, 255);
      bad[at] = char(uint8_t(bad[at]) ^ mask);
      what = "byte " + std::to_string(at) + " flipped by " + std::to_string(mask);
      // A memlimit raised within the bounds would make Argon2id too slow here.
      const size_t mem_at = kHead + kEntry * ring.keys.size() + 4;
      if (at >= mem_at && at < mem_at + 4) {
        const uint32_t mem = U32(reinterpret_cast<const uint8_t*>(bad.data()) + mem_at);
        force = !(mem > kCheapMemKib && mem <= kDocMaxMemKib);
      }
      break;
    }
    case 1:
      bad.pop_back();
      what = "the last byte cut";
      break;
    default:
      bad.push_back(char(in.ConsumeIntegral<uint8_t>()));
      what = "a byte appended";
      break;
  }
  const Outcome m = Raw(bad, force);
  if (force) FUZZ_CHECK(m.opened && !m.status.ok(), "OpenKeyring opened a keyring with " + what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InitOnce();
  Raw(std::string(reinterpret_cast<const char*>(data), size), false);
  if (size >= kHead && std::memcmp(data, kRingMagic, 8) == 0) Reseal(data, size);
  return 0;
}
