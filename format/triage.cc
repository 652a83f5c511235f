// The team's notes on a submission: plaintext layout (FORMAT.md "Triage
// record"), sealed by crypto::SealTriage before the vault stores it.
#include <cstring>

#include "format/format.h"

namespace sealdrop {
namespace format {
namespace {

constexpr char kTriageMagic[4] = {'S', 'D', 'T', 'G'};
constexpr uint8_t kTriageVersion = 1;
constexpr size_t kTriageHead = 4 + 1 + 1 + 1 + 4;

void PutLe(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = uint8_t(v >> (8 * i));
}
uint64_t GetLe(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

}  // namespace

const char* StatusName(CaseStatus s) {
  switch (s) {
    case CaseStatus::kNew: return "new";
    case CaseStatus::kInProgress: return "in-progress";
    case CaseStatus::kClosed: return "closed";
  }
  return "?";
}

bool ParseStatusName(const std::string& name, CaseStatus* out) {
  for (CaseStatus s : {CaseStatus::kNew, CaseStatus::kInProgress, CaseStatus::kClosed})
    if (name == StatusName(s)) {
      *out = s;
      return true;
    }
  return false;
}

Status EncodeTriage(const Triage& t, crypto::Secret* out) {
  if (t.assignee.size() > kMaxAssignee) return Status::TooLarge("the assignee's name is too long");
  if (t.outcome.size() > kMaxOutcome) return Status::TooLarge("the outcome is too long");
  if (t.notes.size() > kMaxNotes) return Status::TooLarge("too many notes");
  size_t len = kTriageHead + 2 + t.assignee.size() + 2 + t.outcome.size() + 2;
  for (const Note& n : t.notes) {
    if (n.text.size() > kMaxNote) return Status::TooLarge("a note is too long");
    len += 8 + n.text.size();
  }
  if (len > crypto::kMaxTriage) return Status::TooLarge("the notes are too long in all");
  // Padded like everything else sealed, so the record's length tells little.
  crypto::Secret buf(size_t(crypto::PaddedSize(len)));
  std::memset(buf.data(), 0, buf.size());
  uint8_t* p = buf.data();
  std::memcpy(p, kTriageMagic, 4);
  p[4] = kTriageVersion;
  p[5] = uint8_t(t.status);
  p[6] = t.starred ? 1 : 0;
  PutLe(p + 7, t.extracted, 4);
  p += kTriageHead;
  auto put_text = [&](const std::string& s, int width) {
    PutLe(p, s.size(), width);
    p += width;
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  put_text(t.assignee, 2);
  put_text(t.outcome, 2);
  PutLe(p, t.notes.size(), 2);
  p += 2;
  for (const Note& n : t.notes) {
    PutLe(p, n.day, 4);
    p += 4;
    put_text(n.text, 4);
  }
  *out = std::move(buf);
  return Status::OK();
}

Status DecodeTriage(const uint8_t* p, size_t n, Triage* out) {
  *out = Triage();
  if (n < kTriageHead) return Status::Corruption("triage record is too short");
  if (std::memcmp(p, kTriageMagic, 4) != 0) return Status::Corruption("not a triage record");
  if (p[4] != kTriageVersion)
    return Status::Version("triage record version " + std::to_string(p[4]) +
                           " is newer than this build supports");
  if (p[5] > uint8_t(CaseStatus::kClosed)) return Status::Corruption("unknown case status");
  if (p[6] > 1) return Status::Corruption("unknown triage flags");
  out->status = CaseStatus(p[5]);
  out->starred = p[6] == 1;
  out->extracted = uint32_t(GetLe(p + 7, 4));
  size_t at = kTriageHead;
  auto get_len = [&](int width, uint64_t max, uint64_t* v) -> Status {
    if (n - at < size_t(width)) return Status::Corruption("triage record is cut short");
    *v = GetLe(p + at, width);
    at += size_t(width);
    if (*v > max) return Status::Corruption("triage record holds a field too long");
    return Status::OK();
  };
  auto get_text = [&](int width, uint64_t max, std::string* s) -> Status {
    uint64_t len = 0;
    SD_RETURN_IF_ERROR(get_len(width, max, &len));
    if (n - at < len) return Status::Corruption("triage record is cut short");
    s->assign(reinterpret_cast<const char*>(p + at), size_t(len));
    at += size_t(len);
    return Status::OK();
  };
  SD_RETURN_IF_ERROR(get_text(2, kMaxAssignee, &out->assignee));
  SD_RETURN_IF_ERROR(get_text(2, kMaxOutcome, &out->outcome));
  uint64_t count = 0;
  SD_RETURN_IF_ERROR(get_len(2, kMaxNotes, &count));
  for (uint64_t i = 0; i < count; i++) {
    uint64_t day = 0;
    SD_RETURN_IF_ERROR(get_len(4, UINT32_MAX, &day));
    Note note;
    note.day = uint32_t(day);
    SD_RETURN_IF_ERROR(get_text(4, kMaxNote, &note.text));
    out->notes.push_back(std::move(note));
  }
  for (size_t i = at; i < n; i++)
    if (p[i] != 0) return Status::Corruption("triage record padding is not zero");
  return Status::OK();
}

}  // namespace format
}  // namespace sealdrop
