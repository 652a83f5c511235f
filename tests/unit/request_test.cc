// Signed requests (docs/FORMAT.md "Signed request"): what the reviewer API
// refuses from the head alone, and the nonce cache.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "crypto/crypto.h"
#include "format/format.h"

using namespace sealdrop;
using format::Refusal;
using format::RequestHead;

namespace {

constexpr uint64_t kNow = 1796083200;

struct Courier {
  crypto::SigningKey key;
  crypto::SignPublic instance{};
  Courier() {
    REQUIRE(crypto::Init().ok());
    REQUIRE(crypto::GenerateSigningKey(&key).ok());
    instance.fill(0x60);
  }
  RequestHead Head(const std::string& body = "", uint64_t time = kNow) const {
    RequestHead h;
    h.method = body.empty() ? "GET" : "POST";
    h.target = body.empty() ? "/v1/bundle" : "/v1/outbox";
    h.instance = instance;
    h.length = body.size();
    crypto::Hash256(reinterpret_cast<const uint8_t*>(body.data()), body.size(), h.body.data());
    h.time = time;
    crypto::RandomBytes(h.nonce.data(), h.nonce.size());
    format::SignRequest(key, &h);
    return h;
  }
};

using Headers = std::map<std::string, std::string>;

Headers Sent(const RequestHead& h) {
  Headers out;
  for (const auto& kv : format::RequestHeaders(h)) out[kv.first] = kv.second;
  return out;
}

// Parses and verifies as the server does; the refusal, kNone if accepted.
Refusal Check(const RequestHead& h, const Headers& headers, const std::string* length,
              const std::vector<crypto::SignPublic>& keys, uint64_t now = kNow,
              uint64_t since = 0) {
  RequestHead got;
  Refusal why = Refusal::kNone;
  Status st = format::ParseRequestHead(
      h.method, h.target, length,
      [&](const std::string& name, std::string* out) {
        auto it = headers.find(name);
        if (it == headers.end()) return false;
        *out = it->second;
        return true;
      },
      &got, &why);
  if (!st.ok()) return why;
  st = format::VerifyRequest(got, h.instance, keys, now, since, &why);
  CHECK(st.ok() == (why == Refusal::kNone));
  return why;
}

}  // namespace

TEST_CASE("SignedRequestFromAListedCourierPasses", "[request]") {
  Courier c;
  RequestHead h = c.Head("outbox bytes");
  const std::string len = "12";
  CHECK(Check(h, Sent(h), &len, {c.key.pk}) == Refusal::kNone);
  RequestHead get = c.Head();
  CHECK(Check(get, Sent(get), nullptr, {c.key.pk}) == Refusal::kNone);
}

TEST_CASE("UnsignedMalformedOrWrongLengthRequestsAreRefusedFromTheHead", "[request]") {
  Courier c;
  RequestHead h = c.Head("outbox bytes");
  const std::string len = "12";
  Headers none = Sent(h);
  none.erase("Sealdrop-Signature");
  CHECK(Check(h, none, &len, {c.key.pk}) == Refusal::kUnsigned);
  for (const char* name : {"Sealdrop-Key", "Sealdrop-Instance", "Sealdrop-Length",
                           "Sealdrop-Body", "Sealdrop-Time", "Sealdrop-Nonce"}) {
    Headers missing = Sent(h);
    missing.erase(name);
    INFO(name);
    CHECK(Check(h, missing, &len, {c.key.pk}) == Refusal::kMalformed);
  }
  Headers upper = Sent(h);
  for (char& ch : upper["Sealdrop-Signature"]) ch = char(std::toupper(ch));
  CHECK(Check(h, upper, &len, {c.key.pk}) == Refusal::kMalformed);
  Headers plus = Sent(h);
  plus["Sealdrop-Time"] = "+" + plus["Sealdrop-Time"];
  CHECK(Check(h, plus, &len, {c.key.pk}) == Refusal::kMalformed);
  // A Content-Length other than the signed one: a body of another size.
  const std::string more = "1000000000";
  CHECK(Check(h, Sent(h), &more, {c.key.pk}) == Refusal::kWrongLength);
  CHECK(Check(h, Sent(h), nullptr, {c.key.pk}) == Refusal::kWrongLength);
  RequestHead line = h;
  line.target = "/v1/outbox\n/v1/other";
  CHECK(Check(line, Sent(h), &len, {c.key.pk}) == Refusal::kMalformed);
}

TEST_CASE("UnknownKeyWrongInstanceStaleOrForgedRequestsAreRefused", "[request]") {
  Courier c, other;
  RequestHead h = c.Head("outbox bytes");
  const std::string len = "12";
  CHECK(Check(h, Sent(h), &len, {other.key.pk}) == Refusal::kUnknownKey);
  CHECK(Check(h, Sent(h), &len, {}) == Refusal::kUnknownKey);
  RequestHead elsewhere = h;
  elsewhere.instance.fill(0x61);
  CHECK(Check(elsewhere, Sent(h), &len, {c.key.pk}) == Refusal::kWrongInstance);
  CHECK(Check(h, Sent(h), &len, {c.key.pk}, kNow + 301) == Refusal::kStale);
  CHECK(Check(h, Sent(h), &len, {c.key.pk}, kNow - 301) == Refusal::kStale);
  CHECK(Check(h, Sent(h), &len, {c.key.pk}, kNow + 300) == Refusal::kNone);
  // Any signed field changed after signing: the method, the target, the
  // body's hash, the time, the nonce, the signer.
  Headers body = Sent(h);
  body["Sealdrop-Body"][0] = body["Sealdrop-Body"][0] == '0' ? '1' : '0';
  CHECK(Check(h, body, &len, {c.key.pk}) == Refusal::kBadSignature);
  Headers later = Sent(h);
  later["Sealdrop-Time"] = std::to_string(kNow + 1);
  CHECK(Check(h, later, &len, {c.key.pk}) == Refusal::kBadSignature);
  Headers nonce = Sent(h);
  nonce["Sealdrop-Nonce"][5] = nonce["Sealdrop-Nonce"][5] == 'a' ? 'b' : 'a';
  CHECK(Check(h, nonce, &len, {c.key.pk}) == Refusal::kBadSignature);
  RequestHead put = h;
  put.method = "PUT";
  CHECK(Check(put, Sent(h), &len, {c.key.pk}) == Refusal::kBadSignature);
  RequestHead path = h;
  path.target = "/v1/outbox?again=1";
  CHECK(Check(path, Sent(h), &len, {c.key.pk}) == Refusal::kBadSignature);
  Headers ranged = Sent(h);
  ranged["Content-Range"] = "bytes 0-11/12";
  CHECK(Check(h, ranged, &len, {c.key.pk}) == Refusal::kBadSignature);
  Headers signer = Sent(h);
  signer["Sealdrop-Key"] = crypto::FormatSigningPublic(other.key.pk);
  CHECK(Check(h, signer, &len, {c.key.pk, other.key.pk}) == Refusal::kBadSignature);
}

TEST_CASE("RequestSignedBeforeTheServerStartedIsRefusedAsReplayed", "[request]") {
  Courier c;
  RequestHead h = c.Head();
  CHECK(Check(h, Sent(h), nullptr, {c.key.pk}, kNow + 10, kNow + 1) == Refusal::kReplayed);
  CHECK(Check(h, Sent(h), nullptr, {c.key.pk}, kNow + 10, kNow) == Refusal::kNone);
}

TEST_CASE("NonceCacheRefusesAReplayWithinTheWindowAndForgetsAfter", "[request]") {
  format::NonceCache cache(3);
  format::Nonce a{}, b{}, d{}, e{};
  a[0] = 1, b[0] = 2, d[0] = 3, e[0] = 4;
  CHECK(cache.Admit(a, kNow, kNow));
  CHECK_FALSE(cache.Admit(a, kNow, kNow + 1));
  CHECK(cache.Admit(b, kNow + 100, kNow + 100));
  CHECK(cache.Admit(d, kNow + 200, kNow + 200));
  // Full: refused, whoever asks.
  CHECK_FALSE(cache.Admit(e, kNow + 200, kNow + 200));
  // Once a's time has left the window, it is dropped (a replay of it would
  // be refused as stale).
  CHECK(cache.Admit(e, kNow + 301, kNow + 301));
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.Admit(b, kNow + 100, kNow + 301));
}
