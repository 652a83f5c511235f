#include <catch2/catch.hpp>

#include <cstring>

#include "crypto/crypto.h"

using namespace sealdrop;
using namespace sealdrop::crypto;

namespace {

Secret Pass(const char* s) {
  Secret p(std::strlen(s));
  std::memcpy(p.data(), s, p.size());
  return p;
}

// Cheap Argon2id for tests; key files made by the tools use KdfParams{}.
const KdfParams kFast{1, 8 * 1024};

struct Sealed {
  StreamHeader header;
  std::vector<std::vector<uint8_t>> chunks;
  uint64_t padded = 0;
};

Sealed Encrypt(const Secret& ck, const Id& id, uint32_t item, const std::vector<uint8_t>& plain,
               uint8_t version = kStreamV2, ChunkSeal seal = nullptr, size_t step = 7777) {
  Sealed s;
  StreamWriter w;
  REQUIRE(w.Init(ck, id, item, &s.header, version, seal).ok());
  ChunkSink sink = [&](const uint8_t* p, size_t n) {
    s.chunks.emplace_back(p, p + n);
    return Status::OK();
  };
  for (size_t off = 0; off < plain.size(); off += step)
    REQUIRE(w.Write(plain.data() + off, std::min(step, plain.size() - off), sink).ok());
  REQUIRE(w.Finish(sink).ok());
  REQUIRE(w.chunks() == s.chunks.size());
  s.padded = w.padded();
  return s;
}

// Reads the chunks as a record of s.chunks.size() chunks would have them read.
Status Decrypt(const Secret& ck, const Id& id, uint32_t item, const Sealed& s,
               std::vector<uint8_t>* out, uint8_t version = kStreamV2) {
  StreamReader r;
  SD_RETURN_IF_ERROR(r.Init(ck, id, item, s.header, version));
  out->clear();
  std::vector<uint8_t> buf(kChunkSize);
  for (size_t i = 0; i < s.chunks.size(); i++) {
    const auto& c = s.chunks[i];
    size_t n = 0;
    SD_RETURN_IF_ERROR(
        r.Read(uint32_t(i), i + 1 == s.chunks.size(), c.data(), c.size(), buf.data(), &n));
    out->insert(out->end(), buf.begin(), buf.begin() + n);
  }
  return Status::OK();
}

std::vector<uint8_t> Random(size_t n) {
  std::vector<uint8_t> v(n);
  RandomBytes(v.data(), n);
  return v;
}

}  // namespace

TEST_CASE("StreamRoundTripAtChunkBoundaries", "[crypto]") {
  REQUIRE(Init().ok());
  const uint8_t v = uint8_t(GENERATE(1, 2));
  Secret ck = NewContentKey();
  Id id = RandomId();
  for (size_t n : {size_t(0), size_t(1), size_t(255), size_t(256), size_t(257), kChunkSize - 1,
                   kChunkSize, kChunkSize + 1, 3 * kChunkSize + 12345}) {
    auto plain = Random(n);
    Sealed s = Encrypt(ck, id, 1, plain, v);
    REQUIRE(s.padded == PaddedSize(n));
    std::vector<uint8_t> out;
    REQUIRE(Decrypt(ck, id, 1, s, &out, v).ok());
    REQUIRE(out.size() == s.padded);
    REQUIRE(std::equal(plain.begin(), plain.end(), out.begin()));
    for (size_t i = n; i < out.size(); i++) REQUIRE(out[i] == 0);
  }
}

TEST_CASE("StreamWrongKeyRefused", "[crypto]") {
  REQUIRE(Init().ok());
  const uint8_t v = uint8_t(GENERATE(1, 2));
  Secret ck = NewContentKey(), other = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(1000), v);
  std::vector<uint8_t> out;
  REQUIRE(Decrypt(other, id, 1, s, &out, v).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamTamperedChunkRefused", "[crypto]") {
  REQUIRE(Init().ok());
  const uint8_t v = uint8_t(GENERATE(1, 2));
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(2 * kChunkSize + 10), v);
  s.chunks[1][100] ^= 1;
  std::vector<uint8_t> out;
  REQUIRE(Decrypt(ck, id, 1, s, &out, v).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamTruncatedRefused", "[crypto]") {
  REQUIRE(Init().ok());
  const uint8_t v = uint8_t(GENERATE(1, 2));
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(2 * kChunkSize + 10), v);
  s.chunks.pop_back();
  std::vector<uint8_t> out;
  REQUIRE_FALSE(Decrypt(ck, id, 1, s, &out, v).ok());
}

TEST_CASE("StreamChunkAfterFinalRefused", "[crypto]") {
  REQUIRE(Init().ok());
  const uint8_t v = uint8_t(GENERATE(1, 2));
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(10), v);
  s.chunks.push_back(s.chunks.back());
  std::vector<uint8_t> out;
  REQUIRE(Decrypt(ck, id, 1, s, &out, v).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamReorderedChunksRefused", "[crypto]") {
  REQUIRE(Init().ok());
  const uint8_t v = uint8_t(GENERATE(1, 2));
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(3 * kChunkSize), v);
  std::swap(s.chunks[0], s.chunks[1]);
  std::vector<uint8_t> out;
  REQUIRE(Decrypt(ck, id, 1, s, &out, v).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamSplicedAcrossItemsRefused", "[crypto]") {
  REQUIRE(Init().ok());
  const uint8_t v = uint8_t(GENERATE(1, 2));
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed a = Encrypt(ck, id, 1, Random(2 * kChunkSize), v);
  Sealed b = Encrypt(ck, id, 2, Random(2 * kChunkSize), v);
  std::vector<uint8_t> out;
  // Item 2's stream presented as item 1.
  REQUIRE(Decrypt(ck, id, 1, b, &out, v).Is(Status::Code::kAuthFailed));
  // A chunk of item 2 spliced into item 1 (same header, same position).
  Sealed mixed = a;
  mixed.chunks[1] = b.chunks[1];
  REQUIRE(Decrypt(ck, id, 1, mixed, &out, v).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamSplicedAcrossSubmissionsRefused", "[crypto]") {
  REQUIRE(Init().ok());
  const uint8_t v = uint8_t(GENERATE(1, 2));
  Secret ck = NewContentKey();
  Id id1 = RandomId(), id2 = RandomId();
  Sealed a = Encrypt(ck, id1, 1, Random(100), v);
  std::vector<uint8_t> out;
  // Even under the same content key, another submission's id does not open it.
  REQUIRE(Decrypt(ck, id2, 1, a, &out, v).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamV2ChunksOpenInAnyOrderAndOnlyInTheirPlace", "[crypto]") {
  REQUIRE(Init().ok());
  Secret ck = NewContentKey();
  Id id = RandomId();
  auto plain = Random(3 * kChunkSize + 99);
  Sealed s = Encrypt(ck, id, 4, plain);
  REQUIRE(s.chunks.size() == 4);
  StreamReader r;
  REQUIRE(r.Init(ck, id, 4, s.header, kStreamV2).ok());
  std::vector<uint8_t> buf(kChunkSize);
  size_t n = 0;
  for (uint32_t i : {3u, 1u, 0u, 2u}) {
    const auto& c = s.chunks[i];
    REQUIRE(r.Read(i, i == 3, c.data(), c.size(), buf.data(), &n).ok());
    REQUIRE(std::memcmp(buf.data(), plain.data() + i * kChunkSize,
                        std::min(n, plain.size() - i * kChunkSize)) == 0);
  }
  // Another index, or the wrong last-chunk flag, does not open.
  const auto& c1 = s.chunks[1];
  REQUIRE(r.Read(2, false, c1.data(), c1.size(), buf.data(), &n).Is(Status::Code::kAuthFailed));
  REQUIRE(r.Read(1, true, c1.data(), c1.size(), buf.data(), &n).Is(Status::Code::kAuthFailed));
  const auto& c3 = s.chunks[3];
  REQUIRE(r.Read(3, false, c3.data(), c3.size(), buf.data(), &n).Is(Status::Code::kAuthFailed));
  // Another item's header gives another key.
  Sealed other = Encrypt(ck, id, 4, Random(10));
  StreamReader wrong;
  REQUIRE(wrong.Init(ck, id, 4, other.header, kStreamV2).ok());
  REQUIRE(wrong.Read(1, false, c1.data(), c1.size(), buf.data(), &n)
              .Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamV1MustBeReadInOrder", "[crypto]") {
  REQUIRE(Init().ok());
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(2 * kChunkSize), kStreamV1);
  StreamReader r;
  REQUIRE(r.Init(ck, id, 1, s.header, kStreamV1).ok());
  std::vector<uint8_t> buf(kChunkSize);
  size_t n = 0;
  REQUIRE(r.Read(1, true, s.chunks[1].data(), s.chunks[1].size(), buf.data(), &n)
              .Is(Status::Code::kInvalidArgument));
}

TEST_CASE("StreamOfUnknownVersionRefusedByName", "[crypto]") {
  REQUIRE(Init().ok());
  Secret ck = NewContentKey();
  StreamHeader h{};
  StreamReader r;
  Status st = r.Init(ck, RandomId(), 1, h, 3);
  REQUIRE(st.Is(Status::Code::kVersion));
  REQUIRE(st.message().find("version 3") != std::string::npos);
  StreamWriter w;
  REQUIRE(w.Init(ck, RandomId(), 1, &h, 0).Is(Status::Code::kVersion));
}

// The server seals with OpenSSL and the review tool opens with libsodium: the
// two must produce the very same bytes.
TEST_CASE("OpensslSealDiffersFromLibsodiumInNoByte", "[crypto]") {
  REQUIRE(Init().ok());
  for (size_t n : {size_t(0), size_t(1), size_t(15), size_t(16), size_t(17), size_t(63),
                   size_t(64), size_t(65), size_t(1000), size_t(4096), kChunkSize}) {
    auto key = Random(32), nonce = Random(12), ad = Random(20), in = Random(n);
    std::vector<uint8_t> a(n + 16), b(n + 16);
    REQUIRE(SealChunkSodium(key.data(), nonce.data(), ad.data(), ad.size(), in.data(), n,
                            a.data()));
    REQUIRE(SealChunkOpenssl(key.data(), nonce.data(), ad.data(), ad.size(), in.data(), n,
                             b.data()));
    REQUIRE(a == b);
  }
  // And a whole stream sealed with OpenSSL opens with the reader.
  Secret ck = NewContentKey();
  Id id = RandomId();
  auto plain = Random(2 * kChunkSize + 5);
  Sealed s = Encrypt(ck, id, 2, plain, kStreamV2, SealChunkOpenssl);
  std::vector<uint8_t> out;
  REQUIRE(Decrypt(ck, id, 2, s, &out).ok());
  REQUIRE(std::equal(plain.begin(), plain.end(), out.begin()));
}

// The API hashes bundles with OpenSSL's BLAKE2b and the review tool checks
// them with libsodium's: one digest, however the bytes are split.
TEST_CASE("OpensslBlake2bDiffersFromLibsodiumsInNoByte", "[crypto]") {
  REQUIRE(Init().ok());
  auto fast = NewOpensslBlake2b();
  REQUIRE(fast != nullptr);
  auto data = Random(3 * kChunkSize + 77);
  Hasher slow;
  size_t at = 0;
  for (size_t step : {size_t(0), size_t(1), size_t(127), size_t(128), size_t(129), kChunkSize,
                      size_t(5), 2 * kChunkSize}) {
    step = std::min(step, data.size() - at);
    slow.Update(data.data() + at, step);
    fast->Update(data.data() + at, step);
    at += step;
  }
  slow.Update(data.data() + at, data.size() - at);
  fast->Update(data.data() + at, data.size() - at);
  uint8_t a[Digest::kSize], b[Digest::kSize];
  slow.Final(a);
  fast->Final(b);
  REQUIRE(std::equal(a, a + sizeof a, b));
}

// A stream sealed into the sink's own room (as the server's upload batch is)
// must open like one sealed into the writer's buffer, chunk for chunk; and a
// sink with no room left must stop the stream, not have a chunk sealed
// elsewhere.
TEST_CASE("StreamSealedIntoSinkRoomOpensAndStopsWithoutRoom", "[crypto]") {
  REQUIRE(Init().ok());
  uint8_t version = GENERATE(kStreamV1, kStreamV2);
  Secret ck = NewContentKey();
  Id id = RandomId();
  auto plain = Random(2 * kChunkSize + 5);
  Sealed own = Encrypt(ck, id, 1, plain, version);

  StreamWriter w;
  StreamHeader header;
  REQUIRE(w.Init(ck, id, 1, &header, version).ok());
  std::vector<uint8_t> room(4 * (kChunkSize + kChunkOverhead));
  size_t used = 0;
  w.SetOut([&](size_t n) -> uint8_t* {
    if (used + n > room.size()) return nullptr;
    used += n;
    return room.data() + used - n;
  });
  std::vector<std::vector<uint8_t>> chunks;
  ChunkSink sink = [&](const uint8_t* p, size_t n) {
    REQUIRE(p == room.data() + used - n);  // sealed where the room was
    chunks.emplace_back(p, p + n);
    return Status::OK();
  };
  REQUIRE(w.Write(plain.data(), plain.size(), sink).ok());
  REQUIRE(w.Finish(sink).ok());
  // Each stream has its own random header, so the plaintexts are compared.
  Sealed in_room{header, chunks, w.padded()};
  std::vector<uint8_t> a, b;
  REQUIRE(Decrypt(ck, id, 1, own, &a, version).ok());
  REQUIRE(Decrypt(ck, id, 1, in_room, &b, version).ok());
  REQUIRE(a == b);
  REQUIRE(chunks.size() == own.chunks.size());
  for (size_t i = 0; i + 1 < chunks.size(); i++) REQUIRE(chunks[i].size() == own.chunks[i].size());

  StreamWriter full;
  REQUIRE(full.Init(ck, id, 1, &header, version).ok());
  full.SetOut([](size_t) -> uint8_t* { return nullptr; });
  bool sunk = false;
  ChunkSink never = [&](const uint8_t*, size_t) {
    sunk = true;
    return Status::OK();
  };
  REQUIRE(full.Write(plain.data(), kChunkSize, never).ok());  // buffered, not yet sealed
  REQUIRE_FALSE(full.Finish(never).ok());
  REQUIRE_FALSE(sunk);
}

// RFC 8439, section 2.8.2: the AEAD both implementations must be.
TEST_CASE("ChunkSealIsRfc8439ChaCha20Poly1305", "[crypto]") {
  REQUIRE(Init().ok());
  std::vector<uint8_t> key, nonce, ad, want_tag;
  REQUIRE(FromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", &key));
  REQUIRE(FromHex("070000004041424344454647", &nonce));
  REQUIRE(FromHex("50515253c0c1c2c3c4c5c6c7", &ad));
  REQUIRE(FromHex("1ae10b594f09e26a7e902ecbd0600691", &want_tag));
  const std::string text =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  for (ChunkSeal seal : {SealChunkSodium, SealChunkOpenssl}) {
    std::vector<uint8_t> out(text.size() + 16);
    REQUIRE(seal(key.data(), nonce.data(), ad.data(), ad.size(), in, text.size(), out.data()));
    REQUIRE(ToHex(out.data(), 4) == "d31a8d34");
    REQUIRE(ToHex(out.data() + text.size(), 16) == ToHex(want_tag.data(), 16));
  }
}

TEST_CASE("PaddingHidesExactLength", "[crypto]") {
  REQUIRE(PaddedSize(0) == kMinPadded);
  REQUIRE(PaddedSize(256) == 256);
  REQUIRE(PaddedSize(1000) == 1024);
  REQUIRE(PaddedSize(1000000) == 1015808);
  for (uint64_t n : {300ull, 5000ull, 123456789ull, 2147483648ull, 2147483649ull}) {
    uint64_t p = PaddedSize(n);
    REQUIRE(p >= n);
    REQUIRE(p - n <= n / 8);  // Padmé's overhead stays under 12%
  }
  // Lengths that differ only in low bits share a padded size.
  REQUIRE(PaddedSize(100000000) == PaddedSize(100000001));
}

TEST_CASE("SealedContentKeyOpensOnlyForItsRecipient", "[crypto]") {
  REQUIRE(Init().ok());
  RecipientKey a, b;
  REQUIRE(GenerateRecipientKey(1, &a).ok());
  REQUIRE(GenerateRecipientKey(1, &b).ok());
  Secret ck = NewContentKey();
  std::vector<SealedKey> sealed(1);
  REQUIRE(SealContentKey(ck, a.pub, &sealed[0]).ok());
  Secret out;
  REQUIRE(OpenContentKey(sealed, a, &out).ok());
  REQUIRE(Equal(out.data(), ck.data(), kContentKeySize));
  REQUIRE(OpenContentKey(sealed, b, &out).Is(Status::Code::kNotFound));
  // An entry that claims b's key id but was sealed to a fails to open.
  sealed[0].key_id = b.pub.id;
  REQUIRE(OpenContentKey(sealed, b, &out).Is(Status::Code::kAuthFailed));
}

TEST_CASE("KeyFileWrongPassphraseRefused", "[crypto]") {
  REQUIRE(Init().ok());
  RecipientKey k;
  REQUIRE(GenerateRecipientKey(3, &k).ok());
  std::string file;
  REQUIRE(SealKeyFile(k, Pass("correct horse"), kFast, &file).ok());
  RecipientKey back;
  REQUIRE(OpenKeyFile(file, Pass("correct horse"), &back).ok());
  REQUIRE(back.pub.pk == k.pub.pk);
  REQUIRE(back.pub.epoch == 3);
  REQUIRE(Equal(back.sk.data(), k.sk.data(), 32));
  REQUIRE(OpenKeyFile(file, Pass("correct hors"), &back).Is(Status::Code::kAuthFailed));
}

TEST_CASE("KeyFileTamperedHeaderRefused", "[crypto]") {
  REQUIRE(Init().ok());
  RecipientKey k;
  REQUIRE(GenerateRecipientKey(3, &k).ok());
  std::string file;
  REQUIRE(SealKeyFile(k, Pass("pw"), kFast, &file).ok());
  RecipientKey back;
  std::string t = file;
  t[12] ^= 1;  // epoch: covered as associated data
  REQUIRE(OpenKeyFile(t, Pass("pw"), &back).Is(Status::Code::kAuthFailed));
  t = file;
  t[9] = 7;  // unknown kind
  REQUIRE(OpenKeyFile(t, Pass("pw"), &back).Is(Status::Code::kCorruption));
  t = file;
  t[8] = 2;  // newer version
  REQUIRE(OpenKeyFile(t, Pass("pw"), &back).Is(Status::Code::kVersion));
  t = file;
  t[59] = 0x7f;  // absurd opslimit
  REQUIRE(OpenKeyFile(t, Pass("pw"), &back).Is(Status::Code::kCorruption));
  REQUIRE(OpenKeyFile(file.substr(0, 100), Pass("pw"), &back).Is(Status::Code::kCorruption));
}

TEST_CASE("PublicKeyTextRoundTripAndGarbageRefused", "[crypto]") {
  REQUIRE(Init().ok());
  RecipientKey k;
  REQUIRE(GenerateRecipientKey(42, &k).ok());
  std::string text = FormatPublicKey(k.pub);
  PublicKey back;
  REQUIRE(ParsePublicKey(text, &back).ok());
  REQUIRE(back.pk == k.pub.pk);
  REQUIRE(back.epoch == 42);
  REQUIRE(back.id == k.pub.id);
  REQUIRE_FALSE(ParsePublicKey("sdpk1:42:" + text.substr(9, 20), &back).ok());
  REQUIRE_FALSE(ParsePublicKey("sdpk2" + text.substr(5), &back).ok());
  REQUIRE_FALSE(ParsePublicKey("sdpk1::" + text.substr(9), &back).ok());
  REQUIRE_FALSE(ParsePublicKey(text + "A", &back).ok());
}

TEST_CASE("InstanceKeySignsAndTamperedSignatureFails", "[crypto]") {
  REQUIRE(Init().ok());
  SigningKey k;
  REQUIRE(GenerateSigningKey(&k).ok());
  SigningKey back;
  REQUIRE(ParseInstanceKey(FormatInstanceKey(k), &back).ok());
  uint8_t msg[5] = {1, 2, 3, 4, 5}, sig[kSignatureSize];
  Sign(back, msg, sizeof(msg), sig);
  REQUIRE(Verify(k.pk.data(), msg, sizeof(msg), sig));
  msg[0] ^= 1;
  REQUIRE_FALSE(Verify(k.pk.data(), msg, sizeof(msg), sig));
}

// Freed guarded blocks are kept for reuse (Secret's cache): what a block
// held must be wiped when it is let go, not only when it is handed out
// again, and a kept block is the one handed out next.
TEST_CASE("SecretKeptBlockIsWipedWhenReleased", "[crypto]") {
  REQUIRE(Init().ok());
  constexpr size_t kOdd = 1237;  // a size nothing else in the tests uses
  const uint8_t* first;
  {
    Secret s(kOdd);
    std::memset(s.data(), 0xA5, kOdd);
    first = s.data();
  }
  // Still mapped (kept by the cache), and already wiped.
  bool zero = true;
  for (size_t i = 0; i < kOdd; i++) zero = zero && first[i] == 0;
  CHECK(zero);
  Secret again(kOdd);
  CHECK(again.data() == first);
  // resize_down keeps the allocation: the block goes back under its full size.
  again.resize_down(10);
  again = Secret();
  Secret same(kOdd);
  CHECK(same.data() == first);
}

// --- Keyrings (docs/FORMAT.md "Keyring"): one unlock opens what was sealed to
// a reviewer's old and new keys; what is altered, unknown or out of order is
// refused before or instead of being trusted.

namespace {

Keyring Ring(std::initializer_list<uint32_t> epochs) {
  Keyring ring;
  for (uint32_t e : epochs) {
    RecipientKey k;
    REQUIRE(GenerateRecipientKey(e, &k).ok());
    ring.keys.push_back(std::move(k));
  }
  return ring;
}

std::string Sealed(const Keyring& ring, const char* pass = "pass") {
  std::string bytes;
  REQUIRE(SealKeyring(ring, Pass(pass), kFast, &bytes).ok());
  return bytes;
}

std::vector<SealedKey> SealedTo(const Secret& ck, const PublicKey& pub) {
  SealedKey s;
  REQUIRE(SealContentKey(ck, pub, &s).ok());
  return {s};
}

}  // namespace

TEST_CASE("OneUnlockOfARotatedKeyringOpensOldAndNewSubmissions", "[keyring]") {
  REQUIRE(Init().ok());
  Keyring ring = Ring({1, 2});
  const std::string bytes = Sealed(ring);
  CHECK(bytes.size() == 80 + 80 * 2);
  Keyring back;
  REQUIRE(OpenKeyring(bytes, Pass("pass"), &back).ok());
  REQUIRE(back.keys.size() == 2);
  CHECK(back.current().pub.epoch == 2);
  Secret ck = NewContentKey(), got;
  for (const RecipientKey& k : ring.keys) {
    REQUIRE(OpenContentKey(SealedTo(ck, k.pub), back, &got).ok());
    CHECK(Equal(got.data(), ck.data(), ck.size()));
  }
  RecipientKey stranger;
  REQUIRE(GenerateRecipientKey(1, &stranger).ok());
  CHECK(OpenContentKey(SealedTo(ck, stranger.pub), back, &got).Is(Status::Code::kNotFound));

  std::vector<PublicKey> pubs;
  REQUIRE(PeekKeyring(bytes, &pubs).ok());
  REQUIRE(pubs.size() == 2);
  CHECK(pubs[0].id == ring.keys[0].pub.id);
  CHECK(pubs[1].id == ring.keys[1].pub.id);
}

TEST_CASE("AKeyFileOpensAsAKeyringOfOne", "[keyring]") {
  REQUIRE(Init().ok());
  RecipientKey k;
  REQUIRE(GenerateRecipientKey(3, &k).ok());
  std::string file;
  REQUIRE(SealKeyFile(k, Pass("pass"), kFast, &file).ok());
  CHECK_FALSE(IsKeyring(file));
  Keyring ring;
  REQUIRE(OpenKeyring(file, Pass("pass"), &ring).ok());
  REQUIRE(ring.keys.size() == 1);
  CHECK(ring.current().pub.id == k.pub.id);
  CHECK(OpenKeyring(file, Pass("wrong"), &ring).Is(Status::Code::kAuthFailed));
}

TEST_CASE("WrongPassphraseOrAnyAlteredByteOfAKeyringIsRefused", "[keyring]") {
  REQUIRE(Init().ok());
  const std::string bytes = Sealed(Ring({1, 2}));
  Keyring out;
  CHECK(OpenKeyring(bytes, Pass("Pass"), &out).Is(Status::Code::kAuthFailed));
  CHECK(out.keys.empty());
  // Every byte: the header is authenticated, so none can change unnoticed.
  for (size_t i = 0; i < bytes.size(); i++) {
    std::string bad = bytes;
    bad[i] ^= 0x01;
    Status st = OpenKeyring(bad, Pass("pass"), &out);
    INFO("byte " << i << ": " << st.ToString());
    CHECK_FALSE(st.ok());
    CHECK(out.keys.empty());
  }
  CHECK_FALSE(OpenKeyring(bytes.substr(0, bytes.size() - 1), Pass("pass"), &out).ok());
  CHECK_FALSE(OpenKeyring(bytes + '\0', Pass("pass"), &out).ok());
}

TEST_CASE("UnknownKeyAlgorithmOrVersionIsRefusedByNameBeforeUnlocking", "[keyring]") {
  REQUIRE(Init().ok());
  std::string bytes = Sealed(Ring({1, 2}));
  std::string alg = bytes;
  alg[16 + 48] = 2;  // the second key's algorithm
  // A wrong passphrase too: the refusal comes before any unlocking.
  Keyring out;
  Status st = OpenKeyring(alg, Pass("wrong"), &out);
  CHECK(st.Is(Status::Code::kVersion));
  CHECK(st.message().find("key 2 uses algorithm 2") != std::string::npos);
  std::vector<PublicKey> pubs;
  CHECK(PeekKeyring(alg, &pubs).Is(Status::Code::kVersion));
  std::string ver = bytes;
  ver[8] = 2;
  st = OpenKeyring(ver, Pass("wrong"), &out);
  CHECK(st.Is(Status::Code::kVersion));
  CHECK(st.message().find("keyring version 2") != std::string::npos);
}

TEST_CASE("KeyringsOutOfEpochOrderOrWithAKeyTwiceAreNotWritten", "[keyring]") {
  REQUIRE(Init().ok());
  std::string bytes;
  CHECK(SealKeyring(Ring({2, 1}), Pass("p"), kFast, &bytes).Is(Status::Code::kInvalidArgument));
  CHECK(SealKeyring(Ring({1, 1}), Pass("p"), kFast, &bytes).Is(Status::Code::kInvalidArgument));
  CHECK(SealKeyring(Keyring{}, Pass("p"), kFast, &bytes).Is(Status::Code::kInvalidArgument));
  // Read side: swap the two public entries of a valid ring (epochs then fall).
  std::string ok = Sealed(Ring({1, 2}));
  std::string swapped = ok;
  std::memcpy(&swapped[16], ok.data() + 16 + 48, 48);
  std::memcpy(&swapped[16 + 48], ok.data() + 16, 48);
  Keyring out;
  Status st = OpenKeyring(swapped, Pass("pass"), &out);
  CHECK(st.Is(Status::Code::kCorruption));
  CHECK(st.message().find("rising epochs") != std::string::npos);
}

TEST_CASE("AKeyHasOneSpellingAndOtherSpellingsAreRefused", "[crypto]") {
  REQUIRE(Init().ok());
  RecipientKey k;
  REQUIRE(GenerateRecipientKey(7, &k).ok());
  const std::string text = FormatPublicKey(k.pub);
  PublicKey back;
  REQUIRE(ParsePublicKey(text, &back).ok());
  SigningKey s;
  REQUIRE(GenerateSigningKey(&s).ok());
  const std::string sig = FormatSigningPublic(s.pk);
  SignPublic sback;
  REQUIRE(ParseSigningPublic(sig, &sback).ok());
  // libsodium 1.0.18 reads a byte of 0x80..0xff as '_': the same key, another
  // spelling. Put one where a '_' or any character stands.
  std::string under = text;
  under[text.size() - 5] = '_';
  REQUIRE(ParsePublicKey(under, &back).ok());
  std::string high = under;
  high[text.size() - 5] = '\xdf';
  CHECK_FALSE(ParsePublicKey(high, &back).ok());
  // A signing key must also stay a valid point, so only the high byte is
  // checked there.
  std::string shigh = sig;
  shigh[sig.size() - 5] = '\xdf';
  CHECK_FALSE(ParseSigningPublic(shigh, &sback).ok());
  // A leading zero in the epoch.
  CHECK_FALSE(ParsePublicKey("sdpk1:07:" + text.substr(8), &back).ok());
  // The last character's unused low bits set: the same 32 bytes.
  static const std::string kB64 =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string bits = sig;
  const size_t at = kB64.find(bits.back());
  REQUIRE(at % 4 == 0);  // 32 bytes leave 2 unused bits in the 43rd character
  bits.back() = kB64[at + 1];
  CHECK_FALSE(ParseSigningPublic(bits, &sback).ok());
}
