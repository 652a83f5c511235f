// The deadlines list and triage mark (review.h, DeadlinesOf).
#include <algorithm>

#include "review/review.h"

namespace sealdrop {
namespace review {

Deadlines DeadlinesOf(const storage::SubmissionRec& rec, const format::Triage& t,
                      const std::vector<storage::QueuedReply>& replies, uint32_t today) {
  constexpr uint32_t kAckDays = 7, kFeedbackDays = 91;
  std::vector<uint32_t> days;
  for (const auto& r : replies)
    if (r.submission == rec.id) days.push_back(r.day);
  std::sort(days.begin(), days.end());
  Deadlines d;
  d.ack_due = rec.day + kAckDays;
  d.acknowledged = !days.empty();
  d.feedback_due = (d.acknowledged ? std::min(days[0], d.ack_due) : d.ack_due) + kFeedbackDays;
  d.fed_back = days.size() >= 2 || t.status == format::CaseStatus::kClosed;
  const bool closed = t.status == format::CaseStatus::kClosed;
  d.ack_overdue = !d.acknowledged && !closed && today > d.ack_due;
  d.feedback_overdue = !d.fed_back && today > d.feedback_due;
  return d;
}

}  // namespace review
}  // namespace sealdrop
