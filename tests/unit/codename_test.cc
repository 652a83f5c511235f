// Codenames (crypto/codename.cc, FORMAT.md "Codenames"): the word list is
// EFF's, unchanged; codenames are seven uniformly drawn words; what a source
// types back is read tolerantly; the derivation matches its test vector.
#include <catch2/catch.hpp>
#include <sodium.h>

#include <map>
#include <regex>
#include <set>

#include "base/embedded.h"
#include "crypto/crypto.h"

using namespace sealdrop;
using namespace sealdrop::crypto;

namespace sealdrop {
namespace crypto {
extern const EmbeddedFile kWordFiles[];
extern const size_t kWordFilesCount;
}  // namespace crypto
}  // namespace sealdrop

namespace {

std::string Str(const Secret& s) { return std::string(reinterpret_cast<const char*>(s.data()), s.size()); }

Secret Typed(const std::string& s) {
  return NormalizeCodename(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string Hex(const uint8_t* p, size_t n) { return ToHex(p, n); }

}  // namespace

TEST_CASE("WordListChangedOrTruncatedFailsTheBuild") {
  REQUIRE(Init().ok());
  std::string_view file = FindEmbedded(kWordFiles, kWordFilesCount, "eff_large_wordlist.txt");
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(file.data()), file.size());
  CHECK(Hex(h, sizeof h) == "addd35536511597a02fa0a9ff1e5284677b8883b83e986e43f15a3db996b903e");
  const auto& words = Words();
  REQUIRE(words.size() == 7776);
  CHECK(std::set<std::string>(words.begin(), words.end()).size() == 7776);
  static const std::regex kWord("[a-z]+(-[a-z]+)?");
  for (const auto& w : words) {
    INFO(w);
    CHECK(std::regex_match(w, kWord));
    CHECK(w.size() >= 3);
    CHECK(w.size() <= 9);
  }
  // No word is a prefix-with-space trap: words never contain a space, so a
  // codename splits back into exactly its seven words.
}

TEST_CASE("CodenameWithWordsOutsideTheListOrNotDrawnUniformly") {
  REQUIRE(Init().ok());
  const auto& words = Words();
  std::map<std::string, int> index;
  for (size_t i = 0; i < words.size(); i++) index[words[i]] = int(i);
  std::vector<int> seen(words.size(), 0);
  std::set<std::string> codenames;
  const int kDraws = 20000;  // 140,000 words: 18 a word on average
  for (int d = 0; d < kDraws; d++) {
    Secret c = NewCodename();
    std::string s = Str(c);
    codenames.insert(s);
    size_t count = 0, pos = 0;
    while (pos <= s.size()) {
      size_t end = s.find(' ', pos);
      if (end == std::string::npos) end = s.size();
      std::string w = s.substr(pos, end - pos);
      REQUIRE(index.count(w));
      seen[size_t(index[w])]++;
      count++;
      pos = end + 1;
    }
    REQUIRE(count == kCodenameWords);
    REQUIRE(Str(Typed(s)) == s);  // a codename is already in normal form
  }
  CHECK(codenames.size() == size_t(kDraws));
  // Uniform draws miss a given word with probability e^-18: none is missed,
  // and none is drawn far more often than the rest.
  CHECK(*std::min_element(seen.begin(), seen.end()) > 0);
  CHECK(*std::max_element(seen.begin(), seen.end()) < 60);
}

TEST_CASE("CodenameTypedWithCapitalsSpacesOrLineBreaksIsRefused") {
  std::string c = "abacus zoom t-shirt yo-yo lunar cider frisbee";
  CHECK(Str(Typed("Abacus ZOOM t-shirt yo-yo lunar cider frisbee")) == c);
  CHECK(Str(Typed("  abacus\tzoom\r\nt-shirt  yo-yo\n\nlunar cider frisbee \n")) == c);
  CHECK(Str(Typed("abacus\xc2\xa0zoom t-shirt yo-yo lunar cider\xc2\xa0" "frisbee")) == c);
  CHECK(Str(Typed("")) == "");
  CHECK(Str(Typed(" \n\t ")) == "");
  // Other bytes stay as they are: a different codename, not an error.
  CHECK(Str(Typed("abacus zoom t-shirt yo-yo lunar cider frisbee.")) == c + ".");
  CHECK(Typed(std::string(5000, 'a')).size() == kMaxCodenameInput);
}

TEST_CASE("CodenameWithAWordNotInTheListOrAWordMissingIsRefusedNamingTheWord") {
  size_t bad = 99;
  CHECK(CheckCodenameWords(Typed("Abacus zoom t-shirt yo-yo lunar cider frisbee"), &bad).ok());
  CHECK(bad == 0);
  for (int i = 0; i < 20; i++) CHECK(CheckCodenameWords(NewCodename(), &bad).ok());
  // A misspelt word is named by its place.
  CHECK(CheckCodenameWords(Typed("abacus zoom t-shirt yo-yoo lunar cider frisbee"), &bad)
            .Is(Status::Code::kInvalidArgument));
  CHECK(bad == 4);
  CHECK(!CheckCodenameWords(Typed("abacuss zoom t-shirt yo-yo lunar cider frisbe"), &bad).ok());
  CHECK(bad == 1);
  CHECK(!CheckCodenameWords(Typed("abacus zoom t-shirt yo-yo lunar cider frisbee."), &bad).ok());
  CHECK(bad == 7);
  // A word longer than any in the list, and one that a list word begins.
  CHECK(!CheckCodenameWords(Typed("abacus zoom t-shirt yo-yo lunar cider " + std::string(40, 'z')),
                            &bad).ok());
  CHECK(bad == 7);
  CHECK(!CheckCodenameWords(Typed("abac zoom t-shirt yo-yo lunar cider frisbee"), &bad).ok());
  CHECK(bad == 1);
  // Six or eight words, or none: the count is wrong, no word is named.
  for (const char* typed : {"abacus zoom t-shirt yo-yo lunar cider",
                            "abacus zoom t-shirt yo-yo lunar cider frisbee zoom", "", "   "}) {
    INFO(typed);
    CHECK(!CheckCodenameWords(Typed(typed), &bad).ok());
    CHECK(bad == 0);
  }
}

TEST_CASE("CodenameParamsTamperedOrOutOfRangeRefused") {
  CodenameParams p;
  p.opslimit = 2;
  p.memlimit_kib = 65536;
  for (size_t i = 0; i < p.salt.size(); i++) p.salt[i] = uint8_t(i);
  std::string text = FormatCodenameParams(p);
  CHECK(text == "sdcn1:2:65536:AAECAwQFBgcICQoLDA0ODw\n");
  CodenameParams q;
  REQUIRE(ParseCodenameParams(text, &q).ok());
  CHECK(q.opslimit == 2);
  CHECK(q.memlimit_kib == 65536);
  CHECK(q.salt == p.salt);
  for (const char* bad : {"sdcn1:2:65536:AAECAwQFBgcICQoLDA0O", "sdcn2:2:65536:AAECAwQFBgcICQoLDA0ODw",
                          "sdcn1:0:65536:AAECAwQFBgcICQoLDA0ODw", "sdcn1:2:1:AAECAwQFBgcICQoLDA0ODw",
                          "sdcn1:99:65536:AAECAwQFBgcICQoLDA0ODw", "sdcn1:2:x:AAECAwQFBgcICQoLDA0ODw",
                          "sdcn1::65536:AAECAwQFBgcICQoLDA0ODw", ""}) {
    INFO(bad);
    CHECK(!ParseCodenameParams(bad, &q).ok());
  }
}

TEST_CASE("CodenameKeysSharedAcrossWordsOrSalts") {
  // The vector itself is in docs/FORMAT.md (vectors_test.cc).
  REQUIRE(Init().ok());
  CodenameParams p;
  REQUIRE(ParseCodenameParams("sdcn1:1:8192:AAECAwQFBgcICQoLDA0ODw", &p).ok());
  SourceKeys k;
  REQUIRE(DeriveSourceKeys(Typed("abacus zoom t-shirt yo-yo lunar cider frisbee"), p, &k).ok());
  // The secret half is the public half's.
  uint8_t pk2[32];
  crypto_scalarmult_base(pk2, k.sk.data());
  CHECK(Hex(pk2, 32) == Hex(k.pk.data(), 32));
  CHECK(Hex(k.lookup.data(), 32) != Hex(k.pk.data(), 32));
  // Another word, another salt: nothing in common.
  SourceKeys other;
  REQUIRE(DeriveSourceKeys(Typed("abacus zoom t-shirt yo-yo lunar cider frisk"), p, &other).ok());
  CHECK(other.lookup != k.lookup);
  CHECK(other.pk != k.pk);
  p.salt[0] ^= 1;
  REQUIRE(DeriveSourceKeys(Typed("abacus zoom t-shirt yo-yo lunar cider frisbee"), p, &other).ok());
  CHECK(other.lookup != k.lookup);
  CHECK(other.pk != k.pk);
}
