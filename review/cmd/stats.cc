// sealdrop-review stats: counts of cases safe to publish (docs/STATS.md),
// read from the vault's sealed index (index.cc), never from the sealed
// submissions themselves: a source's submissions count once, and each
// submission gives the answers its own questionnaire's [review] stats names.
#include "stats/stats.h"

#include <cstdio>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::string vault, key, passfile, csv, svg;
  uint64_t min_count = 5;
};

bool IsAlpha2(const std::string& v) {
  return v.size() == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z';
}

std::string First(const intake::Values& m, const std::string& field) {
  if (field.empty()) return "";
  auto it = m.find(field);
  return it == m.end() || it->second.empty() ? "" : it->second[0];
}

// What one submission contributes, with the labels of its questionnaire. An
// outcome counts only when it is one of that questionnaire's outcome ids: a
// free-text outcome is the team's words, which a published table must not
// carry.
Status FactsOf(storage::Store* vault, const Indexed& x, Questionnaires* qs, Facts* f,
               stats::Labels* labels) {
  f->day = x.e.day;
  f->has_source = x.e.has_source;
  f->source = x.e.source;
  const intake::Questionnaire* q = nullptr;
  if (x.e.read) SD_RETURN_IF_ERROR(qs->Find(vault, x.e.questionnaire, &q));
  if (q == nullptr) return Status::OK();
  // Only answers the questionnaire offers are counted: a source's browser
  // can send anything, and one odd value must not refuse the whole report.
  const intake::Values m = AnswersOf(x.e);
  const intake::StatsFields& s = q->review.stats;
  const intake::Field* country = q->FindField(s.country);
  const intake::Field* kind = q->FindField(s.kind);
  const intake::Field* detention = q->FindField(s.detention);
  bool known = false;
  if (country && intake::Offered(*country, First(m, s.country), CountryCodes(), &known) &&
      IsAlpha2(First(m, s.country)))
    f->country = First(m, s.country);
  if (kind && intake::Offered(*kind, First(m, s.kind), CountryCodes(), &known))
    f->kind = First(m, s.kind);
  if (detention && intake::Offered(*detention, First(m, s.detention), CountryCodes(), &known))
    f->detention = First(m, s.detention);
  if (const intake::Outcome* o = q->review.FindOutcome(x.e.outcome)) {
    f->outcome = o->id;
    labels->outcome.emplace(o->id, intake::Text(o->label, "en"));
  }
  if (kind != nullptr)
    for (const auto& c : kind->choices) labels->kind.emplace(c.id, intake::Text(c.label, "en"));
  return Status::OK();
}

Status Write(const std::string& path, const std::string& data) {
  return cli::WriteNewFile(path, data, 0600);
}

int Run(const Args& a) {
  if (a.min_count == 0)
    return Fail(Status::InvalidArgument("--min-count must be 1 or more"),
                "1 publishes every count; the default, 5, hides counts from 1 to 4");
  Reading rd;
  if (int rc = BeginReading({}, a.vault, a.key, a.passfile, &rd)) return rc;
  Questionnaires qs;
  std::vector<Indexed> index;
  uint64_t others = 0;
  Status st = ReadIndex(rd.vault.get(), *rd.key, &qs, &index, &others);
  if (!st.ok()) return Fail(st);
  stats::Labels labels;
  labels.country = CountryNames();
  std::vector<Facts> facts(index.size());
  for (size_t i = 0; i < index.size(); i++) {
    st = FactsOf(rd.vault.get(), index[i], &qs, &facts[i], &labels);
    if (!st.ok()) return Fail(st);
  }
  const std::vector<stats::Case> cases = CountOnce(facts);
  stats::Options opt;
  opt.min_count = a.min_count;
  stats::Report report;
  st = stats::Build(cases, labels, opt, &report);
  if (!st.ok()) return Fail(st, "--min-count sets the smallest count published (default 5)");
  if (!a.csv.empty()) st = Write(a.csv, stats::Csv(report));
  if (st.ok() && !a.svg.empty()) st = Write(a.svg, stats::Svg(report));
  if (!st.ok()) return Fail(st, "name a file that does not exist yet");
  std::printf("%s", stats::Text(report).c_str());
  if (others > 0)
    std::fprintf(stderr, "%s: %llu submissions are not sealed to your key and are not counted\n",
                 kTool, static_cast<unsigned long long>(others));
  return 0;
}

}  // namespace

Command AddStats(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c =
      app.add_subcommand("stats",
                         "count cases by requesting country, kind, detention, outcome and month, "
                         "small counts hidden, safe to publish");
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_option("--key", a->key, "your secret key file")->required();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  c->add_option("--min-count", a->min_count, "the smallest count published")->capture_default_str();
  c->add_option("--csv", a->csv, "also write the tables as CSV to this new file");
  c->add_option("--svg", a->svg, "also write a chart as SVG to this new file");
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
