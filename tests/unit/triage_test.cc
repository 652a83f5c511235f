// The team's notes on a submission: the record's layout and its limits, the
// sealing that binds it to one submission's key, and the deadlines.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "format/format.h"
#include "review/review.h"

using namespace sealdrop;

namespace {

format::Triage Sample() {
  format::Triage t;
  t.status = format::CaseStatus::kInProgress;
  t.starred = true;
  t.extracted = 20791;
  t.assignee = "Amina";
  t.outcome = "notice deleted by the CCF";
  t.notes = {{20790, "called the lawyer"}, {20791, std::string(3000, 'x')}};
  return t;
}

crypto::Id IdOf(uint8_t tag) {
  crypto::Id id{};
  id.fill(tag);
  return id;
}

}  // namespace

TEST_CASE("TriageRecordRoundTripsWithPaddedLength", "[triage]") {
  crypto::Secret plain;
  REQUIRE(format::EncodeTriage(Sample(), &plain).ok());
  REQUIRE(plain.size() == crypto::PaddedSize(plain.size()));
  format::Triage back;
  REQUIRE(format::DecodeTriage(plain.data(), plain.size(), &back).ok());
  REQUIRE(back.status == format::CaseStatus::kInProgress);
  REQUIRE(back.starred);
  REQUIRE(back.extracted == 20791);
  REQUIRE(back.assignee == "Amina");
  REQUIRE(back.outcome == "notice deleted by the CCF");
  REQUIRE(back.notes.size() == 2);
  REQUIRE(back.notes[0].day == 20790);
  REQUIRE(back.notes[0].text == "called the lawyer");
  REQUIRE(back.notes[1].text == std::string(3000, 'x'));
}

TEST_CASE("TriageSealedForOneSubmissionDoesNotOpenForAnotherOrAltered", "[triage]") {
  REQUIRE(crypto::Init().ok());
  crypto::Secret ck = crypto::NewContentKey(), other = crypto::NewContentKey();
  crypto::Secret plain;
  REQUIRE(format::EncodeTriage(Sample(), &plain).ok());
  std::vector<uint8_t> sealed;
  REQUIRE(crypto::SealTriage(ck, IdOf(1), plain.data(), plain.size(), &sealed).ok());
  // The notes are not in the sealed bytes.
  const std::string s(sealed.begin(), sealed.end());
  REQUIRE(s.find("called the lawyer") == std::string::npos);
  crypto::Secret out;
  REQUIRE(crypto::OpenTriage(ck, IdOf(1), sealed.data(), sealed.size(), &out).ok());
  REQUIRE(out.size() == plain.size());
  REQUIRE(std::memcmp(out.data(), plain.data(), plain.size()) == 0);
  // Copied onto another submission, or opened with another submission's key.
  REQUIRE(crypto::OpenTriage(ck, IdOf(2), sealed.data(), sealed.size(), &out)
              .Is(Status::Code::kAuthFailed));
  REQUIRE(crypto::OpenTriage(other, IdOf(1), sealed.data(), sealed.size(), &out)
              .Is(Status::Code::kAuthFailed));
  for (size_t at : {size_t(0), size_t(30), sealed.size() - 1}) {
    std::vector<uint8_t> bad = sealed;
    bad[at] ^= 0x01;
    REQUIRE(crypto::OpenTriage(ck, IdOf(1), bad.data(), bad.size(), &out)
                .Is(Status::Code::kAuthFailed));
  }
  REQUIRE(crypto::OpenTriage(ck, IdOf(1), sealed.data(), 20, &out).Is(Status::Code::kCorruption));
}

TEST_CASE("TriageFieldPastItsLimitRefusedWrittenOrRead", "[triage]") {
  crypto::Secret plain;
  format::Triage t;
  t.assignee.assign(format::kMaxAssignee + 1, 'a');
  REQUIRE(format::EncodeTriage(t, &plain).Is(Status::Code::kTooLarge));
  t = format::Triage();
  t.notes.push_back({1, std::string(format::kMaxNote + 1, 'n')});
  REQUIRE(format::EncodeTriage(t, &plain).Is(Status::Code::kTooLarge));
  // A record claiming a longer assignee than any written is refused on read.
  REQUIRE(format::EncodeTriage(format::Triage(), &plain).ok());
  plain.data()[11] = 0xff, plain.data()[12] = 0xff;
  format::Triage back;
  REQUIRE(format::DecodeTriage(plain.data(), plain.size(), &back).Is(Status::Code::kCorruption));
}

TEST_CASE("TriageRecordMalformedRefusedByName", "[triage]") {
  crypto::Secret plain;
  REQUIRE(format::EncodeTriage(Sample(), &plain).ok());
  format::Triage back;
  std::vector<uint8_t> b(plain.data(), plain.data() + plain.size());
  b[4] = 2;  // a newer version
  Status st = format::DecodeTriage(b.data(), b.size(), &back);
  REQUIRE(st.Is(Status::Code::kVersion));
  REQUIRE(st.message().find("version 2") != std::string::npos);
  b[4] = 1;
  b[5] = 3;  // no such status
  REQUIRE(format::DecodeTriage(b.data(), b.size(), &back).Is(Status::Code::kCorruption));
  b[5] = 1;
  b[b.size() - 1] = 1;  // padding not zero
  REQUIRE(format::DecodeTriage(b.data(), b.size(), &back).Is(Status::Code::kCorruption));
  // Every shorter prefix is refused, none read past its end.
  for (size_t n = 0; n < 44; n++)
    REQUIRE_FALSE(format::DecodeTriage(plain.data(), n, &back).ok());
}

TEST_CASE("DeadlinesAckAfterSevenDaysAndFeedbackThreeMonthsOn", "[triage]") {
  storage::SubmissionRec rec;
  rec.id.fill(7);
  rec.day = 20000;
  format::Triage t;
  std::vector<storage::QueuedReply> replies;
  auto d = review::DeadlinesOf(rec, t, replies, 20007);
  REQUIRE(d.ack_due == 20007);
  REQUIRE_FALSE(d.ack_overdue);
  d = review::DeadlinesOf(rec, t, replies, 20008);
  REQUIRE(d.ack_overdue);
  // A reply to another submission acknowledges nothing; one to this does.
  storage::QueuedReply r;
  r.submission.fill(8);
  r.day = 20003;
  replies.push_back(r);
  REQUIRE(review::DeadlinesOf(rec, t, replies, 20008).ack_overdue);
  replies[0].submission = rec.id;
  d = review::DeadlinesOf(rec, t, replies, 20008);
  REQUIRE(d.acknowledged);
  REQUIRE_FALSE(d.ack_overdue);
  REQUIRE(d.feedback_due == 20003 + 91);
  REQUIRE_FALSE(review::DeadlinesOf(rec, t, replies, 20094).feedback_overdue);
  REQUIRE(review::DeadlinesOf(rec, t, replies, 20095).feedback_overdue);
  // A second reply, or closing the case, is the feedback.
  replies.push_back(replies[0]);
  REQUIRE(review::DeadlinesOf(rec, t, replies, 20095).fed_back);
  replies.pop_back();
  t.status = format::CaseStatus::kClosed;
  REQUIRE_FALSE(review::DeadlinesOf(rec, t, replies, 20095).feedback_overdue);
  // Closed without a reply: nothing is overdue.
  replies.clear();
  d = review::DeadlinesOf(rec, t, replies, 21000);
  REQUIRE_FALSE(d.ack_overdue);
  REQUIRE_FALSE(d.feedback_overdue);
}
