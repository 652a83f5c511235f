// Country names in the site's languages, from the gettext catalogs Debian's
// iso-codes ships beside its list: a source reading Arabic chooses from
// Arabic names. Read at start-up, before the sandbox closes.
#include <cstring>

#include "base/cli.h"
#include "server/server.h"

namespace sealdrop {
namespace server {
namespace {

uint32_t Word(const std::string& b, size_t at, bool swap) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return swap ? __builtin_bswap32(v) : v;
}

}  // namespace

Status ReadMo(const std::string& b, std::map<std::string, std::string>* out) {
  if (b.size() < 20) return Status::Corruption("not a gettext catalog: too short");
  const uint32_t magic = Word(b, 0, false);
  if (magic != 0x950412de && magic != 0xde120495)
    return Status::Corruption("not a gettext catalog: bad magic");
  const bool swap = magic == 0xde120495;
  const uint32_t n = Word(b, 8, swap), originals = Word(b, 12, swap);
  const uint32_t translations = Word(b, 16, swap);
  if (n > b.size() / 16 || originals > b.size() - 8 * size_t(n) ||
      translations > b.size() - 8 * size_t(n))
    return Status::Corruption("gettext catalog: tables past the end");
  auto text = [&](uint32_t table, uint32_t i, std::string* s) {
    const uint32_t len = Word(b, table + 8 * i, swap), off = Word(b, table + 8 * i + 4, swap);
    if (off > b.size() || len > b.size() - off) return false;
    s->assign(b.data() + off, len);
    return true;
  };
  for (uint32_t i = 0; i < n; i++) {
    std::string from, to;
    if (!text(originals, i, &from) || !text(translations, i, &to))
      return Status::Corruption("gettext catalog: a string past the end");
    // The header (empty msgid), plural forms and contexts are not names.
    if (from.empty() || to.empty() || from.find('\0') != std::string::npos ||
        from.find('\x04') != std::string::npos || to.find('\0') != std::string::npos)
      continue;
    (*out)[from] = to;
  }
  return Status::OK();
}

void LoadCountryNames(Config* cfg) {
  for (const Catalog& c : Catalogs()) {
    if (c.code() == "en") continue;
    std::string bytes;
    char path[256];
    std::snprintf(path, sizeof path, kCountryNamesPath, c.code().c_str());
    std::map<std::string, std::string> names;
    // A language without the file (or a damaged one) shows English names.
    if (!cli::ReadFile(path, &bytes).ok() || !ReadMo(bytes, &names).ok()) continue;
    auto& mine = cfg->country_names[c.code()];
    for (const intake::Country& k : cfg->countries) {
      auto it = names.find(k.name);
      if (it != names.end()) mine[k.code] = it->second;
    }
  }
}

}  // namespace server
}  // namespace sealdrop
