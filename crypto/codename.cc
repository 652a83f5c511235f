// Codenames: the word list, drawing a codename, reading one back as typed,
// and deriving a source's lookup id and reply key from it (FORMAT.md
// "Codenames").
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/embedded.h"
#include "crypto/crypto.h"

namespace sealdrop {
namespace crypto {

extern const EmbeddedFile kWordFiles[];
extern const size_t kWordFilesCount;

namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "sdsource";
constexpr uint64_t kLookupSubkey = 1;
constexpr uint64_t kReplySubkey = 2;
// The longest word is 9 characters; seven of them and six spaces.
constexpr size_t kMaxCodename = kCodenameWords * 10;

}  // namespace

const std::vector<std::string>& Words() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> out;
    std::string_view text = FindEmbedded(kWordFiles, kWordFilesCount, "eff_large_wordlist.txt");
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(pos, end - pos);
      size_t tab = line.find('\t');
      if (tab != std::string_view::npos) out.emplace_back(line.substr(tab + 1));
      pos = end + 1;
    }
    if (out.size() != kWordCount) std::abort();  // the list is compiled in; its test guards it
    return out;
  }();
  return words;
}

Secret NewCodename() {
  const std::vector<std::string>& words = Words();
  Secret out(kMaxCodename);
  size_t n = 0;
  for (size_t i = 0; i < kCodenameWords; i++) {
    const std::string& w = words[randombytes_uniform(uint32_t(kWordCount))];
    if (i > 0) out.data()[n++] = ' ';
    std::memcpy(out.data() + n, w.data(), w.size());
    n += w.size();
  }
  out.resize_down(n);
  return out;
}

Secret NormalizeCodename(const uint8_t* p, size_t n) {
  n = std::min(n, kMaxCodenameInput);
  Secret out(n);
  size_t len = 0;
  bool space = false;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
    // U+00A0, what a copy from some pages or editors puts between words.
    if (c == 0xC2 && i + 1 < n && p[i + 1] == 0xA0) {
      blank = true;
      i++;
    }
    if (blank) {
      space = len > 0;
      continue;
    }
    if (space) out.data()[len++] = ' ';
    space = false;
    out.data()[len++] = (c >= 'A' && c <= 'Z') ? uint8_t(c + 32) : c;
  }
  out.resize_down(len);
  return out;
}

Status CheckCodenameWords(const Secret& codename, size_t* bad) {
  using Padded = std::array<uint8_t, 16>;
  // The list, each word zero-padded to a fixed width, so that every word
  // typed is compared with every word of the list in full.
  static const std::vector<Padded> list = [] {
    std::vector<Padded> out;
    for (const std::string& w : Words()) {
      Padded p{};
      std::memcpy(p.data(), w.data(), std::min(w.size(), p.size() - 1));
      out.push_back(p);
    }
    return out;
  }();
  *bad = 0;
  size_t words = 0, start = 0;
  Secret typed(kCodenameWords * sizeof(Padded));
  std::array<bool, kCodenameWords> too_long{};
  for (size_t i = 0; i <= codename.size(); i++) {
    if (i < codename.size() && codename.data()[i] != ' ') continue;
    if (words < kCodenameWords) {
      const size_t len = i - start;
      // A byte short of the width, so that a padded word never matches a
      // longer one typed.
      too_long[words] = len >= sizeof(Padded);
      if (!too_long[words])
        std::memcpy(typed.data() + words * sizeof(Padded), codename.data() + start, len);
    }
    words++;
    start = i + 1;
  }
  if (codename.size() == 0 || words != kCodenameWords)
    return Status::InvalidArgument("a codename has seven words");
  std::array<uint8_t, kCodenameWords> found{};
  for (size_t w = 0; w < kCodenameWords; w++)
    for (const Padded& p : list)
      found[w] |= uint8_t(sodium_memcmp(typed.data() + w * sizeof(Padded), p.data(), p.size()) == 0);
  for (size_t w = 0; w < kCodenameWords; w++)
    if ((found[w] == 0 || too_long[w]) && *bad == 0) *bad = w + 1;
  if (*bad != 0) return Status::InvalidArgument("word " + std::to_string(*bad) + " is not in the list");
  return Status::OK();
}

std::string FormatCodenameParams(const CodenameParams& p) {
  char b64[sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, p.salt.data(), p.salt.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return "sdcn1:" + std::to_string(p.opslimit) + ":" + std::to_string(p.memlimit_kib) + ":" + b64 +
         "\n";
}

Status ParseCodenameParams(const std::string& text_in, CodenameParams* out) {
  std::string text = text_in;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  auto bad = [] { return Status::InvalidArgument("not codename parameters (sdcn1:ops:mem:salt)"); };
  if (text.rfind("sdcn1:", 0) != 0 || text.size() > 128) return bad();
  size_t a = text.find(':', 6), b = a == std::string::npos ? a : text.find(':', a + 1);
  if (b == std::string::npos) return bad();
  auto number = [](const std::string& s, uint32_t* v) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
      return false;
    *v = uint32_t(std::stoul(s));
    return true;
  };
  CodenameParams p;
  if (!number(text.substr(6, a - 6), &p.opslimit) || !number(text.substr(a + 1, b - a - 1), &p.memlimit_kib))
    return bad();
  if (p.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN || p.opslimit > kMaxOpslimit ||
      uint64_t(p.memlimit_kib) * 1024 < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      p.memlimit_kib > kMaxMemlimitKib)
    return Status::InvalidArgument("codename parameters outside the allowed Argon2id range");
  std::string salt = text.substr(b + 1);
  size_t len = 0;
  if (sodium_base642bin(p.salt.data(), p.salt.size(), salt.data(), salt.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      len != p.salt.size())
    return bad();
  *out = p;
  return Status::OK();
}

Status DeriveSourceKeys(const Secret& codename, const CodenameParams& p, SourceKeys* out) {
  Secret master(crypto_kdf_KEYBYTES);
  static_assert(crypto_pwhash_SALTBYTES == 16, "the codename salt is 16 bytes");
  if (crypto_pwhash(master.data(), master.size(), reinterpret_cast<const char*>(codename.data()),
                    codename.size(), p.salt.data(), p.opslimit, size_t(p.memlimit_kib) * 1024,
                    crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status::IOError("Argon2id ran out of memory");
  static_assert(kLookupIdSize >= crypto_kdf_BYTES_MIN && kLookupIdSize <= crypto_kdf_BYTES_MAX);
  crypto_kdf_derive_from_key(out->lookup.data(), out->lookup.size(), kLookupSubkey, kKdfContext,
                             master.data());
  Secret seed(crypto_box_SEEDBYTES);
  crypto_kdf_derive_from_key(seed.data(), seed.size(), kReplySubkey, kKdfContext, master.data());
  out->sk = Secret(crypto_box_SECRETKEYBYTES);
  crypto_box_seed_keypair(out->pk.data(), out->sk.data(), seed.data());
  return Status::OK();
}

}  // namespace crypto
}  // namespace sealdrop
