// Replies from the team to a source: the reviewer's signing key file, the
// sealed reply, the outbox that carries replies to one instance, and the
// records the server and the vault keep of them (FORMAT.md "Key file",
// "Replies", "Outbox", "Reply record", "Queued reply record").
#include <catch2/catch.hpp>

#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "format/format.h"
#include "storage/storage.h"

using namespace sealdrop;
using Code = Status::Code;

namespace {

// --- Crypto helpers ------------------------------------------------------------------

crypto::Secret Pass(const char* s) {
  crypto::Secret p(std::strlen(s));
  std::memcpy(p.data(), s, p.size());
  return p;
}

// Cheap Argon2id for tests; key files made by the tools use KdfParams{}.
const crypto::KdfParams kFast{1, 8 * 1024};

crypto::SigningKey SignerFromTag(uint8_t tag) {
  uint8_t seed[32];
  std::memset(seed, tag, sizeof seed);
  crypto::SigningKey k;
  REQUIRE(crypto::SigningKeyFromSeed(seed, &k).ok());
  return k;
}

crypto::CodenameParams Cheap() {
  crypto::CodenameParams p;
  p.opslimit = 1;
  p.memlimit_kib = 8;
  return p;
}

// The keys a new source's codename derives.
crypto::SourceKeys NewSource() {
  crypto::SourceKeys k;
  REQUIRE(crypto::DeriveSourceKeys(crypto::NewCodename(), Cheap(), &k).ok());
  return k;
}

const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::vector<uint8_t> Seal(const std::string& text, const crypto::SourceKeys& to) {
  std::vector<uint8_t> sealed;
  Status st = crypto::SealReply(U8(text), text.size(), to.pk.data(), &sealed);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return sealed;
}

Status Open(const std::vector<uint8_t>& sealed, const crypto::SourceKeys& keys,
            std::string* text = nullptr) {
  crypto::Secret m;
  Status st = crypto::OpenReply(sealed.data(), sealed.size(), keys, &m);
  if (st.ok() && text != nullptr)
    text->assign(reinterpret_cast<const char*>(m.data()), m.size());
  return st;
}

// The plaintext SealReply seals for `text`: magic, version, length, the
// text, zeros to the Padmé size.
std::vector<uint8_t> ReplyPlain(const std::string& text) {
  std::vector<uint8_t> p(size_t(crypto::PaddedSize(crypto::kReplyHead + text.size())), 0);
  std::memcpy(p.data(), "SDRP", 4);
  p[4] = 1;
  const uint32_t n = uint32_t(text.size());
  p[5] = uint8_t(n), p[6] = uint8_t(n >> 8), p[7] = uint8_t(n >> 16), p[8] = uint8_t(n >> 24);
  std::memcpy(p.data() + crypto::kReplyHead, text.data(), text.size());
  return p;
}

void PutLength(std::vector<uint8_t>* plain, uint32_t n) {
  (*plain)[5] = uint8_t(n), (*plain)[6] = uint8_t(n >> 8);
  (*plain)[7] = uint8_t(n >> 16), (*plain)[8] = uint8_t(n >> 24);
}

// `plain` sealed as it stands, for contents SealReply never writes.
std::vector<uint8_t> SealRaw(const std::vector<uint8_t>& plain, const crypto::SourceKeys& to) {
  std::vector<uint8_t> out(plain.size() + crypto_box_SEALBYTES);
  REQUIRE(crypto_box_seal(out.data(), plain.data(), plain.size(), to.pk.data()) == 0);
  return out;
}

// --- Outbox helpers ------------------------------------------------------------------

// Header offsets (FORMAT.md "Outbox").
constexpr size_t kVersionAt = 8, kInstanceAt = 9, kSignerAt = 41, kSequenceAt = 73,
                 kCountAt = 81;

storage::Id Tagged(uint8_t tag) {
  storage::Id id{};
  for (size_t i = 0; i < id.size(); i++) id[i] = uint8_t(tag * 31 + i);
  id[0] = tag;  // ids sort by tag
  return id;
}

format::OutboxReply OutReply(uint8_t tag, const crypto::SourceKeys& to, const std::string& text) {
  format::OutboxReply r;
  r.id = Tagged(tag);
  r.source = to.pk;
  r.sealed = Seal(text, to);
  return r;
}

format::OutboxInfo Info(const crypto::SignPublic& instance, uint64_t sequence) {
  format::OutboxInfo info;
  info.instance = instance;
  info.sequence = sequence;
  return info;
}

std::string WriteOk(const crypto::SigningKey& key, const format::OutboxInfo& info,
                    std::vector<format::OutboxReply> replies) {
  std::string out;
  Status st = format::WriteOutbox(key, info, &replies, {}, &out);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return out;
}

Status Read(const std::string& bytes, format::OutboxInfo* info = nullptr,
            std::vector<format::OutboxReply>* out = nullptr,
            std::vector<format::OutboxAck>* acks = nullptr) {
  format::OutboxInfo i;
  std::vector<format::OutboxReply> o;
  std::vector<format::OutboxAck> a;
  return format::ReadOutbox(U8(bytes), bytes.size(), info ? info : &i, out ? out : &o,
                            acks ? acks : &a);
}

Status ReadHeader(const std::string& bytes) {
  format::OutboxInfo i;
  return format::ReadOutboxHeader(U8(bytes), bytes.size(), &i);
}

// Signs the whole outbox again with `key`: the signature over everything
// but the last 64 bytes replaces them.
void Resign(std::string* bytes, const crypto::SigningKey& key) {
  REQUIRE(bytes->size() >= crypto::kSignatureSize);
  const size_t body = bytes->size() - crypto::kSignatureSize;
  uint8_t sig[crypto::kSignatureSize];
  crypto::Sign(key, U8(*bytes), body, sig);
  bytes->replace(body, sizeof sig, reinterpret_cast<const char*>(sig), sizeof sig);
}

void PutLe(std::string* s, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) (*s)[at + i] = char(uint8_t(v >> (8 * i)));
}

// A common outbox: three replies to two sources, number 7.
struct Fixture {
  crypto::SigningKey reviewer = SignerFromTag(0x21);
  crypto::SignPublic instance = SignerFromTag(0x99).pk;
  crypto::SourceKeys alice = NewSource();
  crypto::SourceKeys bob = NewSource();
  std::vector<std::string> texts{"We read it. Can you send the second page?", "",
                                 "Thank you — please do not reply from work."};
  std::vector<format::OutboxReply> Replies() {
    return {OutReply(1, alice, texts[0]), OutReply(2, bob, texts[1]),
            OutReply(3, alice, texts[2])};
  }
  std::string Outbox() { return WriteOk(reviewer, Info(instance, 7), Replies()); }
};

// --- Storage helpers -----------------------------------------------------------------

// A fresh 0700 directory, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/sealdrop-replies-test-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

storage::Options Opt(storage::Role role = storage::Role::kServer,
                     uint64_t quota = uint64_t(64) << 20) {
  storage::Options o;
  o.role = role;
  o.quota = quota;
  return o;
}

std::unique_ptr<storage::Store> OpenOk(const std::string& dir, const storage::Options& opt = Opt()) {
  std::unique_ptr<storage::Store> s;
  Status st = storage::Store::Open(dir, opt, &s);
  INFO(st.ToString());
  REQUIRE(st.ok());
  REQUIRE(s != nullptr);
  return s;
}

storage::Key32 Key(uint8_t tag) {
  storage::Key32 k{};
  k.fill(tag);
  return k;
}

std::vector<uint8_t> Bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = uint8_t(seed * 131 + i * 7);
  return v;
}

storage::ReplyRec Rec(const storage::Key32& source, uint8_t tag, uint32_t day = 20000,
                      size_t sealed = 304) {
  storage::ReplyRec r;
  r.source = source;
  r.id = Tagged(tag);
  r.day = day;
  r.signer = Key(0x5A);
  for (size_t i = 0; i < r.sig.size(); i++) r.sig[i] = uint8_t(tag + i);
  r.sealed = Bytes(sealed, tag);
  return r;
}

bool Same(const storage::ReplyRec& a, const storage::ReplyRec& b) {
  return a.source == b.source && a.id == b.id && a.day == b.day && a.signer == b.signer &&
         a.sig == b.sig && a.sealed == b.sealed;
}

std::vector<storage::ReplyRec> Listed(storage::Store* s, const storage::Key32& source,
                                      size_t limit = 1000) {
  std::vector<storage::ReplyRec> out;
  Status st = s->Replies(source, limit, &out);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return out;
}

std::vector<storage::Id> Ids(const std::vector<storage::ReplyRec>& rs) {
  std::vector<storage::Id> ids;
  for (const auto& r : rs) ids.push_back(r.id);
  return ids;
}

storage::QueuedReply Queued(uint8_t tag, uint32_t day = 20100) {
  storage::QueuedReply q;
  q.id = Tagged(tag);
  q.submission = Tagged(uint8_t(tag + 100));
  q.source = Key(uint8_t(tag + 1));
  q.day = day;
  q.sealed = Bytes(304 + tag, tag);
  return q;
}

bool Same(const storage::QueuedReply& a, const storage::QueuedReply& b) {
  if (a.sent.size() != b.sent.size()) return false;
  for (size_t i = 0; i < a.sent.size(); i++)
    if (a.sent[i].instance != b.sent[i].instance || a.sent[i].outbox != b.sent[i].outbox)
      return false;
  return a.id == b.id && a.submission == b.submission && a.source == b.source &&
         a.day == b.day && a.sealed == b.sealed;
}

std::vector<storage::QueuedReply> AllQueued(storage::Store* s) {
  std::vector<storage::QueuedReply> out;
  Status st = s->QueuedReplies(&out);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return out;
}

}  // namespace

// =====================================================================================
// Signing key files

TEST_CASE("SigningKeyFileRoundTripsAndPeeksItsPublicKey", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SigningKey key;
  REQUIRE(crypto::GenerateSigningKey(&key).ok());
  std::string file;
  REQUIRE(crypto::SealSigningKeyFile(key, 3, Pass("pass phrase"), kFast, &file).ok());
  REQUIRE(file.size() == 152);

  crypto::SignPublic peeked{};
  REQUIRE(crypto::PeekSigningKeyFile(file, &peeked).ok());
  CHECK(peeked == key.pk);

  crypto::SigningKey back;
  Status st = crypto::OpenSigningKeyFile(file, Pass("pass phrase"), &back);
  INFO(st.ToString());
  REQUIRE(st.ok());
  CHECK(back.pk == key.pk);
  REQUIRE(back.sk.size() == key.sk.size());
  CHECK(crypto::Equal(back.sk.data(), key.sk.data(), key.sk.size()));
  // The opened key signs what the original's public key verifies.
  const std::string m = "outbox bytes";
  uint8_t sig[crypto::kSignatureSize];
  crypto::Sign(back, U8(m), m.size(), sig);
  CHECK(crypto::Verify(key.pk.data(), U8(m), m.size(), sig));

  // Fresh salt and nonce every time: two files of one key differ.
  std::string again;
  REQUIRE(crypto::SealSigningKeyFile(key, 3, Pass("pass phrase"), kFast, &again).ok());
  CHECK(again != file);
}

TEST_CASE("SigningKeyFileWithWrongPassphraseIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SigningKey key = SignerFromTag(7);
  std::string file;
  REQUIRE(crypto::SealSigningKeyFile(key, 1, Pass("right"), kFast, &file).ok());
  crypto::SigningKey back;
  CHECK(crypto::OpenSigningKeyFile(file, Pass("wrong"), &back).Is(Code::kAuthFailed));
  CHECK(crypto::OpenSigningKeyFile(file, Pass(""), &back).Is(Code::kAuthFailed));
}

TEST_CASE("SigningKeyFileWithAlteredBytesIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SigningKey key = SignerFromTag(8);
  std::string file;
  REQUIRE(crypto::SealSigningKeyFile(key, 1, Pass("pp"), kFast, &file).ok());
  crypto::SigningKey back;
  SECTION("epoch (authenticated header)") {
    file[12] ^= 1;
    CHECK(crypto::OpenSigningKeyFile(file, Pass("pp"), &back).Is(Code::kAuthFailed));
  }
  SECTION("public key (key id no longer matches)") {
    file[24] ^= 1;
    crypto::SignPublic pk;
    CHECK(crypto::PeekSigningKeyFile(file, &pk).Is(Code::kCorruption));
    CHECK(crypto::OpenSigningKeyFile(file, Pass("pp"), &back).Is(Code::kCorruption));
  }
  SECTION("nonce") {
    file[80] ^= 1;
    CHECK(crypto::OpenSigningKeyFile(file, Pass("pp"), &back).Is(Code::kAuthFailed));
  }
  SECTION("sealed seed") {
    file[110] ^= 1;
    CHECK(crypto::OpenSigningKeyFile(file, Pass("pp"), &back).Is(Code::kAuthFailed));
  }
  SECTION("cut short") {
    file.pop_back();
    crypto::SignPublic pk;
    CHECK(crypto::PeekSigningKeyFile(file, &pk).Is(Code::kCorruption));
    CHECK(crypto::OpenSigningKeyFile(file, Pass("pp"), &back).Is(Code::kCorruption));
  }
  SECTION("unknown key kind") {
    file[9] = 3;
    crypto::SignPublic pk;
    CHECK(crypto::PeekSigningKeyFile(file, &pk).Is(Code::kCorruption));
  }
}

TEST_CASE("RecipientKeyFunctionsRefuseASigningKeyFile", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SigningKey key = SignerFromTag(9);
  std::string file;
  REQUIRE(crypto::SealSigningKeyFile(key, 1, Pass("pp"), kFast, &file).ok());
  crypto::PublicKey pub;
  Status st = crypto::PeekKeyFile(file, &pub);
  CHECK(st.Is(Code::kInvalidArgument));
  CHECK(st.message().find("signing key file, not a recipient key file") != std::string::npos);
  crypto::RecipientKey rk;
  st = crypto::OpenKeyFile(file, Pass("pp"), &rk);
  CHECK(st.Is(Code::kInvalidArgument));
  CHECK(st.message().find("signing key file, not a recipient key file") != std::string::npos);
  CHECK(rk.sk.empty());
}

TEST_CASE("SigningKeyFunctionsRefuseARecipientKeyFile", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::RecipientKey rk;
  REQUIRE(crypto::GenerateRecipientKey(2, &rk).ok());
  std::string file;
  REQUIRE(crypto::SealKeyFile(rk, Pass("pp"), kFast, &file).ok());
  crypto::SignPublic pk;
  Status st = crypto::PeekSigningKeyFile(file, &pk);
  CHECK(st.Is(Code::kInvalidArgument));
  CHECK(st.message().find("recipient key file, not a signing key file") != std::string::npos);
  crypto::SigningKey back;
  st = crypto::OpenSigningKeyFile(file, Pass("pp"), &back);
  CHECK(st.Is(Code::kInvalidArgument));
  CHECK(st.message().find("recipient key file, not a signing key file") != std::string::npos);
  CHECK(back.sk.empty());
  // The recipient file itself still opens as what it is.
  crypto::RecipientKey again;
  CHECK(crypto::OpenKeyFile(file, Pass("pp"), &again).ok());
}

TEST_CASE("SigningKeyFileOfAKeyWithoutSecretIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SigningKey pub_only;
  pub_only.pk = SignerFromTag(4).pk;
  std::string file;
  CHECK(crypto::SealSigningKeyFile(pub_only, 1, Pass("pp"), kFast, &file)
            .Is(Code::kInvalidArgument));
}

TEST_CASE("SigningPublicKeyTextRoundTrips", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  for (uint8_t tag : {1, 2, 200}) {
    crypto::SigningKey key = SignerFromTag(tag);
    const std::string text = crypto::FormatSigningPublic(key.pk);
    CHECK(text.rfind("sdsig1:", 0) == 0);
    CHECK(text.size() == 7 + 43);
    CHECK(text.find_first_of("+/=") == std::string::npos);
    crypto::SignPublic back{};
    Status st = crypto::ParseSigningPublic(text, &back);
    INFO(text << " " << st.ToString());
    REQUIRE(st.ok());
    CHECK(back == key.pk);
  }
}

TEST_CASE("MalformedSigningPublicKeyTextIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  const std::string good = crypto::FormatSigningPublic(SignerFromTag(5).pk);
  const std::string b64 = good.substr(7);
  crypto::RecipientKey rk;
  REQUIRE(crypto::GenerateRecipientKey(1, &rk).ok());
  crypto::SignPublic zero{};
  const std::vector<std::string> bad = {
      "",
      "sdsig1:",
      "sdsig1",
      "SDSIG1:" + b64,
      "sdsig2:" + b64,
      "sdpk1:" + b64,
      crypto::FormatPublicKey(rk.pub),  // a recipient key is not a signing key
      " " + good,
      good + " ",
      good + "\n",
      good + "=",
      good + "A",
      good.substr(0, good.size() - 1),
      "sdsig1:" + b64.substr(0, 20) + "+" + b64.substr(21),  // standard, not url-safe, alphabet
      // 33 bytes
      "sdsig1:" + std::string(44, 'A'),
      // all zero: a point of small order, no Ed25519 key
      crypto::FormatSigningPublic(zero),
  };
  for (const std::string& text : bad) {
    crypto::SignPublic out{};
    INFO("'" << text << "'");
    CHECK(crypto::ParseSigningPublic(text, &out).Is(Code::kInvalidArgument));
  }
}

// =====================================================================================
// Sealed replies

TEST_CASE("ReplyRoundTripsAndItsSealedLengthIsThePaddedSize", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SourceKeys src = NewSource();
  for (size_t n : {size_t(0), size_t(1), size_t(247), size_t(248), size_t(1000), size_t(4321),
                   size_t(40000), crypto::kMaxReply - 1, crypto::kMaxReply}) {
    INFO(n);
    std::string text(n, '\0');
    for (size_t i = 0; i < n; i++) text[i] = char('a' + i % 26);
    const std::vector<uint8_t> sealed = Seal(text, src);
    CHECK(sealed.size() == crypto::PaddedSize(crypto::kReplyHead + n) + 48);
    std::string back = "not opened";
    Status st = Open(sealed, src, &back);
    INFO(st.ToString());
    REQUIRE(st.ok());
    CHECK(back == text);
  }
  // Lengths in one Padmé step share one sealed length.
  CHECK(Seal("a", src).size() == Seal(std::string(200, 'b'), src).size());
  CHECK(Seal(std::string(crypto::kMaxReply, 'z'), src).size() == crypto::MaxSealedReply());
}

TEST_CASE("ReplyLongerThanTheLimitIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SourceKeys src = NewSource();
  const std::string text(crypto::kMaxReply + 1, 'x');
  std::vector<uint8_t> sealed;
  CHECK(crypto::SealReply(U8(text), text.size(), src.pk.data(), &sealed).Is(Code::kTooLarge));
}

TEST_CASE("ReplySealedToAnotherSourceIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SourceKeys alice = NewSource(), bob = NewSource();
  const std::vector<uint8_t> sealed = Seal("for alice", alice);
  CHECK(Open(sealed, bob).Is(Code::kAuthFailed));
  // The right public key with the wrong secret does not open it either.
  crypto::SourceKeys mixed = NewSource();
  mixed.pk = alice.pk;
  CHECK(Open(sealed, mixed).Is(Code::kAuthFailed));
  CHECK(Open(sealed, alice).ok());
}

TEST_CASE("ReplyWithAlteredByteIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SourceKeys src = NewSource();
  const std::vector<uint8_t> sealed = Seal("meet the lawyer on tuesday", src);
  REQUIRE(Open(sealed, src).ok());
  for (size_t i = 0; i < sealed.size(); i++) {
    std::vector<uint8_t> bad = sealed;
    bad[i] ^= 0x20;
    INFO("byte " << i);
    CHECK(Open(bad, src).Is(Code::kAuthFailed));
  }
}

TEST_CASE("ReplyOfImpossibleLengthIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SourceKeys src = NewSource();
  const std::vector<uint8_t> sealed = Seal("short", src);
  REQUIRE(sealed.size() == crypto::kMinPadded + crypto_box_SEALBYTES);
  // Shorter than the shortest reply.
  for (size_t n : {size_t(0), size_t(1), size_t(48), sealed.size() - 1}) {
    INFO(n);
    std::vector<uint8_t> cut(sealed.begin(), sealed.begin() + n);
    CHECK(Open(cut, src).Is(Code::kCorruption));
  }
  // Longer than the longest.
  std::vector<uint8_t> huge(crypto::MaxSealedReply() + 1, 0);
  CHECK(Open(huge, src).Is(Code::kCorruption));
}

TEST_CASE("HandBuiltReplyAsSealReplyWritesItOpens", "[replies][crypto]") {
  // Guards the tests below: each differs from this one in one thing only.
  REQUIRE(crypto::Init().ok());
  crypto::SourceKeys src = NewSource();
  for (const std::string& text : {std::string("hello"), std::string(300, 'q')}) {
    std::string back;
    Status st = Open(SealRaw(ReplyPlain(text), src), src, &back);
    INFO(st.ToString());
    REQUIRE(st.ok());
    CHECK(back == text);
  }
}

TEST_CASE("ReplyWithBadMagicIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SourceKeys src = NewSource();
  for (size_t i = 0; i < 4; i++) {
    std::vector<uint8_t> plain = ReplyPlain("hello");
    plain[i] ^= 0x01;
    CHECK(Open(SealRaw(plain, src), src).Is(Code::kCorruption));
  }
}

TEST_CASE("ReplyOfNewerVersionIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SourceKeys src = NewSource();
  std::vector<uint8_t> plain = ReplyPlain("hello");
  plain[4] = 2;
  CHECK(Open(SealRaw(plain, src), src).Is(Code::kVersion));
  plain[4] = 0;
  CHECK(!Open(SealRaw(plain, src), src).ok());
}

TEST_CASE("ReplyWithNonZeroPaddingIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SourceKeys src = NewSource();
  const std::vector<uint8_t> good = ReplyPlain("hello");
  // The first padding byte, one in the middle and the last.
  for (size_t at : {crypto::kReplyHead + 5, good.size() / 2, good.size() - 1}) {
    std::vector<uint8_t> plain = good;
    plain[at] = 0x01;
    INFO(at);
    CHECK(Open(SealRaw(plain, src), src).Is(Code::kCorruption));
  }
}

TEST_CASE("ReplyWhoseLengthDisagreesWithItsPaddingIsRefused", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SourceKeys src = NewSource();
  SECTION("length beyond the box") {
    std::vector<uint8_t> plain = ReplyPlain("hello");  // 256 bytes
    PutLength(&plain, 1000);
    CHECK(Open(SealRaw(plain, src), src).Is(Code::kCorruption));
  }
  SECTION("length beyond any reply") {
    std::vector<uint8_t> plain = ReplyPlain("hello");
    PutLength(&plain, 0xFFFFFFFFu);
    CHECK(Open(SealRaw(plain, src), src).Is(Code::kCorruption));
    PutLength(&plain, uint32_t(crypto::kMaxReply + 1));
    CHECK(Open(SealRaw(plain, src), src).Is(Code::kCorruption));
  }
  SECTION("a short text in a box padded for a long one") {
    // Zeros after the text, so only the length can give it away.
    std::vector<uint8_t> plain = ReplyPlain(std::string(600, 'k'));
    REQUIRE(plain.size() > crypto::kMinPadded);
    PutLength(&plain, 5);
    std::fill(plain.begin() + crypto::kReplyHead + 5, plain.end(), 0);
    CHECK(Open(SealRaw(plain, src), src).Is(Code::kCorruption));
  }
  SECTION("a box of a size Padmé never gives") {
    std::vector<uint8_t> plain = ReplyPlain(std::string(291, 'k'));  // 300 bytes: 9 + 291
    plain.resize(crypto::kReplyHead + 291);
    REQUIRE(crypto::PaddedSize(plain.size()) != plain.size());
    CHECK(Open(SealRaw(plain, src), src).Is(Code::kCorruption));
  }
}

TEST_CASE("ReplySignedBytesBindInstanceIdAndSource", "[replies][crypto]") {
  REQUIRE(crypto::Init().ok());
  crypto::SignPublic inst = SignerFromTag(1).pk;
  storage::Id id = Tagged(1);
  storage::Key32 src = Key(3);
  const std::vector<uint8_t> sealed = Bytes(304, 9);
  const auto base = crypto::ReplySignedBytes(inst, id, src.data(), sealed.data(), sealed.size());
  CHECK(base.size() == 16 + 32 + 16 + 32 + sealed.size());
  CHECK(std::string(base.begin(), base.begin() + 16) == "sealdrop-reply-1");
  crypto::SignPublic inst2 = inst;
  inst2[31] ^= 1;
  storage::Id id2 = id;
  id2[15] ^= 1;
  storage::Key32 src2 = src;
  src2[0] ^= 1;
  std::vector<uint8_t> sealed2 = sealed;
  sealed2.back() ^= 1;
  CHECK(crypto::ReplySignedBytes(inst2, id, src.data(), sealed.data(), sealed.size()) != base);
  CHECK(crypto::ReplySignedBytes(inst, id2, src.data(), sealed.data(), sealed.size()) != base);
  CHECK(crypto::ReplySignedBytes(inst, id, src2.data(), sealed.data(), sealed.size()) != base);
  CHECK(crypto::ReplySignedBytes(inst, id, src.data(), sealed2.data(), sealed2.size()) != base);
}

// =====================================================================================
// Outboxes

TEST_CASE("OutboxRoundTripsSeveralReplies", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  std::vector<format::OutboxReply> written = f.Replies();
  std::string bytes;
  REQUIRE(format::WriteOutbox(f.reviewer, Info(f.instance, 7), &written, {}, &bytes).ok());

  format::OutboxInfo head;
  REQUIRE(format::ReadOutboxHeader(U8(bytes), bytes.size(), &head).ok());
  CHECK(head.instance == f.instance);
  CHECK(head.signer == f.reviewer.pk);
  CHECK(head.sequence == 7);
  CHECK(head.count == 3);

  format::OutboxInfo info;
  std::vector<format::OutboxReply> back;
  Status st = Read(bytes, &info, &back);
  INFO(st.ToString());
  REQUIRE(st.ok());
  CHECK(info.instance == f.instance);
  CHECK(info.signer == f.reviewer.pk);
  CHECK(info.sequence == 7);
  CHECK(info.count == 3);
  REQUIRE(back.size() == 3);
  const crypto::SourceKeys* to[] = {&f.alice, &f.bob, &f.alice};
  for (size_t i = 0; i < 3; i++) {
    INFO(i);
    CHECK(back[i].id == written[i].id);
    CHECK(back[i].source == written[i].source);
    CHECK(back[i].sealed == written[i].sealed);
    CHECK(back[i].sig == written[i].sig);
    // Each entry carries its own signature, bound to the instance.
    auto m = crypto::ReplySignedBytes(f.instance, back[i].id, back[i].source.data(),
                                      back[i].sealed.data(), back[i].sealed.size());
    CHECK(crypto::Verify(f.reviewer.pk.data(), m.data(), m.size(), back[i].sig.data()));
    std::string text;
    REQUIRE(Open(back[i].sealed, *to[i], &text).ok());
    CHECK(text == f.texts[i]);
  }
  // An empty outbox is an outbox too.
  const std::string empty = WriteOk(f.reviewer, Info(f.instance, 8), {});
  CHECK(empty.size() == format::kOutboxHeaderSize + 4 + crypto::kSignatureSize);
  REQUIRE(Read(empty, &info, &back).ok());
  CHECK(back.empty());
  CHECK(info.sequence == 8);
}

TEST_CASE("OutboxWithBadMagicIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  const std::string good = f.Outbox();
  for (size_t i = 0; i < 8; i++) {
    std::string bad = good;
    bad[i] ^= 0x01;
    INFO(i);
    CHECK(ReadHeader(bad).Is(Code::kCorruption));
    CHECK(Read(bad).Is(Code::kCorruption));
  }
  CHECK(Read("").Is(Code::kCorruption));
}

TEST_CASE("OutboxOfNewerVersionIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  std::string bad = f.Outbox();
  bad[kVersionAt] = 4;
  Resign(&bad, f.reviewer);  // signed as it is: the version alone refuses it
  Status st = Read(bad);
  CHECK(st.Is(Code::kVersion));
  CHECK(st.message().find("version 4") != std::string::npos);
  CHECK(ReadHeader(bad).Is(Code::kVersion));
}

TEST_CASE("OutboxWithTruncatedHeaderIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  const std::string good = f.Outbox();
  for (size_t n = 0; n < format::kOutboxHeaderSize; n++) {
    const std::string cut = good.substr(0, n);
    INFO(n);
    CHECK(ReadHeader(cut).Is(Code::kCorruption));
    CHECK(Read(cut).Is(Code::kCorruption));
  }
  REQUIRE(ReadHeader(good.substr(0, format::kOutboxHeaderSize)).ok());
}

TEST_CASE("OutboxWithoutSignatureIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  const std::string good = f.Outbox();
  const std::string empty = WriteOk(f.reviewer, Info(f.instance, 1), {});
  // The header alone, and a header with less than a signature after it.
  CHECK(Read(empty.substr(0, format::kOutboxHeaderSize)).Is(Code::kAuthFailed));
  CHECK(Read(empty.substr(0, empty.size() - 1)).Is(Code::kAuthFailed));
  // Replies without the outbox's signature.
  CHECK(Read(good.substr(0, good.size() - crypto::kSignatureSize)).Is(Code::kAuthFailed));
  CHECK(Read(good.substr(0, good.size() - 1)).Is(Code::kAuthFailed));
  std::string zeroed = good;
  std::fill(zeroed.end() - crypto::kSignatureSize, zeroed.end(), '\0');
  CHECK(Read(zeroed).Is(Code::kAuthFailed));
}

TEST_CASE("OutboxWithAlteredByteIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  const std::string good = f.Outbox();
  REQUIRE(Read(good).ok());
  size_t auth_failed = 0;
  for (size_t i = 0; i < good.size(); i++) {
    std::string bad = good;
    bad[i] ^= 0x01;
    // A header field the change makes impossible (magic, version, a count
    // over the limit) is refused as such before the signature is checked;
    // any other change breaks the signature.
    const Status header = ReadHeader(bad);
    const Status st = Read(bad);
    INFO("byte " << i << ": " << st.ToString());
    if (!header.ok()) {
      CHECK(st.code() == header.code());
    } else {
      CHECK(st.Is(Code::kAuthFailed));
      auth_failed++;
    }
  }
  // Only the magic and the count's two high bytes are refused by the header
  // alone: the version byte flipped (2 to 3) is a version that exists, and
  // breaks the signature.
  CHECK(auth_failed == good.size() - 8 - 2);
  // Nor may anything be added.
  CHECK(Read(good + '\0').Is(Code::kAuthFailed));
}

TEST_CASE("OutboxSignedByAnotherKeyThanItsSignerIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  const crypto::SigningKey other = SignerFromTag(0x22);
  SECTION("the whole outbox signed by another key") {
    std::string bad = f.Outbox();
    Resign(&bad, other);
    CHECK(Read(bad).Is(Code::kAuthFailed));
    // The helper itself keeps a good outbox good.
    std::string same = f.Outbox();
    Resign(&same, f.reviewer);
    CHECK(Read(same).ok());
  }
  SECTION("the header names a signer that signed nothing") {
    std::string bad = WriteOk(other, Info(f.instance, 7), f.Replies());
    bad.replace(kSignerAt, 32, reinterpret_cast<const char*>(f.reviewer.pk.data()), 32);
    CHECK(Read(bad).Is(Code::kAuthFailed));
  }
  SECTION("the header's signer signed the outbox but not its replies") {
    std::string bad = WriteOk(other, Info(f.instance, 7), f.Replies());
    bad.replace(kSignerAt, 32, reinterpret_cast<const char*>(f.reviewer.pk.data()), 32);
    Resign(&bad, f.reviewer);
    Status st = Read(bad);
    CHECK(st.Is(Code::kAuthFailed));
    CHECK(st.message().find("own signature") != std::string::npos);
  }
}

TEST_CASE("OutboxReplySignedForAnotherInstanceIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  const crypto::SignPublic y = SignerFromTag(0x98).pk;
  std::string bad = f.Outbox();  // for f.instance
  bad.replace(kInstanceAt, 32, reinterpret_cast<const char*>(y.data()), 32);
  Resign(&bad, f.reviewer);
  format::OutboxInfo head;
  REQUIRE(format::ReadOutboxHeader(U8(bad), bad.size(), &head).ok());
  REQUIRE(head.instance == y);
  Status st = Read(bad);
  CHECK(st.Is(Code::kAuthFailed));
  CHECK(st.message().find("own signature") != std::string::npos);
}

TEST_CASE("OutboxReplyMovedToAnotherSourceOrIdIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  const size_t first = format::kOutboxHeaderSize;
  SECTION("id") {
    std::string bad = f.Outbox();
    bad[first + 3] ^= 1;
    Resign(&bad, f.reviewer);
    CHECK(Read(bad).Is(Code::kAuthFailed));
  }
  SECTION("source") {
    std::string bad = f.Outbox();
    bad.replace(first + 16, 32, reinterpret_cast<const char*>(f.bob.pk.data()), 32);
    Resign(&bad, f.reviewer);
    CHECK(Read(bad).Is(Code::kAuthFailed));
  }
  SECTION("sealed bytes") {
    std::string bad = f.Outbox();
    bad[first + format::kOutboxEntryHead + 100] ^= 1;
    Resign(&bad, f.reviewer);
    CHECK(Read(bad).Is(Code::kAuthFailed));
  }
}

TEST_CASE("OutboxWithDuplicateReplyIdIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  // The writer never makes one...
  std::vector<format::OutboxReply> rs = f.Replies();
  rs[2].id = rs[0].id;
  std::string out;
  CHECK(format::WriteOutbox(f.reviewer, Info(f.instance, 7), &rs, {}, &out)
            .Is(Code::kInvalidArgument));
  // ...and the reader refuses one made by hand: one reply's bytes, its own
  // signature valid, twice, with the count and the outbox signed again.
  std::string one = WriteOk(f.reviewer, Info(f.instance, 7), {f.Replies()[0]});
  const size_t entry = one.size() - crypto::kSignatureSize - 4 - format::kOutboxHeaderSize;
  std::string two = one.substr(0, format::kOutboxHeaderSize + entry);
  two += one.substr(format::kOutboxHeaderSize, entry);
  two += std::string(4, '\0');  // no acknowledgements
  two += std::string(crypto::kSignatureSize, '\0');
  PutLe(&two, format::kOutboxHeaderSize - 4, 2, 4);
  Resign(&two, f.reviewer);
  Status st = Read(two);
  CHECK(st.Is(Code::kCorruption));
  CHECK(st.message().find("twice") != std::string::npos);
}

TEST_CASE("OutboxWithTooManyRepliesIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  const format::OutboxReply one = OutReply(1, f.alice, "x");
  std::vector<format::OutboxReply> rs(format::kMaxOutboxReplies + 1, one);
  for (size_t i = 0; i < rs.size(); i++) {
    rs[i].id[0] = uint8_t(i);
    rs[i].id[1] = uint8_t(i >> 8);
  }
  std::string out;
  std::vector<format::OutboxReply> over = rs;
  CHECK(format::WriteOutbox(f.reviewer, Info(f.instance, 1), &over, {}, &out).Is(Code::kTooLarge));
  // At the limit it is written and read.
  rs.pop_back();
  const std::string full = WriteOk(f.reviewer, Info(f.instance, 1), rs);
  std::vector<format::OutboxReply> back;
  REQUIRE(Read(full, nullptr, &back).ok());
  CHECK(back.size() == format::kMaxOutboxReplies);
  // A header that claims more is refused before anything else is read.
  std::string bad = WriteOk(f.reviewer, Info(f.instance, 1), {one});
  PutLe(&bad, kCountAt, format::kMaxOutboxReplies + 1, 4);
  Resign(&bad, f.reviewer);
  CHECK(ReadHeader(bad).Is(Code::kCorruption));
  CHECK(Read(bad).Is(Code::kCorruption));
  PutLe(&bad, kCountAt, 0xFFFFFFFFu, 4);
  Resign(&bad, f.reviewer);
  CHECK(Read(bad).Is(Code::kCorruption));
}

TEST_CASE("OutboxNumberZeroIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  std::string out;
  std::vector<format::OutboxReply> rs = f.Replies();
  CHECK(format::WriteOutbox(f.reviewer, Info(f.instance, 0), &rs, {}, &out)
            .Is(Code::kInvalidArgument));
  std::string bad = f.Outbox();
  PutLe(&bad, kSequenceAt, 0, 8);
  Resign(&bad, f.reviewer);
  CHECK(ReadHeader(bad).Is(Code::kCorruption));
  CHECK(Read(bad).Is(Code::kCorruption));
}

TEST_CASE("OutboxWhoseCountDisagreesWithItsRepliesIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  for (uint32_t count : {0u, 2u, 4u, 1000u}) {
    std::string bad = f.Outbox();
    PutLe(&bad, kCountAt, count, 4);
    Resign(&bad, f.reviewer);
    INFO(count);
    CHECK(Read(bad).Is(Code::kCorruption));
  }
}

TEST_CASE("OutboxReplyOfImpossibleLengthIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  const size_t len_at = format::kOutboxHeaderSize + 16 + 32;
  for (uint64_t len : {uint64_t(0xFFFFFFFFu), uint64_t(crypto::MaxSealedReply() + 1),
                       uint64_t(100000),
                       uint64_t(5000) /* past the end of the outbox */}) {
    std::string bad = f.Outbox();
    PutLe(&bad, len_at, len, 4);
    Resign(&bad, f.reviewer);
    INFO(len);
    CHECK(Read(bad).Is(Code::kCorruption));
  }
  // Nor is a sealed reply longer than any reply written into one.
  std::vector<format::OutboxReply> rs = f.Replies();
  rs[1].sealed.resize(crypto::MaxSealedReply() + 1);
  std::string out;
  CHECK(format::WriteOutbox(f.reviewer, Info(f.instance, 7), &rs, {}, &out).Is(Code::kTooLarge));
}

TEST_CASE("OutboxLongerThanAnyOutboxIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  std::string big = WriteOk(f.reviewer, Info(f.instance, 7), {});
  big.resize(format::MaxOutbox() + 1, '\0');
  CHECK(Read(big).Is(Code::kCorruption));
  CHECK(format::MaxOutbox() ==
        format::kOutboxHeaderSize +
            format::kMaxOutboxReplies *
                (format::kOutboxEntryHead + crypto::MaxSealedReply() + crypto::kSignatureSize) +
            4 + format::kMaxOutboxAcks * format::kOutboxAckSize + 4 +
            format::kMaxOutboxDeleted * storage::kIdSize + crypto::kSignatureSize);
}

// =====================================================================================
// Records

TEST_CASE("ReplyRecordRoundTrips", "[replies][storage]") {
  for (size_t n : {size_t(0), size_t(304), crypto::MaxSealedReply()}) {
    storage::ReplyRec r = Rec(Key(0x42), 9, 20123, n);
    const std::string v = storage::EncodeReply(r);
    std::string key(reinterpret_cast<const char*>(r.source.data()), 32);
    key.append(reinterpret_cast<const char*>(r.id.data()), 16);
    storage::ReplyRec back;
    Status st = storage::DecodeReply(U8(key), key.size(), U8(v), v.size(), &back);
    INFO(n << " " << st.ToString());
    REQUIRE(st.ok());
    CHECK(Same(back, r));
  }
}

TEST_CASE("TruncatedOrOverlongReplyRecordIsRefused", "[replies][storage]") {
  storage::ReplyRec r = Rec(Key(0x42), 9, 20123, 304);
  const std::string v = storage::EncodeReply(r);
  std::string key(reinterpret_cast<const char*>(r.source.data()), 32);
  key.append(reinterpret_cast<const char*>(r.id.data()), 16);
  storage::ReplyRec back;
  for (size_t n = 0; n < v.size(); n++) {
    INFO(n);
    CHECK(storage::DecodeReply(U8(key), key.size(), U8(v), n, &back).Is(Code::kCorruption));
  }
  const std::string longer = v + '\0';
  CHECK(storage::DecodeReply(U8(key), key.size(), U8(longer), longer.size(), &back)
            .Is(Code::kCorruption));
  // A key of another length.
  CHECK(storage::DecodeReply(U8(key), 47, U8(v), v.size(), &back).Is(Code::kCorruption));
  const std::string key49 = key + 'x';
  CHECK(storage::DecodeReply(U8(key49), 49, U8(v), v.size(), &back).Is(Code::kCorruption));
  // A newer record version is named as such.
  std::string newer = v;
  newer[4] = 2;
  CHECK(storage::DecodeReply(U8(key), key.size(), U8(newer), newer.size(), &back)
            .Is(Code::kVersion));
  // Another record's magic.
  const std::string queued = storage::EncodeQueuedReply(Queued(1));
  CHECK(storage::DecodeReply(U8(key), key.size(), U8(queued), queued.size(), &back)
            .Is(Code::kCorruption));
}

TEST_CASE("QueuedReplyRecordRoundTrips", "[replies][storage]") {
  storage::QueuedReply q = Queued(5);
  q.sent = {{Key(0x77), 0x0102030405060708ull}, {Key(0x78), 1}};
  for (size_t n : {size_t(0), size_t(304), crypto::MaxSealedReply()}) {
    q.sealed = Bytes(n, 3);
    const std::string v = storage::EncodeQueuedReply(q);
    storage::QueuedReply back;
    Status st = storage::DecodeQueuedReply(U8(v), v.size(), &back);
    INFO(n << " " << st.ToString());
    REQUIRE(st.ok());
    CHECK(Same(back, q));
  }
}

// A vault written before replies went to every instance: version 1 names
// the one instance an outbox carried it to, or none while queued.
std::string QueuedV1(const storage::QueuedReply& q, uint64_t outbox, const storage::Key32& inst) {
  std::string s = "SDRQ";
  s.push_back(1);
  s.append(reinterpret_cast<const char*>(q.id.data()), 16);
  s.append(reinterpret_cast<const char*>(q.submission.data()), 16);
  s.append(reinterpret_cast<const char*>(q.source.data()), 32);
  for (int i = 0; i < 4; i++) s.push_back(char(q.day >> (8 * i)));
  for (int i = 0; i < 8; i++) s.push_back(char(outbox >> (8 * i)));
  s.append(reinterpret_cast<const char*>(inst.data()), 32);
  for (int i = 0; i < 4; i++) s.push_back(char(q.sealed.size() >> (8 * i)));
  s.append(reinterpret_cast<const char*>(q.sealed.data()), q.sealed.size());
  return s;
}

TEST_CASE("AQueuedReplyRecordOfVersion1IsStillReadAsSentToAtMostOneInstance",
          "[replies][storage]") {
  storage::QueuedReply q = Queued(5);
  storage::QueuedReply back;
  std::string v = QueuedV1(q, 0, storage::Key32{});
  REQUIRE(storage::DecodeQueuedReply(U8(v), v.size(), &back).ok());
  CHECK(Same(back, q));
  v = QueuedV1(q, 3, Key(0x77));
  REQUIRE(storage::DecodeQueuedReply(U8(v), v.size(), &back).ok());
  q.sent = {{Key(0x77), 3}};
  CHECK(Same(back, q));
  CHECK(back.OutboxFor(Key(0x77)) == 3);
  CHECK(back.OutboxFor(Key(0x78)) == 0);
  for (size_t n = 0; n < v.size(); n++) {
    INFO(n);
    CHECK(storage::DecodeQueuedReply(U8(v), n, &back).Is(Code::kCorruption));
  }
}

TEST_CASE("AQueuedReplyNamingAnInstanceTwiceOrOutboxZeroIsRefused", "[replies][storage]") {
  storage::QueuedReply q = Queued(5);
  storage::QueuedReply back;
  q.sent = {{Key(0x77), 3}, {Key(0x77), 4}};
  std::string v = storage::EncodeQueuedReply(q);
  CHECK(storage::DecodeQueuedReply(U8(v), v.size(), &back).Is(Code::kCorruption));
  q.sent = {{Key(0x77), 0}};
  v = storage::EncodeQueuedReply(q);
  CHECK(storage::DecodeQueuedReply(U8(v), v.size(), &back).Is(Code::kCorruption));
}

TEST_CASE("TruncatedOrOverlongQueuedReplyRecordIsRefused", "[replies][storage]") {
  storage::QueuedReply sent = Queued(5);
  sent.sent = {{Key(0x77), 2}};
  const std::string v = storage::EncodeQueuedReply(sent);
  storage::QueuedReply back;
  for (size_t n = 0; n < v.size(); n++) {
    INFO(n);
    CHECK(storage::DecodeQueuedReply(U8(v), n, &back).Is(Code::kCorruption));
  }
  const std::string longer = v + '\0';
  CHECK(storage::DecodeQueuedReply(U8(longer), longer.size(), &back).Is(Code::kCorruption));
  std::string newer = v;
  newer[4] = 3;
  CHECK(storage::DecodeQueuedReply(U8(newer), newer.size(), &back).Is(Code::kVersion));
  const std::string server = storage::EncodeReply(Rec(Key(1), 1));
  CHECK(storage::DecodeQueuedReply(U8(server), server.size(), &back).Is(Code::kCorruption));
}

// =====================================================================================
// The server's store

TEST_CASE("ImportedRepliesAreListedUnderTheirSourceOnly", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  // Sources whose keys sort next to each other.
  storage::Key32 a = Key(0x40), b = Key(0x40), c = Key(0x41);
  b[31] = 0x41;
  const std::vector<storage::ReplyRec> batch = {Rec(a, 3), Rec(b, 2), Rec(a, 1), Rec(a, 2)};
  uint64_t expected = 0;
  REQUIRE(s->ImportOutbox(Key(0x5A), 1, batch, {}, 0, &expected).ok());

  std::vector<storage::ReplyRec> got = Listed(s.get(), a);
  REQUIRE(got.size() == 3);
  // In id order, whole.
  CHECK(Ids(got) == std::vector<storage::Id>{Tagged(1), Tagged(2), Tagged(3)});
  CHECK(Same(got[0], batch[2]));
  CHECK(Same(got[1], batch[3]));
  CHECK(Same(got[2], batch[0]));
  got = Listed(s.get(), b);
  REQUIRE(got.size() == 1);
  CHECK(Same(got[0], batch[1]));
  CHECK(Listed(s.get(), c).empty());
  // At most `limit`.
  CHECK(Listed(s.get(), a, 2).size() == 2);
  CHECK(Listed(s.get(), a, 0).empty());
  // They survive reopening.
  s.reset();
  s = OpenOk(dir.path());
  CHECK(Listed(s.get(), a).size() == 3);
}

TEST_CASE("ImportOfAnOutboxNumberTwiceIsRefusedAsReplay", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  const storage::Key32 signer = Key(0x5A), src = Key(0x40);
  uint64_t expected = 0;
  REQUIRE(s->ImportOutbox(signer, 1, {Rec(src, 1)}, {}, 0, &expected).ok());
  REQUIRE(s->ImportOutbox(signer, 2, {Rec(src, 2)}, {}, 0, &expected).ok());

  for (uint64_t seq : {uint64_t(1), uint64_t(2)}) {
    expected = 0;
    Status st = s->ImportOutbox(signer, seq, {Rec(src, 9)}, {}, 0, &expected);
    INFO(seq << " " << st.ToString());
    CHECK(st.Is(Code::kExists));
    CHECK(expected == 3);
  }
  CHECK(Ids(Listed(s.get(), src)) == std::vector<storage::Id>{Tagged(1), Tagged(2)});
  // Also after reopening: the number is on disk with the replies.
  s.reset();
  s = OpenOk(dir.path());
  CHECK(s->ImportOutbox(signer, 2, {Rec(src, 9)}, {}, 0, &expected).Is(Code::kExists));
  CHECK(s->ImportOutbox(signer, 3, {Rec(src, 9)}, {}, 0, &expected).ok());
  CHECK(Listed(s.get(), src).size() == 3);
}

TEST_CASE("ImportOutOfOrderIsRefusedAndNamesTheNextNumber", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  const storage::Key32 signer = Key(0x5A), src = Key(0x40);
  uint64_t expected = 0;
  Status st = s->ImportOutbox(signer, 2, {Rec(src, 1)}, {}, 0, &expected);
  CHECK(st.Is(Code::kInvalidArgument));
  CHECK(expected == 1);
  CHECK(Listed(s.get(), src).empty());
  REQUIRE(s->ImportOutbox(signer, 1, {Rec(src, 1)}, {}, 0, &expected).ok());
  expected = 0;
  CHECK(s->ImportOutbox(signer, 3, {Rec(src, 2)}, {}, 0, &expected).Is(Code::kInvalidArgument));
  CHECK(expected == 2);
  CHECK(s->ImportOutbox(signer, uint64_t(-1), {Rec(src, 2)}, {}, 0, &expected)
            .Is(Code::kInvalidArgument));
  CHECK(Ids(Listed(s.get(), src)) == std::vector<storage::Id>{Tagged(1)});
  // The refusals did not move the counter.
  CHECK(s->ImportOutbox(signer, 2, {Rec(src, 2)}, {}, 0, &expected).ok());
}

TEST_CASE("OutboxNumbersAreCountedPerSigner", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  const storage::Key32 src = Key(0x40);
  uint64_t expected = 0;
  REQUIRE(s->ImportOutbox(Key(0x5A), 1, {Rec(src, 1)}, {}, 0, &expected).ok());
  REQUIRE(s->ImportOutbox(Key(0x5B), 1, {Rec(src, 2)}, {}, 0, &expected).ok());
  REQUIRE(s->ImportOutbox(Key(0x5A), 2, {Rec(src, 3)}, {}, 0, &expected).ok());
  CHECK(s->ImportOutbox(Key(0x5B), 3, {Rec(src, 4)}, {}, 0, &expected).Is(Code::kInvalidArgument));
  CHECK(expected == 2);
}

TEST_CASE("ImportOfAReplyStoredAlreadyRefusesTheWholeBatch", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  const storage::Key32 signer = Key(0x5A), src = Key(0x40);
  uint64_t expected = 0;
  const storage::ReplyRec first = Rec(src, 1, 20000);
  REQUIRE(s->ImportOutbox(signer, 1, {first}, {}, 0, &expected).ok());

  SECTION("stored by an earlier outbox") {
    storage::ReplyRec again = Rec(src, 1, 20005, 500);  // same source and id, new bytes
    CHECK(s->ImportOutbox(signer, 2, {Rec(src, 2), again}, {}, 0, &expected).Is(Code::kExists));
  }
  SECTION("twice in one outbox") {
    CHECK(s->ImportOutbox(signer, 2, {Rec(src, 2), Rec(src, 3), Rec(src, 3)}, {}, 0, &expected)
              .Is(Code::kExists));
  }
  // Nothing of the batch was stored, the first is as it was, and the number
  // was not used up.
  std::vector<storage::ReplyRec> got = Listed(s.get(), src);
  REQUIRE(got.size() == 1);
  CHECK(Same(got[0], first));
  CHECK(s->ImportOutbox(signer, 2, {Rec(src, 2)}, {}, 0, &expected).ok());
  CHECK(Listed(s.get(), src).size() == 2);
}

TEST_CASE("ImportBeyondTheQuotaIsRefusedAndChangesNothing", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path(), Opt(storage::Role::kServer, uint64_t(1) << 20));
  const storage::Key32 signer = Key(0x5A), src = Key(0x40);
  std::vector<storage::ReplyRec> big;
  for (uint8_t i = 1; i <= 20; i++) big.push_back(Rec(src, i, 20000, crypto::MaxSealedReply()));
  uint64_t expected = 0;
  CHECK(s->ImportOutbox(signer, 1, big, {}, 0, &expected).Is(Code::kFull));
  CHECK(Listed(s.get(), src).empty());
  CHECK(s->ImportOutbox(signer, 1, {Rec(src, 1)}, {}, 0, &expected).ok());
}

TEST_CASE("ImportIntoAVaultIsRefused", "[replies][storage]") {
  TempDir dir;
  auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
  uint64_t expected = 0;
  CHECK(v->ImportOutbox(Key(0x5A), 1, {Rec(Key(0x40), 1)}, {}, 0, &expected)
            .Is(Code::kInvalidArgument));
  CHECK(Listed(v.get(), Key(0x40)).empty());
}

TEST_CASE("DeleteReplyRemovesOnlyThatReplyUnderItsOwnSource", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  const storage::Key32 a = Key(0x40), b = Key(0x41);
  uint64_t expected = 0;
  REQUIRE(s->ImportOutbox(Key(0x5A), 1, {Rec(a, 1), Rec(a, 2), Rec(b, 3)}, {}, 0, &expected).ok());
  // Another source cannot delete it.
  CHECK(s->DeleteReply(b, Tagged(1)).Is(Code::kNotFound));
  CHECK(Listed(s.get(), a).size() == 2);
  // Never stored.
  CHECK(s->DeleteReply(a, Tagged(9)).Is(Code::kNotFound));
  // Its own source can, once.
  REQUIRE(s->DeleteReply(a, Tagged(1)).ok());
  CHECK(Ids(Listed(s.get(), a)) == std::vector<storage::Id>{Tagged(2)});
  CHECK(Listed(s.get(), b).size() == 1);
  CHECK(s->DeleteReply(a, Tagged(1)).Is(Code::kNotFound));
  // Gone for good.
  s.reset();
  s = OpenOk(dir.path());
  CHECK(Ids(Listed(s.get(), a)) == std::vector<storage::Id>{Tagged(2)});
}

TEST_CASE("ExpireRepliesRemovesExactlyThoseBeforeTheDay", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  const storage::Key32 a = Key(0x40), b = Key(0x41);
  uint64_t expected = 0, removed = 99;
  REQUIRE(s->ImportOutbox(Key(0x5A), 1,
                           {Rec(a, 1, 99), Rec(a, 2, 100), Rec(b, 3, 101), Rec(b, 4, 102),
                            Rec(a, 5, 101)}, {}, 0, &expected)
              .ok());
  REQUIRE(s->ExpireReplies(99, &removed).ok());
  CHECK(removed == 0);
  REQUIRE(s->ExpireReplies(101, &removed).ok());
  CHECK(removed == 2);
  CHECK(Ids(Listed(s.get(), a)) == std::vector<storage::Id>{Tagged(5)});
  CHECK(Ids(Listed(s.get(), b)) == std::vector<storage::Id>{Tagged(3), Tagged(4)});
  removed = 99;
  REQUIRE(s->ExpireReplies(101, &removed).ok());
  CHECK(removed == 0);
  // The removal is on disk.
  s.reset();
  s = OpenOk(dir.path());
  CHECK(Listed(s.get(), a).size() == 1);
  REQUIRE(s->ExpireReplies(0xFFFFFFFFu, &removed).ok());
  CHECK(removed == 3);
  CHECK(Listed(s.get(), a).empty());
  CHECK(Listed(s.get(), b).empty());
}

TEST_CASE("CheckCountsRepliesAndFindsNoProblem", "[replies][storage]") {
  SECTION("server") {
    TempDir dir;
    auto s = OpenOk(dir.path());
    uint64_t expected = 0, removed = 0;
    REQUIRE(s->ImportOutbox(Key(0x5A), 1,
                             {Rec(Key(1), 1, 10), Rec(Key(1), 2, 11), Rec(Key(2), 3, 12)}, {}, 0, &expected)
                .ok());
    storage::Store::Report r;
    REQUIRE(s->Check(&r).ok());
    CHECK(r.replies == 3);
    CHECK(r.problems.empty());
    REQUIRE(s->ExpireReplies(11, &removed).ok());
    REQUIRE(s->DeleteReply(Key(2), Tagged(3)).ok());
    storage::Store::Report after;
    REQUIRE(s->Check(&after).ok());
    CHECK(after.replies == 1);
    CHECK(after.problems.empty());
  }
  SECTION("vault") {
    TempDir dir;
    auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
    REQUIRE(v->QueueReply(Queued(1)).ok());
    REQUIRE(v->QueueReply(Queued(2)).ok());
    REQUIRE(v->MarkOutbox({Tagged(1)}, {}, 1, Key(7), "outbox:test", "1").ok());
    storage::Store::Report r;
    REQUIRE(v->Check(&r).ok());
    CHECK(r.replies == 2);
    CHECK(r.problems.empty());
  }
}

// =====================================================================================
// The vault

TEST_CASE("QueuedRepliesRoundTripInIdOrder", "[replies][storage]") {
  TempDir dir;
  const std::vector<storage::QueuedReply> qs = {Queued(5), Queued(2), Queued(9)};
  {
    auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
    CHECK(AllQueued(v.get()).empty());
    for (const auto& q : qs) REQUIRE(v->QueueReply(q).ok());
  }
  auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
  const std::vector<storage::QueuedReply> got = AllQueued(v.get());
  REQUIRE(got.size() == 3);
  CHECK(Same(got[0], qs[1]));
  CHECK(Same(got[1], qs[0]));
  CHECK(Same(got[2], qs[2]));
  CHECK(got[0].sent.empty());
}

TEST_CASE("QueueingAReplyIdTwiceIsRefusedAndKeepsTheFirst", "[replies][storage]") {
  TempDir dir;
  auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
  const storage::QueuedReply first = Queued(5);
  REQUIRE(v->QueueReply(first).ok());
  storage::QueuedReply second = Queued(5);
  second.sealed = Bytes(999, 1);
  CHECK(v->QueueReply(second).Is(Status::Code::kExists));
  const auto got = AllQueued(v.get());
  REQUIRE(got.size() == 1);
  CHECK(Same(got[0], first));
}

TEST_CASE("QueueReplyOnAServerStoreIsRefused", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  CHECK(s->QueueReply(Queued(1)).Is(Code::kInvalidArgument));
  CHECK(AllQueued(s.get()).empty());
}

TEST_CASE("MarkOutboxMarksOnlyTheGivenRepliesAndSetsTheCounter", "[replies][storage]") {
  TempDir dir;
  const storage::Key32 inst = Key(0x77);
  {
    auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
    for (uint8_t t : {2, 5, 9}) REQUIRE(v->QueueReply(Queued(t)).ok());
    REQUIRE(v->MarkOutbox({Tagged(2), Tagged(9)}, {}, 4, inst, "outbox:x:y", "4").ok());
  }
  auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
  const auto got = AllQueued(v.get());
  REQUIRE(got.size() == 3);
  CHECK(got[0].OutboxFor(inst) == 4);
  CHECK(got[1].sent.empty());
  CHECK(got[2].OutboxFor(inst) == 4);
  // The rest of each record is untouched.
  storage::QueuedReply want = Queued(2);
  want.sent = {{inst, 4}};
  CHECK(Same(got[0], want));
  CHECK(Same(got[1], Queued(5)));
  std::string value;
  REQUIRE(v->GetMeta("outbox:x:y", &value).ok());
  CHECK(value == "4");
}

// Each instance behind one address gets every reply (docs/INSTANCES.md):
// marking a reply for a second instance keeps what the first was sent, and
// one instance is never sent it twice.
TEST_CASE("AReplySentToOneInstanceIsStillSentToAnotherButNeverTwiceToOne",
          "[replies][storage]") {
  TempDir dir;
  const storage::Key32 a = Key(0x77), b = Key(0x78);
  auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
  REQUIRE(v->QueueReply(Queued(2)).ok());
  REQUIRE(v->MarkOutbox({Tagged(2)}, {}, 4, a, "outbox:a:k", "4").ok());
  REQUIRE(v->MarkOutbox({Tagged(2)}, {}, 1, b, "outbox:b:k", "1").ok());
  auto got = AllQueued(v.get());
  REQUIRE(got.size() == 1);
  CHECK(got[0].OutboxFor(a) == 4);
  CHECK(got[0].OutboxFor(b) == 1);
  CHECK(v->MarkOutbox({Tagged(2)}, {}, 5, a, "outbox:a:k", "5").Is(Code::kInvalidArgument));
  std::string value;
  REQUIRE(v->GetMeta("outbox:a:k", &value).ok());
  CHECK(value == "4");
  got = AllQueued(v.get());
  CHECK(got[0].OutboxFor(a) == 4);
}

TEST_CASE("MarkOutboxWithAnUnknownReplyChangesNothing", "[replies][storage]") {
  TempDir dir;
  auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
  REQUIRE(v->QueueReply(Queued(2)).ok());
  CHECK(v->MarkOutbox({Tagged(2), Tagged(3)}, {}, 1, Key(0x77), "outbox:x:y", "1")
            .Is(Code::kNotFound));
  const auto got = AllQueued(v.get());
  REQUIRE(got.size() == 1);
  CHECK(Same(got[0], Queued(2)));
  std::string value;
  CHECK(v->GetMeta("outbox:x:y", &value).Is(Code::kNotFound));
}

TEST_CASE("MarkOutboxCannotOverwriteTheStoreFormat", "[replies][storage]") {
  TempDir dir;
  {
    auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
    REQUIRE(v->QueueReply(Queued(2)).ok());
    CHECK(v->MarkOutbox({Tagged(2)}, {}, 1, Key(0x77), "format", "x").Is(Code::kInvalidArgument));
    CHECK(v->MarkOutbox({Tagged(2)}, {}, 1, Key(0x77), "", "x").Is(Code::kInvalidArgument));
    CHECK(Same(AllQueued(v.get())[0], Queued(2)));
  }
  // Still a vault: the format record is intact.
  OpenOk(dir.path(), Opt(storage::Role::kVault));
}

// =====================================================================================
// Deletions that travel between instances (docs/INSTANCES.md)

TEST_CASE("AnOutboxForwardingDeletionsIsVersion3AndReadsThemBack", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  std::vector<format::OutboxReply> written = f.Replies();
  std::string bytes;
  const std::vector<storage::Id> gone = {Tagged(40), Tagged(41)};
  REQUIRE(format::WriteOutbox(f.reviewer, Info(f.instance, 7), &written, {}, &bytes, gone).ok());
  CHECK(bytes[8] == 3);
  format::OutboxInfo info;
  std::vector<format::OutboxReply> back;
  std::vector<format::OutboxAck> acks;
  std::vector<storage::Id> deleted;
  REQUIRE(format::ReadOutbox(U8(bytes), bytes.size(), &info, &back, &acks, &deleted).ok());
  CHECK(info.version == 3);
  CHECK(back.size() == 3);
  CHECK(deleted == gone);
  // Without deletions it stays version 2, as before.
  written = f.Replies();
  REQUIRE(format::WriteOutbox(f.reviewer, Info(f.instance, 7), &written, {}, &bytes).ok());
  CHECK(bytes[8] == 2);
  REQUIRE(format::ReadOutbox(U8(bytes), bytes.size(), &info, &back, &acks, &deleted).ok());
  CHECK(deleted.empty());
}

TEST_CASE("AnOutboxDeletingOneReplyTwiceOrCutInsideItsDeletionsIsRefused", "[replies][format]") {
  REQUIRE(crypto::Init().ok());
  Fixture f;
  std::vector<format::OutboxReply> none;
  std::string bytes;
  CHECK(format::WriteOutbox(f.reviewer, Info(f.instance, 1), &none, {}, &bytes,
                            {Tagged(40), Tagged(40)})
            .Is(Code::kInvalidArgument));
  REQUIRE(format::WriteOutbox(f.reviewer, Info(f.instance, 1), &none, {}, &bytes,
                              {Tagged(40), Tagged(41)})
              .ok());
  // The second id made the first, signed again: refused as malformed.
  std::string twice = bytes;
  const size_t second = twice.size() - crypto::kSignatureSize - 16;
  twice.replace(second, 16, twice.substr(second - 16, 16));
  Resign(&twice, f.reviewer);
  CHECK(Read(twice).Is(Code::kCorruption));
  // A count larger than what follows, signed again.
  std::string more = bytes;
  PutLe(&more, more.size() - crypto::kSignatureSize - 36, 3, 4);
  Resign(&more, f.reviewer);
  CHECK(Read(more).Is(Code::kCorruption));
  // Version 3 with no deletions is not what a writer makes.
  std::string zero = bytes.substr(0, bytes.size() - crypto::kSignatureSize - 36);
  zero += std::string("\0\0\0\0", 4) + std::string(64, '\0');
  Resign(&zero, f.reviewer);
  CHECK(Read(zero).Is(Code::kCorruption));
}

TEST_CASE("AReplyASourceDeletesIsNotedForBundlesUntilItWouldHaveExpired", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  const storage::Key32 src = Key(0x11);
  uint64_t expected = 0;
  REQUIRE(s->ImportOutbox(Key(0x5A), 1, {Rec(src, 1, 20000), Rec(src, 2, 20003)}, {}, 0,
                          &expected)
              .ok());
  std::vector<storage::Id> ids;
  REQUIRE(s->DeletedReplies(10, &ids).ok());
  CHECK(ids.empty());
  REQUIRE(s->DeleteReply(src, Tagged(1)).ok());
  REQUIRE(s->DeleteReply(src, Tagged(2)).ok());
  CHECK(s->DeleteReply(src, Tagged(2)).Is(Code::kNotFound));
  REQUIRE(s->DeletedReplies(10, &ids).ok());
  CHECK(ids == std::vector<storage::Id>{Tagged(1), Tagged(2)});
  REQUIRE(s->DeletedReplies(1, &ids).ok());
  CHECK(ids.size() == 1);
  storage::Store::Report r;
  REQUIRE(s->Check(&r).ok());
  CHECK(r.deleted == 2);
  CHECK(r.problems.empty());
  // Kept as long as the reply itself would have been: by the day it arrived.
  uint64_t removed = 0;
  REQUIRE(s->ExpireReplies(20001, &removed).ok());
  REQUIRE(s->DeletedReplies(10, &ids).ok());
  CHECK(ids == std::vector<storage::Id>{Tagged(2)});
  REQUIRE(s->ExpireReplies(20004, &removed).ok());
  REQUIRE(s->DeletedReplies(10, &ids).ok());
  CHECK(ids.empty());
}

TEST_CASE("AnOutboxDeletesTheForwardedRepliesItHoldsAndNotesNoneOfThem", "[replies][storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  const storage::Key32 a = Key(0x11), b = Key(0x12);
  uint64_t expected = 0, removed = 0;
  REQUIRE(s->ImportOutbox(Key(0x5A), 1, {Rec(a, 1), Rec(b, 2), Rec(a, 3)}, {}, 0, &expected)
              .ok());
  // Ids 1 and 2 are held; 9 is not (passed over).
  REQUIRE(s->ImportOutbox(Key(0x5A), 2, {Rec(b, 4)}, {}, 0, &expected,
                          {Tagged(1), Tagged(2), Tagged(9)}, &removed)
              .ok());
  CHECK(removed == 2);
  std::vector<storage::ReplyRec> left;
  REQUIRE(s->Replies(a, 10, &left).ok());
  CHECK(Ids(left) == std::vector<storage::Id>{Tagged(3)});
  REQUIRE(s->Replies(b, 10, &left).ok());
  CHECK(Ids(left) == std::vector<storage::Id>{Tagged(4)});
  // Deleted because another instance said so: not sent on again.
  std::vector<storage::Id> ids;
  REQUIRE(s->DeletedReplies(10, &ids).ok());
  CHECK(ids.empty());
  // A replay changes nothing, deletions included.
  CHECK(s->ImportOutbox(Key(0x5A), 2, {}, {}, 0, &expected, {Tagged(3)}, &removed)
            .Is(Code::kExists));
  REQUIRE(s->Replies(a, 10, &left).ok());
  CHECK(left.size() == 1);
}

TEST_CASE("AVaultNotesADeletionOnceAndOnlyForItsOwnReplies", "[replies][storage]") {
  TempDir dir;
  const storage::Key32 from = Key(0x77), other = Key(0x78);
  auto v = OpenOk(dir.path(), Opt(storage::Role::kVault));
  REQUIRE(v->QueueReply(Queued(2)).ok());
  REQUIRE(v->QueueReply(Queued(3)).ok());
  uint64_t noted = 0;
  REQUIRE(v->QueueDeletions(from, {Tagged(2), Tagged(50)}, &noted).ok());
  CHECK(noted == 1);
  REQUIRE(v->QueueDeletions(other, {Tagged(2)}, &noted).ok());
  CHECK(noted == 0);
  std::vector<storage::QueuedDeletion> d;
  REQUIRE(v->QueuedDeletions(&d).ok());
  REQUIRE(d.size() == 1);
  CHECK(d[0].id == Tagged(2));
  CHECK(d[0].from == from);
  CHECK(d[0].sent.empty());
  // Carried to the other instance by its outbox 4, once.
  REQUIRE(v->MarkOutbox({}, {}, 4, other, "outbox:o:k", "4", {Tagged(2)}).ok());
  REQUIRE(v->QueuedDeletions(&d).ok());
  CHECK(d[0].OutboxFor(other) == 4);
  CHECK(d[0].OutboxFor(from) == 0);
  CHECK(v->MarkOutbox({}, {}, 5, other, "outbox:o:k", "5", {Tagged(2)}).Is(Code::kInvalidArgument));
  storage::Store::Report r;
  REQUIRE(v->Check(&r).ok());
  CHECK(r.deleted == 1);
  CHECK(r.problems.empty());
  // A server store forwards nothing.
  TempDir sdir;
  auto s = OpenOk(sdir.path());
  CHECK(s->QueueDeletions(from, {Tagged(2)}, &noted).Is(Code::kInvalidArgument));
}

TEST_CASE("TruncatedOrDoubledQueuedDeletionRecordIsRefused", "[replies][storage]") {
  storage::QueuedDeletion d;
  d.id = Tagged(2);
  d.from = Key(0x77);
  d.sent = {{Key(0x78), 3}};
  const std::string v = storage::EncodeQueuedDeletion(d);
  storage::QueuedDeletion back;
  const storage::Id id = Tagged(2);
  REQUIRE(storage::DecodeQueuedDeletion(id.data(), id.size(), U8(v), v.size(), &back).ok());
  CHECK(back.from == d.from);
  CHECK(back.OutboxFor(Key(0x78)) == 3);
  for (size_t n = 0; n < v.size(); n++) {
    INFO(n);
    CHECK(!storage::DecodeQueuedDeletion(id.data(), id.size(), U8(v), n, &back).ok());
  }
  d.sent.push_back({Key(0x78), 4});
  const std::string twice = storage::EncodeQueuedDeletion(d);
  CHECK(storage::DecodeQueuedDeletion(id.data(), id.size(), U8(twice), twice.size(), &back)
            .Is(Code::kCorruption));
}
