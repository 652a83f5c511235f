// Formats implemented here are specified in docs/FORMAT.md.
#include "crypto/crypto.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <new>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace sealdrop {
namespace crypto {
namespace {

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetU32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

// Key file layout (FORMAT.md "Key file"); the header is the AEAD's associated
// data, so no header byte can change without the file failing to open.
constexpr char kKeyMagic[8] = {'S', 'E', 'A', 'L', 'D', 'K', 'E', 'Y'};
constexpr uint8_t kKeyVersion = 1;
constexpr uint8_t kKindX25519 = 1;
constexpr uint8_t kKindEd25519 = 2;
constexpr size_t kKeyHeaderSize = 8 + 1 + 1 + 2 + 4 + 8 + 32 + 4 + 4 + 16 + 24;  // 104
constexpr size_t kKeyFileSize = kKeyHeaderSize + 32 + 16;                      // 152

constexpr char kInstMagic[8] = {'S', 'E', 'A', 'L', 'D', 'I', 'N', 'S'};
constexpr uint8_t kInstVersion = 1;
constexpr size_t kInstFileSize = 8 + 1 + 32 + 64;

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES] = {'s', 'd', 's', 't', 'r', 'e', 'a', 'm'};
constexpr char kKdfContextV2[crypto_kdf_CONTEXTBYTES] = {'s', 'd', 's', 't', 'r', 'm', '0', '2'};
constexpr size_t kItemKeySize = 32;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

}  // namespace

Status Init() {
  static_assert(sizeof(crypto_generichash_state) <= 384, "Hasher state too small");
  static_assert(crypto_box_SEALBYTES + kContentKeySize == kSealedKeySize, "sealed size");
  static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == kChunkOverhead, "abytes");
  static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == kStreamHeaderSize, "hdr");
  static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == kItemKeySize, "v2 key");
  static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == kNonceSize, "v2 nonce");
  static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kTagSize, "v2 tag");
  if (sodium_init() < 0) return Status::IOError("libsodium failed to initialise");
  return Status::OK();
}

// --- Secret -----------------------------------------------------------------

namespace {

// Guarded blocks kept after use for the next Secret of the same size.
// sodium_malloc and sodium_free are about ten system calls each (mmap,
// mprotect, madvise, mlock and back), and in a threaded process every unmap
// or protection change interrupts the other CPUs: per small submission that
// was a fifth of the server's time. A kept block is wiped, stays locked and
// keeps its guard pages; the cache is small and bounded.
class GuardedCache {
 public:
  void* Take(size_t n) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = free_.find(n);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    bytes_ -= n;
    return p;
  }
  bool Keep(void* p, size_t n) {
    if (n > kMaxBlock) return false;
    std::lock_guard<std::mutex> l(mu_);
    if (bytes_ + n > kMaxBytes) return false;
    std::vector<void*>& v = free_[n];
    if (v.size() >= kPerSize) return false;
    v.push_back(p);
    bytes_ += n;
    return true;
  }

 private:
  static constexpr size_t kMaxBlock = 1u << 20;
  static constexpr size_t kMaxBytes = 4u << 20;
  static constexpr size_t kPerSize = 16;
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t bytes_ = 0;
};

// Never destroyed: a Secret with static storage may outlive it otherwise.
GuardedCache& Cache() {
  static GuardedCache* cache = new GuardedCache;
  return *cache;
}

}  // namespace

Secret::Secret(size_t n) : n_(n), cap_(n == 0 ? 1 : n) {
  // sodium_malloc needs libsodium initialised; make that true for any caller.
  static const bool ready = sodium_init() >= 0;
  if (!ready) std::abort();
  p_ = static_cast<uint8_t*>(Cache().Take(cap_));
  if (p_ == nullptr) p_ = static_cast<uint8_t*>(sodium_malloc(cap_));
  if (p_ == nullptr) {
    // Running out of locked memory is not recoverable in a useful way, and
    // falling back to ordinary memory would break the promise.
    std::abort();
  }
  sodium_memzero(p_, cap_);
}
void Secret::Release() {
  if (p_ == nullptr) return;
  sodium_memzero(p_, cap_);
  if (!Cache().Keep(p_, cap_)) sodium_free(p_);
  p_ = nullptr;
  n_ = cap_ = 0;
}
Secret::~Secret() { Release(); }
Secret::Secret(Secret&& o) noexcept : p_(o.p_), n_(o.n_), cap_(o.cap_) {
  o.p_ = nullptr;
  o.n_ = o.cap_ = 0;
}
Secret& Secret::operator=(Secret&& o) noexcept {
  if (this != &o) {
    Release();
    p_ = o.p_;
    n_ = o.n_;
    cap_ = o.cap_;
    o.p_ = nullptr;
    o.n_ = o.cap_ = 0;
  }
  return *this;
}
void Secret::resize_down(size_t n) {
  if (n < n_) {
    sodium_memzero(p_ + n, n_ - n);
    n_ = n;
  }
}

bool Equal(const uint8_t* a, const uint8_t* b, size_t n) { return sodium_memcmp(a, b, n) == 0; }
void Wipe(void* p, size_t n) { sodium_memzero(p, n); }

namespace {
constexpr size_t kPage = 4096;
size_t Pages(size_t n) { return (std::max<size_t>(n, 1) + kPage - 1) / kPage * kPage; }

// Locking and unlocking cost a system call each, and a form's part headers
// come and go by the dozen: wiped one-page blocks are kept locked for reuse.
constexpr size_t kKeptPages = 256;
std::mutex kept_mu;
std::vector<void*>& Kept() {
  static auto* kept = new std::vector<void*>();  // never destroyed: used until exit
  return *kept;
}
}  // namespace

void* LockedAlloc(size_t n) {
  const size_t len = Pages(n);
  if (len == kPage) {
    std::lock_guard<std::mutex> l(kept_mu);
    if (!Kept().empty()) {
      void* p = Kept().back();
      Kept().pop_back();
      return p;
    }
  }
  // Pages of its own: unlocking a block never unlocks another's page.
  void* p = std::aligned_alloc(kPage, len);
  if (p == nullptr) throw std::bad_alloc();
  (void)sodium_mlock(p, len);
  return p;
}

void LockedFree(void* p, size_t n) {
  if (p == nullptr) return;
  const size_t len = Pages(n);
  if (len == kPage) {
    sodium_memzero(p, len);
    std::lock_guard<std::mutex> l(kept_mu);
    if (Kept().size() < kKeptPages) {
      Kept().push_back(p);
      return;
    }
  }
  sodium_munlock(p, len);  // wipes, then unlocks
  std::free(p);
}
void RandomBytes(uint8_t* p, size_t n) {
  if (n > 0) randombytes_buf(p, n);
}

std::string ToHex(const uint8_t* p, size_t n) {
  std::string s(n * 2 + 1, '\0');
  sodium_bin2hex(s.data(), s.size(), p, n);
  s.resize(n * 2);
  return s;
}

bool FromHex(const std::string& hex, std::vector<uint8_t>* out) {
  if (hex.size() % 2 != 0) return false;
  out->assign(hex.size() / 2, 0);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out->data(), out->size(), hex.data(), hex.size(), nullptr, &len, &end) != 0)
    return false;
  return len == out->size() && end == hex.data() + hex.size();
}

// --- Recipient keys ------------------------------------------------------------

KeyId ComputeKeyId(const uint8_t* pk, size_t n) {
  KeyId id{};
  crypto_generichash(id.data(), id.size(), pk, n, nullptr, 0);
  return id;
}

Status GenerateRecipientKey(uint32_t epoch, RecipientKey* out) {
  out->sk = Secret(crypto_box_SECRETKEYBYTES);
  crypto_box_keypair(out->pub.pk.data(), out->sk.data());
  out->pub.epoch = epoch;
  out->pub.id = ComputeKeyId(out->pub.pk.data(), out->pub.pk.size());
  return Status::OK();
}

Status RecipientKeyFromSecret(const uint8_t* sk, size_t n, uint32_t epoch, RecipientKey* out) {
  if (n != crypto_box_SECRETKEYBYTES) return Status::InvalidArgument("secret key must be 32 bytes");
  out->sk = Secret(n);
  std::memcpy(out->sk.data(), sk, n);
  crypto_scalarmult_base(out->pub.pk.data(), out->sk.data());
  out->pub.epoch = epoch;
  out->pub.id = ComputeKeyId(out->pub.pk.data(), out->pub.pk.size());
  return Status::OK();
}

std::string FormatPublicKey(const PublicKey& pub) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string b64(sodium_base64_ENCODED_LEN(pub.pk.size(), variant), '\0');
  sodium_bin2base64(b64.data(), b64.size(), pub.pk.data(), pub.pk.size(), variant);
  b64.resize(std::strlen(b64.c_str()));
  return "sdpk1:" + std::to_string(pub.epoch) + ":" + b64;
}

Status ParsePublicKey(const std::string& text, PublicKey* out) {
  const std::string prefix = "sdpk1:";
  if (text.compare(0, prefix.size(), prefix) != 0)
    return Status::InvalidArgument("public key does not start with sdpk1:");
  size_t colon = text.find(':', prefix.size());
  if (colon == std::string::npos || colon == prefix.size() || colon - prefix.size() > 9)
    return Status::InvalidArgument("public key lacks an epoch");
  uint32_t epoch = 0;
  for (size_t i = prefix.size(); i < colon; i++) {
    if (text[i] < '0' || text[i] > '9') return Status::InvalidArgument("bad epoch in public key");
    epoch = epoch * 10 + uint32_t(text[i] - '0');
  }
  std::string b64 = text.substr(colon + 1);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out->pk.data(), out->pk.size(), b64.data(), b64.size(), nullptr, &len,
                        &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      len != out->pk.size() || end != b64.data() + b64.size())
    return Status::InvalidArgument("public key is not 32 bytes of base64url");
  out->epoch = epoch;
  out->id = ComputeKeyId(out->pk.data(), out->pk.size());
  // One spelling: libsodium 1.0.18 reads bytes 0x80..0xff as '_' and
  // ignores unused low bits, and a leading zero changes no epoch.
  if (FormatPublicKey(*out) != text)
    return Status::InvalidArgument("public key is not written as sdpk1:<epoch>:<base64url>");
  return Status::OK();
}

// --- Key files --------------------------------------------------------------------

Status DerivePassphraseKey(const Secret& passphrase, const uint8_t salt[16], uint32_t ops,
                           uint32_t mem_kib, Secret* key) {
  if (ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || ops > kMaxOpslimit ||
      uint64_t(mem_kib) * 1024 < crypto_pwhash_argon2id_MEMLIMIT_MIN || mem_kib > kMaxMemlimitKib)
    return Status::Corruption("key file asks for Argon2id parameters outside the allowed range");
  *key = Secret(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  if (crypto_pwhash(key->data(), key->size(), reinterpret_cast<const char*>(passphrase.data()),
                    passphrase.size(), salt, ops, size_t(mem_kib) * 1024,
                    crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status::IOError("Argon2id ran out of memory");
  return Status::OK();
}

namespace {

// Both kinds of key file: the layout is one, the secret is 32 bytes.
Status SealAnyKeyFile(uint8_t kind, uint32_t epoch, const uint8_t pk[32], const uint8_t* secret,
                      const Secret& passphrase, const KdfParams& kdf, const uint8_t salt[16],
                      const uint8_t nonce[24], std::string* out) {
  uint8_t buf[kKeyFileSize];
  uint8_t* p = buf;
  std::memcpy(p, kKeyMagic, 8), p += 8;
  *p++ = kKeyVersion;
  *p++ = kind;
  *p++ = 0, *p++ = 0;
  PutU32(p, epoch), p += 4;
  KeyId id = ComputeKeyId(pk, 32);
  std::memcpy(p, id.data(), 8), p += 8;
  std::memcpy(p, pk, 32), p += 32;
  PutU32(p, kdf.opslimit), p += 4;
  PutU32(p, kdf.memlimit_kib), p += 4;
  std::memcpy(p, salt, 16), p += 16;
  std::memcpy(p, nonce, 24), p += 24;
  Secret fk;
  SD_RETURN_IF_ERROR(DerivePassphraseKey(passphrase, salt, kdf.opslimit, kdf.memlimit_kib, &fk));
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(p, &clen, secret, 32, buf, kKeyHeaderSize, nullptr,
                                             nonce, fk.data());
  out->assign(reinterpret_cast<char*>(buf), sizeof(buf));
  return Status::OK();
}

// Checks the header of a key file of `kind`; *epoch and pk from it.
Status PeekAnyKeyFile(const std::string& bytes, uint8_t kind, uint32_t* epoch, uint8_t pk[32]) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 10 || std::memcmp(b, kKeyMagic, 8) != 0) {
    if (bytes.size() >= 8 && std::memcmp(b, kInstMagic, 8) == 0)
      return Status::InvalidArgument("this is a server instance key, not a reviewer key file");
    return Status::Corruption("not a sealdrop key file (bad magic)");
  }
  if (b[8] != kKeyVersion)
    return Status::Version("key file version " + std::to_string(b[8]) +
                           " is not supported by this build (supports 1)");
  if (b[9] != kind) {
    if (b[9] == kKindX25519)
      return Status::InvalidArgument("this is a recipient key file, not a signing key file");
    if (b[9] == kKindEd25519)
      return Status::InvalidArgument("this is a signing key file, not a recipient key file");
    return Status::Corruption("key file holds an unknown key kind " + std::to_string(b[9]));
  }
  if (bytes.size() != kKeyFileSize) return Status::Corruption("key file has the wrong length");
  *epoch = GetU32(b + 12);
  std::memcpy(pk, b + 24, 32);
  KeyId id = ComputeKeyId(pk, 32);
  if (!Equal(id.data(), b + 16, 8)) return Status::Corruption("key file's key id is wrong");
  return Status::OK();
}

// Opens the 32-byte secret of a key file whose header PeekAnyKeyFile passed.
Status OpenAnyKeyFile(const std::string& bytes, const Secret& passphrase, Secret* secret) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  uint32_t ops = GetU32(b + 56), mem = GetU32(b + 60);
  Secret fk;
  SD_RETURN_IF_ERROR(DerivePassphraseKey(passphrase, b + 64, ops, mem, &fk));
  *secret = Secret(32);
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(secret->data(), &mlen, nullptr,
                                                 b + kKeyHeaderSize, 32 + 16, b, kKeyHeaderSize,
                                                 b + 80, fk.data()) != 0)
    return Status::AuthFailed("wrong passphrase, or the key file was altered");
  return Status::OK();
}

}  // namespace

Status SealKeyFileDeterministic(const RecipientKey& key, const Secret& passphrase,
                                const KdfParams& kdf, const uint8_t salt[16],
                                const uint8_t nonce[24], std::string* out) {
  if (key.sk.size() != crypto_box_SECRETKEYBYTES)
    return Status::InvalidArgument("recipient key has no secret half");
  return SealAnyKeyFile(kKindX25519, key.pub.epoch, key.pub.pk.data(), key.sk.data(), passphrase,
                        kdf, salt, nonce, out);
}

Status SealKeyFile(const RecipientKey& key, const Secret& passphrase, const KdfParams& kdf,
                   std::string* out) {
  uint8_t salt[16], nonce[24];
  randombytes_buf(salt, sizeof(salt));
  randombytes_buf(nonce, sizeof(nonce));
  return SealKeyFileDeterministic(key, passphrase, kdf, salt, nonce, out);
}

Status PeekKeyFile(const std::string& bytes, PublicKey* out) {
  SD_RETURN_IF_ERROR(PeekAnyKeyFile(bytes, kKindX25519, &out->epoch, out->pk.data()));
  out->id = ComputeKeyId(out->pk.data(), 32);
  return Status::OK();
}

Status OpenKeyFile(const std::string& bytes, const Secret& passphrase, RecipientKey* out) {
  PublicKey pub;
  SD_RETURN_IF_ERROR(PeekKeyFile(bytes, &pub));
  Secret sk;
  SD_RETURN_IF_ERROR(OpenAnyKeyFile(bytes, passphrase, &sk));
  // The secret must match the public half the header names.
  uint8_t derived[32];
  crypto_scalarmult_base(derived, sk.data());
  if (!Equal(derived, pub.pk.data(), 32)) return Status::Corruption("key file halves disagree");
  out->pub = pub;
  out->sk = std::move(sk);
  return Status::OK();
}

Status SealSigningKeyFileDeterministic(const SigningKey& key, uint32_t epoch,
                                       const Secret& passphrase, const KdfParams& kdf,
                                       const uint8_t salt[16], const uint8_t nonce[24],
                                       std::string* out) {
  if (key.sk.size() != crypto_sign_SECRETKEYBYTES)
    return Status::InvalidArgument("signing key has no secret half");
  // libsodium's secret key is the seed followed by the public key.
  return SealAnyKeyFile(kKindEd25519, epoch, key.pk.data(), key.sk.data(), passphrase, kdf, salt,
                        nonce, out);
}

Status SealSigningKeyFile(const SigningKey& key, uint32_t epoch, const Secret& passphrase,
                          const KdfParams& kdf, std::string* out) {
  uint8_t salt[16], nonce[24];
  randombytes_buf(salt, sizeof(salt));
  randombytes_buf(nonce, sizeof(nonce));
  return SealSigningKeyFileDeterministic(key, epoch, passphrase, kdf, salt, nonce, out);
}

Status PeekSigningKeyFile(const std::string& bytes, SignPublic* out, uint32_t* epoch) {
  uint32_t e = 0;
  SD_RETURN_IF_ERROR(PeekAnyKeyFile(bytes, kKindEd25519, &e, out->data()));
  if (epoch != nullptr) *epoch = e;
  return Status::OK();
}

Status OpenSigningKeyFile(const std::string& bytes, const Secret& passphrase, SigningKey* out) {
  SignPublic pk;
  SD_RETURN_IF_ERROR(PeekSigningKeyFile(bytes, &pk));
  Secret seed;
  SD_RETURN_IF_ERROR(OpenAnyKeyFile(bytes, passphrase, &seed));
  SD_RETURN_IF_ERROR(SigningKeyFromSeed(seed.data(), out));
  if (!Equal(out->pk.data(), pk.data(), 32)) return Status::Corruption("key file halves disagree");
  return Status::OK();
}

std::string FormatSigningPublic(const SignPublic& pk) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string b64(sodium_base64_ENCODED_LEN(pk.size(), variant), '\0');
  sodium_bin2base64(b64.data(), b64.size(), pk.data(), pk.size(), variant);
  b64.resize(std::strlen(b64.c_str()));
  return "sdsig1:" + b64;
}

Status NormaliseFingerprint(const std::string& text, std::string* out) {
  std::string hex;
  for (char c : text) {
    if (c == ' ' || c == ':' || c == '\t') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return Status::InvalidArgument("an instance fingerprint is made of hexadecimal digits");
    hex += char(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 2 * kSignPublicSize)
    return Status::InvalidArgument("an instance fingerprint has " +
                                   std::to_string(2 * kSignPublicSize) +
                                   " hexadecimal digits, not " + std::to_string(hex.size()));
  *out = hex;
  return Status::OK();
}

Status ParseSigningPublic(const std::string& text, SignPublic* out) {
  const std::string prefix = "sdsig1:";
  if (text.compare(0, prefix.size(), prefix) != 0)
    return Status::InvalidArgument("signing key does not start with sdsig1:");
  std::string b64 = text.substr(prefix.size());
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out->data(), out->size(), b64.data(), b64.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      len != out->size() || end != b64.data() + b64.size())
    return Status::InvalidArgument("signing key is not 32 bytes of base64url");
  // A point that is not a valid Ed25519 key would verify nothing; say so now.
  uint8_t x[32];
  if (crypto_sign_ed25519_pk_to_curve25519(x, out->data()) != 0)
    return Status::InvalidArgument("signing key is not an Ed25519 public key");
  // One spelling (see ParsePublicKey).
  if (FormatSigningPublic(*out) != text)
    return Status::InvalidArgument("signing key is not written as sdsig1:<base64url>");
  return Status::OK();
}

// --- Signing ----------------------------------------------------------------------

Status GenerateSigningKey(SigningKey* out) {
  out->sk = Secret(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(out->pk.data(), out->sk.data());
  return Status::OK();
}

Status SigningKeyFromSeed(const uint8_t seed[32], SigningKey* out) {
  out->sk = Secret(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(out->pk.data(), out->sk.data(), seed);
  return Status::OK();
}

std::string FormatInstanceKey(const SigningKey& key) {
  std::string s(kInstMagic, 8);
  s.push_back(char(kInstVersion));
  s.append(reinterpret_cast<const char*>(key.pk.data()), 32);
  s.append(reinterpret_cast<const char*>(key.sk.data()), 64);
  return s;
}

Status ParseInstanceKey(const std::string& bytes, SigningKey* out) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 9 || std::memcmp(b, kInstMagic, 8) != 0)
    return Status::Corruption("not a sealdrop instance key (bad magic)");
  if (b[8] != kInstVersion)
    return Status::Version("instance key version " + std::to_string(b[8]) + " is not supported");
  if (bytes.size() != kInstFileSize) return Status::Corruption("instance key has the wrong length");
  std::memcpy(out->pk.data(), b + 9, 32);
  out->sk = Secret(crypto_sign_SECRETKEYBYTES);
  std::memcpy(out->sk.data(), b + 41, 64);
  uint8_t pk[32];
  crypto_sign_ed25519_sk_to_pk(pk, out->sk.data());
  if (!Equal(pk, out->pk.data(), 32)) return Status::Corruption("instance key halves disagree");
  return Status::OK();
}

void Sign(const SigningKey& key, const uint8_t* msg, size_t n, uint8_t sig[kSignatureSize]) {
  crypto_sign_detached(sig, nullptr, msg, n, key.sk.data());
}

bool Verify(const uint8_t pk[kSignPublicSize], const uint8_t* msg, size_t n,
            const uint8_t sig[kSignatureSize]) {
  return crypto_sign_verify_detached(sig, msg, n, pk) == 0;
}

void Hash256(const uint8_t* p, size_t n, uint8_t out[kHashSize]) {
  crypto_generichash(out, kHashSize, p, n, nullptr, 0);
}

Hasher::Hasher() {
  crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(state_), nullptr, 0, kSize);
}
void Hasher::Update(const uint8_t* p, size_t n) {
  crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_), p, n);
}
void Hasher::Final(uint8_t out[kSize]) {
  crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_), out, kSize);
}

// --- Content keys -----------------------------------------------------------------

Id RandomId() {
  Id id;
  randombytes_buf(id.data(), id.size());
  return id;
}

Secret NewContentKey() {
  Secret k(kContentKeySize);
  randombytes_buf(k.data(), k.size());
  return k;
}

Status SealContentKey(const Secret& content_key, const PublicKey& to, SealedKey* out) {
  if (content_key.size() != kContentKeySize) return Status::InvalidArgument("bad content key");
  out->box.resize(kSealedKeySize);
  if (crypto_box_seal(out->box.data(), content_key.data(), content_key.size(), to.pk.data()) != 0)
    return Status::InvalidArgument("recipient public key is not usable");
  out->key_id = to.id;
  out->alg = kSealX25519;
  return Status::OK();
}

Status OpenContentKey(const std::vector<SealedKey>& sealed, const RecipientKey& key,
                      Secret* content_key) {
  for (const SealedKey& s : sealed) {
    if (!Equal(s.key_id.data(), key.pub.id.data(), kKeyIdSize)) continue;
    if (s.alg != kSealX25519)
      return Status::Version("the content key for key " + ToHex(key.pub.id.data(), kKeyIdSize) +
                             " is sealed with algorithm " + std::to_string(s.alg) +
                             ", which this build does not know");
    if (s.box.size() != kSealedKeySize)
      return Status::Corruption("sealed content key has the wrong length");
    Secret ck(kContentKeySize);
    if (crypto_box_seal_open(ck.data(), s.box.data(), s.box.size(), key.pub.pk.data(),
                             key.sk.data()) != 0)
      return Status::AuthFailed("sealed content key does not open with this key");
    *content_key = std::move(ck);
    return Status::OK();
  }
  return Status::NotFound("not sealed to key " + ToHex(key.pub.id.data(), kKeyIdSize));
}

Status OpenContentKey(const std::vector<SealedKey>& sealed, const Keyring& ring,
                      Secret* content_key) {
  for (const SealedKey& s : sealed)
    for (const RecipientKey& key : ring.keys)
      if (Equal(s.key_id.data(), key.pub.id.data(), kKeyIdSize))
        return OpenContentKey({s}, key, content_key);
  return Status::NotFound("not sealed to any key of this keyring");
}

// --- Padding ------------------------------------------------------------------------

uint64_t PaddedSize(uint64_t len) {
  if (len <= kMinPadded) return kMinPadded;
  // Padmé (Nikitin et al., PETS 2019): keep the top ~log2(log2(len)) bits.
  int e = 63 - __builtin_clzll(len);
  int s = 32 - __builtin_clz(uint32_t(e));
  int last_bits = e - s;
  uint64_t mask = (uint64_t(1) << last_bits) - 1;
  return (len + mask) & ~mask;
}

// --- Streams ------------------------------------------------------------------------

size_t ChunkOverhead(uint8_t version) {
  if (version == kStreamV1) return crypto_secretstream_xchacha20poly1305_ABYTES;
  if (version == kStreamV2) return kTagSize;
  return 0;
}

bool SealChunkSodium(const uint8_t* key, const uint8_t* nonce, const uint8_t* ad, size_t ad_len,
                     const uint8_t* in, size_t n, uint8_t* out) {
  unsigned long long tag_len = 0;
  return crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + n, &tag_len, in, n, ad,
                                                            ad_len, nullptr, nonce, key) == 0;
}

namespace {

// Version 1: KDF(content key, item, "sdstream"), the secretstream key.
// Version 2: BLAKE2b-256 keyed with KDF(content key, item, "sdstrm02") over
// the item's random header, so a key is never used twice even if a content
// key were.
Secret ItemKey(const Secret& content_key, uint32_t item, uint8_t version,
               const uint8_t* header) {
  Secret k(kItemKeySize);
  if (version == kStreamV1) {
    crypto_kdf_derive_from_key(k.data(), k.size(), item, kKdfContext, content_key.data());
    return k;
  }
  Secret base(kItemKeySize);
  crypto_kdf_derive_from_key(base.data(), base.size(), item, kKdfContextV2, content_key.data());
  crypto_generichash(k.data(), k.size(), header, kStreamHeaderSize, base.data(), base.size());
  return k;
}

// Chunk `index`'s nonce: the index as 11 bytes big-endian, then 1 for the
// item's last chunk and 0 for every other.
void MakeNonce(uint8_t* nonce, uint32_t index, bool last) {
  std::memset(nonce, 0, kNonceSize);
  for (int i = 0; i < 4; i++) nonce[10 - i] = static_cast<uint8_t>(index >> (8 * i));
  nonce[11] = last ? 1 : 0;
}

void MakeAd(uint8_t* ad, const Id& id, uint32_t item) {
  std::memcpy(ad, id.data(), kIdSize);
  PutU32(ad + kIdSize, item);
}

crypto_secretstream_xchacha20poly1305_state* SsState(Secret& s) {
  return reinterpret_cast<crypto_secretstream_xchacha20poly1305_state*>(s.data());
}

}  // namespace

Status StreamWriter::Init(const Secret& content_key, const Id& id, uint32_t item,
                          StreamHeader* header, uint8_t version, ChunkSeal seal) {
  if (content_key.size() != kContentKeySize) return Status::InvalidArgument("bad content key");
  if (version != kStreamV1 && version != kStreamV2)
    return Status::Version("stream version " + std::to_string(version) + " is not known");
  version_ = version;
  seal_ = seal != nullptr ? seal : SealChunkSodium;
  plain_ = Secret();  // grows with what is written (Reserve)
  if (version == kStreamV1) {
    state_ = Secret(sizeof(crypto_secretstream_xchacha20poly1305_state));
    Secret k = ItemKey(content_key, item, version, nullptr);
    crypto_secretstream_xchacha20poly1305_init_push(SsState(state_), header->data(), k.data());
  } else {
    RandomBytes(header->data(), header->size());
    state_ = ItemKey(content_key, item, version, header->data());
  }
  MakeAd(ad_, id, item);
  fill_ = 0;
  length_ = padded_ = 0;
  chunks_ = 0;
  finished_ = false;
  return Status::OK();
}

// The chunk buffer grows by doubling up to kChunkSize: a short message does
// not pay for a whole chunk of guarded memory (sodium_malloc maps, locks and
// fills every page it hands out).
void StreamWriter::Reserve(size_t n) {
  if (plain_.size() >= n) return;
  size_t cap = std::max<size_t>(plain_.size() * 2, 4096);
  while (cap < n) cap *= 2;
  Secret bigger(std::min(cap, kChunkSize));
  if (fill_ > 0) std::memcpy(bigger.data(), plain_.data(), fill_);
  plain_ = std::move(bigger);
}

Status StreamWriter::Emit(bool last, const ChunkSink& sink) {
  size_t n = fill_ + ChunkOverhead(version_);
  uint8_t* c;
  if (out_) {
    c = out_(n);
    if (c == nullptr) return Status::IOError("no room for a sealed chunk");
  } else {
    cipher_.resize(n);
    c = cipher_.data();
  }
  if (version_ == kStreamV1) {
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(
        SsState(state_), c, &clen, plain_.data(), fill_, ad_, sizeof(ad_),
        last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
  } else {
    uint8_t nonce[kNonceSize];
    MakeNonce(nonce, chunks_, last);
    if (!seal_(state_.data(), nonce, ad_, sizeof(ad_), plain_.data(), fill_, c))
      return Status::IOError("sealing a chunk failed (out of memory?)");
  }
  fill_ = 0;
  chunks_++;
  return sink(c, n);
}

Status StreamWriter::Write(const uint8_t* p, size_t n, const ChunkSink& sink) {
  if (finished_ || state_.empty()) return Status::InvalidArgument("stream not open");
  while (n > 0) {
    if (fill_ == kChunkSize) SD_RETURN_IF_ERROR(Emit(false, sink));
    size_t take = std::min(n, kChunkSize - fill_);
    Reserve(fill_ + take);
    std::memcpy(plain_.data() + fill_, p, take);
    fill_ += take;
    length_ += take;
    p += take;
    n -= take;
  }
  return Status::OK();
}

Status StreamWriter::Finish(const ChunkSink& sink) {
  if (finished_ || state_.empty()) return Status::InvalidArgument("stream not open");
  finished_ = true;
  padded_ = PaddedSize(length_);
  uint64_t pad = padded_ - length_;
  // A full buffer is emitted only once we know whether it is the last chunk.
  while (true) {
    if (fill_ == kChunkSize) {
      if (pad == 0) break;
      SD_RETURN_IF_ERROR(Emit(false, sink));
    }
    size_t take = size_t(std::min<uint64_t>(pad, kChunkSize - fill_));
    Reserve(fill_ + take);
    std::memset(plain_.data() + fill_, 0, take);
    fill_ += take;
    pad -= take;
    if (pad == 0) break;
  }
  return Emit(true, sink);
}

Status StreamReader::Init(const Secret& content_key, const Id& id, uint32_t item,
                          const StreamHeader& header, uint8_t version) {
  if (content_key.size() != kContentKeySize) return Status::InvalidArgument("bad content key");
  if (version != kStreamV1 && version != kStreamV2)
    return Status::Version("stream version " + std::to_string(version) + " is not known");
  version_ = version;
  if (version == kStreamV1) {
    state_ = Secret(sizeof(crypto_secretstream_xchacha20poly1305_state));
    Secret k = ItemKey(content_key, item, version, nullptr);
    if (crypto_secretstream_xchacha20poly1305_init_pull(SsState(state_), header.data(),
                                                        k.data()) != 0)
      return Status::AuthFailed("bad stream header");
  } else {
    state_ = ItemKey(content_key, item, version, header.data());
  }
  MakeAd(ad_, id, item);
  next_ = 0;
  finished_ = false;
  return Status::OK();
}

Status StreamReader::Read(uint32_t index, bool last, const uint8_t* cipher, size_t n,
                          uint8_t* out, size_t* out_len) {
  if (state_.empty()) return Status::InvalidArgument("stream not open");
  size_t overhead = ChunkOverhead(version_);
  if (n < overhead || n > kChunkSize + overhead)
    return Status::Corruption("chunk has an impossible length");
  if (version_ == kStreamV2) {
    // Touches no member but the key: safe from several threads at once.
    uint8_t nonce[kNonceSize];
    MakeNonce(nonce, index, last);
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, nullptr, cipher, n - kTagSize,
                                                           cipher + n - kTagSize, ad_,
                                                           sizeof(ad_), nonce, state_.data()) != 0)
      return Status::AuthFailed(
          "chunk failed to authenticate (altered, moved, foreign, or the stream was cut)");
    *out_len = n - kTagSize;
    return Status::OK();
  }
  if (finished_) return Status::AuthFailed("data after the end of the stream");
  if (index != next_) return Status::InvalidArgument("version 1 chunks must be read in order");
  unsigned long long mlen = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(SsState(state_), out, &mlen, &tag, cipher, n,
                                                 ad_, sizeof(ad_)) != 0)
    return Status::AuthFailed("chunk failed to authenticate (altered, reordered or foreign)");
  if (tag != 0 && tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
    return Status::AuthFailed("chunk carries an unexpected tag");
  bool final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  if (final != last) return Status::AuthFailed("stream ends in the wrong place");
  finished_ = final;
  next_++;
  *out_len = size_t(mlen);
  return Status::OK();
}

}  // namespace crypto
}  // namespace sealdrop
