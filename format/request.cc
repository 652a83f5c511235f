// Signed requests from the courier to the reviewer API (docs/FORMAT.md
// "Signed request").
#include <cstring>

#include "format/format.h"

namespace sealdrop {
namespace format {
namespace {

constexpr char kContext[] = "sealdrop-request-1";
constexpr size_t kMaxTarget = 2048;
constexpr size_t kMaxRange = 256;

// Decimal digits only, no sign, blank or leading zero (one spelling per
// value), at most 19 of them (below 10^19 < 2^64).
bool Decimal(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + uint64_t(c - '0');
  }
  *out = v;
  return true;
}

template <size_t N>
bool FixedHex(const std::string& s, std::array<uint8_t, N>* out) {
  std::vector<uint8_t> bytes;
  if (s.size() != 2 * N || !crypto::FromHex(s, &bytes)) return false;
  for (char c : s)
    if (c >= 'A' && c <= 'F') return false;  // one spelling, lower case
  std::memcpy(out->data(), bytes.data(), N);
  return true;
}

// Printable ASCII: nothing that could end a line of the canonical form.
bool Printable(const std::string& s, size_t max, bool space) {
  if (s.size() > max) return false;
  for (unsigned char c : s)
    if (c < (space ? 0x20 : 0x21) || c > 0x7e) return false;
  return true;
}

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& a) {
  return crypto::ToHex(a.data(), N);
}

}  // namespace

std::string CanonicalRequest(const RequestHead& h) {
  std::string s;
  for (const std::string& line :
       {std::string(kContext), h.method, h.target, Hex(h.instance), crypto::FormatSigningPublic(h.key),
        std::to_string(h.length), h.range, Hex(h.body), std::to_string(h.time), Hex(h.nonce)}) {
    s += line;
    s += '\n';
  }
  return s;
}

void SignRequest(const crypto::SigningKey& key, RequestHead* h) {
  h->key = key.pk;
  const std::string m = CanonicalRequest(*h);
  crypto::Sign(key, reinterpret_cast<const uint8_t*>(m.data()), m.size(), h->sig.data());
}

std::vector<std::pair<std::string, std::string>> RequestHeaders(const RequestHead& h) {
  return {{"Sealdrop-Key", crypto::FormatSigningPublic(h.key)},
          {"Sealdrop-Instance", Hex(h.instance)},
          {"Sealdrop-Length", std::to_string(h.length)},
          {"Sealdrop-Body", Hex(h.body)},
          {"Sealdrop-Time", std::to_string(h.time)},
          {"Sealdrop-Nonce", Hex(h.nonce)},
          {"Sealdrop-Signature", Hex(h.sig)}};
}

Status ParseRequestHead(const std::string& method, const std::string& target,
                        const std::string* content_length,
                        const std::function<bool(const std::string&, std::string*)>& header,
                        RequestHead* out, Refusal* why) {
  *out = RequestHead{};
  std::string v;
  if (!header("Sealdrop-Signature", &v)) {
    *why = Refusal::kUnsigned;
    return Status::InvalidArgument("unsigned request: no Sealdrop-Signature header");
  }
  *why = Refusal::kMalformed;
  auto bad = [](const std::string& what) {
    return Status::InvalidArgument("malformed signed request: " + what);
  };
  if (!FixedHex(v, &out->sig)) return bad("Sealdrop-Signature is not 128 hex digits");
  if (method.empty() || method.size() > 16) return bad("the method");
  for (char c : method)
    if (c < 'A' || c > 'Z') return bad("the method");
  out->method = method;
  if (target.empty() || target[0] != '/' || !Printable(target, kMaxTarget, false))
    return bad("the request target");
  out->target = target;
  if (!header("Sealdrop-Key", &v) || !crypto::ParseSigningPublic(v, &out->key).ok())
    return bad("Sealdrop-Key is missing or not an sdsig1: key");
  if (!header("Sealdrop-Instance", &v) || !FixedHex(v, &out->instance))
    return bad("Sealdrop-Instance is missing or not 64 hex digits");
  if (!header("Sealdrop-Length", &v) || !Decimal(v, &out->length))
    return bad("Sealdrop-Length is missing or not a decimal number");
  if (!header("Sealdrop-Body", &v) || !FixedHex(v, &out->body))
    return bad("Sealdrop-Body is missing or not 64 hex digits");
  if (!header("Sealdrop-Time", &v) || !Decimal(v, &out->time))
    return bad("Sealdrop-Time is missing or not a decimal number");
  if (!header("Sealdrop-Nonce", &v) || !FixedHex(v, &out->nonce))
    return bad("Sealdrop-Nonce is missing or not 32 hex digits");
  // Content-Range (an upload's part) or Range (a download's), signed as is.
  if (header("Content-Range", &v) || header("Range", &v)) {
    if (!Printable(v, kMaxRange, true)) return bad("the range header");
    out->range = v;
  }
  uint64_t sent = 0;
  if (content_length != nullptr && !Decimal(*content_length, &sent)) return bad("Content-Length");
  if (sent != out->length) {
    *why = Refusal::kWrongLength;
    return Status::InvalidArgument("Content-Length " + std::to_string(sent) +
                                   " is not the signed length " + std::to_string(out->length));
  }
  *why = Refusal::kNone;
  return Status::OK();
}

Status VerifyRequest(const RequestHead& h, const crypto::SignPublic& instance,
                     const std::vector<crypto::SignPublic>& keys, uint64_t now, uint64_t since,
                     Refusal* why) {
  if (h.instance != instance) {
    *why = Refusal::kWrongInstance;
    return Status::AuthFailed("the request was signed for another instance");
  }
  bool listed = false;
  for (const auto& k : keys) listed = listed || k == h.key;
  if (!listed) {
    *why = Refusal::kUnknownKey;
    return Status::AuthFailed("the request's key is not a listed courier");
  }
  if (h.time + kRequestSkew < now || h.time > now + kRequestSkew) {
    *why = Refusal::kStale;
    return Status::AuthFailed("the request's time is more than " + std::to_string(kRequestSkew) +
                              " s from the server's");
  }
  const std::string m = CanonicalRequest(h);
  if (!crypto::Verify(h.key.data(), reinterpret_cast<const uint8_t*>(m.data()), m.size(),
                      h.sig.data())) {
    *why = Refusal::kBadSignature;
    return Status::AuthFailed("the request's signature does not verify");
  }
  if (h.time < since) {
    *why = Refusal::kReplayed;
    return Status::AuthFailed("the request was signed before the server started");
  }
  *why = Refusal::kNone;
  return Status::OK();
}

bool NonceCache::Admit(const Nonce& n, uint64_t time, uint64_t now) {
  std::lock_guard<std::mutex> l(mu_);
  // Past the window a nonce cannot come back: VerifyRequest refuses its time.
  while (!by_time_.empty() && by_time_.begin()->first + kRequestSkew < now) {
    seen_.erase(by_time_.begin()->second);
    by_time_.erase(by_time_.begin());
  }
  if (seen_.count(n) || seen_.size() >= max_) return false;
  seen_.emplace(n, time);
  by_time_.emplace(time, n);
  return true;
}

size_t NonceCache::size() {
  std::lock_guard<std::mutex> l(mu_);
  return seen_.size();
}

}  // namespace format
}  // namespace sealdrop
