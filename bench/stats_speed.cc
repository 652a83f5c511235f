// How long the statistics take over many cases: stats::Build, then each
// output, on cases drawn with a fixed seed (200 requesting countries, a few
// large and a long tail of small ones, so that there is much to suppress;
// five years). Prints one JSON object.
//
//   stats_speed [CASES=100000] [REPEATS=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "stats/stats.h"

using namespace sealdrop;

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<stats::Case> Cases(size_t n) {
  std::mt19937 rng(2026);
  std::vector<std::string> countries;
  for (char a = 'A'; a <= 'Z'; ++a)
    for (char b = 'A'; b <= 'Z' && countries.size() < 200; b += 3) countries.push_back({a, b});
  static const char* const kKinds[] = {"red_notice", "diffusion", "other_colour", "unknown", ""};
  static const char* const kDetention[] = {"yes", "no", ""};
  static const char* const kOutcomes[] = {"deleted", "pending", "refused", "extradited", ""};
  std::geometric_distribution<int> country(0.04);
  std::uniform_int_distribution<int> kind(0, 4), det(0, 2), outcome(0, 4), day(0, 5 * 365 - 1);
  std::vector<stats::Case> cases(n);
  for (auto& c : cases) {
    c.country = countries[std::min(country(rng), 199)];
    c.kind = kKinds[kind(rng)];
    c.detention = kDetention[det(rng)];
    c.outcome = kOutcomes[outcome(rng)];
    c.day = 19358 + day(rng);  // 2023-01-01 onwards
  }
  return cases;
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  if (n == 0 || repeats < 1) {
    std::fprintf(stderr, "usage: stats_speed [CASES] [REPEATS]\n");
    return 2;
  }
  std::vector<stats::Case> cases = Cases(n);
  std::vector<double> build;
  stats::Report r;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    Status s = stats::Build(cases, {}, {}, &r);
    build.push_back(Seconds(t0));
    if (!s.ok()) {
      std::fprintf(stderr, "stats_speed: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  std::sort(build.begin(), build.end());
  auto t0 = std::chrono::steady_clock::now();
  size_t bytes = stats::Text(r).size();
  double text = Seconds(t0);
  t0 = std::chrono::steady_clock::now();
  bytes += stats::Csv(r).size();
  double csv = Seconds(t0);
  t0 = std::chrono::steady_clock::now();
  bytes += stats::Svg(r).size();
  double svg = Seconds(t0);
  size_t hidden = 0, numbers = 0;
  for (const auto& t : r.tables) {
    auto see = [&](const stats::Cell& c) { ++numbers, hidden += c.suppressed; };
    for (const auto& row : t.cells)
      for (const auto& c : row) see(c);
    for (const auto& c : t.row_totals) see(c);
    for (const auto& c : t.column_totals) see(c);
    see(t.total);
  }
  std::printf(
      "{\"cases\":%zu,\"repeats\":%d,\"build_s_median\":%.4f,\"build_s_min\":%.4f,"
      "\"build_s_max\":%.4f,\"text_s\":%.4f,\"csv_s\":%.4f,\"svg_s\":%.4f,\"output_bytes\":%zu,"
      "\"numbers\":%zu,\"suppressed\":%zu}\n",
      n, repeats, build[build.size() / 2], build.front(), build.back(), text, csv, svg, bytes,
      numbers, hidden);
  return 0;
}
