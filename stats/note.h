// Private to stats/: the sentence every output states about what it hides.
#pragma once

#include <cstdint>
#include <string>

namespace sealdrop {
namespace stats {

// "counts from 1 to 4", "counts of 1", or "" when min_count suppresses nothing.
inline std::string SmallCounts(uint64_t min_count) {
  if (min_count <= 1) return "";
  if (min_count == 2) return "counts of 1";
  return "counts from 1 to " + std::to_string(min_count - 1);
}

inline std::string HiddenNote(uint64_t min_count) {
  if (min_count <= 1) return "No count is suppressed (threshold 1).";
  return "Suppressed: " + SmallCounts(min_count) + " (threshold " + std::to_string(min_count) +
         "), and other counts hidden with them so that none can be worked out from the "
         "published counts and totals.";
}

}  // namespace stats
}  // namespace sealdrop
