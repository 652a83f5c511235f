// urlencoded_fuzz: server::FormField, which reads the small urlencoded forms
// (log-in, confirmation, deleting a reply) into guarded memory.
//
// Input: first byte picks the field name asked for, the rest is the body.
// Oracles besides the sanitizers: the answer and the value agree with a
// plain reference decoder written from the header's description (first
// field of that name; '+' a space; '%' and two hex digits a byte, anything
// else kept); the value is never longer than the encoded field.
#include <cstring>
#include <string>

#include "fuzz/fuzz_util.h"
#include "server/server.h"

using namespace sealdrop;

namespace {

const char* const kNames[] = {"codename", "w1", "w2", "id", "csrf", "c"};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Reference(const std::string& body, const std::string& name, std::string* value,
               size_t* encoded) {
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('&', pos);
    if (end == std::string::npos) end = body.size();
    const std::string field = body.substr(pos, end - pos);
    if (field.size() > name.size() && field.compare(0, name.size(), name) == 0 &&
        field[name.size()] == '=') {
      const std::string raw = field.substr(name.size() + 1);
      *encoded = raw.size();
      value->clear();
      for (size_t i = 0; i < raw.size(); i++) {
        if (raw[i] == '+') {
          *value += ' ';
        } else if (raw[i] == '%' && i + 2 < raw.size() &&
                   HexDigit(raw[i + 1]) >= 0 && HexDigit(raw[i + 2]) >= 0) {
          *value += char(HexDigit(raw[i + 1]) * 16 + HexDigit(raw[i + 2]));
          i += 2;
        } else {
          *value += raw[i];
        }
      }
      return true;
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InitOnce();
  if (size == 0) return 0;
  const std::string name = kNames[data[0] % (sizeof kNames / sizeof kNames[0])];
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  crypto::Secret got;
  const bool found = server::FormField(data + 1, size - 1, name.c_str(), &got);
  std::string want;
  size_t encoded = 0;
  const bool ref = Reference(body, name, &want, &encoded);
  FUZZ_CHECK(found == ref, "FormField and the reference disagree on whether the field is there");
  if (!found) return 0;
  FUZZ_CHECK(got.size() <= encoded, "the value is longer than the encoded field");
  FUZZ_CHECK(got.size() == want.size() &&
                 (want.empty() || std::memcmp(got.data(), want.data(), want.size()) == 0),
             "FormField's value differs from the reference");
  return 0;
}
