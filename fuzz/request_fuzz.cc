// request_fuzz: the signed head of a courier's request to the reviewer API
// (format/request.cc, FORMAT.md "Signed request"): ParseRequestHead, which
// the server runs on every such request before it reads any body;
// CanonicalRequest, RequestHeaders and SignRequest, which the courier uses
// to send one; VerifyRequest; and NonceCache.
//
// Input: an HTTP-like request head as text, lines ended by LF (a CR before
// the LF is dropped, as for HTTP's CRLF):
//   METHOD TARGET     split at the first space; TARGET is the rest of the
//                     line, spaces included, so that the parser's own
//                     checks meet what a lax HTTP library might pass on
//   Name: value       header lines, up to an empty line or the end
//   (empty line)
//   control bytes     not a body: they drive oracles 3 and 4 below
// Header lines are read as cpp-httplib, the server's HTTP library, reads
// them: the name is everything before the first ':', the value the rest
// with spaces and tabs trimmed at both ends; a lookup compares names without
// regard to ASCII case (httplib's header map is case-insensitive) and the
// first line of a name wins (httplib's get_header_value). A line without
// ':' or with an empty name is skipped (httplib refuses such a request
// whole). Unlike httplib's, values are neither percent-decoded nor checked
// as field values: the parser must stand up to any bytes. A Content-Length
// header, when there is one, is handed to ParseRequestHead as the request's
// Content-Length.
//
// Oracles besides the sanitizers, written from FORMAT.md (Reference() is
// this file's own reading of it), not from the library:
// 1. ParseRequestHead's refusal is the reference's: kUnsigned without
//    Sealdrop-Signature; else kMalformed when a signed header is missing or
//    not in its form (decimal: 1 to 19 digits, no sign; hex: lower case,
//    exact length; Sealdrop-Key: "sdsig1:" and the one base64url spelling,
//    no padding, of a valid Ed25519 point; method: 1 to 16 of A-Z; target:
//    printable ASCII without space, starting with '/', at most 2048 bytes;
//    range: Content-Range if present, else Range, printable ASCII with
//    space, at most 256 bytes) or when Content-Length is not such a decimal;
//    else kWrongLength when Content-Length (0 when absent) is not
//    Sealdrop-Length. FORMAT.md orders "every header present and in its
//    form" before the length. Refusals come as InvalidArgument; an accepted
//    head equals the reference's field by field. The parser asks only for
//    the headers FORMAT.md names.
// 2. An accepted head: CanonicalRequest is exactly ten LF-ended lines, the
//    first "sealdrop-request-1", with no CR anywhere, and equals the form
//    FORMAT.md builds from the values as sent (DocCanonical); RequestHeaders
//    gives the seven headers of FORMAT.md's table, each once, with the
//    values sent; read back with the same range and Content-Length they
//    give the same head.
// 3. Signed again (SignRequest) with the fixed key, RFC 8032's first test
//    seed as in the `signed-request` vector, the head verifies at its own
//    time, 300 s either side of it and with the key anywhere in the list;
//    it is refused as kStale at 301 s either side, kWrongInstance for
//    another instance, kUnknownKey with no key or another one listed,
//    kReplayed when signed before the server's start, and kBadSignature
//    with one byte of one signed field or of the signature changed (field,
//    byte and change chosen by the control bytes; the instance or key
//    changed is also the one the server expects, so that only the signature
//    is left to refuse it). The head as parsed, with the signature it came
//    with, verifies exactly when crypto::Verify says that signature is the
//    listed key's over CanonicalRequest: with the fixed key listed, and with
//    its own.
// 4. NonceCache (at most 1 to 4 entries, chosen by the control bytes) fed
//    up to 24 (nonce, time, now) with now never going back: Admit and size
//    follow a reference map that forgets an entry once its time + 300 < now
//    and, full, admits nothing new.
// Once per process (CheckBounds): each of FORMAT.md's bounds (method,
// target, range, decimals) at its value and one past, which random inputs
// seldom hit, goes through the oracles above, with the verdict FORMAT.md
// gives checked against the reference's as well.
#include <fuzzer/FuzzedDataProvider.h>
#include <sodium.h>

#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "format/format.h"
#include "fuzz/fuzz_util.h"

using namespace sealdrop;
using format::Refusal;
using format::RequestHead;

namespace {

// FORMAT.md "Signed request", as written there.
constexpr char kDocContext[] = "sealdrop-request-1";
constexpr size_t kDocMaxMethod = 16;
constexpr size_t kDocMaxTarget = 2048;
constexpr size_t kDocMaxRange = 256;
constexpr size_t kDocMaxDecimal = 19;
constexpr uint64_t kDocSkew = 300;
const char* const kDocSigned[] = {"Sealdrop-Key",  "Sealdrop-Instance", "Sealdrop-Length",
                                  "Sealdrop-Body", "Sealdrop-Time",     "Sealdrop-Nonce",
                                  "Sealdrop-Signature"};
// A time like the vector's, for the nonce cache's sequences.
constexpr uint64_t kBase = 1796083200;
constexpr size_t kMaxCache = 4;

const char* Name(Refusal r) {
  switch (r) {
    case Refusal::kNone: return "none";
    case Refusal::kUnsigned: return "unsigned";
    case Refusal::kMalformed: return "malformed";
    case Refusal::kUnknownKey: return "unknown key";
    case Refusal::kWrongInstance: return "wrong instance";
    case Refusal::kStale: return "stale";
    case Refusal::kBadSignature: return "bad signature";
    case Refusal::kReplayed: return "replayed";
    case Refusal::kWrongLength: return "wrong length";
    case Refusal::kWrongBody: return "wrong body";
  }
  return "?";
}

const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// --- the input -------------------------------------------------------------------

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Input {
  std::string method, target;
  Headers headers;
  const uint8_t* control = nullptr;
  size_t control_size = 0;
};

bool SpaceOrTab(char c) { return c == ' ' || c == '\t'; }

Input Split(const uint8_t* data, size_t size) {
  Input in;
  const char* p = reinterpret_cast<const char*>(data);
  const char* const end = p + size;
  bool request_line = true;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
    std::string line(p, nl != nullptr ? nl : end);
    p = nl != nullptr ? nl + 1 : end;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (request_line) {
      request_line = false;
      const size_t sp = line.find(' ');
      in.method = line.substr(0, sp);
      if (sp != std::string::npos) in.target = line.substr(sp + 1);
      continue;
    }
    if (line.empty()) {
      in.control = reinterpret_cast<const uint8_t*>(p);
      in.control_size = size_t(end - p);
      break;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) continue;
    size_t b = colon + 1, e = line.size();
    while (b < e && SpaceOrTab(line[b])) b++;
    while (e > b && SpaceOrTab(line[e - 1])) e--;
    in.headers.emplace_back(line.substr(0, colon), line.substr(b, e - b));
  }
  return in;
}

bool SameNameNoCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// The first header of that name, any case; null when there is none.
const std::string* Find(const Headers& hs, const std::string& name) {
  for (const auto& kv : hs)
    if (SameNameNoCase(kv.first, name)) return &kv.second;
  return nullptr;
}

// --- FORMAT.md's rules -----------------------------------------------------------

// One spelling: no leading zero ("0" itself is one).
bool DocDecimal(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > kDocMaxDecimal || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + uint64_t(c - '0');
  }
  *out = v;
  return true;
}

int LowerHexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <size_t N>
bool DocHex(const std::string& s, std::array<uint8_t, N>* out) {
  if (s.size() != 2 * N) return false;
  for (size_t i = 0; i < N; i++) {
    const int hi = LowerHexDigit(s[2 * i]), lo = LowerHexDigit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = uint8_t(hi << 4 | lo);
  }
  return true;
}

int Base64UrlDigit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// "Public keys": sdsig1: and the base64url of 32 bytes without padding,
// which must be a valid Ed25519 point. 32 bytes take 43 characters, the
// last carrying 4 bits and 2 unused ones, zero in the key's one spelling.
bool DocKey(const std::string& s, crypto::SignPublic* out) {
  static const std::string kPrefix = "sdsig1:";
  if (s.size() != kPrefix.size() + 43 || s.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (size_t i = kPrefix.size(); i < s.size(); i++) {
    const int d = Base64UrlDigit(s[i]);
    if (d < 0) return false;
    acc = (acc << 6) | uint32_t(d);  // only the low 14 bits matter
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      (*out)[n++] = uint8_t(acc >> bits);
    }
  }
  if (n != 32 || bits != 2 || (acc & 3) != 0) return false;
  // libsodium's own definition: canonical, on the curve, in the prime-order
  // subgroup, not of small order.
  return crypto_core_ed25519_is_valid_point(out->data()) == 1;
}

bool DocPrintable(const std::string& s, size_t max, bool space) {
  if (s.size() > max) return false;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c > 0x7e || c < (space ? 0x20 : 0x21)) return false;
  }
  return true;
}

bool DocMethod(const std::string& m) {
  if (m.empty() || m.size() > kDocMaxMethod) return false;
  for (char c : m)
    if (c < 'A' || c > 'Z') return false;
  return true;
}

bool DocTarget(const std::string& t) {
  return !t.empty() && t[0] == '/' && DocPrintable(t, kDocMaxTarget, false);
}

struct Expect {
  Refusal why = Refusal::kNone;
  std::string broken;  // the first rule broken, for the message
  RequestHead head;    // when accepted
  std::string key;     // Sealdrop-Key as sent
  const std::string* range_header = nullptr;  // "Content-Range" or "Range" when one is sent
  const std::string* content_length = nullptr;
};

Expect Reference(const Input& in) {
  Expect e;
  RequestHead& h = e.head;
  const std::string* sig = Find(in.headers, "Sealdrop-Signature");
  if (sig == nullptr) {
    e.why = Refusal::kUnsigned;
    return e;
  }
  // Every signed header present and in its form; which rule broke first
  // does not change the refusal.
  auto rule = [&e](bool ok, const char* what) {
    if (!ok && e.broken.empty()) e.broken = what;
  };
  auto header = [&in](const char* name) { return Find(in.headers, name); };
  rule(DocHex(*sig, &h.sig), "Sealdrop-Signature");
  rule(DocMethod(in.method), "method");
  h.method = in.method;
  rule(DocTarget(in.target), "target");
  h.target = in.target;
  const std::string* v = header("Sealdrop-Key");
  if (v != nullptr) e.key = *v;
  rule(v != nullptr && DocKey(e.key, &h.key), "Sealdrop-Key");
  v = header("Sealdrop-Instance");
  rule(v != nullptr && DocHex(*v, &h.instance), "Sealdrop-Instance");
  v = header("Sealdrop-Length");
  rule(v != nullptr && DocDecimal(*v, &h.length), "Sealdrop-Length");
  v = header("Sealdrop-Body");
  rule(v != nullptr && DocHex(*v, &h.body), "Sealdrop-Body");
  v = header("Sealdrop-Time");
  rule(v != nullptr && DocDecimal(*v, &h.time), "Sealdrop-Time");
  v = header("Sealdrop-Nonce");
  rule(v != nullptr && DocHex(*v, &h.nonce), "Sealdrop-Nonce");
  static const std::string kContentRange = "Content-Range", kRange = "Range";
  v = header("Content-Range");
  e.range_header = v != nullptr ? &kContentRange : nullptr;
  if (v == nullptr && (v = header("Range")) != nullptr) e.range_header = &kRange;
  if (v != nullptr) {
    rule(DocPrintable(*v, kDocMaxRange, true), "range");
    h.range = *v;
  }
  uint64_t sent = 0;
  e.content_length = header("Content-Length");
  if (e.content_length != nullptr)
    rule(DocDecimal(*e.content_length, &sent), "Content-Length");
  if (!e.broken.empty()) {
    e.why = Refusal::kMalformed;
    return e;
  }
  if (sent != h.length) {
    e.why = Refusal::kWrongLength;
    e.broken = "Content-Length " + std::to_string(sent) + " vs " + std::to_string(h.length);
  }
  return e;
}

// The fields in which two heads differ, empty when none.
std::string Diff(const RequestHead& a, const RequestHead& b) {
  std::string d;
  auto field = [&d](bool same, const char* name) {
    if (!same) d += std::string(d.empty() ? "" : ", ") + name;
  };
  field(a.method == b.method, "method");
  field(a.target == b.target, "target");
  field(a.key == b.key, "key");
  field(a.instance == b.instance, "instance");
  field(a.length == b.length, "length");
  field(a.range == b.range, "range");
  field(a.body == b.body, "body");
  field(a.time == b.time, "time");
  field(a.nonce == b.nonce, "nonce");
  field(a.sig == b.sig, "sig");
  return d;
}

// FORMAT.md's canonical form of an accepted head, from the values as sent:
// every value has one spelling (no leading zeros, lower-case hex, the key as
// FORMAT.md writes it), so "as sent" is unambiguous.
std::string DocCanonical(const Input& in, const Expect& e) {
  std::string s;
  for (const std::string& line :
       {std::string(kDocContext), in.method, in.target, *Find(in.headers, "Sealdrop-Instance"),
        e.key, *Find(in.headers, "Sealdrop-Length"), e.head.range,
        *Find(in.headers, "Sealdrop-Body"), *Find(in.headers, "Sealdrop-Time"),
        *Find(in.headers, "Sealdrop-Nonce")}) {
    s += line;
    s += '\n';
  }
  return s;
}

using Lookup = std::function<bool(const std::string&, std::string*)>;

// ParseRequestHead over a header list, checking the names it asks for.
Status Parse(const std::string& method, const std::string& target, const Headers& hs,
             const std::string* content_length, RequestHead* out, Refusal* why) {
  const Lookup lookup = [&hs](const std::string& name, std::string* value) {
    bool known = SameNameNoCase(name, "Content-Range") || SameNameNoCase(name, "Range") ||
                 SameNameNoCase(name, "Content-Length");
    for (const char* s : kDocSigned) known = known || SameNameNoCase(name, s);
    FUZZ_CHECK(known, "ParseRequestHead asks for a header FORMAT.md does not name: " + name);
    const std::string* v = Find(hs, name);
    if (v == nullptr) return false;
    *value = *v;
    return true;
  };
  return format::ParseRequestHead(method, target, content_length, lookup, out, why);
}

// --- oracle 2 --------------------------------------------------------------------

void CheckCanonical(const Input& in, const Expect& e, const RequestHead& got) {
  const std::string c = format::CanonicalRequest(got);
  size_t lines = 0;
  for (char ch : c) lines += ch == '\n';
  FUZZ_CHECK(lines == 10 && !c.empty() && c.back() == '\n',
             "the canonical form has " + std::to_string(lines) + " LFs: " + c);
  FUZZ_CHECK(c.find('\r') == std::string::npos, "a CR in the canonical form");
  FUZZ_CHECK(c.compare(0, sizeof kDocContext, std::string(kDocContext) + "\n") == 0,
             "the canonical form does not start with sealdrop-request-1");
  FUZZ_CHECK(c == DocCanonical(in, e),
             "CanonicalRequest is not FORMAT.md's:\n" + c + "---\n" + DocCanonical(in, e));
}

void CheckHeaders(const Input& in, const Expect& e, const RequestHead& got) {
  const Headers sent = format::RequestHeaders(got);
  FUZZ_CHECK(sent.size() == std::size(kDocSigned),
             "RequestHeaders gives " + std::to_string(sent.size()) + " headers");
  for (const char* name : kDocSigned) {
    size_t n = 0;
    for (const auto& kv : sent) n += kv.first == name;
    FUZZ_CHECK(n == 1, std::string("RequestHeaders gives ") + name + " " + std::to_string(n) +
                           " times (spelled as FORMAT.md does)");
  }
  for (const auto& kv : sent) {
    // Every value has one spelling: as sent.
    const std::string want = *Find(in.headers, kv.first);
    FUZZ_CHECK(kv.second == want, kv.first + ": RequestHeaders gives '" + kv.second +
                                      "', the request sent '" + want + "'");
  }
  // Read back as the courier sends it: the same range and Content-Length.
  Headers again = sent;
  if (e.range_header != nullptr) again.emplace_back(*e.range_header, got.range);
  RequestHead back;
  Refusal why = Refusal::kNone;
  Status s = Parse(got.method, got.target, again, e.content_length, &back, &why);
  FUZZ_CHECK(s.ok() && why == Refusal::kNone,
             "RequestHeaders read back is refused: " + s.ToString() + " (" + Name(why) + ")");
  const std::string d = Diff(back, got);
  FUZZ_CHECK(d.empty(), "RequestHeaders read back gives another " + d);
}

// --- oracle 3 --------------------------------------------------------------------

Refusal Verify(const RequestHead& h, const crypto::SignPublic& instance,
               const std::vector<crypto::SignPublic>& keys, uint64_t now, uint64_t since) {
  Refusal why = Refusal::kMalformed;  // not a refusal VerifyRequest gives
  Status s = format::VerifyRequest(h, instance, keys, now, since, &why);
  FUZZ_CHECK(s.ok() == (why == Refusal::kNone),
             "VerifyRequest's status " + s.ToString() + " and refusal " + Name(why) + " disagree");
  FUZZ_CHECK(s.ok() || s.Is(Status::Code::kAuthFailed),
             "VerifyRequest refused with " + s.ToString());
  return why;
}

void ExpectRefusal(Refusal got, Refusal want, const std::string& what) {
  FUZZ_CHECK(got == want, what + ": " + Name(got) + ", not " + Name(want));
}

// One byte of one signed field, or of the signature, changed; the instance
// and the key list the server expects follow a changed instance or key, so
// that only the signature can refuse the head.
std::string Tamper(FuzzedDataProvider* fdp, RequestHead* h, crypto::SignPublic* instance,
                   std::vector<crypto::SignPublic>* keys, uint64_t* now) {
  const uint8_t field = fdp->ConsumeIntegralInRange<uint8_t>(0, 9);
  const size_t at = fdp->ConsumeIntegral<uint16_t>();
  const uint8_t x = fdp->ConsumeIntegralInRange<uint8_t>(1, 255);
  auto flip = [&](uint8_t* p, size_t n) { p[at % n] ^= x; };
  auto flip_text = [&](std::string* s) {
    if (s->empty()) s->push_back(char(x));
    else (*s)[at % s->size()] = char(uint8_t((*s)[at % s->size()]) ^ x);
  };
  switch (field) {
    case 0: flip_text(&h->method); return "method";
    case 1: flip_text(&h->target); return "target";
    case 2:
      flip(h->instance.data(), h->instance.size());
      *instance = h->instance;
      return "instance";
    case 3:
      flip(h->key.data(), h->key.size());
      *keys = {h->key};
      return "key";
    case 4: flip(reinterpret_cast<uint8_t*>(&h->length), 8); return "length";
    case 5: flip_text(&h->range); return "range";
    case 6: flip(h->body.data(), h->body.size()); return "body";
    case 7:
      // The low 7 bytes, so that time + 301 stays far from 2^64.
      h->time ^= uint64_t(x) << (8 * (at % 7));
      *now = h->time;
      return "time";
    case 8: flip(h->nonce.data(), h->nonce.size()); return "nonce";
    default: flip(h->sig.data(), h->sig.size()); return "signature";
  }
}

void CheckVerify(const RequestHead& got, FuzzedDataProvider* fdp) {
  const crypto::SignPublic& pk = fuzz::TestSigningKey().pk;
  // As parsed: it verifies exactly when its signature is the listed key's.
  const std::string c = format::CanonicalRequest(got);
  const bool by_fixed = got.key == pk && crypto::Verify(pk.data(), U8(c), c.size(), got.sig.data());
  ExpectRefusal(Verify(got, got.instance, {pk}, got.time, 0),
            by_fixed ? Refusal::kNone : got.key != pk ? Refusal::kUnknownKey
                                                      : Refusal::kBadSignature,
            "the head as parsed, with the fixed key listed");
  const bool by_own = crypto::Verify(got.key.data(), U8(c), c.size(), got.sig.data());
  ExpectRefusal(Verify(got, got.instance, {got.key}, got.time, 0),
            by_own ? Refusal::kNone : Refusal::kBadSignature,
            "the head as parsed, with its own key listed");

  RequestHead h = got;
  format::SignRequest(fuzz::TestSigningKey(), &h);
  FUZZ_CHECK(h.key == pk, "SignRequest did not set the key");
  const std::string signed_form = format::CanonicalRequest(h);
  FUZZ_CHECK(crypto::Verify(pk.data(), U8(signed_form), signed_form.size(), h.sig.data()),
             "SignRequest's signature is not over CanonicalRequest");
  const uint64_t t = h.time;
  crypto::SignPublic other_key = pk;
  other_key[0] ^= 1;
  ExpectRefusal(Verify(h, h.instance, {pk}, t, t), Refusal::kNone, "signed, at its own time");
  ExpectRefusal(Verify(h, h.instance, {other_key, pk}, t + kDocSkew, 0), Refusal::kNone,
            "signed, 300 s later, the key second in the list");
  ExpectRefusal(Verify(h, h.instance, {pk}, t + kDocSkew + 1, 0), Refusal::kStale,
            "signed, 301 s later");
  if (t >= kDocSkew + 1) {
    ExpectRefusal(Verify(h, h.instance, {pk}, t - kDocSkew, 0), Refusal::kNone,
              "signed, 300 s earlier");
    ExpectRefusal(Verify(h, h.instance, {pk}, t - kDocSkew - 1, 0), Refusal::kStale,
              "signed, 301 s earlier");
  }
  crypto::SignPublic other_instance = h.instance;
  other_instance[fdp->ConsumeIntegralInRange<size_t>(0, 31)] ^= 0x80;
  ExpectRefusal(Verify(h, other_instance, {pk}, t, 0), Refusal::kWrongInstance,
            "signed, for another instance");
  ExpectRefusal(Verify(h, h.instance, {}, t, 0), Refusal::kUnknownKey, "signed, no key listed");
  ExpectRefusal(Verify(h, h.instance, {other_key}, t, 0), Refusal::kUnknownKey,
            "signed, another key listed");
  ExpectRefusal(Verify(h, h.instance, {pk}, t, t + 1), Refusal::kReplayed,
            "signed a second before the server started");

  RequestHead bad = h;
  crypto::SignPublic instance = h.instance;
  std::vector<crypto::SignPublic> keys = {pk};
  uint64_t now = t;
  const std::string what = Tamper(fdp, &bad, &instance, &keys, &now);
  ExpectRefusal(Verify(bad, instance, keys, now, 0), Refusal::kBadSignature,
            "signed, then one byte of the " + what + " changed");
}

// --- oracle 4 --------------------------------------------------------------------

void CheckNonces(FuzzedDataProvider* fdp) {
  const size_t max = fdp->ConsumeIntegralInRange<size_t>(1, kMaxCache);
  format::NonceCache cache(max);
  std::map<format::Nonce, uint64_t> model;
  uint64_t now = kBase;
  const int steps = fdp->ConsumeIntegralInRange<int>(0, 24);
  for (int i = 0; i < steps && fdp->remaining_bytes() > 0; i++) {
    format::Nonce n{};
    n[0] = fdp->ConsumeIntegralInRange<uint8_t>(0, 7);
    now += fdp->ConsumeIntegralInRange<uint64_t>(0, 2 * kDocSkew + 20);
    // Signed up to a little more than the window either side of now.
    const uint64_t time =
        now - kDocSkew - 10 + fdp->ConsumeIntegralInRange<uint64_t>(0, 2 * kDocSkew + 20);
    for (auto it = model.begin(); it != model.end();)
      it = it->second + kDocSkew < now ? model.erase(it) : std::next(it);
    const bool want = model.count(n) == 0 && model.size() < max;
    if (want) model.emplace(n, time);
    const bool admitted = cache.Admit(n, time, now);
    FUZZ_CHECK(admitted == want, "step " + std::to_string(i) + ": nonce " + std::to_string(n[0]) +
                                     " time " + std::to_string(time) + " now " +
                                     std::to_string(now) + (admitted ? " admitted" : " refused"));
    FUZZ_CHECK(cache.size() == model.size(), "NonceCache holds " + std::to_string(cache.size()) +
                                                 " nonces, not " + std::to_string(model.size()));
  }
}

// Every oracle on one input; returns the reference's refusal.
Refusal One(const uint8_t* data, size_t size) {
  const Input in = Split(data, size);
  const Expect e = Reference(in);
  RequestHead got;
  Refusal why = Refusal::kNone;
  Status s = Parse(in.method, in.target, in.headers, e.content_length, &got, &why);
  FUZZ_CHECK(why == e.why, std::string("ParseRequestHead: ") + Name(why) + " (" + s.ToString() +
                               "), FORMAT.md: " + Name(e.why) +
                               (e.broken.empty() ? "" : " (" + e.broken + ")"));
  FUZZ_CHECK(s.ok() == (why == Refusal::kNone) && (s.ok() || s.Is(Status::Code::kInvalidArgument)),
             "ParseRequestHead's status " + s.ToString() + " with refusal " + Name(why));
  FuzzedDataProvider fdp(in.control, in.control_size);
  if (s.ok()) {
    const std::string d = Diff(got, e.head);
    FUZZ_CHECK(d.empty(), "ParseRequestHead read another " + d + " than FORMAT.md");
    CheckCanonical(in, e, got);
    CheckHeaders(in, e, got);
    CheckVerify(got, &fdp);
  }
  CheckNonces(&fdp);
  return e.why;
}

// Once: FORMAT.md's bounds on both sides, which inputs of at most 4 KiB
// seldom hit by chance (and a 2049-byte target never alone): each case is
// a valid head with one value at or one past its bound. The reference's
// verdict is checked too, so that it cannot share a mistake unseen.
void CheckBounds() {
  const std::string zeros64(64, '0');
  const Headers valid = {{"Sealdrop-Key", crypto::FormatSigningPublic(fuzz::TestSigningKey().pk)},
                         {"Sealdrop-Instance", zeros64},
                         {"Sealdrop-Length", "0"},
                         {"Sealdrop-Body", zeros64},
                         {"Sealdrop-Time", "1796083200"},
                         {"Sealdrop-Nonce", std::string(32, '0')},
                         {"Sealdrop-Signature", std::string(128, '0')}};
  struct Case {
    std::string method, target, name, value;  // `name` set to `value` (added if absent)
    Refusal want;
  };
  const std::string nineteen = "9999999999999999999", twenty = "00000000000000000001";
  const Case cases[] = {
      {std::string(16, 'Z'), "/", "", "", Refusal::kNone},
      {std::string(17, 'Z'), "/", "", "", Refusal::kMalformed},
      {"GET", "/" + std::string(2047, '~'), "", "", Refusal::kNone},
      {"GET", "/" + std::string(2048, '~'), "", "", Refusal::kMalformed},
      // Spaces inside: those at either end are not part of a header's value.
      {"GET", "/", "Content-Range", "b" + std::string(254, ' ') + "b", Refusal::kNone},
      {"GET", "/", "Content-Range", "b" + std::string(255, ' ') + "b", Refusal::kMalformed},
      {"GET", "/", "Range", std::string(256, '!'), Refusal::kNone},
      {"GET", "/", "Range", std::string(257, '!'), Refusal::kMalformed},
      {"GET", "/", "Sealdrop-Time", nineteen, Refusal::kNone},
      {"GET", "/", "Sealdrop-Time", twenty, Refusal::kMalformed},
      {"GET", "/", "Sealdrop-Time", "+1796083200", Refusal::kMalformed},
      {"GET", "/", "Sealdrop-Length", nineteen, Refusal::kWrongLength},
      {"GET", "/", "Content-Length", nineteen, Refusal::kWrongLength},
      {"GET", "/", "Content-Length", twenty, Refusal::kMalformed},
      // One spelling: a leading zero is refused, "0" itself is the value zero.
      {"GET", "/", "Content-Length", "0000000000000000000", Refusal::kMalformed},
      {"GET", "/", "Content-Length", "0", Refusal::kNone},
      {"GET", "/", "Sealdrop-Length", "00", Refusal::kMalformed},
      {"GET", "/", "Sealdrop-Time", "01796083200", Refusal::kMalformed},
  };
  for (const Case& c : cases) {
    Headers hs = valid;
    bool set = c.name.empty();
    for (auto& kv : hs)
      if (kv.first == c.name) kv.second = c.value, set = true;
    if (!set) hs.emplace_back(c.name, c.value);
    std::string text = c.method + " " + c.target + "\n";
    for (const auto& kv : hs) text += kv.first + ": " + kv.second + "\n";
    const Refusal r = One(U8(text), text.size());
    FUZZ_CHECK(r == c.want, "bound case " + c.name + " '" + c.value.substr(0, 24) + "' (" +
                                std::to_string(c.method.size() + c.target.size()) +
                                " bytes of request line): the reference says " + Name(r) +
                                ", not " + Name(c.want));
  }
  // Sealdrop-Length at its largest, with the Content-Length that matches.
  std::string text = "GET /\n";
  for (const auto& kv : valid)
    text += kv.first + ": " + (kv.first == "Sealdrop-Length" ? nineteen : kv.second) + "\n";
  text += "Content-Length: " + nineteen + "\n";
  FUZZ_CHECK(One(U8(text), text.size()) == Refusal::kNone, "the largest length is refused");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::TestSigningKey();
  static const bool once = [] {
    FUZZ_CHECK(format::kRequestSkew == kDocSkew, "kRequestSkew is not FORMAT.md's 300 s");
    FUZZ_CHECK(format::kNonceSize == 16, "kNonceSize is not FORMAT.md's 16 bytes");
    CheckBounds();
    return true;
  }();
  (void)once;
  One(data, size);
  return 0;
}
