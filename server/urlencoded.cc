// The small application/x-www-form-urlencoded forms (log-in, confirmation,
// deleting a reply): one field's value, decoded into guarded memory, since
// it may be a codename.
#include <cstring>

#include "server/server.h"

namespace sealdrop {
namespace server {
namespace {

int Hex(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool FormField(const uint8_t* body, size_t len, const char* name, crypto::Secret* out) {
  const size_t nl = std::strlen(name);
  size_t pos = 0;
  while (pos < len) {
    size_t end = pos;
    while (end < len && body[end] != '&') end++;
    if (end - pos > nl && std::memcmp(body + pos, name, nl) == 0 && body[pos + nl] == '=') {
      // Decoding never lengthens: the encoded length bounds the value.
      *out = crypto::Secret(end - pos - nl - 1);
      size_t n = 0;
      for (size_t i = pos + nl + 1; i < end; i++) {
        uint8_t c = body[i];
        if (c == '+') {
          c = ' ';
        } else if (c == '%' && i + 2 < end && Hex(body[i + 1]) >= 0 && Hex(body[i + 2]) >= 0) {
          c = uint8_t(Hex(body[i + 1]) * 16 + Hex(body[i + 2]));
          i += 2;
        }
        out->data()[n++] = c;
      }
      out->resize_down(n);
      return true;
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace server
}  // namespace sealdrop
