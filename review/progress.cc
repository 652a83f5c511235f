// Progress on a terminal (review.h, Progress).
#include <unistd.h>

#include <cstdio>

#include "review/review.h"

namespace sealdrop {
namespace review {

Progress::Progress(std::string what, uint64_t total, bool bytes, bool show)
    : what_(std::move(what)), total_(total), bytes_(bytes), on_(show && ::isatty(2) == 1) {}

Progress::~Progress() { Done(); }

std::string Progress::Amount(uint64_t n) const {
  if (!bytes_) return std::to_string(n);
  return std::to_string(n >> 20) + " MiB";
}

void Progress::Update(uint64_t done) {
  if (!on_) return;
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  shown_ = true;
  const unsigned pct = total_ ? unsigned(std::min<uint64_t>(done, total_) * 100 / total_) : 0;
  std::fprintf(stderr, "\r%s: %3u%% (%s of %s)\x1b[K", what_.c_str(), pct, Amount(done).c_str(),
               Amount(total_).c_str());
  std::fflush(stderr);
}

void Progress::Done() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\x1b[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace review
}  // namespace sealdrop
