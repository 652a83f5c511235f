// outbox_fuzz: format::ReadOutboxHeader and format::ReadOutbox
// (format/outbox.cc), which `sealdrop-server import-outbox` runs on an outbox
// carried by USB from the air-gapped laptop; and format::WriteOutbox, which
// writes it. Version 2 carries replies and then acknowledgements (submission
// id, record hash); version 3 also the ids of replies deleted on another
// instance; version 1, still read, carries replies only.
//
// Every input goes through three passes, the last two chosen by its start:
// 1. Raw: the input is an outbox, read as the server reads it (header, then
//    the whole). Mutations seldom survive the signature, so this pass mostly
//    sees the header checks and the seeds (signed by the fixed key below).
// 2. Re-signed (input starts with "SDOUTBOX" and has room for a header and
//    a signature): the target names the fixed key as signer, signs every
//    reply it finds with it (walking the entries, and in version 2 the
//    acknowledgements after them, by its own reading of FORMAT.md) and
//    overwrites the last 64 bytes with the signature of the rest, so that
//    ReadOutbox's reading of the entries is fuzzed.
// 3. Round trip (any other input): the input chooses an instance, a number,
//    replies and acknowledgements (FuzzedDataProvider); WriteOutbox writes
//    them with the fixed key, ReadOutbox must give them back; one flipped
//    byte, a cut or an extra byte must then be refused. The same replies
//    laid out as version 1 and signed must read back with no
//    acknowledgements; signed again after a change of version byte (2 -> 1)
//    or of acknowledgement count, without the acknowledgement section, with
//    a byte before the signature, an acknowledged id or a reply id given
//    twice, the outbox must be refused as Corruption.
// Once per process: FORMAT.md's bounds (1000 replies, sealed replies of at
// most 67,632 bytes, 100,000 acknowledgements, the longest outbox) are the
// library's; WriteOutbox writes exactly kMaxOutboxAcks acknowledgements and
// ReadOutbox gives them back; one more is TooLarge for WriteOutbox and, laid
// out and signed here, Corruption for ReadOutbox. (Inputs are too short for
// the fuzzer to reach these bounds itself.)
//
// Oracles besides the sanitizers:
// - ReadOutbox fails exactly as ReadOutboxHeader when the header fails, and
//   only with Corruption, Version or AuthFailed; when it succeeds the two
//   agree on every header field, the version included.
// - An accepted outbox is version 1, 2 or 3 (deletions, 1 to 100,000 unique
//   ids, only in 3) and has count == replies, unique
//   reply ids, every sealed reply at most crypto::MaxSealedReply(), at most
//   kMaxOutboxAcks acknowledgements with unique ids and none in version 1, a
//   valid signature over the whole and over every reply (checked again here
//   with crypto::Verify), and laying out what was returned gives back the
//   input byte for byte. Signed by the fixed key, WriteOutbox of what was
//   returned gives the input too (versions 2 and 3), or the same replies as
//   version 2 with no acknowledgements (version 1).
// - Pass 2: ReadOutbox's verdict (OK, Version or Corruption), version,
//   replies and acknowledgements equal those of this file's reference walk,
//   which refuses a version other than 1 to 3, number 0, more than 1000
//   replies or 100,000 acknowledgements, a deletion count of 0 or over
//   100,000, an entry that does not fit, a repeated reply, acknowledged or
//   deleted id, and bytes after the last entry.
// - Pass 3: WriteOutbox refuses number 0, a repeated reply id and a repeated
//   acknowledged id (InvalidArgument), more than kMaxOutboxReplies replies,
//   more than kMaxOutboxAcks acknowledgements and a sealed reply longer than
//   MaxSealedReply (TooLarge; with several faults, one of their codes), and
//   writes everything else, an acknowledged id that is also a reply id
//   included; ReadOutbox gives back exactly what was written; any one
//   changed byte, a cut or an appended byte is refused.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "format/format.h"
#include "fuzz/fuzz_util.h"

using namespace sealdrop;

namespace {

constexpr uint8_t kMagic[8] = {'S', 'D', 'O', 'U', 'T', 'B', 'O', 'X'};
constexpr size_t kHead = format::kOutboxHeaderSize;  // 85
constexpr size_t kEntry = format::kOutboxEntryHead;  // 52
constexpr size_t kAck = format::kOutboxAckSize;      // 48
constexpr size_t kSig = crypto::kSignatureSize;      // 64

// FORMAT.md "Outbox", as written there (not taken from the library).
constexpr uint64_t kDocMaxReplies = 1000;
constexpr uint64_t kDocMaxSealed = 67632;
constexpr uint64_t kDocMaxAcks = 100000;
constexpr uint64_t kDocMaxDeleted = 100000;
constexpr uint64_t kDocMaxOutbox =
    85 + 1000 * (116 + 67632) + 4 + 100000 * 48 + 4 + 100000 * 16 + 64;

uint64_t Le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v |= uint64_t(p[i]) << (8 * i);
  return v;
}
void PutLe(std::string* s, uint64_t v, int n) {
  for (int i = 0; i < n; i++) s->push_back(char(uint8_t(v >> (8 * i))));
}
void Put(std::string* s, const void* p, size_t n) { s->append(static_cast<const char*>(p), n); }

std::string Hex(const uint8_t* p, size_t n) { return crypto::ToHex(p, n); }
const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

bool SameReply(const format::OutboxReply& a, const format::OutboxReply& b) {
  return a.id == b.id && a.source == b.source && a.sealed == b.sealed && a.sig == b.sig;
}
bool SameAcks(const std::vector<format::OutboxAck>& a, const std::vector<format::OutboxAck>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (a[i].id != b[i].id || a[i].hash != b[i].hash) return false;
  return true;
}

// Lays out an outbox from its parts, as the format has it; `final_sig` is
// the outbox's own signature (null: 64 zero bytes, to be signed by Resign).
// Version 1 has no acknowledgement section (acks must be empty); only
// version 3 has a deletion section.
std::string Layout(const format::OutboxInfo& info, uint8_t version,
                   const std::vector<format::OutboxReply>& rs,
                   const std::vector<format::OutboxAck>& acks, const uint8_t* final_sig,
                   const std::vector<storage::Id>& deleted = {}) {
  std::string s;
  Put(&s, kMagic, 8);
  s.push_back(char(version));
  Put(&s, info.instance.data(), 32);
  Put(&s, info.signer.data(), 32);
  PutLe(&s, info.sequence, 8);
  PutLe(&s, info.count, 4);
  for (const auto& r : rs) {
    Put(&s, r.id.data(), r.id.size());
    Put(&s, r.source.data(), r.source.size());
    PutLe(&s, r.sealed.size(), 4);
    Put(&s, r.sealed.data(), r.sealed.size());
    Put(&s, r.sig.data(), r.sig.size());
  }
  if (version != 1) {
    PutLe(&s, acks.size(), 4);
    for (const auto& a : acks) {
      Put(&s, a.id.data(), a.id.size());
      Put(&s, a.hash.data(), a.hash.size());
    }
  }
  if (version >= 3) {
    PutLe(&s, deleted.size(), 4);
    for (const auto& id : deleted) Put(&s, id.data(), id.size());
  }
  if (final_sig != nullptr) Put(&s, final_sig, kSig);
  else s.append(kSig, '\0');
  return s;
}

// Signs everything but the last 64 bytes with the fixed key into them.
void Resign(std::string* s) {
  const size_t body = s->size() - kSig;
  crypto::Sign(fuzz::TestSigningKey(), U8(*s), body, reinterpret_cast<uint8_t*>(&(*s)[body]));
}

Status Read(const std::string& bytes, format::OutboxInfo* info,
            std::vector<format::OutboxReply>* rs, std::vector<format::OutboxAck>* acks,
            std::vector<storage::Id>* deleted = nullptr) {
  return format::ReadOutbox(U8(bytes), bytes.size(), info, rs, acks, deleted);
}

// What must hold of any outbox ReadOutbox accepted.
void CheckAccepted(const uint8_t* data, size_t size, const format::OutboxInfo& info,
                   const std::vector<format::OutboxReply>& rs,
                   const std::vector<format::OutboxAck>& acks,
                   const std::vector<storage::Id>& deleted) {
  format::OutboxInfo h;
  Status sh = format::ReadOutboxHeader(data, size, &h);
  FUZZ_CHECK(sh.ok(), "ReadOutbox accepted what ReadOutboxHeader refuses: " + sh.ToString());
  FUZZ_CHECK(h.instance == info.instance && h.signer == info.signer &&
                 h.sequence == info.sequence && h.count == info.count && h.version == info.version,
             "ReadOutboxHeader and ReadOutbox disagree on the header");
  FUZZ_CHECK(info.version >= 1 && info.version <= 3,
             "an outbox of version " + std::to_string(info.version) + " was accepted");
  FUZZ_CHECK((info.version == 3) == !deleted.empty(),
             "deletions in an outbox of version " + std::to_string(info.version));
  FUZZ_CHECK(deleted.size() <= kDocMaxDeleted, "more deletions than an outbox holds");
  std::set<storage::Id> gone;
  for (const auto& id : deleted)
    FUZZ_CHECK(gone.insert(id).second, "a repeated deleted id was accepted");
  FUZZ_CHECK(size > 8 && data[8] == info.version, "the version returned is not the version byte");
  FUZZ_CHECK(info.sequence != 0, "an outbox numbered 0 was accepted");
  FUZZ_CHECK(info.count == rs.size(), "count " + std::to_string(info.count) + " but " +
                                          std::to_string(rs.size()) + " replies");
  FUZZ_CHECK(rs.size() <= kDocMaxReplies, "more replies than an outbox holds");
  FUZZ_CHECK(acks.size() <= kDocMaxAcks, "more acknowledgements than an outbox holds");
  FUZZ_CHECK(info.version != 1 || acks.empty(), "a version 1 outbox gave acknowledgements");
  FUZZ_CHECK(size >= kHead + kSig && size <= kDocMaxOutbox, "impossible outbox length");
  FUZZ_CHECK(crypto::Verify(info.signer.data(), data, size - kSig, data + size - kSig),
             "an outbox whose signature does not verify was accepted");
  std::set<storage::Id> ids;
  for (const auto& r : rs) {
    FUZZ_CHECK(ids.insert(r.id).second, "a repeated reply id was accepted: " +
                                            Hex(r.id.data(), r.id.size()));
    FUZZ_CHECK(r.sealed.size() <= kDocMaxSealed,
               "a sealed reply of " + std::to_string(r.sealed.size()) + " bytes was accepted");
    const std::vector<uint8_t> m = crypto::ReplySignedBytes(info.instance, r.id, r.source.data(),
                                                            r.sealed.data(), r.sealed.size());
    FUZZ_CHECK(crypto::Verify(info.signer.data(), m.data(), m.size(), r.sig.data()),
               "a reply whose signature does not verify was accepted");
  }
  std::set<storage::Id> acked;
  for (const auto& a : acks)
    FUZZ_CHECK(acked.insert(a.id).second, "a repeated acknowledged id was accepted: " +
                                              Hex(a.id.data(), a.id.size()));
  const std::string again = Layout(info, info.version, rs, acks, data + size - kSig, deleted);
  FUZZ_CHECK(again.size() == size && std::memcmp(again.data(), data, size) == 0,
             "what ReadOutbox returned does not lay out to the bytes it read");
  if (info.signer == fuzz::TestSigningKey().pk) {
    std::vector<format::OutboxReply> copy = rs;
    std::string written;
    Status sw = format::WriteOutbox(fuzz::TestSigningKey(), info, &copy, acks, &written, deleted);
    FUZZ_CHECK(sw.ok(), "WriteOutbox refuses what ReadOutbox accepted: " + sw.ToString());
    if (info.version >= 2) {
      FUZZ_CHECK(written.size() == size && std::memcmp(written.data(), data, size) == 0,
                 "WriteOutbox of an accepted outbox gives other bytes");
    } else {
      // Version 1 is read, not written: the same replies come out as version 2.
      const std::string v2 = Layout(info, 2, rs, {}, nullptr);
      FUZZ_CHECK(written.size() == v2.size() &&
                     std::memcmp(written.data(), v2.data(), v2.size() - kSig) == 0,
                 "WriteOutbox of an accepted version 1 outbox is not its version 2");
      FUZZ_CHECK(crypto::Verify(fuzz::TestSigningKey().pk.data(), U8(written), written.size() - kSig,
                                U8(written) + written.size() - kSig),
                 "WriteOutbox's signature does not verify");
    }
  }
}

// Once: the bounds FORMAT.md states, and the acknowledgement bound at its
// edge (4.8 MB outboxes, beyond what the fuzzer generates).
void CheckLimits() {
  FUZZ_CHECK(format::kMaxOutboxReplies == kDocMaxReplies, "kMaxOutboxReplies is not FORMAT.md's");
  FUZZ_CHECK(format::kMaxOutboxAcks == kDocMaxAcks, "kMaxOutboxAcks is not FORMAT.md's");
  FUZZ_CHECK(crypto::MaxSealedReply() == kDocMaxSealed, "MaxSealedReply is not FORMAT.md's");
  FUZZ_CHECK(format::MaxOutbox() == kDocMaxOutbox,
             "MaxOutbox() is " + std::to_string(format::MaxOutbox()) + ", FORMAT.md says " +
                 std::to_string(kDocMaxOutbox));
  FUZZ_CHECK(kAck == 48 && kHead == 85 && kEntry == 52, "entry sizes are not FORMAT.md's");

  format::OutboxInfo info;
  info.instance.fill(0x60);
  info.sequence = 7;
  std::vector<format::OutboxAck> acks(kDocMaxAcks + 1);
  for (size_t i = 0; i < acks.size(); i++) {
    for (int b = 0; b < 4; b++) acks[i].id[size_t(b)] = uint8_t(i >> (8 * b));
    acks[i].hash.fill(uint8_t(i));
  }
  std::vector<format::OutboxReply> none;
  std::string out;
  Status s = format::WriteOutbox(fuzz::TestSigningKey(), info, &none, acks, &out);
  FUZZ_CHECK(s.Is(Status::Code::kTooLarge),
             "WriteOutbox with kMaxOutboxAcks + 1 acknowledgements: " + s.ToString());

  // One more than the bound, laid out here and signed: Corruption.
  info.signer = fuzz::TestSigningKey().pk;
  std::string over = Layout(info, 2, none, acks, nullptr);
  Resign(&over);
  format::OutboxInfo got;
  std::vector<format::OutboxReply> rs;
  std::vector<format::OutboxAck> back;
  s = Read(over, &got, &rs, &back);
  FUZZ_CHECK(s.Is(Status::Code::kCorruption),
             "ReadOutbox of kMaxOutboxAcks + 1 acknowledgements: " + s.ToString());
  over.clear();
  over.shrink_to_fit();

  acks.pop_back();
  s = format::WriteOutbox(fuzz::TestSigningKey(), info, &none, acks, &out);
  FUZZ_CHECK(s.ok(), "WriteOutbox with kMaxOutboxAcks acknowledgements: " + s.ToString());
  FUZZ_CHECK(out.size() == kHead + 4 + kDocMaxAcks * kAck + kSig,
             "WriteOutbox wrote " + std::to_string(out.size()) + " bytes for kMaxOutboxAcks");
  s = Read(out, &got, &rs, &back);
  FUZZ_CHECK(s.ok(), "ReadOutbox of kMaxOutboxAcks acknowledgements: " + s.ToString());
  FUZZ_CHECK(got.version == 2 && rs.empty() && SameAcks(back, acks),
             "kMaxOutboxAcks acknowledgements did not come back");
}

// Pass 1.
void Raw(const uint8_t* data, size_t size) {
  format::OutboxInfo h, info;
  std::vector<format::OutboxReply> rs;
  std::vector<format::OutboxAck> acks;
  std::vector<storage::Id> deleted;
  Status sh = format::ReadOutboxHeader(data, size, &h);
  Status s = format::ReadOutbox(data, size, &info, &rs, &acks, &deleted);
  FUZZ_CHECK(s.ok() || s.Is(Status::Code::kCorruption) || s.Is(Status::Code::kVersion) ||
                 s.Is(Status::Code::kAuthFailed),
             "ReadOutbox failed with an undocumented code: " + s.ToString());
  FUZZ_CHECK(sh.ok() || sh.Is(Status::Code::kCorruption) || sh.Is(Status::Code::kVersion),
             "ReadOutboxHeader failed with an undocumented code: " + sh.ToString());
  if (!sh.ok())
    FUZZ_CHECK(s.code() == sh.code() && s.message() == sh.message(),
               "the header is refused as " + sh.ToString() + " but the outbox as " + s.ToString());
  if (s.ok()) CheckAccepted(data, size, info, rs, acks, deleted);
}

// Pass 2: the input is an outbox whose signatures are signed again here (the
// signer field, every reply's signature and the last 64 bytes rewritten) by
// this file's own reading of the layout, which also gives the expected
// verdict, replies and acknowledgements.
void Resigned(const uint8_t* data, size_t size) {
  const crypto::SigningKey& key = fuzz::TestSigningKey();
  std::vector<uint8_t> buf(data, data + size);
  const size_t body = size - kSig;
  std::memcpy(buf.data() + 41, key.pk.data(), 32);
  format::OutboxInfo want;
  std::memcpy(want.instance.data(), buf.data() + 9, 32);
  want.signer = key.pk;
  want.sequence = Le(buf.data() + 73, 8);
  want.count = uint32_t(Le(buf.data() + 81, 4));
  const uint8_t version = buf[8];

  Status::Code code = Status::Code::kOk;
  std::vector<format::OutboxReply> expect;
  std::vector<format::OutboxAck> expect_acks;
  std::vector<storage::Id> expect_deleted;
  if (version < 1 || version > 3) code = Status::Code::kVersion;
  else if (want.sequence == 0 || want.count > kDocMaxReplies || size > kDocMaxOutbox)
    code = Status::Code::kCorruption;
  else {
    std::set<storage::Id> ids;
    size_t off = kHead;
    for (uint32_t i = 0; i < want.count && code == Status::Code::kOk; i++) {
      if (body - off < kEntry) { code = Status::Code::kCorruption; break; }
      format::OutboxReply r;
      std::memcpy(r.id.data(), buf.data() + off, 16);
      std::memcpy(r.source.data(), buf.data() + off + 16, 32);
      const uint64_t len = Le(buf.data() + off + 48, 4);
      off += kEntry;
      if (len > kDocMaxSealed || body - off < len + kSig) {
        code = Status::Code::kCorruption;
        break;
      }
      r.sealed.assign(buf.begin() + long(off), buf.begin() + long(off + len));
      off += len;
      const std::vector<uint8_t> m = crypto::ReplySignedBytes(want.instance, r.id, r.source.data(),
                                                              r.sealed.data(), r.sealed.size());
      crypto::Sign(key, m.data(), m.size(), buf.data() + off);
      std::memcpy(r.sig.data(), buf.data() + off, kSig);
      off += kSig;
      if (!ids.insert(r.id).second) code = Status::Code::kCorruption;
      expect.push_back(std::move(r));
    }
    // Versions 2 and 3: a count, then that many (id, record hash) pairs.
    if (code == Status::Code::kOk && version >= 2) {
      if (body - off < 4) {
        code = Status::Code::kCorruption;
      } else {
        const uint64_t n = Le(buf.data() + off, 4);
        off += 4;
        if (n > kDocMaxAcks || body - off < n * kAck) {
          code = Status::Code::kCorruption;
        } else {
          std::set<storage::Id> acked;
          for (uint64_t i = 0; i < n; i++) {
            format::OutboxAck a;
            std::memcpy(a.id.data(), buf.data() + off, 16);
            std::memcpy(a.hash.data(), buf.data() + off + 16, 32);
            off += kAck;
            if (!acked.insert(a.id).second) { code = Status::Code::kCorruption; break; }
            expect_acks.push_back(a);
          }
        }
      }
    }
    // Version 3: a count (1 to 100,000), then that many reply ids.
    if (code == Status::Code::kOk && version == 3) {
      if (body - off < 4) {
        code = Status::Code::kCorruption;
      } else {
        const uint64_t n = Le(buf.data() + off, 4);
        off += 4;
        if (n == 0 || n > kDocMaxDeleted || body - off < n * 16) {
          code = Status::Code::kCorruption;
        } else {
          std::set<storage::Id> gone;
          for (uint64_t i = 0; i < n; i++) {
            storage::Id id;
            std::memcpy(id.data(), buf.data() + off, 16);
            off += 16;
            if (!gone.insert(id).second) { code = Status::Code::kCorruption; break; }
            expect_deleted.push_back(id);
          }
        }
      }
    }
    if (code == Status::Code::kOk && off != body) code = Status::Code::kCorruption;
  }
  crypto::Sign(key, buf.data(), body, buf.data() + body);

  format::OutboxInfo info;
  std::vector<format::OutboxReply> rs;
  std::vector<format::OutboxAck> acks;
  std::vector<storage::Id> deleted;
  Status s = format::ReadOutbox(buf.data(), buf.size(), &info, &rs, &acks, &deleted);
  FUZZ_CHECK(s.code() == code, "re-signed outbox (version " + std::to_string(version) +
                                   "): ReadOutbox says " + s.ToString() +
                                   ", the reference walk code " +
                                   std::to_string(static_cast<int>(code)));
  if (!s.ok()) return;
  FUZZ_CHECK(info.version == version, "re-signed outbox: another version");
  FUZZ_CHECK(rs.size() == expect.size(), "re-signed outbox: another number of replies");
  for (size_t i = 0; i < rs.size(); i++)
    FUZZ_CHECK(SameReply(rs[i], expect[i]), "re-signed outbox: reply " + std::to_string(i) +
                                                " differs from the reference walk's");
  FUZZ_CHECK(SameAcks(acks, expect_acks),
             "re-signed outbox: " + std::to_string(acks.size()) + " acknowledgements, the reference walk's " +
                 std::to_string(expect_acks.size()) + " or others");
  FUZZ_CHECK(deleted == expect_deleted, "re-signed outbox: other deletions than the reference walk's");
  CheckAccepted(buf.data(), buf.size(), info, rs, acks, deleted);
}

bool Refused(const std::string& bytes) {
  format::OutboxInfo info;
  std::vector<format::OutboxReply> rs;
  std::vector<format::OutboxAck> acks;
  return !Read(bytes, &info, &rs, &acks).ok();
}

// Signed by the fixed key yet malformed: refused as Corruption.
void MustBeCorrupt(const std::string& bytes, const std::string& what) {
  format::OutboxInfo info;
  std::vector<format::OutboxReply> rs;
  std::vector<format::OutboxAck> acks;
  Status s = Read(bytes, &info, &rs, &acks);
  FUZZ_CHECK(s.Is(Status::Code::kCorruption), what + ": " + s.ToString());
}

// Pass 3.
void RoundTrip(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  format::OutboxInfo info;
  in.ConsumeData(info.instance.data(), info.instance.size());
  const uint8_t flags = in.ConsumeIntegral<uint8_t>();
  // Mostly small numbers, 0 now and then; the whole range too.
  info.sequence = (flags & 1) ? in.ConsumeIntegral<uint64_t>() : in.ConsumeIntegral<uint8_t>();
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, 6);
  std::vector<format::OutboxReply> rs;
  bool too_long = false;
  // A sealed reply at the limit, or one byte beyond, for flags 0xF?.
  const size_t longest = crypto::MaxSealedReply();
  for (size_t i = 0; i < n; i++) {
    format::OutboxReply r;
    const uint8_t how = in.ConsumeIntegral<uint8_t>();
    if (i > 0 && (how & 0x80) && (how & 0x40)) r.id = rs[how % i].id;  // a repeated id
    else in.ConsumeData(r.id.data(), r.id.size());
    in.ConsumeData(r.source.data(), r.source.size());
    size_t len = in.ConsumeIntegralInRange<size_t>(0, 600);
    if ((flags & 0xF0) == 0xF0 && i == 0) len = longest + (flags & 2 ? 1 : 0);
    r.sealed = in.ConsumeBytes<uint8_t>(len);
    r.sealed.resize(len, uint8_t(how));
    too_long |= len > longest;
    rs.push_back(std::move(r));
  }
  // Acknowledgements: a repeated id now and then, and a reply's id, which
  // is another kind of id and may be acknowledged too.
  const size_t na = in.ConsumeIntegralInRange<size_t>(0, 8);
  std::vector<format::OutboxAck> acks;
  for (size_t i = 0; i < na; i++) {
    format::OutboxAck a;
    const uint8_t how = in.ConsumeIntegral<uint8_t>();
    if (i > 0 && (how & 0xC0) == 0xC0) a.id = acks[how % i].id;  // a repeated id
    else if (!rs.empty() && (how & 0xC0) == 0x80) a.id = rs[how % rs.size()].id;
    else in.ConsumeData(a.id.data(), a.id.size());
    in.ConsumeData(a.hash.data(), a.hash.size());
    acks.push_back(a);
  }
  if (flags == 0x5A) rs.resize(format::kMaxOutboxReplies + 1);  // one reply too many
  if (flags == 0xA5) acks.resize(format::kMaxOutboxAcks + 1);   // one acknowledgement too many

  std::vector<format::OutboxReply> written = rs;
  std::string out;
  Status sw = format::WriteOutbox(fuzz::TestSigningKey(), info, &written, acks, &out);
  std::set<storage::Id> ids, acked;
  bool repeated = false, repeated_ack = false;
  for (const auto& r : rs) repeated |= !ids.insert(r.id).second;
  for (const auto& a : acks) repeated_ack |= !acked.insert(a.id).second;
  // ReadOutbox refuses an outbox that holds one reply twice or acknowledges
  // one id twice, so WriteOutbox never writes one.
  const bool too_large =
      rs.size() > format::kMaxOutboxReplies || acks.size() > format::kMaxOutboxAcks || too_long;
  const bool invalid = info.sequence == 0 || repeated || repeated_ack;
  if (too_large || invalid) {
    FUZZ_CHECK((too_large && sw.Is(Status::Code::kTooLarge)) ||
                   (invalid && sw.Is(Status::Code::kInvalidArgument)),
               std::string("WriteOutbox with") + (rs.size() > format::kMaxOutboxReplies ? " too many replies" : "") +
                   (acks.size() > format::kMaxOutboxAcks ? " too many acknowledgements" : "") +
                   (too_long ? " a sealed reply beyond the limit" : "") +
                   (info.sequence == 0 ? " number 0" : "") + (repeated ? " a repeated reply id" : "") +
                   (repeated_ack ? " a repeated acknowledged id" : "") + ": " + sw.ToString());
    return;
  }
  FUZZ_CHECK(sw.ok(), "WriteOutbox refused: " + sw.ToString());
  size_t expect_size = kHead + 4 + acks.size() * kAck + kSig;
  for (size_t i = 0; i < rs.size(); i++) {
    expect_size += kEntry + rs[i].sealed.size() + kSig;
    FUZZ_CHECK(written[i].id == rs[i].id && written[i].source == rs[i].source &&
                   written[i].sealed == rs[i].sealed,
               "WriteOutbox changed a reply");
  }
  FUZZ_CHECK(out.size() == expect_size, "WriteOutbox wrote " + std::to_string(out.size()) +
                                            " bytes, not " + std::to_string(expect_size));
  FUZZ_CHECK(uint8_t(out[8]) == 2, "WriteOutbox wrote version " + std::to_string(uint8_t(out[8])));
  const auto* p = U8(out);

  format::OutboxInfo h, got;
  FUZZ_CHECK(format::ReadOutboxHeader(p, out.size(), &h).ok(), "ReadOutboxHeader refuses WriteOutbox's");
  FUZZ_CHECK(h.instance == info.instance && h.signer == fuzz::TestSigningKey().pk && h.sequence == info.sequence &&
                 h.count == rs.size() && h.version == 2,
             "ReadOutboxHeader reads another header than WriteOutbox wrote");
  std::vector<format::OutboxReply> back;
  std::vector<format::OutboxAck> back_acks;
  Status sr = format::ReadOutbox(p, out.size(), &got, &back, &back_acks);
  FUZZ_CHECK(sr.ok(), "ReadOutbox refuses what WriteOutbox wrote: " + sr.ToString());
  FUZZ_CHECK(back.size() == written.size(), "ReadOutbox gives another number of replies");
  for (size_t i = 0; i < back.size(); i++)
    FUZZ_CHECK(SameReply(back[i], written[i]), "reply " + std::to_string(i) + " changed on its way");
  FUZZ_CHECK(SameAcks(back_acks, acks), "the acknowledgements changed on their way (" +
                                            std::to_string(acks.size()) + " written, " +
                                            std::to_string(back_acks.size()) + " read)");
  CheckAccepted(p, out.size(), got, back, back_acks, {});

  // Altered on its way: one changed byte, a cut, an extra byte.
  std::string bad = out;
  const size_t at = in.ConsumeIntegralInRange<size_t>(0, out.size() - 1);
  bad[at] = char(uint8_t(bad[at]) ^ in.ConsumeIntegralInRange<uint8_t>(1, 255));
  FUZZ_CHECK(Refused(bad), "an outbox with byte " + std::to_string(at) + " changed was accepted");
  const size_t cut = in.ConsumeIntegralInRange<size_t>(0, out.size() - 1);
  FUZZ_CHECK(Refused(out.substr(0, cut)), "an outbox cut to " + std::to_string(cut) +
                                              " bytes was accepted");
  FUZZ_CHECK(Refused(out + char(in.ConsumeIntegral<uint8_t>())), "an outbox with a byte appended was accepted");

  // Signed again by the fixed key, so that only the layout is judged.
  got.signer = fuzz::TestSigningKey().pk;
  // The same replies as version 1: read, with no acknowledgements.
  std::string v1 = Layout(got, 1, back, {}, nullptr);
  Resign(&v1);
  format::OutboxInfo got1;
  std::vector<format::OutboxReply> back1;
  std::vector<format::OutboxAck> acks1 = acks;  // ReadOutbox must empty it
  sr = Read(v1, &got1, &back1, &acks1);
  FUZZ_CHECK(sr.ok(), "ReadOutbox refuses a version 1 outbox: " + sr.ToString());
  FUZZ_CHECK(got1.version == 1 && acks1.empty() && back1.size() == back.size(),
             "a version 1 outbox read back otherwise");
  for (size_t i = 0; i < back1.size(); i++)
    FUZZ_CHECK(SameReply(back1[i], back[i]), "version 1: reply " + std::to_string(i) + " changed");
  CheckAccepted(U8(v1), v1.size(), got1, back1, acks1, {});
  // Version 1 with the acknowledgement section: bytes after the last entry.
  std::string relabelled = out;
  relabelled[8] = char(1);
  Resign(&relabelled);
  MustBeCorrupt(relabelled, "a version 1 outbox with an acknowledgement section");
  // Version 2 without it: it ends before its acknowledgement count.
  std::string no_acks = v1;
  no_acks[8] = char(2);
  Resign(&no_acks);
  MustBeCorrupt(no_acks, "a version 2 outbox without acknowledgement section");
  // Another acknowledgement count: too few entries or bytes after the last.
  std::string recount = out;
  const size_t at_count = out.size() - kSig - acks.size() * kAck - 4;
  uint32_t count = in.ConsumeIntegral<uint32_t>();
  if (count == acks.size()) count++;
  for (int b = 0; b < 4; b++) recount[at_count + size_t(b)] = char(uint8_t(count >> (8 * b)));
  Resign(&recount);
  MustBeCorrupt(recount, "an outbox of " + std::to_string(acks.size()) +
                             " acknowledgements that says " + std::to_string(count));
  // A byte after the last entry.
  std::string longer = out;
  longer.insert(longer.size() - kSig, 1, char(in.ConsumeIntegral<uint8_t>()));
  Resign(&longer);
  MustBeCorrupt(longer, "an outbox with a byte after its last entry");
  // One acknowledged id given twice.
  if (acks.size() >= 2) {
    const size_t j = in.ConsumeIntegralInRange<size_t>(1, acks.size() - 1);
    const size_t i = in.ConsumeIntegralInRange<size_t>(0, j - 1);
    std::string twice = out;
    const size_t first = out.size() - kSig - acks.size() * kAck;
    std::memcpy(&twice[first + j * kAck], acks[i].id.data(), acks[i].id.size());
    Resign(&twice);
    MustBeCorrupt(twice, "an outbox that acknowledges an id twice (entries " + std::to_string(i) +
                             " and " + std::to_string(j) + ")");
  }
  // One reply id given twice, that reply signed again.
  if (back.size() >= 2) {
    const size_t j = in.ConsumeIntegralInRange<size_t>(1, back.size() - 1);
    const size_t i = in.ConsumeIntegralInRange<size_t>(0, j - 1);
    std::vector<format::OutboxReply> dup = back;
    dup[j].id = dup[i].id;
    const std::vector<uint8_t> m = crypto::ReplySignedBytes(
        got.instance, dup[j].id, dup[j].source.data(), dup[j].sealed.data(), dup[j].sealed.size());
    crypto::Sign(fuzz::TestSigningKey(), m.data(), m.size(), dup[j].sig.data());
    std::string twice = Layout(got, 2, dup, acks, nullptr);
    Resign(&twice);
    MustBeCorrupt(twice, "an outbox that holds a reply id twice (replies " + std::to_string(i) +
                             " and " + std::to_string(j) + ")");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::TestSigningKey();
  static const bool limits = (CheckLimits(), true);
  (void)limits;
  Raw(data, size);
  if (size >= 8 && std::memcmp(data, kMagic, 8) == 0) {
    if (size >= kHead + kSig) Resigned(data, size);
  } else {
    RoundTrip(data, size);
  }
  return 0;
}
