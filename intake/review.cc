// Urgency from a questionnaire's [review] rules (docs/QUESTIONNAIRE.md
// "Review"). Judged on the laptop only: the server never learns which case
// is urgent, and the dates mean something only against today.
#include <cstdio>

#include "intake/intake.h"

namespace sealdrop {
namespace intake {
namespace {

std::string Days(int32_t n) { return std::to_string(n) + (n == 1 ? " day" : " days"); }

std::string DateReason(const std::string& what, int32_t days) {
  if (days == 0) return what + " today";
  if (days > 0) return what + " in " + Days(days);
  return what + " " + Days(-days) + " ago";
}

}  // namespace

bool ParseDate(const std::string& text, uint32_t* day) {
  if (!IsDate(text)) return false;
  int y = std::stoi(text.substr(0, 4)), m = std::stoi(text.substr(5, 2)),
      d = std::stoi(text.substr(8, 2));
  if (y < 1970) return false;
  // Days from civil (Howard Hinnant's algorithm).
  y -= m <= 2;
  const int era = y / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = unsigned((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *day = uint32_t(era * 146097 + int(doe) - 719468);
  return true;
}

Urgency Judge(const Review& r, const Values& answers, uint32_t today) {
  Urgency u;
  for (const UrgentRule& rule : r.urgent) {
    auto it = answers.find(rule.field);
    if (it == answers.end()) continue;
    const std::string& what = rule.reason.empty() ? rule.field : rule.reason;
    if (rule.within_days > 0) {
      uint32_t day = 0;
      if (it->second.size() != 1 || !ParseDate(it->second[0], &day)) continue;
      const int64_t days = int64_t(day) - int64_t(today);
      if (days > int64_t(rule.within_days) || days < -int64_t(rule.past_days)) continue;
      u.urgent = true;
      u.why.push_back(DateReason(what, int32_t(days)));
      if (days < u.days) u.days = int32_t(days);
      continue;
    }
    for (const std::string& v : it->second) {
      bool hit = false;
      for (const std::string& want : rule.any_of) hit = hit || v == want;
      if (!hit) continue;
      u.urgent = true;
      u.why.push_back(what);
      break;
    }
  }
  return u;
}

}  // namespace intake
}  // namespace sealdrop
