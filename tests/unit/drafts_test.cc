// Drafts of the questionnaire between steps (server/drafts.cc): bounded in
// count and bytes, held by one request at a time, ended when idle with the
// files they held; and a step's form parsed (server/stepform.cc).
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <cstring>
#include <thread>

#include "server/server.h"

using namespace sealdrop;
using namespace sealdrop::server;

namespace {

crypto::Secret Filled(size_t n) {
  crypto::Secret s(n);
  std::memset(s.data(), 'x', n);
  return s;
}

struct Store {
  std::string dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<Writer> writer;
  std::vector<Recipient> to;
  Store() {
    REQUIRE(crypto::Init().ok());
    char tmpl[] = "/tmp/sealdrop-drafts-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    storage::Options o;
    o.cache_writes = false;
    REQUIRE(storage::Store::Open(dir + "/store", o, &store).ok());
    writer = std::make_unique<Writer>(store.get(), 4u << 20);
    crypto::RecipientKey key;
    REQUIRE(crypto::GenerateRecipientKey(1, &key).ok());
    to.push_back({"r", key.pub});
  }
  ~Store() {
    writer.reset();
    store.reset();
    REQUIRE(system(("rm -rf '" + dir + "'").c_str()) == 0);
  }
  uint64_t Pending() {
    writer->Settle();
    storage::Store::Report r;
    REQUIRE(store->Check(&r).ok());
    return r.pending;
  }
};

}  // namespace

TEST_CASE("DraftsPastTheirCountAreRefused", "[server][drafts]") {
  Drafts d(2, 1 << 20, std::chrono::seconds(60));
  {
    Drafts::Hold a, b, c;
    REQUIRE(d.Get("a", true, &a).ok());
    REQUIRE(d.Get("b", true, &b).ok());
    CHECK(d.Get("c", true, &c).Is(Status::Code::kFull));
  }
  CHECK(d.live() == 2);
  Drafts::Hold none;
  CHECK(d.Get("c", false, &none).Is(Status::Code::kNotFound));
}

TEST_CASE("DraftsPastTheirBytesKeepTheOldAnswers", "[server][drafts]") {
  Drafts d(10, 100, std::chrono::seconds(60));
  Drafts::Hold a, b;
  REQUIRE(d.Get("a", true, &a).ok());
  REQUIRE(d.Get("b", true, &b).ok());
  REQUIRE(a.SetAnswers(Filled(60)).ok());
  CHECK(b.SetAnswers(Filled(41)).Is(Status::Code::kFull));
  REQUIRE(b.SetAnswers(Filled(40)).ok());
  CHECK(d.bytes() == 100);
  // Replacing counts the new size, not both.
  REQUIRE(a.SetAnswers(Filled(50)).ok());
  CHECK(d.bytes() == 90);
  CHECK(a.draft().answers.size() == 50);
  a.Remove();
  CHECK(d.bytes() == 40);
  CHECK(d.live() == 1);
}

TEST_CASE("ADraftHeldByOneRequestIsBusyForAnother", "[server][drafts]") {
  Drafts d(10, 100, std::chrono::seconds(60));
  Drafts::Hold a;
  REQUIRE(d.Get("a", true, &a).ok());
  a.draft().step = 3;
  Drafts::Hold again;
  CHECK(d.Get("a", true, &again).Is(Status::Code::kFull));
  {
    Drafts::Hold other;
    CHECK(d.Get("b", true, &other).ok());
  }
  // Expiry leaves a held draft alone, however old.
  Drafts quick(10, 100, std::chrono::seconds(0));
  Drafts::Hold h;
  REQUIRE(quick.Get("a", true, &h).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  quick.Expire();
  CHECK(quick.live() == 1);
}

TEST_CASE("AnIdleDraftEndsWithItsSealedFiles", "[server][drafts]") {
  Store s;
  Drafts d(10, 1 << 20, std::chrono::seconds(0));
  {
    Drafts::Hold h;
    REQUIRE(d.Get("a", true, &h).ok());
    REQUIRE(h.SetAnswers(Filled(30)).ok());
    auto up = std::make_unique<Upload>(s.writer.get(), s.to, 20000);
    REQUIRE(up->Begin().ok());
    REQUIRE(up->StartFile("f.txt", "text/plain").ok());
    std::string data(300000, 'q');
    REQUIRE(up->Write(reinterpret_cast<const uint8_t*>(data.data()), data.size()).ok());
    REQUIRE(up->EndFile().ok());
    REQUIRE(up->Park().ok());
    h.draft().upload = std::move(up);
  }
  CHECK(s.Pending() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  d.Expire();
  CHECK(d.live() == 0);
  CHECK(d.bytes() == 0);
  CHECK(s.Pending() == 0);
  storage::Store::Report r;
  REQUIRE(s.store->Check(&r).ok());
  CHECK(r.submissions == 0);
  CHECK(r.chunks == 0);
}

TEST_CASE("AnExpiredDraftIsNotHandedBackToItsVisitor", "[server][drafts]") {
  Drafts d(10, 100, std::chrono::seconds(0));
  {
    Drafts::Hold h;
    REQUIRE(d.Get("a", true, &h).ok());
    h.draft().step = 2;
    REQUIRE(h.SetAnswers(Filled(10)).ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Drafts::Hold h;
  REQUIRE(d.Get("a", true, &h).ok());
  CHECK(h.draft().step == 0);
  CHECK(h.draft().answers.empty());
  CHECK(d.bytes() == 0);
}

TEST_CASE("AStepFormKeepsValuesAndSealsFilesOfItsFileFieldsOnly", "[server][drafts]") {
  Store s;
  std::unique_ptr<Upload> up;
  auto make = [&](Upload** out) {
    up = std::make_unique<Upload>(s.writer.get(), s.to, 20000);
    SD_RETURN_IF_ERROR(up->Begin());
    *out = up.get();
    return Status::OK();
  };
  auto part = [](const std::string& name, const std::string& value) {
    return "--B\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  };
  const std::string file = "--B\r\nContent-Disposition: form-data; name=\"papers\"; filename=\"a.pdf\"\r\n"
                           "Content-Type: application/pdf\r\n\r\nPDFDATA\r\n";
  {
    StepForm f({"papers"}, make, 5, 1 << 20);
    REQUIRE(f.Begin("multipart/form-data; boundary=B").ok());
    std::string body = part(kStepField, "evidence") + part(kActionField, "next") + part("note", "hi") +
                       part("kinds", "a") + part("kinds", "b") + part("empty", "") + file + "--B--\r\n";
    REQUIRE(f.Feed(body.data(), body.size()));
    REQUIRE(f.Finish().ok());
    CHECK(f.step() == "evidence");
    CHECK(f.action() == "next");
    CHECK(f.values().at("note") == std::vector<std::string>{"hi"});
    CHECK(f.values().at("kinds") == std::vector<std::string>{"a", "b"});
    CHECK(f.values().count("empty") == 0);
    CHECK(f.values().at("papers") == std::vector<std::string>{"1"});
    REQUIRE(up);
    CHECK(up->files() == 1);
  }
  up.reset();
  {
    // A file for a field that is not a file field is refused.
    StepForm f({}, make, 5, 1 << 20);
    REQUIRE(f.Begin("multipart/form-data; boundary=B").ok());
    std::string body = file + "--B--\r\n";
    CHECK_FALSE(f.Feed(body.data(), body.size()));
    CHECK(f.error().Is(Status::Code::kInvalidArgument));
  }
  {
    // Files past the upload's limits, with those the draft holds.
    StepForm f({"papers"}, make, 0, 1 << 20);
    REQUIRE(f.Begin("multipart/form-data; boundary=B").ok());
    std::string body = file + "--B--\r\n";
    CHECK_FALSE(f.Feed(body.data(), body.size()));
    CHECK(f.error().Is(Status::Code::kTooLarge));
  }
  up.reset();
  CHECK(s.Pending() == 0);
}

// Freed guarded blocks stay mapped in Secret's cache (crypto_test.cc says
// so): what a draft's answers held must be zero once they are replaced, or
// once the draft ends by expiry or removal.
TEST_CASE("ADraftsAnswersAreWipedWhenReplacedOrWhenItEnds", "[server][drafts]") {
  REQUIRE(crypto::Init().ok());
  auto zero = [](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++)
      if (p[i] != 0) return false;
    return true;
  };
  constexpr size_t kA = 1543, kB = 1549, kC = 1553;  // sizes no other test uses
  Drafts d(10, 1 << 20, std::chrono::seconds(0));
  const uint8_t* replaced;
  const uint8_t* expired;
  {
    Drafts::Hold h;
    REQUIRE(d.Get("a", true, &h).ok());
    crypto::Secret first = Filled(kA);
    replaced = first.data();
    REQUIRE(h.SetAnswers(std::move(first)).ok());
    crypto::Secret second = Filled(kB);
    expired = second.data();
    REQUIRE(h.SetAnswers(std::move(second)).ok());
    CHECK(zero(replaced, kA));
    CHECK(!zero(expired, kB));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  d.Expire();
  CHECK(zero(expired, kB));
  const uint8_t* removed;
  {
    Drafts::Hold h;
    REQUIRE(d.Get("b", true, &h).ok());
    crypto::Secret s = Filled(kC);
    removed = s.data();
    REQUIRE(h.SetAnswers(std::move(s)).ok());
    h.Remove();
  }
  CHECK(zero(removed, kC));
}
