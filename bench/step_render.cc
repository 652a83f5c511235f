// step_render: how long the server takes to render one questionnaire step
// page, as a source gets it (IndexPage around StepBlock): every step of a
// questionnaire, in every site language, once with nothing answered and once
// with every field answered and marked wrong (the longest page a step
// makes). No HTTP, no TLS: the page alone, which the issue asks to stay
// under 1 ms.
//
//   step_render <questionnaire.toml> [renders-per-page]
//
// Prints one JSON object: renders, median_us, p99_us, max_us, and the
// slowest page (step, language, answered).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "intake/intake.h"
#include "server/server.h"

using namespace sealdrop;
using namespace sealdrop::server;
using Clock = std::chrono::steady_clock;

namespace {

// A value for every field, as long as the field takes: the page that costs
// most to escape and fill.
intake::Values Everything(const intake::Questionnaire& q) {
  intake::Values v;
  for (const intake::Step& s : q.steps)
    for (const intake::Field& f : s.fields) {
      switch (f.kind) {
        case intake::Kind::kLine:
        case intake::Kind::kText:
          v[f.id] = {std::string(f.max_bytes, 'x')};
          break;
        case intake::Kind::kChoice:
          v[f.id] = {f.choices.front().id};
          break;
        case intake::Kind::kChoices:
          for (const intake::Choice& c : f.choices) v[f.id].push_back(c.id);
          break;
        case intake::Kind::kCountry: v[f.id] = {"TJ"}; break;
        case intake::Kind::kDate: v[f.id] = {"2027-03-15"}; break;
        case intake::Kind::kYesNo: v[f.id] = {"yes"}; break;
        case intake::Kind::kFile: v[f.id] = {"1", "2"}; break;
      }
    }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: step_render <questionnaire.toml> [renders-per-page]\n");
    return 2;
  }
  const int reps = argc > 2 ? std::atoi(argv[2]) : 200;
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  Config cfg;
  Status st = intake::LoadCountries(intake::kCountriesPath, &cfg.countries);
  for (const auto& c : cfg.countries) cfg.country_codes.push_back(c.code);
  std::sort(cfg.country_codes.begin(), cfg.country_codes.end());
  auto q = std::make_shared<intake::Questionnaire>();
  if (st.ok()) st = intake::Parse(ss.str(), argv[1], cfg.country_codes, q.get());
  if (!st.ok()) {
    std::fprintf(stderr, "step_render: error: %s\n", st.message().c_str());
    return 1;
  }
  cfg.questionnaire = q;
  // As LoadConfig does: country names in each language, and the cache of
  // the filled <option> lists that every country field shares.
  LoadCountryNames(&cfg);
  cfg.country_options = std::make_shared<Config::CountryOptions>();
  cfg.site["en"] = {"Bench", "Who reads what you send.", "How we keep it."};
  const intake::Values all = Everything(*q);
  const std::string csrf(64, 'a');

  std::vector<double> us;
  double worst = 0;
  std::string worst_page;
  for (const Catalog& c : Catalogs()) {
    for (size_t s = 0; s < q->steps.size(); s++) {
      for (int answered = 0; answered < 2; answered++) {
        StepView v;
        v.step = s;
        v.number = s + 1;
        v.first = s == 0;
        v.last = s + 1 == q->steps.size();
        if (answered) {
          v.values = &all;
          for (const intake::Field& f : q->steps[s].fields)
            v.errors.push_back({f.id, intake::Mistake::kRequired});
        }
        size_t bytes = 0;
        for (int r = 0; r < reps; r++) {
          const auto t0 = Clock::now();
          std::string page = IndexPage(cfg, c, csrf, StepBlock(cfg, c, csrf, v));
          const double t = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
          bytes = page.size();
          us.push_back(t);
          if (t > worst) {
            worst = t;
            worst_page = q->steps[s].id + "/" + c.code() + (answered ? "/answered" : "/empty") +
                         " (" + std::to_string(bytes) + " bytes)";
          }
        }
      }
    }
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double p) { return us[std::min(us.size() - 1, size_t(p * double(us.size())))]; };
  std::printf("{\"renders\": %zu, \"median_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, "
              "\"slowest\": \"%s\"}\n",
              us.size(), at(0.5), at(0.99), us.back(), worst_page.c_str());
  return 0;
}
