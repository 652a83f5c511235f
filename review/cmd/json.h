// How the review tool's commands print JSON (--json): indented, with text
// that is not UTF-8 replaced rather than refused.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>

namespace sealdrop {
namespace review {
namespace cmd {

inline void PrintJson(const nlohmann::json& j) {
  std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

// What a command given one id or several prints: that id's object alone, or
// an array of them.
inline void PrintJsonItems(const nlohmann::json& all) {
  PrintJson(all.size() == 1 ? all[0] : all);
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
