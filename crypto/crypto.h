// sealdrop crypto: keys, key files, sealed content keys, chunked streams and
// padding. Pure computation over bytes: this module does no I/O and includes
// nothing of the other modules. Every byte format is specified in
// docs/FORMAT.md; the constants below are the ones named there.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace sealdrop {
namespace crypto {

// Must be called once before anything else; safe to call again.
Status Init();

// ---------------------------------------------------------------------------
// Guarded memory for secrets: sodium_malloc (guard pages, mlock'd, canary),
// wiped and freed on destruction. Never copied; moved only.
class Secret {
 public:
  Secret() = default;
  explicit Secret(size_t n);  // aborts if guarded memory is exhausted
  ~Secret();
  Secret(Secret&& o) noexcept;
  Secret& operator=(Secret&& o) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;

  uint8_t* data() { return p_; }
  const uint8_t* data() const { return p_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  // Shrinks the logical size (the allocation stays); for passphrases read
  // into a larger buffer.
  void resize_down(size_t n);

 private:
  void Release();  // wipes, then keeps the block for reuse or frees it
  uint8_t* p_ = nullptr;
  size_t n_ = 0;
  size_t cap_ = 0;  // allocated bytes (resize_down keeps them)
};

// Constant-time equality of two equal-length buffers.
bool Equal(const uint8_t* a, const uint8_t* b, size_t n);
void Wipe(void* p, size_t n);

// Whole pages of their own, locked into memory where the limit on locked
// memory allows (best effort: the service also runs without swap); freed
// after they are wiped. For containers of plaintext (WipingAllocator).
// LockedAlloc throws std::bad_alloc when there is no memory, as operator new.
void* LockedAlloc(size_t n);
void LockedFree(void* p, size_t n);

// An allocator for plaintext that must live in an ordinary container (a
// form's part headers, a parser's carried bytes): each block sits on locked
// pages of its own and is wiped before it goes back, where a freed heap block
// would keep it until reused. Short strings live inside the string object
// itself (no block): wipe those with WipeString before the object goes.
template <class T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <class U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(LockedAlloc(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { LockedFree(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const WipingAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const WipingAllocator<U>&) const noexcept { return false; }
};
using WipedString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

// Wipes every byte the string holds, the unused rest of its capacity
// included, and leaves it empty.
template <class S>
void WipeString(S* s) {
  s->resize(s->capacity());
  Wipe(&(*s)[0], s->size());
  s->clear();
}
void RandomBytes(uint8_t* p, size_t n);

std::string ToHex(const uint8_t* p, size_t n);
// Returns false on odd length or a non-hex character.
bool FromHex(const std::string& hex, std::vector<uint8_t>* out);

// ---------------------------------------------------------------------------
// Recipient keys (X25519). A public key travels as text:
//   sdpk1:<epoch>:<base64url of the 32 key bytes, no padding>
constexpr size_t kKeyIdSize = 8;
using KeyId = std::array<uint8_t, kKeyIdSize>;
constexpr size_t kPublicKeySize = 32;
constexpr size_t kSealedKeySize = 80;  // crypto_box_SEALBYTES + 32

struct PublicKey {
  std::array<uint8_t, kPublicKeySize> pk{};
  uint32_t epoch = 0;
  KeyId id{};  // BLAKE2b-64 of pk, see FORMAT.md "Key ids"
};

struct RecipientKey {
  PublicKey pub;
  Secret sk;  // 32 bytes
};

KeyId ComputeKeyId(const uint8_t* pk, size_t n);
Status GenerateRecipientKey(uint32_t epoch, RecipientKey* out);
// Rebuilds a key pair from its 32-byte secret (test vectors, recovery).
Status RecipientKeyFromSecret(const uint8_t* sk, size_t n, uint32_t epoch, RecipientKey* out);
std::string FormatPublicKey(const PublicKey& pub);
Status ParsePublicKey(const std::string& text, PublicKey* out);

// ---------------------------------------------------------------------------
// Key files: the secret half under a passphrase (Argon2id + XChaCha20-Poly1305).
struct KdfParams {
  uint32_t opslimit = 3;
  uint32_t memlimit_kib = 256 * 1024;  // 256 MiB: libsodium's "moderate"
};
// Bounds a key file may ask for; outside them the file is refused, so a
// tampered file cannot make unlocking take hours or exhaust memory.
constexpr uint32_t kMaxOpslimit = 16;
constexpr uint32_t kMaxMemlimitKib = 4u * 1024 * 1024;

// Encrypts `key` under `passphrase` into the key file bytes in *out.
Status SealKeyFile(const RecipientKey& key, const Secret& passphrase, const KdfParams& kdf,
                   std::string* out);
// As SealKeyFile, with caller-chosen salt and nonce: for test vectors only.
Status SealKeyFileDeterministic(const RecipientKey& key, const Secret& passphrase,
                                const KdfParams& kdf, const uint8_t salt[16],
                                const uint8_t nonce[24], std::string* out);
// Reads the public part without the passphrase.
Status PeekKeyFile(const std::string& bytes, PublicKey* out);
// Returns AuthFailed for a wrong passphrase or a tampered file.
Status OpenKeyFile(const std::string& bytes, const Secret& passphrase, RecipientKey* out);

// Argon2id of a passphrase into a 32-byte AEAD key, refusing costs outside
// the bounds above (Corruption) before running: key files and keyrings.
Status DerivePassphraseKey(const Secret& passphrase, const uint8_t salt[16], uint32_t opslimit,
                           uint32_t memlimit_kib, Secret* key);

// Reads a passphrase (at most 1024 bytes) into guarded memory: the first line
// of `file`, or, if file is empty, from the terminal with echo off, showing
// `prompt`; `confirm` asks twice (passphrase.cc).
Status ReadPassphrase(const std::string& file, const char* prompt, bool confirm, Secret* out);

// ---------------------------------------------------------------------------
// Keyrings (FORMAT.md "Keyring"): a reviewer's current and older recipient
// keys under one passphrase, each with its algorithm tag, so that one unlock
// opens what was sealed to any of them. Oldest first; the last is current.
constexpr uint8_t kAlgX25519 = 1;  // the only recipient algorithm so far
constexpr size_t kMaxKeyringKeys = 64;

struct Keyring {
  std::vector<RecipientKey> keys;
  const RecipientKey& current() const { return keys.back(); }
};

Status SealKeyring(const Keyring& ring, const Secret& passphrase, const KdfParams& kdf,
                   std::string* out);
// As SealKeyring, with caller-chosen salt and nonce: for test vectors only.
Status SealKeyringDeterministic(const Keyring& ring, const Secret& passphrase,
                                const KdfParams& kdf, const uint8_t salt[16],
                                const uint8_t nonce[24], std::string* out);
// The public keys of a keyring, or of a recipient key file (a keyring of
// one), without the passphrase.
Status PeekKeyring(const std::string& bytes, std::vector<PublicKey>* out);
// Opens a keyring, or a recipient key file as a keyring of one. AuthFailed
// for a wrong passphrase or a tampered file; Version for an unknown version
// or algorithm, named.
Status OpenKeyring(const std::string& bytes, const Secret& passphrase, Keyring* out);
// Whether `bytes` start as a keyring (else they may be a key file).
bool IsKeyring(const std::string& bytes);

// ---------------------------------------------------------------------------
// Signing keys (Ed25519): the instance key that signs bundles.
constexpr size_t kSignPublicSize = 32;
constexpr size_t kSignatureSize = 64;
struct SigningKey {
  std::array<uint8_t, kSignPublicSize> pk{};
  Secret sk;  // 64 bytes
};
Status GenerateSigningKey(SigningKey* out);
// Deterministic key from a 32-byte seed: for test vectors only.
Status SigningKeyFromSeed(const uint8_t seed[32], SigningKey* out);
// Instance key file: unencrypted (the server signs unattended), written 0600.
std::string FormatInstanceKey(const SigningKey& key);
Status ParseInstanceKey(const std::string& bytes, SigningKey* out);
// A reviewer's signing key (FORMAT.md "Key file", kind 2): the key file's
// layout under a passphrase, holding the 32-byte Ed25519 seed. It signs the
// outboxes that carry replies to the server.
using SignPublic = std::array<uint8_t, kSignPublicSize>;
Status SealSigningKeyFile(const SigningKey& key, uint32_t epoch, const Secret& passphrase,
                          const KdfParams& kdf, std::string* out);
// As SealSigningKeyFile, with caller-chosen salt and nonce: for test vectors only.
Status SealSigningKeyFileDeterministic(const SigningKey& key, uint32_t epoch,
                                       const Secret& passphrase, const KdfParams& kdf,
                                       const uint8_t salt[16], const uint8_t nonce[24],
                                       std::string* out);
// The public key (and epoch) a signing key file holds, read without the passphrase.
Status PeekSigningKeyFile(const std::string& bytes, SignPublic* out, uint32_t* epoch = nullptr);
Status OpenSigningKeyFile(const std::string& bytes, const Secret& passphrase, SigningKey* out);
// Turns an instance fingerprint as a person types or pastes it (the 64
// hexadecimal digits of the instance key that `sealdrop-server init` prints,
// in either case, with spaces or colons between digits) into 64 lowercase hex
// digits in *out. InvalidArgument for anything else, such as a shortened key:
// a prefix would be easier to match by a key made to look alike.
Status NormaliseFingerprint(const std::string& text, std::string* out);
// "sdsig1:<base64url of the 32 key bytes, no padding>", as the server's
// config lists a reviewer's signing key.
std::string FormatSigningPublic(const SignPublic& pk);
Status ParseSigningPublic(const std::string& text, SignPublic* out);
void Sign(const SigningKey& key, const uint8_t* msg, size_t n, uint8_t sig[kSignatureSize]);
bool Verify(const uint8_t pk[kSignPublicSize], const uint8_t* msg, size_t n,
            const uint8_t sig[kSignatureSize]);

// BLAKE2b-256 of p[0..n), unkeyed: the record hash of an acknowledgement
// (FORMAT.md "Outbox").
constexpr size_t kHashSize = 32;
void Hash256(const uint8_t* p, size_t n, uint8_t out[kHashSize]);

// Streaming BLAKE2b-512.
// An incremental unkeyed BLAKE2b-512. Hasher is libsodium's; the server
// hashes the bundles it sends with OpenSSL's (NewOpensslBlake2b), the same
// digest in about half the time, which bounded a courier's fetch
// (docs/PERFORMANCE.md).
class Digest {
 public:
  static constexpr size_t kSize = 64;
  virtual ~Digest() = default;
  virtual void Update(const uint8_t* p, size_t n) = 0;
  virtual void Final(uint8_t out[kSize]) = 0;
};

class Hasher final : public Digest {
 public:
  Hasher();
  void Update(const uint8_t* p, size_t n) override;
  void Final(uint8_t out[kSize]) override;

 private:
  alignas(64) unsigned char state_[384];
};
// OpenSSL's BLAKE2b-512 (crypto/evp.cc, server only); null if this OpenSSL
// lacks it.
std::unique_ptr<Digest> NewOpensslBlake2b();

// ---------------------------------------------------------------------------
// Submissions. Each gets a fresh 32-byte content key, sealed once per
// recipient with crypto_box_seal.
constexpr size_t kIdSize = 16;
using Id = std::array<uint8_t, kIdSize>;
Id RandomId();

constexpr size_t kContentKeySize = 32;
Secret NewContentKey();

// A content key sealed to one recipient. Algorithm 1 is X25519 SEAL
// (kSealedKeySize bytes), the only one this build opens; a record may carry
// others for recipients of a newer build (FORMAT.md "Submission record").
constexpr uint8_t kSealX25519 = 1;
struct SealedKey {
  KeyId key_id{};
  uint8_t alg = kSealX25519;
  std::vector<uint8_t> box;
};
Status SealContentKey(const Secret& content_key, const PublicKey& to, SealedKey* out);
// Finds the entry for `key` in `sealed` and opens it. NotFound if no entry is
// addressed to this key; Version if that entry uses an algorithm this build
// does not know; AuthFailed if the box does not open.
Status OpenContentKey(const std::vector<SealedKey>& sealed, const RecipientKey& key,
                      Secret* content_key);
// The same with whichever key of the ring an entry is addressed to.
Status OpenContentKey(const std::vector<SealedKey>& sealed, const Keyring& ring,
                      Secret* content_key);

// Padmé: the padded length of an item of `len` bytes (never below kMinPadded).
constexpr uint64_t kMinPadded = 256;
uint64_t PaddedSize(uint64_t len);

// Streams. Item i of submission `id` is cut into chunks of kChunkSize
// plaintext bytes (the last may be shorter), encrypted under a key derived
// from the content key and i, with `id || i` as every chunk's associated data,
// so chunks cannot move between items or submissions (FORMAT.md "Items and
// streams"). Two versions:
//   2 (written): every chunk is sealed on its own with ChaCha20-Poly1305
//     (RFC 8439) under a nonce made of its index and a last-chunk flag, so
//     chunks open in any order, on as many cores as there are, and a
//     reordered, dropped or appended chunk fails to open.
//   1 (read, and written only for tests): crypto_secretstream_xchacha20poly1305,
//     whose state chains the chunks; opened strictly in order.
constexpr uint8_t kStreamV1 = 1;
constexpr uint8_t kStreamV2 = 2;
constexpr size_t kChunkSize = 256 * 1024;
constexpr size_t kChunkOverhead = 17;  // the larger of the versions' (1: 17, 2: 16)
// Ciphertext bytes a chunk adds in `version`; 0 for a version not known.
size_t ChunkOverhead(uint8_t version);
constexpr size_t kStreamHeaderSize = 24;
using StreamHeader = std::array<uint8_t, kStreamHeaderSize>;

// Seals one version-2 chunk: ChaCha20-Poly1305 (RFC 8439) of `n` bytes under a
// 32-byte key and 12-byte nonce, writing n + 16 bytes (ciphertext, then tag)
// to `out`. False if the implementation failed (out of memory).
using ChunkSeal = bool (*)(const uint8_t* key, const uint8_t* nonce, const uint8_t* ad,
                           size_t ad_len, const uint8_t* in, size_t n, uint8_t* out);
// libsodium's implementation, the default.
bool SealChunkSodium(const uint8_t* key, const uint8_t* nonce, const uint8_t* ad, size_t ad_len,
                     const uint8_t* in, size_t n, uint8_t* out);
// OpenSSL's, which seals about 2.3 times as fast on x86-64 with AVX-512 (see
// docs/PERFORMANCE.md); its output is the same bytes. Defined in
// crypto/evp.cc, in the library sealdrop_crypto_evp, which only the server
// links: sealdrop-review links no OpenSSL.
bool SealChunkOpenssl(const uint8_t* key, const uint8_t* nonce, const uint8_t* ad, size_t ad_len,
                      const uint8_t* in, size_t n, uint8_t* out);

// Receives each ciphertext chunk in order. The buffer is valid only during the
// call.
using ChunkSink = std::function<Status(const uint8_t* cipher, size_t n)>;
// Where a chunk of `n` ciphertext bytes is sealed: room that stays valid until
// the sink's call for that chunk returns, or null to refuse. A sink that keeps
// the bytes anyway saves a copy by handing out room in its own buffer.
using ChunkOut = std::function<uint8_t*(size_t n)>;

class StreamWriter {
 public:
  StreamWriter() = default;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // Starts item `item` of submission `id`; `header` receives the stream
  // header. `seal` chooses the implementation for version 2 (null: libsodium).
  Status Init(const Secret& content_key, const Id& id, uint32_t item, StreamHeader* header,
              uint8_t version = kStreamV2, ChunkSeal seal = nullptr);
  // Feeds plaintext; full chunks are encrypted and given to `sink`.
  Status Write(const uint8_t* p, size_t n, const ChunkSink& sink);
  // Pads to PaddedSize(length()) and emits the rest, the last chunk marked.
  Status Finish(const ChunkSink& sink);
  // Seal chunks into `out`'s room from now on, instead of the writer's own
  // buffer.
  void SetOut(ChunkOut out) { out_ = std::move(out); }
  uint64_t length() const { return length_; }     // plaintext bytes written
  uint64_t padded() const { return padded_; }      // set by Finish
  uint32_t chunks() const { return chunks_; }      // chunks emitted

 private:
  Status Emit(bool last, const ChunkSink& sink);
  void Reserve(size_t n);
  uint8_t version_ = 0;
  ChunkSeal seal_ = nullptr;
  ChunkOut out_;
  Secret state_;  // version 1: the secretstream state; version 2: the item key
  Secret plain_;
  std::vector<uint8_t> cipher_;
  size_t fill_ = 0;
  uint64_t length_ = 0;
  uint64_t padded_ = 0;
  uint32_t chunks_ = 0;
  uint8_t ad_[kIdSize + 4] = {};
  bool finished_ = false;
};

class StreamReader {
 public:
  StreamReader() = default;
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  // Version is the stream version its record names; another gives Version.
  Status Init(const Secret& content_key, const Id& id, uint32_t item, const StreamHeader& header,
              uint8_t version);
  // Decrypts chunk `index` into `out` (which must hold n - ChunkOverhead
  // bytes); `last` says whether the record makes it the item's last chunk. A
  // chunk that is altered, foreign, out of place or last where the record says
  // otherwise gives AuthFailed. Version 1 must be read in order, from chunk 0;
  // version 2 may be read in any order, and from several threads at once.
  Status Read(uint32_t index, bool last, const uint8_t* cipher, size_t n, uint8_t* out,
              size_t* out_len);
  uint8_t version() const { return version_; }

 private:
  uint8_t version_ = 0;
  Secret state_;  // version 1: the secretstream state; version 2: the item key
  uint32_t next_ = 0;
  uint8_t ad_[kIdSize + 4] = {};
  bool finished_ = false;
};

// ---------------------------------------------------------------------------
// Codenames (FORMAT.md "Codenames"): what a source keeps to come back. Seven
// words of EFF's large list (crypto/words/). From a codename and the
// instance's codename parameters, Argon2id and then two labelled subkeys give
// a lookup id (no longer used by the server) and the X25519 key pair that
// replies are sealed to.
constexpr size_t kCodenameWords = 7;
constexpr size_t kWordCount = 7776;
// Longer input is not a codename; it is still put through the same work.
constexpr size_t kMaxCodenameInput = 512;

// The list, in its order (the embedded file's second column).
const std::vector<std::string>& Words();
// A new codename: seven words drawn uniformly, lowercase, one space between.
Secret NewCodename();
// What a source typed, as the codename it stands for: ASCII letters in lower
// case; every run of spaces, tabs, line breaks and no-break spaces one space;
// none at either end; at most kMaxCodenameInput bytes of input are read.
Secret NormalizeCodename(const uint8_t* p, size_t n);
// Whether a normalized codename is seven words of the list: the only check a
// log-in makes, since the server keeps no record of who holds a codename
// (docs/INSTANCES.md). InvalidArgument with *bad = 0 when it has another
// number of words, with *bad = i (1..7) when word i is not in the list. It
// takes the same time whatever the words are: how long it takes says
// nothing about them.
Status CheckCodenameWords(const Secret& codename, size_t* bad);

// Fixed for the life of an instance (and shared by instances behind one
// onion address): changing any of them changes every lookup id and reply key.
struct CodenameParams {
  // A codename holds 90 bits: no cost makes a search of them feasible or
  // not, so it is kept low. Every first submission pays it, and a high one
  // would let a flood of submissions keep sources out (SECURITY.md).
  uint32_t opslimit = 1;
  uint32_t memlimit_kib = 256;
  std::array<uint8_t, 16> salt{};
};
// "sdcn1:<opslimit>:<memlimit KiB>:<salt, base64url>\n"
std::string FormatCodenameParams(const CodenameParams& p);
Status ParseCodenameParams(const std::string& text, CodenameParams* out);

constexpr size_t kLookupIdSize = 32;
using LookupId = std::array<uint8_t, kLookupIdSize>;
struct SourceKeys {
  LookupId lookup{};
  std::array<uint8_t, kPublicKeySize> pk{};  // replies are sealed to it
  Secret sk;                                 // 32 bytes; opens them
};
// Argon2id(codename, salt) as a 32-byte master key, then crypto_kdf subkeys
// 1 (the lookup id) and 2 (the seed of the X25519 pair) in context
// "sdsource". The same work for every input, codename or not.
Status DeriveSourceKeys(const Secret& codename, const CodenameParams& p, SourceKeys* out);

// ---------------------------------------------------------------------------
// Replies (FORMAT.md "Replies"): a message from the team to a source, sealed
// with crypto_box_seal to the source's reply key, padded with Padmé so that
// its sealed length tells little about its text.
constexpr size_t kMaxReply = 64 * 1024;  // bytes of UTF-8
constexpr size_t kReplyHead = 4 + 1 + 4;  // magic, version, length
// The sealed length of the longest reply.
size_t MaxSealedReply();
// Seals `n` bytes of message (at most kMaxReply) to the X25519 key `to`.
Status SealReply(const uint8_t* msg, size_t n, const uint8_t to[kPublicKeySize],
                 std::vector<uint8_t>* sealed);
// Opens a sealed reply with the source's keys into guarded memory (the
// message only). AuthFailed if it is not sealed to these keys or was
// altered; Corruption if what it holds is not a reply.
Status OpenReply(const uint8_t* sealed, size_t n, const SourceKeys& keys, Secret* message);

// What a reviewer signs for each reply in an outbox, and the server checks
// before showing it: the reply bound to the instance, its id and the source.
// "sealdrop-reply-1" || instance || id || source || sealed.
std::vector<uint8_t> ReplySignedBytes(const SignPublic& instance, const Id& id,
                                      const uint8_t source[kPublicKeySize],
                                      const uint8_t* sealed, size_t n);

// The team's notes on a submission (status, notes; format/triage.cc),
// sealed with XChaCha20-Poly1305 under BLAKE2b-256(key = content key,
// "sealdrop-triage-1"), with that string and the id as associated data:
// whoever can open the submission can read and change its notes, no one
// else. Sealed: nonce (24) || ciphertext || tag (16) (FORMAT.md "Triage
// record").
constexpr size_t kMaxTriage = 4u << 20;  // plaintext bytes
Status SealTriage(const Secret& content_key, const Id& id, const uint8_t* plain, size_t n,
                  std::vector<uint8_t>* sealed);
// AuthFailed if altered, or sealed for another submission.
Status OpenTriage(const Secret& content_key, const Id& id, const uint8_t* sealed, size_t n,
                  Secret* plain);

// The vault's index (FORMAT.md "Index record"): what a reviewer's vault
// learned of each submission, sealed per reviewer, so that list and stats
// read 100,000 cases without opening 100,000 sealed boxes. Each reviewer's
// index key comes from their keyring alone, so reviewers sharing a vault
// each keep their own index and need share nothing:
//   index key = BLAKE2b-256(key = secret key of the ring's oldest key,
//                           "sealdrop-index-key-1")
//   index id  = BLAKE2b-64(key = index key, "sealdrop-index-id-1")
// The id files a reviewer's records apart from another's without naming
// the reviewer. Records are XChaCha20-Poly1305 under the index key, with
// "sealdrop-index-1" || index id || submission id as associated data:
// nonce (24) || ciphertext || tag (16).
constexpr size_t kIndexIdSize = 8;
using IndexId = std::array<uint8_t, kIndexIdSize>;
constexpr size_t kMaxIndex = 64u << 10;  // plaintext bytes
Status DeriveIndexKey(const Keyring& ring, Secret* key, IndexId* id);
Status SealIndex(const Secret& key, const IndexId& iid, const Id& id, const uint8_t* plain,
                 size_t n, std::vector<uint8_t>* sealed);
// AuthFailed if altered, another reviewer's, or filed under another submission.
Status OpenIndex(const Secret& key, const IndexId& iid, const Id& id, const uint8_t* sealed,
                 size_t n, Secret* plain);

}  // namespace crypto
}  // namespace sealdrop
