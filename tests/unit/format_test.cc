#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "format/format.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

using namespace sealdrop;
using namespace sealdrop::format;

namespace {

// --- Manifest helpers ----------------------------------------------------------------

const char kMessage[] =
    "Документы во вложении. Источник просит не раскрывать имя.\n"
    "الوثائق مرفقة. المصدر يطلب عدم كشف اسمه.";

std::vector<FileEntry> SampleFiles() {
  std::vector<FileEntry> f(3);
  f[0].item = 1;
  f[0].name = "отчёт за 2023.pdf";
  f[0].type = "application/pdf";
  f[0].size = 1234567;
  f[1].item = 2;
  f[1].name = "";  // browsers may send none
  f[1].type = "";
  f[1].size = 0;
  f[2].item = 3;
  f[2].name = "تقرير.txt";
  f[2].type = "text/plain; charset=utf-8";
  f[2].size = (uint64_t(1) << 40) + 5;
  return f;
}

std::vector<uint8_t> EncodeSample() {
  crypto::Secret s;
  Status st = EncodeManifest(reinterpret_cast<const uint8_t*>(kMessage), sizeof(kMessage) - 1,
                             SampleFiles(), &s);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return std::vector<uint8_t>(s.data(), s.data() + s.size());
}

Status Decode(const std::vector<uint8_t>& b, Manifest* m) {
  return DecodeManifest(b.data(), b.size(), m);
}

void RequireSample(const Manifest& m) {
  REQUIRE(m.message == kMessage);
  auto want = SampleFiles();
  REQUIRE(m.files.size() == want.size());
  for (size_t i = 0; i < want.size(); i++) {
    REQUIRE(m.files[i].item == want[i].item);
    REQUIRE(m.files[i].name == want[i].name);
    REQUIRE(m.files[i].type == want[i].type);
    REQUIRE(m.files[i].size == want[i].size);
  }
}

// --- Bundle helpers --------------------------------------------------------------------

storage::SubmissionRec MakeRec(uint8_t tag, const std::vector<uint64_t>& padded,
                               uint32_t chunk_size) {
  storage::SubmissionRec rec;
  for (size_t i = 0; i < rec.id.size(); i++) rec.id[i] = uint8_t(tag + 3 * i);
  rec.day = 19000 + tag;
  rec.chunk_size = chunk_size;
  rec.keys.resize(1);
  rec.keys[0].key_id.fill(tag);
  rec.keys[0].box.resize(80);
  for (size_t i = 0; i < rec.keys[0].box.size(); i++) rec.keys[0].box[i] = uint8_t(i ^ tag);
  for (size_t i = 0; i < padded.size(); i++) {
    storage::ItemRec it;
    it.header.fill(uint8_t(tag * 16 + i));
    it.padded = padded[i];
    it.chunks = uint32_t((padded[i] + chunk_size - 1) / chunk_size);
    rec.items.push_back(it);
  }
  return rec;
}

struct Chunk {
  storage::Id id{};
  uint32_t item = 0, index = 0;
  std::vector<uint8_t> data;
  bool operator==(const Chunk& o) const {
    return id == o.id && item == o.item && index == o.index && data == o.data;
  }
};

struct Content {
  std::vector<storage::SubmissionRec> recs;
  std::vector<Chunk> chunks;  // in bundle order
};

// Every chunk of every record, with ciphertext-sized bytes.
Content MakeContent(const std::vector<storage::SubmissionRec>& recs) {
  Content c;
  c.recs = recs;
  for (const auto& rec : recs)
    for (uint32_t i = 0; i < rec.items.size(); i++)
      for (uint32_t j = 0; j < rec.items[i].chunks; j++) {
        Chunk ch;
        ch.id = rec.id;
        ch.item = i;
        ch.index = j;
        ch.data.resize(size_t(storage::ChunkCipherSize(rec, rec.items[i], j)));
        for (size_t k = 0; k < ch.data.size(); k++)
          ch.data[k] = uint8_t(k * 7 + j * 13 + i * 29 + rec.id[0]);
        c.chunks.push_back(std::move(ch));
      }
  return c;
}

std::string WriteBundle(const crypto::SigningKey& key, uint32_t day, const Content& c) {
  std::string out;
  BundleWriter w(key, day, [&](const uint8_t* p, size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
    return Status::OK();
  });
  REQUIRE(w.Begin().ok());
  for (const auto& rec : c.recs) {
    REQUIRE(w.AddSubmission(rec).ok());
    for (const auto& ch : c.chunks)
      if (ch.id == rec.id)
        REQUIRE(w.AddChunk(ch.id, ch.item, ch.index, ch.data.data(), ch.data.size()).ok());
  }
  REQUIRE(w.Finish().ok());
  REQUIRE(w.bytes() == out.size());
  return out;
}

// A source over `b` handing out at most `step` bytes per call.
Source StringSource(const std::string& b, size_t step = SIZE_MAX) {
  auto off = std::make_shared<size_t>(0);
  return [&b, off, step](uint8_t* p, size_t n, size_t* got) {
    size_t k = std::min({n, b.size() - *off, step});
    std::memcpy(p, b.data() + *off, k);
    *off += k;
    *got = k;
    return Status::OK();
  };
}

Status Read(const std::string& b, Content* got, BundleInfo* info, size_t step = SIZE_MAX) {
  BundleHandler h;
  h.submission = [&](const storage::SubmissionRec& r) {
    got->recs.push_back(r);
    return Status::OK();
  };
  h.chunk = [&](const storage::Id& id, uint32_t item, uint32_t index, const uint8_t* p,
                size_t n) {
    Chunk c;
    c.id = id;
    c.item = item;
    c.index = index;
    c.data.assign(p, p + n);
    got->chunks.push_back(std::move(c));
    return Status::OK();
  };
  return ReadBundle(StringSource(b, step), h, info);
}

Status Read(const std::string& b) {
  Content got;
  BundleInfo info;
  return Read(b, &got, &info);
}

crypto::SigningKey NewKey() {
  REQUIRE(crypto::Init().ok());
  crypto::SigningKey k;
  REQUIRE(crypto::GenerateSigningKey(&k).ok());
  return k;
}

// Re-signs `b` (whose last 64 bytes are a signature) as BundleWriter::Finish
// does: Ed25519 over "sealdrop bundle v1" || BLAKE2b-512(everything before the
// signature). Lets a test build a validly signed bundle with bad contents.
std::string Resign(const crypto::SigningKey& key, std::string b) {
  REQUIRE(b.size() > crypto::kSignatureSize);
  size_t body = b.size() - crypto::kSignatureSize;
  crypto::Hasher h;
  h.Update(reinterpret_cast<const uint8_t*>(b.data()), body);
  uint8_t digest[crypto::Hasher::kSize];
  h.Final(digest);
  std::string msg = "sealdrop bundle v1";
  msg.append(reinterpret_cast<const char*>(digest), sizeof(digest));
  uint8_t sig[crypto::kSignatureSize];
  crypto::Sign(key, reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), sig);
  b.replace(body, crypto::kSignatureSize, reinterpret_cast<const char*>(sig), sizeof(sig));
  return b;
}

// One submission of two items, three chunks of a few bytes: every byte of a
// small bundle can be flipped in turn.
Content SmallContent() {
  return MakeContent({MakeRec(1, {20, 40}, 32)});
}

}  // namespace

// --- Manifest ---------------------------------------------------------------------

TEST_CASE("ManifestRoundTrip", "[format]") {
  REQUIRE(crypto::Init().ok());
  auto b = EncodeSample();
  Manifest m;
  Status st = Decode(b, &m);
  INFO(st.ToString());
  REQUIRE(st.ok());
  RequireSample(m);

  // No message and no files is a valid manifest too.
  crypto::Secret s;
  REQUIRE(EncodeManifest(nullptr, 0, {}, &s).ok());
  Manifest empty;
  empty.message = "stale";
  empty.files.resize(2);
  REQUIRE(DecodeManifest(s.data(), s.size(), &empty).ok());
  REQUIRE(empty.message.empty());
  REQUIRE(empty.files.empty());
}

TEST_CASE("ManifestTrailingNonZeroRefused", "[format]") {
  REQUIRE(crypto::Init().ok());
  auto b = EncodeSample();
  Manifest m;
  for (uint8_t extra : {uint8_t(1), uint8_t(0x80), uint8_t(0xff)}) {
    auto t = b;
    t.push_back(extra);
    REQUIRE(Decode(t, &m).Is(Status::Code::kCorruption));
    // A nonzero byte hidden after zero padding is refused as well.
    t = b;
    t.insert(t.end(), 200, 0);
    t.push_back(extra);
    t.insert(t.end(), 10, 0);
    REQUIRE(Decode(t, &m).Is(Status::Code::kCorruption));
  }
}

TEST_CASE("ManifestZeroPaddingAccepted", "[format]") {
  REQUIRE(crypto::Init().ok());
  auto b = EncodeSample();
  for (size_t pad : {size_t(1), size_t(7), size_t(4096)}) {
    auto t = b;
    t.resize(b.size() + pad, 0);
    Manifest m;
    Status st = Decode(t, &m);
    INFO("padding " << pad << ": " << st.ToString());
    REQUIRE(st.ok());
    RequireSample(m);
  }
  // As the stream pads it: up to crypto::PaddedSize of the manifest.
  auto t = b;
  t.resize(size_t(crypto::PaddedSize(b.size())), 0);
  Manifest m;
  REQUIRE(Decode(t, &m).ok());
  RequireSample(m);
}

TEST_CASE("ManifestTruncatedRefused", "[format]") {
  REQUIRE(crypto::Init().ok());
  auto b = EncodeSample();
  for (size_t n = 0; n < b.size(); n++) {
    // An exact-size heap copy, so a read past the prefix is a read past the buffer.
    std::vector<uint8_t> prefix(b.begin(), b.begin() + n);
    Manifest m;
    Status st = DecodeManifest(prefix.empty() ? nullptr : prefix.data(), n, &m);
    INFO("prefix of " << n << " of " << b.size() << " bytes");
    REQUIRE(st.Is(Status::Code::kCorruption));
  }
}

TEST_CASE("ManifestNewerVersionRefused", "[format]") {
  REQUIRE(crypto::Init().ok());
  auto b = EncodeSample();
  Manifest m;
  auto t = b;
  t[4] = 4;
  Status st = Decode(t, &m);
  INFO(st.ToString());
  REQUIRE(st.Is(Status::Code::kVersion));
  t = b;
  t[0] = 'X';
  REQUIRE(Decode(t, &m).Is(Status::Code::kCorruption));
}

TEST_CASE("ManifestAbsurdCountsRefused", "[format]") {
  REQUIRE(crypto::Init().ok());
  auto b = EncodeSample();
  Manifest m;
  // Message length field (offset 5) claiming 4 GiB, and just past the limit.
  auto t = b;
  t[5] = t[6] = t[7] = t[8] = 0xff;
  REQUIRE(Decode(t, &m).Is(Status::Code::kCorruption));
  t = b;
  uint32_t over = uint32_t(kMaxMessage + 1);
  std::memcpy(t.data() + 5, &over, 4);  // little-endian host
  REQUIRE(Decode(t, &m).Is(Status::Code::kCorruption));
  // File count claiming more than are present.
  size_t count_at = 9 + sizeof(kMessage) - 1;
  REQUIRE(t.size() > count_at + 4);
  t = b;
  REQUIRE(t[count_at] == 3);
  t[count_at] = 4;
  REQUIRE(Decode(t, &m).Is(Status::Code::kCorruption));
  t[count_at] = 0xff;
  t[count_at + 1] = 0xff;
  REQUIRE(Decode(t, &m).Is(Status::Code::kCorruption));
  // Files out of order.
  auto files = SampleFiles();
  std::swap(files[0].item, files[1].item);
  crypto::Secret s;
  REQUIRE(EncodeManifest(reinterpret_cast<const uint8_t*>("x"), 1, files, &s).ok());
  REQUIRE(DecodeManifest(s.data(), s.size(), &m).Is(Status::Code::kCorruption));
  // Limits are enforced when encoding.
  files = SampleFiles();
  files[2].name.assign(kMaxName + 1, 'a');
  REQUIRE(EncodeManifest(nullptr, 0, files, &s).Is(Status::Code::kTooLarge));
  std::vector<uint8_t> big(kMaxMessage + 1, 'a');
  REQUIRE(EncodeManifest(big.data(), big.size(), {}, &s).Is(Status::Code::kTooLarge));
}

// --- Answers -------------------------------------------------------------------------

namespace {

Answers SampleAnswers() {
  Answers a;
  for (size_t i = 0; i < a.hash.size(); i++) a.hash[i] = uint8_t(0x40 + i);
  a.questionnaire = "red-notice";
  a.list.push_back({"role", {"targeted"}});
  a.list.push_back({"requesting_country", {"TJ"}});
  a.list.push_back({"detained", {"yes"}});
  a.list.push_back({"hearing_date", {"2026-12-20"}});
  a.list.push_back({"contact", {"this_site", "lawyer"}});
  a.list.push_back({"offence", {"Мошенничество, ст. 159\r\nاحتيال"}});
  return a;
}

std::vector<uint8_t> EncodeWithAnswers(const Answers& a) {
  crypto::Secret s;
  ReplyKey key{};
  key.fill(7);
  Status st = EncodeManifest(reinterpret_cast<const uint8_t*>(kMessage), sizeof(kMessage) - 1,
                             SampleFiles(), &s, &key, &a);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return std::vector<uint8_t>(s.data(), s.data() + s.size());
}

void RequireSameAnswers(const Answers& got, const Answers& want) {
  REQUIRE(got.hash == want.hash);
  REQUIRE(got.questionnaire == want.questionnaire);
  REQUIRE(got.list.size() == want.list.size());
  for (size_t i = 0; i < want.list.size(); i++) {
    REQUIRE(got.list[i].field == want.list[i].field);
    REQUIRE(got.list[i].values == want.list[i].values);
  }
}

}  // namespace

TEST_CASE("ManifestWithAnswersRoundTrips", "[format]") {
  REQUIRE(crypto::Init().ok());
  auto b = EncodeWithAnswers(SampleAnswers());
  REQUIRE(b[4] == 3);
  Manifest m;
  REQUIRE(Decode(b, &m).ok());
  RequireSample(m);
  REQUIRE(m.has_reply_key);
  RequireSameAnswers(m.answers, SampleAnswers());
  // Without answers the manifest stays version 2, which older vaults read,
  // and decoding it leaves no answers behind from an earlier manifest.
  auto plain = EncodeSample();
  REQUIRE(plain[4] == 2);
  REQUIRE(Decode(plain, &m).ok());
  REQUIRE(m.answers.empty());
  REQUIRE(m.answers.list.empty());
  // Empty answers are no answers.
  crypto::Secret s;
  Answers none;
  REQUIRE(EncodeManifest(nullptr, 0, {}, &s, nullptr, &none).ok());
  REQUIRE(s.data()[4] == 2);
}

TEST_CASE("AnswersTruncatedAnywhereRefused", "[format]") {
  REQUIRE(crypto::Init().ok());
  crypto::Secret s;
  REQUIRE(EncodeAnswers(SampleAnswers(), &s).ok());
  for (size_t n = 0; n < s.size(); n++) {
    std::vector<uint8_t> prefix(s.data(), s.data() + n);
    Answers a;
    size_t used = 0;
    INFO("prefix of " << n << " of " << s.size());
    REQUIRE(DecodeAnswers(prefix.empty() ? nullptr : prefix.data(), n, &a, &used)
                .Is(Status::Code::kCorruption));
  }
  Answers a;
  size_t used = 0;
  REQUIRE(DecodeAnswers(s.data(), s.size(), &a, &used).ok());
  REQUIRE(used == s.size());
  RequireSameAnswers(a, SampleAnswers());
  // Inside a manifest, a cut in the answers is a cut manifest.
  auto b = EncodeWithAnswers(SampleAnswers());
  for (size_t n = b.size() - s.size() - 1; n < b.size(); n++) {
    std::vector<uint8_t> prefix(b.begin(), b.begin() + n);
    Manifest m;
    INFO("manifest prefix of " << n);
    REQUIRE(Decode(prefix, &m).Is(Status::Code::kCorruption));
  }
}

TEST_CASE("AnswersThatCouldNotBeAskedAreNotWritten", "[format]") {
  REQUIRE(crypto::Init().ok());
  crypto::Secret s;
  auto a = SampleAnswers();
  a.list.push_back({"role", {"insider"}});
  REQUIRE(EncodeAnswers(a, &s).Is(Status::Code::kInvalidArgument));
  a = SampleAnswers();
  a.list[0].values.clear();
  REQUIRE(EncodeAnswers(a, &s).Is(Status::Code::kInvalidArgument));
  a = SampleAnswers();
  a.list[0].values[0].clear();
  REQUIRE(EncodeAnswers(a, &s).Is(Status::Code::kInvalidArgument));
  a = SampleAnswers();
  a.list[0].field.assign(kMaxAnswerId + 1, 'f');
  REQUIRE(EncodeAnswers(a, &s).Is(Status::Code::kInvalidArgument));
  a = SampleAnswers();
  a.questionnaire.clear();
  REQUIRE(EncodeAnswers(a, &s).Is(Status::Code::kInvalidArgument));
  a = SampleAnswers();
  a.list[1].values.assign(kMaxAnswerValues + 1, "x");
  REQUIRE(EncodeAnswers(a, &s).Is(Status::Code::kTooLarge));
  a = SampleAnswers();
  a.list[1].values = {std::string(kMaxAnswers, 'x')};
  REQUIRE(EncodeAnswers(a, &s).Is(Status::Code::kTooLarge));
  a = SampleAnswers();
  a.list.clear();
  for (size_t i = 0; i <= kMaxAnswerCount; i++) a.list.push_back({"f" + std::to_string(i), {"x"}});
  REQUIRE(EncodeAnswers(a, &s).Is(Status::Code::kTooLarge));
  // At the limits exactly, they are written and read back.
  a.list.pop_back();
  for (auto& x : a.list) x.values.assign(kMaxAnswerValues, "v");
  REQUIRE(EncodeAnswers(a, &s).ok());
  Answers back;
  size_t used = 0;
  REQUIRE(DecodeAnswers(s.data(), s.size(), &back, &used).ok());
  RequireSameAnswers(back, a);
}

TEST_CASE("AnswersForgedByHandRefused", "[format]") {
  REQUIRE(crypto::Init().ok());
  crypto::Secret s;
  Answers one;
  one.questionnaire = "q";
  one.list.push_back({"a", {"yes"}});
  one.list.push_back({"b", {"no"}});
  REQUIRE(EncodeAnswers(one, &s).ok());
  std::vector<uint8_t> b(s.data(), s.data() + s.size());
  // hash 32, id 1+1, count 2; then "a": 1+1, 1 value, 4+3; then "b".
  const size_t first = 32 + 2 + 2, second = first + 2 + 1 + 4 + 3;
  auto refused = [](std::vector<uint8_t> t) {
    Answers a;
    size_t used = 0;
    return DecodeAnswers(t.data(), t.size(), &a, &used).Is(Status::Code::kCorruption);
  };
  auto t = b;
  t[second + 1] = 'a';  // the same field twice
  REQUIRE(refused(t));
  t = b;
  t[first + 2] = 0;  // no values
  REQUIRE(refused(t));
  t = b;
  t[first + 2] = uint8_t(kMaxAnswerValues + 1);
  REQUIRE(refused(t));
  t = b;
  t[first] = 0;  // empty field id
  REQUIRE(refused(t));
  t = b;
  t[32] = 0;  // empty questionnaire id
  REQUIRE(refused(t));
  t = b;
  t[32 + 2] = 0xff, t[32 + 3] = 0xff;  // 65,535 answers
  REQUIRE(refused(t));
  t = b;
  t[first + 3] = 0, t[first + 4] = 0;  // an empty value
  REQUIRE(refused(t));
  // An answers tag this reader does not know is a newer version.
  auto m = EncodeWithAnswers(SampleAnswers());
  crypto::Secret as;
  REQUIRE(EncodeAnswers(SampleAnswers(), &as).ok());
  size_t tag_at = m.size() - as.size() - 1;
  REQUIRE(m[tag_at] == 1);
  m[tag_at] = 2;
  Manifest out;
  REQUIRE(Decode(m, &out).Is(Status::Code::kVersion));
  m[tag_at] = 0;  // "none", followed by bytes that are not padding
  REQUIRE(Decode(m, &out).Is(Status::Code::kCorruption));
}

// The server accepts any manifest within the field limits, so the reviewer's
// bound (MaxPaddedManifest) must admit the largest one. A bound set apart from
// the limits once refused, at 4 MiB, manifests the server wrote.
TEST_CASE("ManifestAtEveryLimitFitsTheReviewersBound", "[format]") {
  REQUIRE(crypto::Init().ok());
  std::vector<uint8_t> message(kMaxMessage);
  for (size_t i = 0; i < message.size(); i++) message[i] = uint8_t('a' + i % 26);
  std::vector<FileEntry> files(kMaxFiles);
  for (size_t i = 0; i < files.size(); i++) {
    files[i].item = uint32_t(i + 1);
    files[i].name = std::to_string(i) + std::string(kMaxName, 'n');
    files[i].name.resize(kMaxName);
    files[i].type = std::to_string(i) + std::string(kMaxName, 't');
    files[i].type.resize(kMaxName);
    files[i].size = uint64_t(i) << 30;
  }
  // Answers of exactly kMaxAnswers bytes: 32 + 1 + 1 + 2 for the hash, the
  // id "q" and the count; 1 + 1 + 1 + 4 for field "a" and its one value.
  Answers answers;
  answers.questionnaire = "q";
  answers.list.push_back({"a", {std::string(kMaxAnswers - 43, 'v')}});
  crypto::Secret s;
  Status st = EncodeManifest(message.data(), message.size(), files, &s, nullptr, &answers);
  INFO(st.ToString());
  REQUIRE(st.ok());
  REQUIRE(s.size() == kMaxManifest);
  // The numbers docs/FORMAT.md "Manifest" states.
  REQUIRE(kMaxManifest == 10551343);
  REQUIRE(MaxPaddedManifest() == 10747904);
  // As the stream stores it: padded, and within the reviewer's bound.
  REQUIRE(crypto::PaddedSize(s.size()) == MaxPaddedManifest());
  std::vector<uint8_t> padded(s.data(), s.data() + s.size());
  padded.resize(size_t(MaxPaddedManifest()), 0);
  Manifest m;
  st = Decode(padded, &m);
  INFO(st.ToString());
  REQUIRE(st.ok());
  REQUIRE(m.message == std::string(message.begin(), message.end()));
  REQUIRE(m.files.size() == kMaxFiles);
  for (size_t i = 0; i < files.size(); i++) {
    REQUIRE(m.files[i].item == files[i].item);
    REQUIRE(m.files[i].name == files[i].name);
    REQUIRE(m.files[i].type == files[i].type);
    REQUIRE(m.files[i].size == files[i].size);
  }
  REQUIRE(m.answers.list.at(0).values.at(0).size() == kMaxAnswers - 43);
  // One byte more of answers is refused when encoding.
  answers.list[0].values[0] += 'v';
  REQUIRE(EncodeManifest(nullptr, 0, {}, &s, nullptr, &answers).Is(Status::Code::kTooLarge));
  // One file more is refused when encoding: nothing larger is ever written.
  files.emplace_back();
  files.back().item = uint32_t(files.size());
  REQUIRE(EncodeManifest(nullptr, 0, files, &s).Is(Status::Code::kTooLarge));
}

// --- Bundle -----------------------------------------------------------------------------

TEST_CASE("BundleRoundTrip", "[format]") {
  auto key = NewKey();
  Content c = MakeContent({MakeRec(1, {256, 5000, 1}, 1024), MakeRec(2, {512, 3000}, 1024)});
  REQUIRE(c.chunks.size() == 1 + 5 + 1 + 1 + 3);
  std::string b = WriteBundle(key, 19500, c);
  for (size_t step : {SIZE_MAX, size_t(1), size_t(7), size_t(1000)}) {
    Content got;
    BundleInfo info;
    Status st = Read(b, &got, &info, step);
    INFO("read " << step << " bytes at a time: " << st.ToString());
    REQUIRE(st.ok());
    REQUIRE(info.instance == key.pk);
    REQUIRE(info.day == 19500);
    REQUIRE(info.submissions == 2);
    REQUIRE(info.chunks == c.chunks.size());
    REQUIRE(got.recs.size() == 2);
    for (size_t i = 0; i < 2; i++)
      REQUIRE(storage::EncodeSubmission(got.recs[i]) == storage::EncodeSubmission(c.recs[i]));
    REQUIRE(got.chunks == c.chunks);
  }
  // An empty bundle (nothing to export) is valid.
  std::string e = WriteBundle(key, 7, Content{});
  Content got;
  BundleInfo info;
  REQUIRE(Read(e, &got, &info).ok());
  REQUIRE(info.submissions == 0);
  REQUIRE(info.chunks == 0);
  REQUIRE(info.day == 7);
}

// Replies sources deleted on an instance travel in its bundles as DELETED
// records (docs/INSTANCES.md): version 2, which version 1 readers refuse by
// name, and which carries them signed with the rest.
TEST_CASE("ABundleCarryingDeletedRepliesIsVersion2AndHandsThemOut", "[format]") {
  auto key = NewKey();
  Content c = SmallContent();
  std::string out;
  BundleWriter w(key, 19500, [&](const uint8_t* p, size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
    return Status::OK();
  });
  storage::Id a{}, b{};
  a.fill(0x41);
  b.fill(0x42);
  REQUIRE(w.Begin(true).ok());
  REQUIRE(w.AddDeleted(a).ok());
  REQUIRE(w.AddDeleted(b).ok());
  for (const auto& rec : c.recs) {
    REQUIRE(w.AddSubmission(rec).ok());
    for (const auto& ch : c.chunks)
      if (ch.id == rec.id)
        REQUIRE(w.AddChunk(ch.id, ch.item, ch.index, ch.data.data(), ch.data.size()).ok());
  }
  REQUIRE(w.Finish().ok());
  REQUIRE(out[8] == 2);
  std::vector<storage::Id> got;
  BundleHandler h;
  h.deleted = [&](const storage::Id& id) {
    got.push_back(id);
    return Status::OK();
  };
  BundleInfo info;
  REQUIRE(ReadBundle(StringSource(out), h, &info).ok());
  CHECK(info.version == 2);
  CHECK(info.deleted == 2);
  CHECK(info.submissions == c.recs.size());
  CHECK(got == std::vector<storage::Id>{a, b});
  // The same bytes claiming version 1: a DELETED record is then unknown.
  std::string v1 = out;
  v1[8] = 1;
  CHECK(ReadBundle(StringSource(v1), h, &info).Is(Status::Code::kCorruption));
  // A version 1 writer cannot add one.
  BundleWriter old(key, 19500, [](const uint8_t*, size_t) { return Status::OK(); });
  REQUIRE(old.Begin().ok());
  CHECK(old.AddDeleted(a).Is(Status::Code::kInvalidArgument));
  // A flipped id fails the signature.
  std::string t = out;
  t[48 + 5] ^= 1;
  CHECK(ReadBundle(StringSource(t), h, &info).Is(Status::Code::kAuthFailed));
}

TEST_CASE("BundleAnyFlippedByteRefused", "[format]") {
  auto key = NewKey();
  std::string b = WriteBundle(key, 19500, SmallContent());
  REQUIRE(Read(b).ok());
  REQUIRE(b.size() < 1024);
  for (size_t i = 0; i < b.size(); i++) {
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xff)}) {
      std::string t = b;
      t[i] = char(uint8_t(t[i]) ^ mask);
      Content got;
      BundleInfo info;
      Status st = Read(t, &got, &info);
      INFO("byte " << i << " of " << b.size() << " ^ " << int(mask) << ": " << st.ToString());
      REQUIRE_FALSE(st.ok());
    }
  }
}

TEST_CASE("BundleTruncatedRefused", "[format]") {
  auto key = NewKey();
  std::string b = WriteBundle(key, 19500, SmallContent());
  for (size_t n = 0; n < b.size(); n++) {
    Status st = Read(b.substr(0, n));
    INFO("first " << n << " of " << b.size() << " bytes: " << st.ToString());
    // Malformed, not merely unsigned: the reader notices the missing bytes.
    REQUIRE(st.Is(Status::Code::kCorruption));
  }
}

TEST_CASE("BundleTrailingBytesRefused", "[format]") {
  auto key = NewKey();
  std::string b = WriteBundle(key, 19500, SmallContent());
  for (const std::string& extra :
       {std::string(1, '\0'), std::string(1, 'x'), std::string(4096, '\0'), b}) {
    Status st = Read(b + extra);
    INFO(extra.size() << " bytes appended: " << st.ToString());
    REQUIRE(st.Is(Status::Code::kCorruption));
  }
}

TEST_CASE("BundleNewerVersionRefused", "[format]") {
  auto key = NewKey();
  std::string b = WriteBundle(key, 19500, SmallContent());
  std::string t = b;
  t[8] = 3;
  Status st = Read(t);
  INFO(st.ToString());
  REQUIRE(st.Is(Status::Code::kVersion));
  // A newer submission record inside a bundle is refused by name as well.
  t = b;
  REQUIRE(t.substr(48 + 5, 4) == "SDSU");
  t[48 + 5 + 4] = 4;
  REQUIRE(Read(t).Is(Status::Code::kVersion));
}

TEST_CASE("BundleSignedByOtherKeyStillReportsSigner", "[format]") {
  auto pinned = NewKey();
  auto other = NewKey();
  REQUIRE(pinned.pk != other.pk);
  std::string b = WriteBundle(other, 19500, SmallContent());
  // Validly signed by another instance: ReadBundle accepts it but names the
  // signer, so the caller's pin check can refuse it.
  Content got;
  BundleInfo info;
  REQUIRE(Read(b, &got, &info).ok());
  REQUIRE(info.instance == other.pk);
  REQUIRE(info.instance != pinned.pk);
  // Claiming to come from the pinned instance without its signature fails.
  std::string t = b;
  std::memcpy(&t[12], pinned.pk.data(), 32);
  Status st = Read(t, &got, &info);
  INFO(st.ToString());
  REQUIRE(st.Is(Status::Code::kAuthFailed));
  // So does another key's signature grafted onto this bundle.
  std::string mine = WriteBundle(pinned, 19500, SmallContent());
  REQUIRE(mine.size() == b.size());
  t = mine;
  t.replace(t.size() - crypto::kSignatureSize, crypto::kSignatureSize,
            b.substr(b.size() - crypto::kSignatureSize));
  REQUIRE(Read(t).Is(Status::Code::kAuthFailed));
}

TEST_CASE("BundleDroppedOrReorderedRecordRefused", "[format]") {
  auto key = NewKey();
  Content c = SmallContent();
  REQUIRE(c.chunks.size() == 3);
  std::string b = WriteBundle(key, 19500, c);
  // Record layout: header, submission, three chunk records, END.
  size_t sub_len = 5 + storage::EncodeSubmission(c.recs[0]).size();
  size_t at = 48 + sub_len;
  std::vector<std::pair<size_t, size_t>> chunk_recs;
  for (const auto& ch : c.chunks) {
    size_t n = 5 + 24 + ch.data.size();
    chunk_recs.emplace_back(at, n);
    at += n;
  }
  REQUIRE(at + 5 + 16 + 64 == b.size());
  // Dropping a chunk record.
  std::string t = b;
  t.erase(chunk_recs[1].first, chunk_recs[1].second);
  REQUIRE_FALSE(Read(t).ok());
  // Swapping two chunk records.
  t = b.substr(0, chunk_recs[0].first) +
      b.substr(chunk_recs[1].first, chunk_recs[1].second) +
      b.substr(chunk_recs[0].first, chunk_recs[0].second) + b.substr(chunk_recs[2].first);
  REQUIRE(t.size() == b.size());
  REQUIRE(Read(t).Is(Status::Code::kAuthFailed));
  // Duplicating one.
  t = b;
  t.insert(chunk_recs[2].first, b.substr(chunk_recs[0].first, chunk_recs[0].second));
  REQUIRE_FALSE(Read(t).ok());
}

TEST_CASE("BundleHandlerErrorStopsReading", "[format]") {
  auto key = NewKey();
  std::string b = WriteBundle(key, 19500, SmallContent());
  BundleHandler h;
  int chunks = 0;
  h.chunk = [&](const storage::Id&, uint32_t, uint32_t, const uint8_t*, size_t) {
    return ++chunks == 2 ? Status::Full("vault full") : Status::OK();
  };
  BundleInfo info;
  REQUIRE(ReadBundle(StringSource(b), h, &info).Is(Status::Code::kFull));
  REQUIRE(chunks == 2);
}

// Structure is checked, not only the signature: a bundle its own instance
// signed is still refused when its records or header are malformed.
TEST_CASE("BundleValidlySignedButMalformedRefused", "[format]") {
  auto key = NewKey();
  Content c = SmallContent();
  std::string b = WriteBundle(key, 19500, c);
  REQUIRE(Resign(key, b) == b);  // Resign reproduces the writer's signature
  REQUIRE(Read(Resign(key, b)).ok());
  size_t end_rec = b.size() - (5 + 16 + 64);
  REQUIRE(b[end_rec] == 3);
  // END record counts that disagree with the records present.
  for (size_t off : {size_t(5), size_t(13)}) {
    std::string t = b;
    t[end_rec + off] = char(t[end_rec + off] + 1);
    Status st = Read(Resign(key, t));
    INFO("count at END+" << off << ": " << st.ToString());
    REQUIRE(st.Is(Status::Code::kCorruption));
  }
  // A chunk record dropped, the counts left as written.
  size_t first_chunk = 48 + 5 + storage::EncodeSubmission(c.recs[0]).size();
  size_t chunk_len = 5 + 24 + c.chunks[0].data.size();
  std::string t = b;
  t.erase(first_chunk, chunk_len);
  REQUIRE(Read(Resign(key, t)).Is(Status::Code::kCorruption));
  // Unknown kind, nonzero reserved header bytes, unknown record type.
  for (size_t at : {size_t(9), size_t(10), size_t(11)}) {
    t = b;
    t[at] = char(t[at] ^ 4);
    Status st = Read(Resign(key, t));
    INFO("header byte " << at << ": " << st.ToString());
    REQUIRE(st.Is(Status::Code::kCorruption));
  }
  t = b;
  t[first_chunk] = 9;
  REQUIRE(Read(Resign(key, t)).Is(Status::Code::kCorruption));
  // A chunk record too short to name its chunk.
  t = b.substr(0, first_chunk);
  t += std::string("\x02\x05\x00\x00\x00", 5) + std::string(5, 'x');
  t += b.substr(first_chunk);
  REQUIRE(Read(Resign(key, t)).Is(Status::Code::kCorruption));
  // A submission record that does not decode.
  t = b;
  t[48 + 5] = 'X';
  REQUIRE(Read(Resign(key, t)).Is(Status::Code::kCorruption));
}

TEST_CASE("ReplyKeyLostOrAnUnknownAlgorithmTakenForDamage") {
  ReplyKey key;
  for (size_t i = 0; i < key.size(); i++) key[i] = uint8_t(0x40 + i);
  crypto::Secret s;
  REQUIRE(EncodeManifest(reinterpret_cast<const uint8_t*>("hi"), 2, SampleFiles(), &s, &key).ok());
  std::vector<uint8_t> b(s.data(), s.data() + s.size());
  Manifest m;
  REQUIRE(Decode(b, &m).ok());
  CHECK(m.has_reply_key);
  CHECK(m.reply_key == key);
  CHECK(m.files.size() == SampleFiles().size());
  // Without a codename: algorithm 0 and zeros.
  std::vector<uint8_t> anon = EncodeSample();
  REQUIRE(Decode(anon, &m).ok());
  CHECK(!m.has_reply_key);
  CHECK(anon[4] == 2);
  // A later algorithm is a newer version; a key under "none" is damage.
  std::vector<uint8_t> later = b;
  later[later.size() - 33] = 7;
  CHECK(Decode(later, &m).Is(Status::Code::kVersion));
  std::vector<uint8_t> stray = anon;
  stray[stray.size() - 1] = 1;
  CHECK(Decode(stray, &m).Is(Status::Code::kCorruption));
  // Cut inside the key.
  std::vector<uint8_t> cut(b.begin(), b.end() - 5);
  CHECK(Decode(cut, &m).Is(Status::Code::kCorruption));
}

TEST_CASE("VersionOneManifestNoLongerOpens") {
  // The version-1 bytes of docs/FORMAT.md's old "manifest" vector: no reply key.
  std::vector<uint8_t> v1 = EncodeSample();
  v1.resize(v1.size() - 33);
  v1[4] = 1;
  Manifest m;
  REQUIRE(Decode(v1, &m).ok());
  RequireSample(m);
  CHECK(!m.has_reply_key);
}
