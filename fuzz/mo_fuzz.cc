// mo_fuzz: server::ReadMo, the gettext catalog reader that takes the country
// names in each site language from Debian's iso-codes at start-up
// (server/countries.cc). The files are the system's, not a source's, but a
// damaged or hostile one must be refused, never read past its end.
// Oracles besides the sanitizers: every name read is a non-empty string of
// the input without a NUL, and there are no more names than the catalog's
// tables can hold.
#include <map>
#include <string>

#include "fuzz/fuzz_util.h"
#include "server/server.h"

using namespace sealdrop;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InitOnce();
  const std::string b(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> names;
  if (!server::ReadMo(b, &names).ok()) return 0;
  FUZZ_CHECK(names.size() <= size / 16, "more names than the tables can hold");
  for (const auto& [from, to] : names) {
    FUZZ_CHECK(!from.empty() && !to.empty(), "an empty name");
    FUZZ_CHECK(from.find('\0') == std::string::npos && to.find('\0') == std::string::npos,
               "a name with a NUL");
    FUZZ_CHECK(b.find(from) != std::string::npos && b.find(to) != std::string::npos,
               "a name that is not in the catalog");
  }
  return 0;
}
