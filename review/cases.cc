// Grouping a vault's submissions into cases for `stats`: a source who
// writes three times is one person hunted, not three.
#include <algorithm>
#include <map>

#include "review/review.h"

namespace sealdrop {
namespace review {

std::vector<stats::Case> CountOnce(const std::vector<Facts>& all) {
  std::vector<const Facts*> order;
  for (const Facts& f : all) order.push_back(&f);
  std::stable_sort(order.begin(), order.end(),
                   [](const Facts* a, const Facts* b) { return a->day < b->day; });
  std::vector<stats::Case> out;
  std::map<std::array<uint8_t, 16>, size_t> by_source;
  auto newer = [](std::string* have, const std::string& v) {
    if (!v.empty()) *have = v;
  };
  for (const Facts* f : order) {
    if (f->has_source) {
      auto [it, fresh] = by_source.emplace(f->source, out.size());
      if (!fresh) {
        stats::Case& c = out[it->second];
        newer(&c.country, f->country);
        newer(&c.kind, f->kind);
        newer(&c.detention, f->detention);
        newer(&c.outcome, f->outcome);
        continue;
      }
    }
    out.push_back({f->country, f->kind, f->detention, f->outcome, f->day});
  }
  return out;
}

}  // namespace review
}  // namespace sealdrop
