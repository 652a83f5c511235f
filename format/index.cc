// The vault's index record: plaintext layout (FORMAT.md "Index record"),
// sealed by crypto::SealIndex before the vault stores it.
#include <sodium.h>

#include <cstring>

#include "format/format.h"

namespace sealdrop {
namespace format {
namespace {

constexpr char kIndexMagic[4] = {'S', 'D', 'I', 'X'};
constexpr uint8_t kIndexVersion = 1;
constexpr size_t kIndexHead = 4 + 1 + 4 + 1 + 16 + 32 + 24;
constexpr uint8_t kHasSource = 1, kAnswered = 2, kRead = 4;

class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool Take(size_t k, const uint8_t** out) {
    if (n_ - at_ < k) return false;
    *out = p_ + at_;
    at_ += k;
    return true;
  }
  bool Le(int bytes, uint64_t* v) {
    const uint8_t* q;
    if (!Take(size_t(bytes), &q)) return false;
    *v = 0;
    for (int i = 0; i < bytes; i++) *v |= uint64_t(q[i]) << (8 * i);
    return true;
  }
  bool Text(size_t len, std::string* out) {
    const uint8_t* q;
    if (!Take(len, &q)) return false;
    out->assign(reinterpret_cast<const char*>(q), len);
    return true;
  }
  size_t at() const { return at_; }

 private:
  const uint8_t* p_;
  size_t n_, at_ = 0;
};

void Le(std::string* s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) s->push_back(char(uint8_t(v >> (8 * i))));
}

}  // namespace

std::array<uint8_t, 16> SourceOf(const ReplyKey& k) {
  std::array<uint8_t, 16> h{};
  crypto_generichash(h.data(), h.size(), k.data(), k.size(), nullptr, 0);
  return h;
}

Status EncodeIndex(const IndexEntry& e, crypto::Secret* out) {
  if (e.outcome.size() > kMaxOutcome) return Status::TooLarge("the outcome is too long");
  if (e.answers.size() > kMaxIndexAnswers) return Status::TooLarge("too many answers to index");
  // Built in guarded memory's stead: a std::string wiped before it goes.
  std::string s(kIndexMagic, 4);
  s.push_back(char(kIndexVersion));
  Le(&s, e.day, 4);
  s.push_back(
      char((e.has_source ? kHasSource : 0) | (e.answered ? kAnswered : 0) | (e.read ? kRead : 0)));
  s.append(reinterpret_cast<const char*>(e.source.data()), e.source.size());
  s.append(reinterpret_cast<const char*>(e.questionnaire.data()), e.questionnaire.size());
  s.append(reinterpret_cast<const char*>(e.triage.data()), e.triage.size());
  Le(&s, e.outcome.size(), 2);
  s += e.outcome;
  s.push_back(char(e.answers.size()));
  Status st = Status::OK();
  for (const Answer& a : e.answers) {
    if (a.field.empty() || a.field.size() > kMaxAnswerId || a.values.empty() ||
        a.values.size() > kMaxAnswerValues) {
      st = Status::InvalidArgument("an answer to index has an empty or overlong id or values");
      break;
    }
    s.push_back(char(a.field.size()));
    s += a.field;
    s.push_back(char(a.values.size()));
    for (const std::string& v : a.values) {
      if (v.empty() || v.size() > kMaxIndexValue) {
        st = Status::TooLarge("an answer too long to index");
        break;
      }
      Le(&s, v.size(), 2);
      s += v;
    }
  }
  if (st.ok() && crypto::PaddedSize(s.size()) > crypto::kMaxIndex)
    st = Status::TooLarge("the index record is too long");
  if (st.ok()) {
    crypto::Secret buf(crypto::PaddedSize(s.size()));
    std::memcpy(buf.data(), s.data(), s.size());
    std::memset(buf.data() + s.size(), 0, buf.size() - s.size());
    *out = std::move(buf);
  }
  sodium_memzero(&s[0], s.size());
  return st;
}

Status DecodeIndex(const uint8_t* p, size_t n, IndexEntry* out) {
  if (n > crypto::kMaxIndex) return Status::Corruption("index record is implausibly large");
  Reader r(p, n);
  const uint8_t* head;
  if (!r.Take(kIndexHead, &head)) return Status::Corruption("index record is truncated");
  if (std::memcmp(head, kIndexMagic, 4) != 0) return Status::Corruption("not an index record");
  if (head[4] != kIndexVersion)
    return Status::Version("index record version " + std::to_string(head[4]) +
                           " is newer than this sealdrop-review reads");
  IndexEntry e;
  e.day = uint32_t(head[5] | head[6] << 8 | head[7] << 16 | uint32_t(head[8]) << 24);
  const uint8_t flags = head[9];
  if (flags & ~(kHasSource | kAnswered | kRead))
    return Status::Corruption("index record has unknown flags");
  e.has_source = flags & kHasSource;
  e.answered = flags & kAnswered;
  e.read = flags & kRead;
  std::memcpy(e.source.data(), head + 10, 16);
  std::memcpy(e.questionnaire.data(), head + 26, 32);
  std::memcpy(e.triage.data(), head + 58, 24);
  uint64_t len = 0, count = 0;
  if (!r.Le(2, &len) || len > kMaxOutcome || !r.Text(size_t(len), &e.outcome) || !r.Le(1, &count) ||
      count > kMaxIndexAnswers)
    return Status::Corruption("index record is malformed");
  for (uint64_t i = 0; i < count; i++) {
    Answer a;
    uint64_t values = 0;
    if (!r.Le(1, &len) || len == 0 || len > kMaxAnswerId || !r.Text(size_t(len), &a.field) ||
        !r.Le(1, &values) || values == 0 || values > kMaxAnswerValues)
      return Status::Corruption("index record has a malformed answer");
    for (uint64_t j = 0; j < values; j++) {
      std::string v;
      if (!r.Le(2, &len) || len == 0 || len > kMaxIndexValue || !r.Text(size_t(len), &v))
        return Status::Corruption("index record has a malformed answer");
      a.values.push_back(std::move(v));
    }
    e.answers.push_back(std::move(a));
  }
  if (crypto::PaddedSize(r.at()) != n) return Status::Corruption("index record is not padded");
  uint8_t any = 0;
  for (size_t i = r.at(); i < n; i++) any |= p[i];
  if (any != 0) return Status::Corruption("index record padding is not zero");
  *out = std::move(e);
  return Status::OK();
}

}  // namespace format
}  // namespace sealdrop
