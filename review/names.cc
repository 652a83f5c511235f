#include <cctype>
#include <cstdint>

#include "review/review.h"

namespace sealdrop {
namespace review {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid.
size_t Utf8Len(const std::string& s, size_t i, uint32_t* cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
  for (size_t k = 1; k < n; k++) {
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d >> 6) != 2) return 0;
    v = (v << 6) | (d & 0x3f);
  }
  static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return n;
}

bool Unsafe(uint32_t cp) {
  if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) return true;  // controls
  if (cp >= 0x202a && cp <= 0x202e) return true;  // bidi embeddings and overrides
  if (cp >= 0x2066 && cp <= 0x2069) return true;  // bidi isolates
  if (cp == 0x200e || cp == 0x200f || cp == 0x061c) return true;  // direction marks
  if (cp == 0xfeff) return true;
  switch (cp) {
    case '/': case '\\': case ':': case '*': case '?': case '"': case '<': case '>': case '|':
      return true;
  }
  return false;
}

std::string Clean(const std::string& s, bool allow_separators) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t n = Utf8Len(s, i, &cp);
    if (n == 0) {
      out += '_';
      i++;
      continue;
    }
    bool sep = cp == '/' || cp == '\\' || cp == ':' || cp == '*' || cp == '?' || cp == '"' ||
               cp == '<' || cp == '>' || cp == '|';
    bool layout = cp == '\n' || cp == '\t';
    if (Unsafe(cp) && !(allow_separators && (sep || layout))) out += '_';
    else out.append(s, i, n);
    i += n;
  }
  return out;
}

}  // namespace

std::string Printable(const std::string& text) { return Clean(text, true); }

std::string SafeName(const std::string& name) {
  // Only the last path component counts, whatever separator the sender used.
  size_t cut = name.find_last_of("/\\");
  std::string base = cut == std::string::npos ? name : name.substr(cut + 1);
  std::string out = Clean(base, false);
  size_t start = out.find_first_not_of(". -");
  out = start == std::string::npos ? "" : out.substr(start);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  if (out.size() > 200) {
    // Cut at a character boundary, keeping the extension if it is short.
    size_t dot = out.rfind('.');
    std::string ext = dot != std::string::npos && out.size() - dot <= 16 ? out.substr(dot) : "";
    size_t keep = 200 - ext.size();
    while (keep > 0 && (static_cast<unsigned char>(out[keep]) & 0xc0) == 0x80) keep--;
    out = out.substr(0, keep) + ext;
  }
  if (out.empty()) out = "file";
  return out;
}

void SplitName(const std::string& name, std::string* stem, std::string* ext) {
  *stem = name;
  ext->clear();
  size_t dot = name.rfind('.');
  if (dot != std::string::npos && dot > 0 && name.size() - dot <= 16) {
    *stem = name.substr(0, dot);
    *ext = name.substr(dot);
  }
}

}  // namespace review
}  // namespace sealdrop
