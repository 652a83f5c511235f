#include <algorithm>
#include <string>

#include "server/server.h"

namespace sealdrop {
namespace server {
namespace {

constexpr const char* kRefusalNames[Counters::kRefusals] = {
    "malformed", "no such page", "not allowed", "too slow", "no length",
    "too large", "compressed",   "store full",  "server error", "other"};

Counters::Refusal RefusalFor(int status) {
  switch (status) {
    case 400: return Counters::kMalformed;
    case 404: return Counters::kNoPage;
    case 405: return Counters::kNotAllowed;
    case 408: return Counters::kTooSlow;
    case 411: return Counters::kNoLength;
    case 413: return Counters::kTooLarge;
    case 415: return Counters::kEncoded;
    case 507: return Counters::kFull;
    case 500: return Counters::kServerError;
    default: return Counters::kOther;
  }
}

}  // namespace

std::string Rounded(uint64_t n) {
  if (n < 10) return "<10";
  uint64_t scale = 10;
  while (n / scale >= 100) scale *= 10;
  return "~" + std::to_string((n + scale / 2) / scale * scale);
}

std::string StoreFill(storage::Store* store, const Config& cfg) {
  uint64_t used = 0;
  if (!store->Used(&used).ok()) return "store fill unknown";
  const uint64_t quota = std::max<uint64_t>(store->quota(), 1);
  return "store " + std::to_string(std::min<uint64_t>(used, quota) * 100 / quota) +
         "% full, reserve " + std::to_string(cfg.store_reserve) + "%";
}

void Counters::Answered(int status, bool submit) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (status < 400) {
    if (submit && status == 200) sealed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  refused_[RefusalFor(status)].fetch_add(1, std::memory_order_relaxed);
}

std::string Counters::Report() const {
  uint64_t refused = 0;
  std::string reasons;
  for (int r = 0; r < kRefusals; r++) {
    uint64_t n = refused_[r].load(std::memory_order_relaxed);
    refused += n;
    reasons += std::string(reasons.empty() ? "" : ", ") + kRefusalNames[r] + " " + Rounded(n);
  }
  return "requests " + Rounded(requests()) + ", sealed " + Rounded(sealed()) + ", refused " +
         Rounded(refused) + " (" + reasons + "), received " +
         Rounded(bytes_.load(std::memory_order_relaxed) >> 20) + " MiB, faults " +
         Rounded(faults());
}

void Counters::Reset() {
  requests_ = 0;
  sealed_ = 0;
  bytes_ = 0;
  faults_ = 0;
  for (auto& r : refused_) r = 0;
}

Counters& Stats() {
  static Counters c;
  return c;
}

}  // namespace server
}  // namespace sealdrop
