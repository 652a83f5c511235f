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
               size_t step = 7777) {
  Sealed s;
  StreamWriter w;
  REQUIRE(w.Init(ck, id, item, &s.header).ok());
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

Status Decrypt(const Secret& ck, const Id& id, uint32_t item, const Sealed& s,
               std::vector<uint8_t>* out) {
  StreamReader r;
  SD_RETURN_IF_ERROR(r.Init(ck, id, item, s.header));
  out->clear();
  std::vector<uint8_t> buf(kChunkSize);
  for (const auto& c : s.chunks) {
    size_t n = 0;
    bool final = false;
    SD_RETURN_IF_ERROR(r.Read(c.data(), c.size(), buf.data(), &n, &final));
    out->insert(out->end(), buf.begin(), buf.begin() + n);
  }
  if (!r.finished()) return Status::AuthFailed("stream ended before its FINAL chunk");
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
  Secret ck = NewContentKey();
  Id id = RandomId();
  for (size_t n : {size_t(0), size_t(1), size_t(255), size_t(256), size_t(257), kChunkSize - 1,
                   kChunkSize, kChunkSize + 1, 3 * kChunkSize + 12345}) {
    auto plain = Random(n);
    Sealed s = Encrypt(ck, id, 1, plain);
    REQUIRE(s.padded == PaddedSize(n));
    std::vector<uint8_t> out;
    REQUIRE(Decrypt(ck, id, 1, s, &out).ok());
    REQUIRE(out.size() == s.padded);
    REQUIRE(std::equal(plain.begin(), plain.end(), out.begin()));
    for (size_t i = n; i < out.size(); i++) REQUIRE(out[i] == 0);
  }
}

TEST_CASE("StreamWrongKeyRefused", "[crypto]") {
  REQUIRE(Init().ok());
  Secret ck = NewContentKey(), other = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(1000));
  std::vector<uint8_t> out;
  REQUIRE(Decrypt(other, id, 1, s, &out).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamTamperedChunkRefused", "[crypto]") {
  REQUIRE(Init().ok());
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(2 * kChunkSize + 10));
  s.chunks[1][100] ^= 1;
  std::vector<uint8_t> out;
  REQUIRE(Decrypt(ck, id, 1, s, &out).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamTruncatedRefused", "[crypto]") {
  REQUIRE(Init().ok());
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(2 * kChunkSize + 10));
  s.chunks.pop_back();
  std::vector<uint8_t> out;
  REQUIRE_FALSE(Decrypt(ck, id, 1, s, &out).ok());
}

TEST_CASE("StreamChunkAfterFinalRefused", "[crypto]") {
  REQUIRE(Init().ok());
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(10));
  s.chunks.push_back(s.chunks.back());
  std::vector<uint8_t> out;
  REQUIRE(Decrypt(ck, id, 1, s, &out).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamReorderedChunksRefused", "[crypto]") {
  REQUIRE(Init().ok());
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed s = Encrypt(ck, id, 1, Random(3 * kChunkSize));
  std::swap(s.chunks[0], s.chunks[1]);
  std::vector<uint8_t> out;
  REQUIRE(Decrypt(ck, id, 1, s, &out).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamSplicedAcrossItemsRefused", "[crypto]") {
  REQUIRE(Init().ok());
  Secret ck = NewContentKey();
  Id id = RandomId();
  Sealed a = Encrypt(ck, id, 1, Random(2 * kChunkSize));
  Sealed b = Encrypt(ck, id, 2, Random(2 * kChunkSize));
  std::vector<uint8_t> out;
  // Item 2's stream presented as item 1.
  REQUIRE(Decrypt(ck, id, 1, b, &out).Is(Status::Code::kAuthFailed));
  // A chunk of item 2 spliced into item 1 (same header, same position).
  Sealed mixed = a;
  mixed.chunks[1] = b.chunks[1];
  REQUIRE(Decrypt(ck, id, 1, mixed, &out).Is(Status::Code::kAuthFailed));
}

TEST_CASE("StreamSplicedAcrossSubmissionsRefused", "[crypto]") {
  REQUIRE(Init().ok());
  Secret ck = NewContentKey();
  Id id1 = RandomId(), id2 = RandomId();
  Sealed a = Encrypt(ck, id1, 1, Random(100));
  std::vector<uint8_t> out;
  // Even under the same content key, another submission's id does not open it.
  REQUIRE(Decrypt(ck, id2, 1, a, &out).Is(Status::Code::kAuthFailed));
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

TEST_CASE("RevokingOneRecipientLeavesOthersAbleToOpen", "[crypto]") {
  REQUIRE(Init().ok());
  RecipientKey a, b;
  REQUIRE(GenerateRecipientKey(1, &a).ok());
  REQUIRE(GenerateRecipientKey(2, &b).ok());
  Secret ck = NewContentKey();
  std::vector<SealedKey> sealed(2);
  REQUIRE(SealContentKey(ck, a.pub, &sealed[0]).ok());
  REQUIRE(SealContentKey(ck, b.pub, &sealed[1]).ok());
  sealed.erase(sealed.begin());
  Secret out;
  REQUIRE(OpenContentKey(sealed, b, &out).ok());
  REQUIRE(Equal(out.data(), ck.data(), kContentKeySize));
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
