// outbox_fuzz: format::ReadOutboxHeader and format::ReadOutbox
// (format/outbox.cc), which `sealdrop-server import-outbox` runs on an outbox
// carried by USB from the air-gapped laptop; and format::WriteOutbox, which
// writes it.
//
// Every input goes through three passes, the last two chosen by its start:
// 1. Raw: the input is an outbox, read as the server reads it (header, then
//    the whole). Mutations seldom survive the signature, so this pass mostly
//    sees the header checks and the seeds (signed by the fixed key below).
// 2. Re-signed (input starts with "SDOUTBOX" and has room for a header and
//    a signature): the target names the fixed key as signer, signs every
//    reply it finds with it (walking the entries by its own reading of the
//    layout) and overwrites the last 64 bytes with the signature of the rest,
//    so that ReadOutbox's reading of the entries is fuzzed.
// 3. Round trip (any other input): the input chooses an instance, a number
//    and replies (FuzzedDataProvider); WriteOutbox writes them with the
//    fixed key, ReadOutbox must give them back; one flipped byte, a cut or
//    an extra byte must then be refused.
//
// Oracles besides the sanitizers:
// - ReadOutbox fails exactly as ReadOutboxHeader when the header fails, and
//   only with Corruption, Version or AuthFailed; when it succeeds the two
//   agree on every header field.
// - An accepted outbox has count == replies, unique ids, every sealed reply
//   at most crypto::MaxSealedReply(), a valid signature over the whole and
//   over every reply (checked again here with crypto::Verify), and laying
//   out what was returned gives back the input byte for byte. Signed by the
//   fixed key, WriteOutbox of what was returned gives the input too.
// - Pass 2: ReadOutbox's verdict (OK, Version or Corruption) and replies
//   equal those of this file's reference walk.
// - Pass 3: WriteOutbox refuses number 0 and a repeated reply id
//   (InvalidArgument), more than kMaxOutboxReplies replies and a sealed reply
//   longer than MaxSealedReply (TooLarge), and writes everything else;
//   ReadOutbox gives back exactly what was written; any one changed byte, a
//   cut or an appended byte is refused.
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
constexpr size_t kSig = crypto::kSignatureSize;      // 64

// The reviewer's signing key: RFC 8032's first test seed, as seedgen's.
const crypto::SigningKey& Key() {
  static const crypto::SigningKey* key = [] {
    fuzz::InitOnce();
    std::vector<uint8_t> seed;
    crypto::FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", &seed);
    auto* k = new crypto::SigningKey;
    if (!crypto::SigningKeyFromSeed(seed.data(), k).ok()) fuzz::Die("SigningKeyFromSeed");
    return k;
  }();
  return *key;
}

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

bool SameReply(const format::OutboxReply& a, const format::OutboxReply& b) {
  return a.id == b.id && a.source == b.source && a.sealed == b.sealed && a.sig == b.sig;
}

// Lays out an outbox from its parts, as the format has it; `final_sig` is
// the outbox's own signature.
std::string Layout(const format::OutboxInfo& info, const std::vector<format::OutboxReply>& rs,
                   const uint8_t* final_sig) {
  std::string s;
  Put(&s, kMagic, 8);
  s.push_back(char(1));
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
  Put(&s, final_sig, kSig);
  return s;
}

// What must hold of any outbox ReadOutbox accepted.
void CheckAccepted(const uint8_t* data, size_t size, const format::OutboxInfo& info,
                   const std::vector<format::OutboxReply>& rs) {
  format::OutboxInfo h;
  Status sh = format::ReadOutboxHeader(data, size, &h);
  FUZZ_CHECK(sh.ok(), "ReadOutbox accepted what ReadOutboxHeader refuses: " + sh.ToString());
  FUZZ_CHECK(h.instance == info.instance && h.signer == info.signer &&
                 h.sequence == info.sequence && h.count == info.count,
             "ReadOutboxHeader and ReadOutbox disagree on the header");
  FUZZ_CHECK(info.sequence != 0, "an outbox numbered 0 was accepted");
  FUZZ_CHECK(info.count == rs.size(), "count " + std::to_string(info.count) + " but " +
                                          std::to_string(rs.size()) + " replies");
  FUZZ_CHECK(rs.size() <= format::kMaxOutboxReplies, "more replies than an outbox holds");
  FUZZ_CHECK(size >= kHead + kSig && size <= format::MaxOutbox(), "impossible outbox length");
  FUZZ_CHECK(crypto::Verify(info.signer.data(), data, size - kSig, data + size - kSig),
             "an outbox whose signature does not verify was accepted");
  std::set<storage::Id> ids;
  for (const auto& r : rs) {
    FUZZ_CHECK(ids.insert(r.id).second, "a repeated reply id was accepted: " +
                                            Hex(r.id.data(), r.id.size()));
    FUZZ_CHECK(r.sealed.size() <= crypto::MaxSealedReply(),
               "a sealed reply of " + std::to_string(r.sealed.size()) + " bytes was accepted");
    const std::vector<uint8_t> m = crypto::ReplySignedBytes(info.instance, r.id, r.source.data(),
                                                            r.sealed.data(), r.sealed.size());
    FUZZ_CHECK(crypto::Verify(info.signer.data(), m.data(), m.size(), r.sig.data()),
               "a reply whose signature does not verify was accepted");
  }
  const std::string again = Layout(info, rs, data + size - kSig);
  FUZZ_CHECK(again.size() == size && std::memcmp(again.data(), data, size) == 0,
             "what ReadOutbox returned does not lay out to the bytes it read");
  if (info.signer == Key().pk) {
    std::vector<format::OutboxReply> copy = rs;
    std::string written;
    Status sw = format::WriteOutbox(Key(), info, &copy, &written);
    FUZZ_CHECK(sw.ok(), "WriteOutbox refuses what ReadOutbox accepted: " + sw.ToString());
    FUZZ_CHECK(written.size() == size && std::memcmp(written.data(), data, size) == 0,
               "WriteOutbox of an accepted outbox gives other bytes");
  }
}

// Pass 1.
void Raw(const uint8_t* data, size_t size) {
  format::OutboxInfo h, info;
  std::vector<format::OutboxReply> rs;
  Status sh = format::ReadOutboxHeader(data, size, &h);
  Status s = format::ReadOutbox(data, size, &info, &rs);
  FUZZ_CHECK(s.ok() || s.Is(Status::Code::kCorruption) || s.Is(Status::Code::kVersion) ||
                 s.Is(Status::Code::kAuthFailed),
             "ReadOutbox failed with an undocumented code: " + s.ToString());
  FUZZ_CHECK(sh.ok() || sh.Is(Status::Code::kCorruption) || sh.Is(Status::Code::kVersion),
             "ReadOutboxHeader failed with an undocumented code: " + sh.ToString());
  if (!sh.ok())
    FUZZ_CHECK(s.code() == sh.code() && s.message() == sh.message(),
               "the header is refused as " + sh.ToString() + " but the outbox as " + s.ToString());
  if (s.ok()) CheckAccepted(data, size, info, rs);
}

// Pass 2: the input is an outbox whose signatures are signed again here (the
// signer field, every reply's signature and the last 64 bytes rewritten) by
// this file's own reading of the layout, which also gives the expected
// verdict.
void Resigned(const uint8_t* data, size_t size) {
  const crypto::SigningKey& key = Key();
  std::vector<uint8_t> buf(data, data + size);
  const size_t body = size - kSig;
  std::memcpy(buf.data() + 41, key.pk.data(), 32);
  format::OutboxInfo want;
  std::memcpy(want.instance.data(), buf.data() + 9, 32);
  want.signer = key.pk;
  want.sequence = Le(buf.data() + 73, 8);
  want.count = uint32_t(Le(buf.data() + 81, 4));

  Status::Code code = Status::Code::kOk;
  std::vector<format::OutboxReply> expect;
  if (buf[8] != 1) code = Status::Code::kVersion;
  else if (want.sequence == 0 || want.count > format::kMaxOutboxReplies)
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
      if (len > crypto::MaxSealedReply() || body - off < len + kSig) {
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
    if (code == Status::Code::kOk && off != body) code = Status::Code::kCorruption;
  }
  crypto::Sign(key, buf.data(), body, buf.data() + body);

  format::OutboxInfo info;
  std::vector<format::OutboxReply> rs;
  Status s = format::ReadOutbox(buf.data(), buf.size(), &info, &rs);
  FUZZ_CHECK(s.code() == code, "re-signed outbox: ReadOutbox says " + s.ToString() +
                                   ", the reference walk code " +
                                   std::to_string(static_cast<int>(code)));
  if (!s.ok()) return;
  FUZZ_CHECK(rs.size() == expect.size(), "re-signed outbox: another number of replies");
  for (size_t i = 0; i < rs.size(); i++)
    FUZZ_CHECK(SameReply(rs[i], expect[i]), "re-signed outbox: reply " + std::to_string(i) +
                                                " differs from the reference walk's");
  CheckAccepted(buf.data(), buf.size(), info, rs);
}

bool Refused(const std::string& bytes) {
  format::OutboxInfo info;
  std::vector<format::OutboxReply> rs;
  return !format::ReadOutbox(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &info,
                             &rs)
              .ok();
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
  if (flags == 0x5A) rs.resize(format::kMaxOutboxReplies + 1);  // one reply too many

  std::vector<format::OutboxReply> written = rs;
  std::string out;
  Status sw = format::WriteOutbox(Key(), info, &written, &out);
  if (rs.size() > format::kMaxOutboxReplies) {
    FUZZ_CHECK(sw.Is(Status::Code::kTooLarge), "WriteOutbox with too many replies: " + sw.ToString());
    return;
  }
  if (info.sequence == 0) {
    FUZZ_CHECK(sw.Is(Status::Code::kInvalidArgument), "WriteOutbox numbered 0: " + sw.ToString());
    return;
  }
  if (too_long) {
    FUZZ_CHECK(sw.Is(Status::Code::kTooLarge),
               "WriteOutbox with a sealed reply beyond the limit: " + sw.ToString());
    return;
  }
  std::set<storage::Id> ids;
  bool repeated = false;
  for (const auto& r : rs) repeated |= !ids.insert(r.id).second;
  if (repeated) {
    // ReadOutbox refuses an outbox that holds one reply twice, so WriteOutbox
    // never writes one.
    FUZZ_CHECK(sw.Is(Status::Code::kInvalidArgument),
               "WriteOutbox with a repeated id: " + sw.ToString());
    return;
  }
  FUZZ_CHECK(sw.ok(), "WriteOutbox refused: " + sw.ToString());
  size_t expect_size = kHead + kSig;
  for (size_t i = 0; i < rs.size(); i++) {
    expect_size += kEntry + rs[i].sealed.size() + kSig;
    FUZZ_CHECK(written[i].id == rs[i].id && written[i].source == rs[i].source &&
                   written[i].sealed == rs[i].sealed,
               "WriteOutbox changed a reply");
  }
  FUZZ_CHECK(out.size() == expect_size, "WriteOutbox wrote " + std::to_string(out.size()) +
                                            " bytes, not " + std::to_string(expect_size));
  const auto* p = reinterpret_cast<const uint8_t*>(out.data());

  format::OutboxInfo h, got;
  FUZZ_CHECK(format::ReadOutboxHeader(p, out.size(), &h).ok(), "ReadOutboxHeader refuses WriteOutbox's");
  FUZZ_CHECK(h.instance == info.instance && h.signer == Key().pk && h.sequence == info.sequence &&
                 h.count == rs.size(),
             "ReadOutboxHeader reads another header than WriteOutbox wrote");
  std::vector<format::OutboxReply> back;
  Status sr = format::ReadOutbox(p, out.size(), &got, &back);
  FUZZ_CHECK(sr.ok(), "ReadOutbox refuses what WriteOutbox wrote: " + sr.ToString());
  FUZZ_CHECK(back.size() == written.size(), "ReadOutbox gives another number of replies");
  for (size_t i = 0; i < back.size(); i++)
    FUZZ_CHECK(SameReply(back[i], written[i]), "reply " + std::to_string(i) + " changed on its way");
  CheckAccepted(p, out.size(), got, back);

  // Altered on its way: one changed byte, a cut, an extra byte.
  std::string bad = out;
  const size_t at = in.ConsumeIntegralInRange<size_t>(0, out.size() - 1);
  bad[at] = char(uint8_t(bad[at]) ^ in.ConsumeIntegralInRange<uint8_t>(1, 255));
  FUZZ_CHECK(Refused(bad), "an outbox with byte " + std::to_string(at) + " changed was accepted");
  const size_t cut = in.ConsumeIntegralInRange<size_t>(0, out.size() - 1);
  FUZZ_CHECK(Refused(out.substr(0, cut)), "an outbox cut to " + std::to_string(cut) +
                                              " bytes was accepted");
  FUZZ_CHECK(Refused(out + char(in.ConsumeIntegral<uint8_t>())), "an outbox with a byte appended was accepted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Key();
  Raw(data, size);
  if (size >= 8 && std::memcmp(data, kMagic, 8) == 0) {
    if (size >= kHead + kSig) Resigned(data, size);
  } else {
    RoundTrip(data, size);
  }
  return 0;
}
