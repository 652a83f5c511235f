// Keyrings: a reviewer's recipient keys, current and older, under one
// passphrase (docs/FORMAT.md "Keyring").
#include <sodium.h>

#include <cstring>

#include "crypto/crypto.h"

namespace sealdrop {
namespace crypto {
namespace {

constexpr char kMagic[8] = {'S', 'E', 'A', 'L', 'D', 'R', 'N', 'G'};
constexpr uint8_t kVersion = 1;
constexpr size_t kHead = 16;   // magic, version, reserved (3), count (4)
constexpr size_t kEntry = 48;  // algorithm, reserved (3), epoch, key id, public key
constexpr size_t kKdf = 48;    // opslimit, memlimit, salt, nonce
constexpr size_t kSecret = 32; // an X25519 secret key
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetU32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

size_t AdSize(size_t n) { return kHead + n * kEntry + kKdf; }
size_t FileSize(size_t n) { return AdSize(n) + n * kSecret + kTag; }

// Checks everything before the sealed secrets: the count, each entry's
// algorithm and key id, distinct keys with rising epochs, the exact length.
Status Peek(const std::string& bytes, std::vector<PublicKey>* out) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 9 || std::memcmp(b, kMagic, 8) != 0)
    return Status::Corruption("not a sealdrop keyring (bad magic)");
  if (b[8] != kVersion)
    return Status::Version("keyring version " + std::to_string(b[8]) +
                           " is not supported by this build (supports 1)");
  if (bytes.size() < kHead) return Status::Corruption("keyring is cut short");
  if (b[9] != 0 || b[10] != 0 || b[11] != 0)
    return Status::Corruption("keyring's reserved bytes are not zero");
  const uint32_t n = GetU32(b + 12);
  if (n == 0 || n > kMaxKeyringKeys)
    return Status::Corruption("keyring holds " + std::to_string(n) + " keys (1 to " +
                              std::to_string(kMaxKeyringKeys) + ")");
  if (bytes.size() < kHead + size_t(n) * kEntry) return Status::Corruption("keyring is cut short");
  out->clear();
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t* e = b + kHead + size_t(i) * kEntry;
    // An unknown algorithm is refused before anything is decrypted: its
    // secret's length is unknown too.
    if (e[0] != kAlgX25519)
      return Status::Version("keyring key " + std::to_string(i + 1) + " uses algorithm " +
                             std::to_string(e[0]) + ", which this build does not know (knows 1, "
                             "X25519): it was written by a newer sealdrop-review");
    if (e[1] != 0 || e[2] != 0 || e[3] != 0)
      return Status::Corruption("keyring key " + std::to_string(i + 1) +
                                ": reserved bytes are not zero");
    PublicKey pub;
    pub.epoch = GetU32(e + 4);
    std::memcpy(pub.pk.data(), e + 16, kPublicKeySize);
    pub.id = ComputeKeyId(pub.pk.data(), kPublicKeySize);
    if (!Equal(pub.id.data(), e + 8, kKeyIdSize))
      return Status::Corruption("keyring key " + std::to_string(i + 1) + " has the wrong key id");
    if (!out->empty() && pub.epoch <= out->back().epoch)
      return Status::Corruption("keyring keys are not in rising epochs");
    for (const PublicKey& o : *out)
      if (o.id == pub.id) return Status::Corruption("keyring holds a key twice");
    out->push_back(pub);
  }
  if (bytes.size() != FileSize(n)) return Status::Corruption("keyring has the wrong length");
  return Status::OK();
}

}  // namespace

bool IsKeyring(const std::string& bytes) {
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kMagic, 8) == 0;
}

Status SealKeyringDeterministic(const Keyring& ring, const Secret& passphrase,
                                const KdfParams& kdf, const uint8_t salt[16],
                                const uint8_t nonce[24], std::string* out) {
  const size_t n = ring.keys.size();
  if (n == 0 || n > kMaxKeyringKeys)
    return Status::InvalidArgument("a keyring holds 1 to " + std::to_string(kMaxKeyringKeys) +
                                   " keys");
  std::vector<uint8_t> buf(FileSize(n), 0);
  uint8_t* p = buf.data();
  std::memcpy(p, kMagic, 8);
  p[8] = kVersion;
  PutU32(p + 12, uint32_t(n));
  Secret secrets(n * kSecret);
  for (size_t i = 0; i < n; i++) {
    const RecipientKey& k = ring.keys[i];
    if (k.sk.size() != kSecret) return Status::InvalidArgument("a keyring key has no secret half");
    if (i > 0 && k.pub.epoch <= ring.keys[i - 1].pub.epoch)
      return Status::InvalidArgument("keyring keys must be in rising epochs");
    // What the reader refuses is not written: a key twice, or halves that
    // disagree.
    uint8_t derived[kPublicKeySize];
    crypto_scalarmult_base(derived, k.sk.data());
    if (!Equal(derived, k.pub.pk.data(), kPublicKeySize))
      return Status::InvalidArgument("a keyring key's halves disagree");
    for (size_t j = 0; j < i; j++)
      if (ring.keys[j].pub.pk == k.pub.pk)
        return Status::InvalidArgument("a keyring holds a key twice");
    uint8_t* e = p + kHead + i * kEntry;
    e[0] = kAlgX25519;
    PutU32(e + 4, k.pub.epoch);
    const KeyId id = ComputeKeyId(k.pub.pk.data(), kPublicKeySize);
    std::memcpy(e + 8, id.data(), kKeyIdSize);
    std::memcpy(e + 16, k.pub.pk.data(), kPublicKeySize);
    std::memcpy(secrets.data() + i * kSecret, k.sk.data(), kSecret);
  }
  uint8_t* kdfp = p + kHead + n * kEntry;
  PutU32(kdfp, kdf.opslimit);
  PutU32(kdfp + 4, kdf.memlimit_kib);
  std::memcpy(kdfp + 8, salt, 16);
  std::memcpy(kdfp + 24, nonce, 24);
  Secret fk;
  SD_RETURN_IF_ERROR(DerivePassphraseKey(passphrase, salt, kdf.opslimit, kdf.memlimit_kib, &fk));
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + AdSize(n), &clen, secrets.data(), secrets.size(),
                                             p, AdSize(n), nullptr, nonce, fk.data());
  out->assign(reinterpret_cast<const char*>(buf.data()), buf.size());
  return Status::OK();
}

Status SealKeyring(const Keyring& ring, const Secret& passphrase, const KdfParams& kdf,
                   std::string* out) {
  uint8_t salt[16], nonce[24];
  randombytes_buf(salt, sizeof salt);
  randombytes_buf(nonce, sizeof nonce);
  return SealKeyringDeterministic(ring, passphrase, kdf, salt, nonce, out);
}

Status PeekKeyring(const std::string& bytes, std::vector<PublicKey>* out) {
  if (!IsKeyring(bytes)) {
    PublicKey pub;
    SD_RETURN_IF_ERROR(PeekKeyFile(bytes, &pub));
    *out = {pub};
    return Status::OK();
  }
  return Peek(bytes, out);
}

Status OpenKeyring(const std::string& bytes, const Secret& passphrase, Keyring* out) {
  out->keys.clear();
  if (!IsKeyring(bytes)) {
    RecipientKey key;
    SD_RETURN_IF_ERROR(OpenKeyFile(bytes, passphrase, &key));
    out->keys.push_back(std::move(key));
    return Status::OK();
  }
  std::vector<PublicKey> pubs;
  SD_RETURN_IF_ERROR(Peek(bytes, &pubs));
  const size_t n = pubs.size();
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  const uint8_t* kdfp = b + kHead + n * kEntry;
  Secret fk;
  SD_RETURN_IF_ERROR(DerivePassphraseKey(passphrase, kdfp + 8, GetU32(kdfp), GetU32(kdfp + 4), &fk));
  Secret secrets(n * kSecret);
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(secrets.data(), &mlen, nullptr, b + AdSize(n),
                                                 n * kSecret + kTag, b, AdSize(n), kdfp + 24,
                                                 fk.data()) != 0)
    return Status::AuthFailed("wrong passphrase, or the keyring was altered");
  for (size_t i = 0; i < n; i++) {
    // Each secret must match the public half the header names.
    uint8_t derived[kPublicKeySize];
    crypto_scalarmult_base(derived, secrets.data() + i * kSecret);
    if (!Equal(derived, pubs[i].pk.data(), kPublicKeySize)) {
      out->keys.clear();
      return Status::Corruption("keyring key " + std::to_string(i + 1) + ": halves disagree");
    }
    RecipientKey k;
    k.pub = pubs[i];
    k.sk = Secret(kSecret);
    std::memcpy(k.sk.data(), secrets.data() + i * kSecret, kSecret);
    out->keys.push_back(std::move(k));
  }
  return Status::OK();
}

}  // namespace crypto
}  // namespace sealdrop
