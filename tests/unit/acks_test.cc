// Acknowledgements: the outbox section that carries them, the vault's queue
// of them, and the server's record of them until it deletes the submissions
// (FORMAT.md "Outbox", "Acknowledgement record").
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "format/format.h"
#include "server/server.h"
#include "storage/storage.h"

using namespace sealdrop;
using Code = Status::Code;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/sealdrop-acks-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<storage::Store> Open(const std::string& dir, storage::Role role) {
  storage::Options o;
  o.role = role;
  o.quota = uint64_t(64) << 20;
  std::unique_ptr<storage::Store> s;
  Status st = storage::Store::Open(dir, o, &s);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return s;
}

storage::Id Id(uint8_t tag) {
  storage::Id id{};
  id.fill(uint8_t(tag * 7));
  id[0] = tag;
  return id;
}

storage::Key32 Key(uint8_t tag) {
  storage::Key32 k{};
  k.fill(tag);
  return k;
}

// A one-item submission of one chunk, committed.
storage::SubmissionRec Commit(storage::Store* s, uint8_t tag, uint32_t day = 20000) {
  storage::SubmissionRec rec;
  rec.id = Id(tag);
  rec.day = day;
  rec.chunk_size = 1024;
  rec.keys.resize(1);
  rec.keys[0].key_id.fill(tag);
  rec.keys[0].box.assign(80, tag);
  storage::ItemRec item;
  item.header.fill(tag);
  item.padded = 100;
  item.chunks = 1;
  rec.items.push_back(item);
  std::vector<uint8_t> chunk(size_t(storage::ChunkCipherSize(rec, item, 0)), tag);
  REQUIRE(s->BeginPending(rec.id).ok());
  REQUIRE(s->PutChunks(rec.id, {{0, 0, chunk.data(), chunk.size()}}).ok());
  REQUIRE(s->Commit(rec).ok());
  return rec;
}

crypto::SigningKey Signer(uint8_t tag) {
  uint8_t seed[32];
  std::memset(seed, tag, sizeof seed);
  crypto::SigningKey k;
  REQUIRE(crypto::SigningKeyFromSeed(seed, &k).ok());
  return k;
}

format::OutboxInfo Info(uint64_t sequence) {
  format::OutboxInfo info;
  info.instance = Key(0x60);
  info.sequence = sequence;
  return info;
}

std::vector<format::OutboxAck> Acks(size_t n) {
  std::vector<format::OutboxAck> acks(n);
  for (size_t i = 0; i < n; i++) {
    acks[i].id = Id(uint8_t(i + 1));
    acks[i].hash.fill(uint8_t(0xA0 + i));
  }
  return acks;
}

Status Read(const std::string& b, std::vector<format::OutboxAck>* acks,
            format::OutboxInfo* info = nullptr) {
  format::OutboxInfo i;
  std::vector<format::OutboxReply> replies;
  return format::ReadOutbox(reinterpret_cast<const uint8_t*>(b.data()), b.size(),
                            info ? info : &i, &replies, acks);
}

void Resign(std::string* b, const crypto::SigningKey& key) {
  const size_t body = b->size() - crypto::kSignatureSize;
  crypto::Sign(key, reinterpret_cast<const uint8_t*>(b->data()), body,
               reinterpret_cast<uint8_t*>(&(*b)[body]));
}

server::Config TwoReviewers(uint32_t grace) {
  server::Config cfg;
  for (uint8_t tag : {1, 2}) {
    server::Recipient r;
    r.name = "reviewer" + std::to_string(tag);
    r.has_signing = true;
    r.signing = Signer(tag).pk;
    cfg.recipients.push_back(r);
  }
  cfg.ack_grace_days = grace;
  return cfg;
}

}  // namespace

// --- The outbox section -----------------------------------------------------------

TEST_CASE("OutboxAcksRoundTripInOrder", "[acks][format]") {
  REQUIRE(crypto::Init().ok());
  std::vector<format::OutboxReply> none;
  std::string b;
  REQUIRE(format::WriteOutbox(Signer(1), Info(4), &none, Acks(3), &b).ok());
  CHECK(b.size() == format::kOutboxHeaderSize + 4 + 3 * format::kOutboxAckSize +
                        crypto::kSignatureSize);
  std::vector<format::OutboxAck> back;
  format::OutboxInfo info;
  REQUIRE(Read(b, &back, &info).ok());
  CHECK(info.version == 2);
  REQUIRE(back.size() == 3);
  for (size_t i = 0; i < 3; i++) {
    CHECK(back[i].id == Acks(3)[i].id);
    CHECK(back[i].hash == Acks(3)[i].hash);
  }
}

TEST_CASE("OutboxWithAlteredAckIsRefused", "[acks][format]") {
  REQUIRE(crypto::Init().ok());
  std::vector<format::OutboxReply> none;
  std::string good;
  REQUIRE(format::WriteOutbox(Signer(1), Info(4), &none, Acks(2), &good).ok());
  std::vector<format::OutboxAck> back;
  // Every byte of the acknowledgement section, the signature covering it.
  for (size_t at = format::kOutboxHeaderSize; at < good.size() - crypto::kSignatureSize; at++) {
    std::string bad = good;
    bad[at] ^= 0x10;
    INFO(at);
    CHECK(Read(bad, &back).Is(Code::kAuthFailed));
  }
  // Cut short by one acknowledgement, or with one removed and signed again.
  CHECK(Read(good.substr(0, good.size() - format::kOutboxAckSize), &back).Is(Code::kAuthFailed));
  std::string fewer = good;
  fewer.erase(format::kOutboxHeaderSize + 4, format::kOutboxAckSize);
  Resign(&fewer, Signer(1));
  CHECK(Read(fewer, &back).Is(Code::kCorruption));
}

TEST_CASE("OutboxAcknowledgingOneSubmissionTwiceIsRefused", "[acks][format]") {
  REQUIRE(crypto::Init().ok());
  std::vector<format::OutboxReply> none;
  auto acks = Acks(3);
  acks[2].id = acks[0].id;
  std::string b;
  CHECK(format::WriteOutbox(Signer(1), Info(4), &none, acks, &b).Is(Code::kInvalidArgument));
  // Made by hand: the third id replaced by the first, signed again.
  REQUIRE(format::WriteOutbox(Signer(1), Info(4), &none, Acks(3), &b).ok());
  const size_t first = format::kOutboxHeaderSize + 4;
  std::memcpy(&b[first + 2 * format::kOutboxAckSize], &b[first], 16);
  Resign(&b, Signer(1));
  std::vector<format::OutboxAck> back;
  Status st = Read(b, &back);
  CHECK(st.Is(Code::kCorruption));
  CHECK(st.message().find("twice") != std::string::npos);
}

TEST_CASE("OutboxWithImpossibleAckCountIsRefused", "[acks][format]") {
  REQUIRE(crypto::Init().ok());
  std::vector<format::OutboxReply> none;
  std::vector<format::OutboxAck> too_many(format::kMaxOutboxAcks + 1);
  std::string b;
  CHECK(format::WriteOutbox(Signer(1), Info(4), &none, too_many, &b).Is(Code::kTooLarge));
  REQUIRE(format::WriteOutbox(Signer(1), Info(4), &none, Acks(1), &b).ok());
  std::vector<format::OutboxAck> back;
  for (uint32_t count : {2u, 0u, uint32_t(format::kMaxOutboxAcks + 1), 0xFFFFFFFFu}) {
    std::string bad = b;
    for (int i = 0; i < 4; i++) bad[format::kOutboxHeaderSize + i] = char(count >> (8 * i));
    Resign(&bad, Signer(1));
    INFO(count);
    CHECK(Read(bad, &back).Is(Code::kCorruption));
  }
}

// --- The vault's queue -----------------------------------------------------------

TEST_CASE("VaultQueuesAnAckInTheImportsTransaction", "[acks][storage]") {
  TempDir dir;
  auto v = Open(dir.path(), storage::Role::kVault);
  auto rec = Commit(v.get(), 1);
  // Commit and acknowledgement of a second submission in one batch.
  storage::SubmissionRec second = rec;
  second.id = Id(2);
  std::vector<uint8_t> chunk(size_t(storage::ChunkCipherSize(second, second.items[0], 0)), 2);
  REQUIRE(v->BeginPending(second.id).ok());
  REQUIRE(v->PutChunks(second.id, {{0, 0, chunk.data(), chunk.size()}}).ok());
  storage::WriteBatch b;
  b.Commit(second);
  b.Ack(second.id, Key(0x60));
  b.Ack(rec.id, Key(0x60));
  REQUIRE(v->Write(b).ok());
  std::vector<storage::QueuedAck> q;
  REQUIRE(v->QueuedAcks(&q).ok());
  REQUIRE(q.size() == 2);
  CHECK(q[0].id == rec.id);
  CHECK(q[1].id == second.id);
  CHECK(q[1].instance == Key(0x60));
  CHECK(q[1].outbox == 0);

  // Sent in outbox 3; a later import of the same submission keeps that.
  REQUIRE(v->MarkOutbox({}, {second.id}, 3, Key(0x60), "outbox:x:y", "3").ok());
  storage::WriteBatch again;
  again.Ack(second.id, Key(0x60));
  REQUIRE(v->Write(again).ok());
  REQUIRE(v->QueuedAcks(&q).ok());
  CHECK(q[1].outbox == 3);
  CHECK(q[0].outbox == 0);
}

TEST_CASE("VaultRefusesAnAckOfASubmissionItDoesNotHold", "[acks][storage]") {
  TempDir dir;
  auto v = Open(dir.path(), storage::Role::kVault);
  Commit(v.get(), 1);
  storage::WriteBatch b;
  b.Ack(Id(1), Key(0x60));
  b.Ack(Id(9), Key(0x60));
  CHECK(v->Write(b).Is(Code::kInvalidArgument));
  std::vector<storage::QueuedAck> q;
  REQUIRE(v->QueuedAcks(&q).ok());
  CHECK(q.empty());  // all or none
}

TEST_CASE("MarkOutboxRefusesAnAckForAnotherInstance", "[acks][storage]") {
  TempDir dir;
  auto v = Open(dir.path(), storage::Role::kVault);
  Commit(v.get(), 1);
  storage::WriteBatch b;
  b.Ack(Id(1), Key(0x61));
  REQUIRE(v->Write(b).ok());
  CHECK(v->MarkOutbox({}, {Id(1)}, 1, Key(0x60), "outbox:x:y", "1").Is(Code::kInvalidArgument));
  std::string counter;
  CHECK(v->GetMeta("outbox:x:y", &counter).Is(Code::kNotFound));
}

// --- The server's record ---------------------------------------------------------

TEST_CASE("ServerRecordsOnlyHeldAcksAndNeverExportsThemAgain", "[acks][storage]") {
  TempDir dir;
  auto s = Open(dir.path(), storage::Role::kServer);
  Commit(s.get(), 1);
  Commit(s.get(), 2);
  Commit(s.get(), 3);
  uint64_t expected = 0;
  REQUIRE(s->ImportOutbox(Key(1), 1, {}, {Id(1), Id(3), Id(9)}, 20100, &expected).ok());
  std::vector<storage::AckRec> acks;
  REQUIRE(s->Acknowledged(&acks).ok());
  REQUIRE(acks.size() == 2);  // 9 is not held
  CHECK(acks[0].id == Id(1));
  CHECK(acks[0].day == 20100);
  CHECK(acks[0].signer == Key(1));
  std::vector<storage::Id> unexported;
  REQUIRE(s->Unexported(&unexported).ok());
  CHECK(unexported == std::vector<storage::Id>{Id(2)});

  // A second reviewer's acknowledgement keeps the first date and signer.
  REQUIRE(s->ImportOutbox(Key(2), 1, {}, {Id(1), Id(2)}, 20105, &expected).ok());
  REQUIRE(s->Acknowledged(&acks).ok());
  REQUIRE(acks.size() == 3);
  CHECK(acks[0].day == 20100);
  CHECK(acks[0].signer == Key(1));
  CHECK(acks[1].day == 20105);

  // A replay changes nothing.
  CHECK(s->ImportOutbox(Key(2), 1, {}, {Id(3)}, 20200, &expected).Is(Code::kExists));
  REQUIRE(s->Acknowledged(&acks).ok());
  CHECK(acks[2].day == 20100);

  storage::Store::Report r;
  REQUIRE(s->Check(&r).ok());
  CHECK(r.acks == 3);
  CHECK(r.problems.empty());
}

TEST_CASE("WithdrawTakesTheAckWithTheSubmission", "[acks][storage]") {
  TempDir dir;
  auto s = Open(dir.path(), storage::Role::kServer);
  Commit(s.get(), 1);
  Commit(s.get(), 2);
  uint64_t expected = 0;
  REQUIRE(s->ImportOutbox(Key(1), 1, {}, {Id(1), Id(2)}, 20100, &expected).ok());
  REQUIRE(s->Withdraw({Id(1)}).ok());
  std::vector<storage::AckRec> acks;
  REQUIRE(s->Acknowledged(&acks).ok());
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].id == Id(2));
  uint64_t swept = 0;
  REQUIRE(s->Sweep(&swept).ok());
  CHECK(swept == 1);
  CHECK_FALSE(s->Contains(Id(1)));
  CHECK(s->Contains(Id(2)));
}

// --- Matching and deleting (server) ----------------------------------------------

TEST_CASE("AckWithAnotherRecordHashIsRefusedWhole", "[acks][server]") {
  REQUIRE(crypto::Init().ok());
  TempDir dir;
  auto s = Open(dir.path(), storage::Role::kServer);
  auto a = Commit(s.get(), 1), b = Commit(s.get(), 2);
  std::vector<format::OutboxAck> acks = {{a.id, format::RecordHash(a)},
                                         {b.id, format::RecordHash(b)},
                                         {Id(9), format::RecordHash(a)}};
  std::vector<storage::Id> held;
  size_t gone = 0;
  REQUIRE(server::MatchAcks(s.get(), acks, &held, &gone).ok());
  CHECK(held == std::vector<storage::Id>{a.id, b.id});
  CHECK(gone == 1);

  // The record as the vault would hold it had one byte differed.
  storage::SubmissionRec other = b;
  other.items[0].header[0] ^= 1;
  acks[1].hash = format::RecordHash(other);
  Status st = server::MatchAcks(s.get(), acks, &held, &gone);
  CHECK(st.Is(Code::kCorruption));
  CHECK(st.message().find(crypto::ToHex(b.id.data(), 16)) != std::string::npos);
  CHECK(held.size() == 1);  // what the caller must not store: it stops here
}

TEST_CASE("AcknowledgedSubmissionsGoOnlyAfterTheGraceAndWhileTheKeyIsListed",
          "[acks][server]") {
  REQUIRE(crypto::Init().ok());
  TempDir dir;
  auto s = Open(dir.path(), storage::Role::kServer);
  for (uint8_t t = 1; t <= 4; t++) Commit(s.get(), t);
  server::Config cfg = TwoReviewers(3);
  uint64_t expected = 0;
  const storage::Key32 r1 = Signer(1).pk, r2 = Signer(2).pk;
  REQUIRE(s->ImportOutbox(r1, 1, {}, {Id(1), Id(2)}, 20100, &expected).ok());
  REQUIRE(s->ImportOutbox(r2, 1, {}, {Id(3)}, 20101, &expected).ok());

  server::AckSummary sum;
  REQUIRE(server::SummariseAcks(cfg, s.get(), &sum).ok());
  CHECK(sum.waiting == 3);
  CHECK(sum.next_day == 20103);
  CHECK(sum.unlisted == 0);

  std::vector<storage::Id> ids;
  REQUIRE(server::DeleteAcknowledged(cfg, s.get(), 20102, &ids).ok());
  CHECK(ids.empty());
  for (uint8_t t = 1; t <= 4; t++) CHECK(s->Contains(Id(t)));

  // Reviewer 2 rotated their signing key: what the old one acknowledged
  // still counts (retired_signing), though it would import no outbox.
  cfg.recipients[1].retired = {cfg.recipients[1].signing};
  cfg.recipients[1].signing = Signer(9).pk;
  REQUIRE(server::SummariseAcks(cfg, s.get(), &sum).ok());
  CHECK(sum.waiting == 3);
  CHECK(sum.unlisted == 0);
  CHECK(cfg.Signer(r2) == nullptr);
  CHECK(cfg.Vouches(r2) == &cfg.recipients[1]);

  // Reviewer 2 removed from the config: their acknowledgement waits.
  cfg.recipients.pop_back();
  REQUIRE(server::SummariseAcks(cfg, s.get(), &sum).ok());
  CHECK(sum.waiting == 2);
  CHECK(sum.unlisted == 1);
  REQUIRE(server::DeleteAcknowledged(cfg, s.get(), 20110, &ids).ok());
  CHECK(ids == std::vector<storage::Id>{Id(1), Id(2)});
  CHECK_FALSE(s->Contains(Id(1)));
  CHECK_FALSE(s->Contains(Id(2)));
  CHECK(s->Contains(Id(3)));
  CHECK(s->Contains(Id(4)));  // never acknowledged

  // Listed again, it goes at the next run.
  cfg = TwoReviewers(3);
  REQUIRE(server::DeleteAcknowledged(cfg, s.get(), 20110, &ids).ok());
  CHECK(ids == std::vector<storage::Id>{Id(3)});
  CHECK(s->Contains(Id(4)));
  std::vector<storage::AckRec> left;
  REQUIRE(s->Acknowledged(&left).ok());
  CHECK(left.empty());
}

TEST_CASE("GraceOfZeroDaysDeletesTheSameDay", "[acks][server]") {
  REQUIRE(crypto::Init().ok());
  TempDir dir;
  auto s = Open(dir.path(), storage::Role::kServer);
  Commit(s.get(), 1);
  uint64_t expected = 0;
  REQUIRE(s->ImportOutbox(Signer(1).pk, 1, {}, {Id(1)}, 20100, &expected).ok());
  std::vector<storage::Id> ids;
  REQUIRE(server::DeleteAcknowledged(TwoReviewers(1), s.get(), 20100, &ids).ok());
  CHECK(ids.empty());
  REQUIRE(server::DeleteAcknowledged(TwoReviewers(0), s.get(), 20100, &ids).ok());
  CHECK(ids.size() == 1);
}
