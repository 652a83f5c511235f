// The vault's index: records that open only for their reviewer and their
// submission, refuse damage by name, and cases that count a source once.
#include <catch2/catch.hpp>
#include <cstring>

#include "crypto/crypto.h"
#include "format/format.h"
#include "review/review.h"

using namespace sealdrop;

namespace {

format::IndexEntry Sample() {
  format::IndexEntry e;
  e.day = 20794;
  e.has_source = true;
  e.source.fill(3);
  e.answered = e.read = true;
  e.questionnaire.fill(0x60);
  e.outcome = "ccf_pending";
  e.answers = {{"detained", {"yes"}}, {"requesting_country", {"TR"}}};
  return e;
}

crypto::Keyring Ring() {
  crypto::Keyring r;
  r.keys.emplace_back();
  REQUIRE(crypto::GenerateRecipientKey(1, &r.keys[0]).ok());
  return r;
}

}  // namespace

TEST_CASE("IndexRecordOfAnotherReviewerOrSubmissionDoesNotOpen", "[index]") {
  REQUIRE(crypto::Init().ok());
  crypto::Keyring mine = Ring(), theirs = Ring();
  crypto::Secret k1, k2;
  crypto::IndexId i1, i2;
  REQUIRE(crypto::DeriveIndexKey(mine, &k1, &i1).ok());
  REQUIRE(crypto::DeriveIndexKey(theirs, &k2, &i2).ok());
  CHECK(i1 != i2);
  crypto::Secret plain;
  REQUIRE(format::EncodeIndex(Sample(), &plain).ok());
  crypto::Id id{}, other{};
  id.fill(1);
  other.fill(2);
  std::vector<uint8_t> sealed;
  REQUIRE(crypto::SealIndex(k1, i1, id, plain.data(), plain.size(), &sealed).ok());
  const std::string s(sealed.begin(), sealed.end());
  CHECK(s.find("ccf_pending") == std::string::npos);
  crypto::Secret out;
  REQUIRE(crypto::OpenIndex(k1, i1, id, sealed.data(), sealed.size(), &out).ok());
  CHECK(crypto::OpenIndex(k2, i2, id, sealed.data(), sealed.size(), &out)
            .Is(Status::Code::kAuthFailed));
  CHECK(crypto::OpenIndex(k1, i1, other, sealed.data(), sealed.size(), &out)
            .Is(Status::Code::kAuthFailed));
  sealed[30] ^= 1;
  CHECK(crypto::OpenIndex(k1, i1, id, sealed.data(), sealed.size(), &out)
            .Is(Status::Code::kAuthFailed));
  // A rotated keyring keeps its oldest key first: the same index.
  crypto::Keyring rotated = Ring();
  rotated.keys.insert(rotated.keys.begin(), std::move(mine.keys[0]));
  crypto::Secret k3;
  crypto::IndexId i3;
  REQUIRE(crypto::DeriveIndexKey(rotated, &k3, &i3).ok());
  CHECK(i3 == i1);
}

TEST_CASE("IndexRecordMalformedRefusedByName", "[index]") {
  crypto::Secret plain;
  REQUIRE(format::EncodeIndex(Sample(), &plain).ok());
  REQUIRE(plain.size() == crypto::PaddedSize(plain.size()));
  std::vector<uint8_t> b(plain.data(), plain.data() + plain.size());
  format::IndexEntry e;
  b[4] = 2;
  Status st = format::DecodeIndex(b.data(), b.size(), &e);
  CHECK(st.Is(Status::Code::kVersion));
  CHECK(st.message().find("version 2") != std::string::npos);
  b[4] = 1;
  b[9] = 0x80;  // an unknown flag
  CHECK(format::DecodeIndex(b.data(), b.size(), &e).Is(Status::Code::kCorruption));
  b[9] = 7;
  b.back() = 1;  // padding not zero
  CHECK(format::DecodeIndex(b.data(), b.size(), &e).Is(Status::Code::kCorruption));
  for (size_t n = 0; n < 140; n++) CHECK_FALSE(format::DecodeIndex(plain.data(), n, &e).ok());
  format::IndexEntry big = Sample();
  big.answers[0].values = {std::string(format::kMaxIndexValue + 1, 'x')};
  CHECK(format::EncodeIndex(big, &plain).Is(Status::Code::kTooLarge));
}

TEST_CASE("SourceWritingThreeTimesCountsAsOneCase", "[index]") {
  review::Facts a, b, c, alone1, alone2;
  a.has_source = b.has_source = c.has_source = true;
  a.source.fill(1), b.source.fill(1), c.source.fill(1);
  a.day = 100, a.country = "RU", a.kind = "red_notice", a.detention = "no";
  b.day = 120, b.detention = "yes";  // detained since
  c.day = 110, c.outcome = "ccf_pending";
  alone1.day = alone2.day = 105;  // no codename: a case each
  alone1.country = alone2.country = "TR";
  const auto cases = review::CountOnce({b, alone1, a, c, alone2});
  REQUIRE(cases.size() == 3);
  CHECK(cases[0].day == 100);
  CHECK(cases[0].country == "RU");
  CHECK(cases[0].kind == "red_notice");
  CHECK(cases[0].detention == "yes");
  CHECK(cases[0].outcome == "ccf_pending");
  CHECK(cases[1].country == "TR");
  CHECK(cases[2].country == "TR");
}
