// Helpers shared by the libFuzzer targets in this folder (not product code).
#pragma once

#include <ftw.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"

namespace sealdrop {
namespace fuzz {

// Reports a broken invariant and aborts, so libFuzzer records the input.
[[noreturn]] inline void Die(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "FUZZ INVARIANT BROKEN: %s%s%s\n", what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

#define FUZZ_CHECK(cond, ...) \
  do {                        \
    if (!(cond)) ::sealdrop::fuzz::Die("(" #cond ")", ##__VA_ARGS__); \
  } while (0)

inline void InitOnce() {
  static bool done = [] {
    if (!crypto::Init().ok()) Die("libsodium failed to initialise");
    return true;
  }();
  (void)done;
}

// The signing key the targets and their seeds share: RFC 8032's first test
// seed, as FORMAT.md's vectors use it.
inline const crypto::SigningKey& TestSigningKey() {
  static const crypto::SigningKey* key = [] {
    InitOnce();
    std::vector<uint8_t> seed;
    crypto::FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", &seed);
    auto* k = new crypto::SigningKey;
    if (!crypto::SigningKeyFromSeed(seed.data(), k).ok()) Die("SigningKeyFromSeed");
    return k;
  }();
  return *key;
}

// The passphrase of every key file and keyring among the seeds: "x".
inline const crypto::Secret& TestPassphrase() {
  static const crypto::Secret* s = [] {
    auto* x = new crypto::Secret(1);
    x->data()[0] = 'x';
    return x;
  }();
  return *s;
}

// Splits an input into a first line (at most max_line bytes, without the
// '\n') and the rest. Without a newline in the first max_line + 1 bytes the
// line is the first max_line bytes and the rest follows directly.
inline void SplitFirstLine(const uint8_t* data, size_t size, size_t max_line, std::string* line,
                           const uint8_t** rest, size_t* rest_size) {
  const size_t look = std::min(size, max_line + 1);
  size_t nl = 0;
  while (nl < look && data[nl] != '\n') nl++;
  if (nl < look) {
    line->assign(reinterpret_cast<const char*>(data), nl);
    *rest = data + nl + 1;
    *rest_size = size - nl - 1;
  } else {
    const size_t n = std::min(size, max_line);
    line->assign(reinterpret_cast<const char*>(data), n);
    *rest = data + n;
    *rest_size = size - n;
  }
}

// Size of the next piece to feed, taken from the byte at the piece's start
// so that the fuzzer moves the cuts by changing bytes: odd bytes give small
// pieces (1..16, to split delimiters), even bytes larger ones (1..2041).
inline size_t PieceSize(const uint8_t* p, size_t left) {
  const uint8_t b = p[0];
  const size_t n = (b & 1) ? 1 + (b >> 1) % 16 : 1 + size_t(b) * 8;
  return std::min(n, left);
}

// A private scratch directory (mode 0700, from mkdtemp under $TMPDIR or
// /tmp) that is removed when the process exits normally.
inline int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path);
}
inline void RemoveTree(const std::string& dir) {
  ::nftw(dir.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
}
inline const std::string& ScratchDir() {
  static std::string* dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sealdrop-fuzz-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed", tmpl);
    auto* d = new std::string(tmpl);
    std::atexit([] { RemoveTree(ScratchDir()); });
    return d;
  }();
  return *dir;
}

}  // namespace fuzz
}  // namespace sealdrop
