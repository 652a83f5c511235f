// Sessions and the key gate (server/sessions.cc): what a logged-in source's
// browser holds, how long it lasts, and how logins are bounded.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "server/server.h"

using namespace sealdrop;
using namespace sealdrop::server;

namespace {

crypto::SourceKeys Keys(uint8_t tag) {
  crypto::SourceKeys k;
  k.lookup.fill(tag);
  k.pk.fill(tag);
  k.sk = crypto::Secret(32);
  return k;
}

crypto::CodenameParams Cheap() {
  crypto::CodenameParams p;
  p.opslimit = 1;
  p.memlimit_kib = 8;
  return p;
}

}  // namespace

TEST_CASE("IdleOrOldSessionStillOpensTheSourcesReplies") {
  REQUIRE(crypto::Init().ok());
  Sessions idle(10, std::chrono::seconds(1), std::chrono::seconds(60));
  std::string id;
  REQUIRE(idle.Open(Keys(1), crypto::Secret(), &id).ok());
  REQUIRE(id.size() == 64);
  CHECK(idle.With(id, [](Sessions::Session& s) { CHECK(s.keys.lookup[0] == 1); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  CHECK_FALSE(idle.With(id, [](Sessions::Session&) {}));
  CHECK(idle.live() == 0);

  // A session in use still ends at its absolute lifetime.
  Sessions old(10, std::chrono::seconds(60), std::chrono::seconds(1));
  REQUIRE(old.Open(Keys(2), crypto::Secret(), &id).ok());
  for (int i = 0; i < 3; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(450));
    old.With(id, [](Sessions::Session&) {});
  }
  CHECK_FALSE(old.With(id, [](Sessions::Session&) {}));

  // Expire() removes them without a visit.
  REQUIRE(idle.Open(Keys(3), crypto::Secret(), &id).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  idle.Expire();
  CHECK(idle.live() == 0);
}

TEST_CASE("LoggedOutSessionOrUnknownIdStillWorks") {
  REQUIRE(crypto::Init().ok());
  Sessions s(10, std::chrono::seconds(60), std::chrono::seconds(60));
  std::string id;
  REQUIRE(s.Open(Keys(1), crypto::Secret(), &id).ok());
  s.Close(id);
  CHECK_FALSE(s.With(id, [](Sessions::Session&) {}));
  std::string other = id;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  CHECK_FALSE(s.With(other, [](Sessions::Session&) {}));
  CHECK_FALSE(s.With("", [](Sessions::Session&) {}));
  CHECK_FALSE(s.With(std::string(64, '0'), [](Sessions::Session&) {}));
}

TEST_CASE("SessionsGrowPastTheirCapOrShareIds") {
  REQUIRE(crypto::Init().ok());
  Sessions s(3, std::chrono::seconds(60), std::chrono::seconds(60));
  std::set<std::string> ids;
  for (int i = 0; i < 3; i++) {
    std::string id;
    REQUIRE(s.Open(Keys(uint8_t(i)), crypto::Secret(), &id).ok());
    ids.insert(id);
  }
  CHECK(ids.size() == 3);
  std::string id;
  CHECK(s.Open(Keys(9), crypto::Secret(), &id).Is(Status::Code::kFull));
  CHECK(s.live() == 3);
}

// One codename logged in again and again took a slot each time, so one
// source could fill the table and keep every other returning source out.
TEST_CASE("OneCodenameFillsTheSessionTable") {
  REQUIRE(crypto::Init().ok());
  Sessions s(10, std::chrono::seconds(60), std::chrono::seconds(60));
  std::string other;
  REQUIRE(s.Open(Keys(1), crypto::Secret(), &other).ok());
  std::vector<std::string> mine;
  for (int i = 0; i < 30; i++) {
    std::string id;
    REQUIRE(s.Open(Keys(2), crypto::Secret(), &id).ok());
    mine.push_back(id);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // distinct "seen" times
  }
  CHECK(s.live() == 1 + Sessions::kPerSource);
  // The newest of the flood live on, the oldest went first; the other
  // source's session is untouched, and there is room for more sources.
  for (size_t i = 0; i < mine.size(); i++)
    CHECK(s.With(mine[i], [](Sessions::Session&) {}) == (i + Sessions::kPerSource >= mine.size()));
  CHECK(s.With(other, [](Sessions::Session& x) { CHECK(x.keys.lookup[0] == 1); }));
  std::string id;
  CHECK(s.Open(Keys(3), crypto::Secret(), &id).ok());
}

TEST_CASE("ConfirmationAsksForOneWordTwice") {
  REQUIRE(crypto::Init().ok());
  Sessions s(1000, std::chrono::seconds(60), std::chrono::seconds(60));
  std::set<std::pair<int, int>> seen;
  for (int i = 0; i < 400; i++) {
    std::string id;
    REQUIRE(s.Open(Keys(1), crypto::NewCodename(), &id).ok());
    s.With(id, [&](Sessions::Session& x) {
      CHECK(x.ask[0] < x.ask[1]);
      CHECK(x.ask[1] < crypto::kCodenameWords);
      seen.insert({x.ask[0], x.ask[1]});
    });
    s.Close(id);
  }
  CHECK(seen.size() == 21);  // every pair of 7 positions comes up
}

TEST_CASE("FormTokenOfOneVisitorAcceptedForAnother") {
  REQUIRE(crypto::Init().ok());
  Sessions s(10, std::chrono::seconds(60), std::chrono::seconds(60));
  const std::string t = s.Token("f:aaaa");
  CHECK(t.size() == 64);
  CHECK(s.CheckToken("f:aaaa", t));
  CHECK_FALSE(s.CheckToken("f:aaab", t));
  CHECK_FALSE(s.CheckToken("s:aaaa", t));  // a form cookie's token is not a session's
  CHECK_FALSE(s.CheckToken("f:aaaa", t.substr(0, 63)));
  CHECK_FALSE(s.CheckToken("f:aaaa", ""));
  // Another server process, another key: old pages' tokens stop working.
  Sessions restarted(10, std::chrono::seconds(60), std::chrono::seconds(60));
  CHECK_FALSE(restarted.CheckToken("f:aaaa", t));
}

TEST_CASE("LoginFloodRunsMoreDerivationsThanTheGateAllows") {
  REQUIRE(crypto::Init().ok());
  KeyGate gate(2, 3, std::chrono::seconds(30));
  crypto::CodenameParams p = Cheap();
  p.memlimit_kib = 4096;
  std::atomic<int> ok{0}, busy{0};
  std::vector<std::thread> flood;
  for (int i = 0; i < 24; i++)
    flood.emplace_back([&] {
      crypto::Secret c = crypto::NewCodename();
      crypto::SourceKeys k;
      Status st = gate.Derive(c, p, &k);
      (st.ok() ? ok : busy)++;
      if (!st.ok()) CHECK(st.Is(Status::Code::kFull));
    });
  for (auto& t : flood) t.join();
  CHECK(gate.peak_running() <= 2);
  CHECK(ok + busy == 24);
  CHECK(ok >= 2);

  // Nothing running: a derivation goes through, and gives the codename's keys.
  crypto::Secret c = crypto::NewCodename();
  crypto::SourceKeys a, b;
  REQUIRE(gate.Derive(c, Cheap(), &a).ok());
  REQUIRE(crypto::DeriveSourceKeys(c, Cheap(), &b).ok());
  CHECK(a.lookup == b.lookup);
}
