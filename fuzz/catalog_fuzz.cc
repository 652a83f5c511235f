// catalog_fuzz: server::Catalog::Parse (server/catalog.cc over toml++) and
// server::PickCatalog's reading of Accept-Language. The catalogs are built
// in, but a parser that crashes on a bad one would take the server down at
// start-up, and Accept-Language comes from every source's browser.
//
// The first byte picks the input's use: even, a catalog; odd, an
// Accept-Language header (and a ?lang= value, its first 8 bytes).
// Oracles besides the sanitizers: a catalog that parses has its language's
// plural categories in every plural message, and Text/Plural/Size never
// return an empty string for its keys; PickCatalog always gives one of the
// six built-in catalogs.
#include <string>

#include "fuzz/fuzz_util.h"
#include "server/server.h"

using namespace sealdrop;
using namespace sealdrop::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    Catalog c;
    if (!Catalog::Parse(text, "fuzz.toml", &c).ok()) return 0;
    const std::vector<std::string> cats = PluralCategories(c.code());
    for (const auto& m : c.messages()) {
      if (!m.forms.count("") && m.forms.size() != cats.size())
        fuzz::Die("a plural message with the wrong forms parsed", m.key);
      bool blank = false;
      for (const auto& kv : m.forms) blank |= kv.second.empty();
      if (blank) continue;
      if (m.forms.count("") && c.Text(m.key).empty()) fuzz::Die("a message came out empty", m.key);
      for (uint64_t n : {0ull, 1ull, 2ull, 5ull, 11ull, 101ull, 1000000ull})
        if (!m.forms.count("") && c.Plural(m.key, n).empty())
          fuzz::Die("a plural message came out empty", m.key);
    }
    for (uint64_t n : {0ull, 1023ull, 1024ull, 1ull << 40, ~0ull}) (void)c.Size(n);
    (void)c.Number(~0ull);
    return 0;
  }
  const Catalog& picked = PickCatalog(text.substr(0, 8), text);
  bool known = false;
  for (const Catalog& c : Catalogs()) known |= &c == &picked;
  if (!known) fuzz::Die("PickCatalog gave a catalog that is not built in", picked.code());
  return 0;
}
