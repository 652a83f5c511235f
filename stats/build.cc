// Counting cases into the five tables, and keeping the margins they share (the
// years) hidden alike in all of them and joined in each (docs/STATS.md,
// "Across tables").
#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <set>

#include "stats/stats.h"
#include "stats/suppress.h"

namespace sealdrop {
namespace stats {
namespace {

enum Dim { kCountry, kKind, kDetention, kOutcome, kYear, kMonth, kDims };

struct Spec {
  const char* id;
  const char* name;
  const char* row_title;
  const char* column_title;
  Dim row, col;
};

// docs/STATS.md, "The tables".
constexpr Spec kSpecs[] = {
    {"country", "by requesting country", "requesting country", "year of first submission", kCountry,
     kYear},
    {"kind", "by kind of notice", "kind of notice", "year of first submission", kKind, kYear},
    {"detention", "by detention", "detention", "year of first submission", kDetention, kYear},
    {"outcome", "by outcome", "outcome", "year of first submission", kOutcome, kYear},
    {"month", "by month", "year of first submission", "month of first submission", kYear, kMonth},
};

constexpr uint32_t kLastDay = 2932896;  // 9999-12-31
// Rows a table of kinds or outcomes may have: questionnaires have a handful
// of choices, and a table of thousands is not for publishing (and would take
// seconds to protect).
constexpr size_t kMaxValues = 1000;

// The proleptic Gregorian date of a day counted from 1970-01-01.
void Civil(uint32_t day, unsigned* year, unsigned* month) {
  const uint64_t z = uint64_t{day} + 719468;  // days from 0000-03-01
  const uint64_t era = z / 146097, doe = z % 146097;
  const uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint64_t mp = (5 * doy + 2) / 153;  // months from March
  *month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  *year = static_cast<unsigned>(era * 400 + yoe + (*month <= 2 ? 1 : 0));
}

std::string Key(const Case& c, Dim d) {
  switch (d) {
    case kCountry:
      return c.country;
    case kKind:
      return c.kind;
    case kDetention:
      return c.detention;
    case kOutcome:
      return c.outcome;
    case kYear:
    case kMonth: {
      if (c.day == 0) return "";
      unsigned y, m;
      Civil(c.day, &y, &m);
      char buf[8];
      snprintf(buf, sizeof buf, d == kYear ? "%04u" : "%02u", d == kYear ? y : m);
      return buf;
    }
    default:
      return "";
  }
}

const char* const kMonthNames[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string Label(const Labels& labels, Dim d, const std::string& id) {
  const std::map<std::string, std::string>* m = nullptr;
  switch (d) {
    case kCountry:
      m = &labels.country;
      break;
    case kKind:
      m = &labels.kind;
      break;
    case kOutcome:
      m = &labels.outcome;
      break;
    case kDetention:
      if (id == "yes") return "detained";
      if (id == "no") return "not detained";
      break;
    case kYear:
      break;
    case kMonth:
      if (!id.empty()) return kMonthNames[std::stoi(id) - 1];
      break;
    default:
      break;
  }
  if (id.empty()) return d == kYear || d == kMonth ? "unknown" : "not answered";
  if (m) {
    auto it = m->find(id);
    if (it != m->end()) return it->second;
  }
  return id;
}

Status Check(const Case& c, size_t i) {
  const std::string& k = c.country;
  if (!k.empty() && (k.size() != 2 || k[0] < 'A' || k[0] > 'Z' || k[1] < 'A' || k[1] > 'Z'))
    return Status::InvalidArgument("case " + std::to_string(i) +
                                   ": country is not an ISO 3166-1 alpha-2 code");
  if (!c.detention.empty() && c.detention != "yes" && c.detention != "no")
    return Status::InvalidArgument("case " + std::to_string(i) +
                                   ": detention is neither \"yes\", \"no\" nor empty");
  if (c.day > kLastDay)
    return Status::InvalidArgument("case " + std::to_string(i) + ": day is after the year 9999");
  return Status::OK();
}

// The values of one dimension, "" (not answered, unknown) last.
struct Values {
  std::vector<std::string> ids;
  std::map<std::string, uint32_t> index;
};

}  // namespace

Status Build(const std::vector<Case>& cases, const Labels& labels, const Options& opt,
             Report* out) {
  if (opt.min_count == 0) return Status::InvalidArgument("min_count must be at least 1");
  for (size_t i = 0; i < cases.size(); ++i) SD_RETURN_IF_ERROR(Check(cases[i], i));
  const uint64_t n = cases.size();
  if (n > 0 && n < opt.min_count)
    return Status::InvalidArgument(
        "fewer cases than min_count: every count would be suppressed, nothing can be published");

  // Each case's value in each dimension, first numbered as met, then in order.
  std::array<Values, kDims> values;
  std::vector<std::array<uint32_t, kDims>> at(cases.size());
  for (size_t i = 0; i < cases.size(); ++i)
    for (int d = 0; d < kDims; ++d) {
      auto& idx = values[d].index;
      at[i][d] = idx.emplace(Key(cases[i], Dim(d)), uint32_t(idx.size())).first->second;
    }
  // The calendar's twelve months, whether or not a case fell in them.
  for (int m = 1; m <= 12; ++m) {
    auto& idx = values[kMonth].index;
    char buf[4];
    snprintf(buf, sizeof buf, "%02d", m);
    idx.emplace(buf, uint32_t(idx.size()));
  }
  for (int d : {kKind, kOutcome})
    if (values[d].index.size() > kMaxValues)
      return Status::InvalidArgument(std::string("more than ") + std::to_string(kMaxValues) +
                                     (d == kKind ? " kinds of notice" : " outcomes") +
                                     ": group them before publishing");
  std::array<std::vector<uint32_t>, kDims> order;  // first-met number -> position
  for (int d = 0; d < kDims; ++d) {
    auto& v = values[d];
    order[d].resize(v.index.size());
    for (const auto& kv : v.index)
      if (!kv.first.empty()) v.ids.push_back(kv.first);
    if (v.index.count("")) v.ids.push_back("");
    for (uint32_t p = 0; p < v.ids.size(); ++p) order[d][v.index[v.ids[p]]] = p;
  }

  // The true counts of each table, margins included.
  std::vector<Grid> truth;
  for (const Spec& s : kSpecs) {
    Grid g(values[s.row].ids.size(), values[s.col].ids.size());
    for (const auto& a : at) {
      size_t r = order[s.row][a[s.row]], c = order[s.col][a[s.col]];
      ++g.count[g.At(r, c)];
      ++g.count[g.At(r, g.cols)];
      ++g.count[g.At(g.rows, c)];
    }
    g.count[g.At(g.rows, g.cols)] = n;
    truth.push_back(std::move(g));
  }

  // A year's total is a margin of every table: protect each table with the
  // years any of them hid, until no table hides another.
  std::set<uint32_t> hidden_years;
  std::vector<Grid> grids;
  for (;;) {
    grids = truth;
    for (size_t t = 0; t < grids.size(); ++t) {
      Grid& g = grids[t];
      for (uint32_t y : hidden_years) {
        if (kSpecs[t].col == kYear) g.hidden[g.At(g.rows, y)] = 1;
        if (kSpecs[t].row == kYear) g.hidden[g.At(y, g.cols)] = 1;
      }
      if (!Protect(&g, opt.min_count))
        return Status::InvalidArgument("table " + std::string(kSpecs[t].id) +
                                       ": its suppressed cells cannot be protected");
    }
    size_t before = hidden_years.size();
    for (size_t t = 0; t < grids.size(); ++t) {
      const Grid& g = grids[t];
      if (kSpecs[t].col == kYear)
        for (uint32_t y = 0; y < g.cols; ++y)
          if (g.hidden[g.At(g.rows, y)]) hidden_years.insert(y);
      if (kSpecs[t].row == kYear)
        for (uint32_t y = 0; y < g.rows; ++y)
          if (g.hidden[g.At(y, g.cols)]) hidden_years.insert(y);
    }
    if (hidden_years.size() == before) break;
  }
  // Hidden year totals move together: a change that one table's cycle makes
  // to two of them (one up, one down) must be one every other table can
  // absorb too, so in each table the hidden years are joined by hidden
  // entries that are not year totals (docs/STATS.md, "Across tables").
  for (size_t t = 0; t < grids.size() && hidden_years.size() > 1; ++t) {
    Grid& g = grids[t];
    const bool by_row = kSpecs[t].row == kYear;
    std::vector<size_t> nodes;
    for (uint32_t y : hidden_years) nodes.push_back(by_row ? RowNode(g, y) : ColNode(g, y));
    size_t margin = by_row ? ColNode(g, g.cols) : RowNode(g, g.rows);
    if (!Link(&g, nodes, margin))
      return Status::InvalidArgument("table " + std::string(kSpecs[t].id) +
                                     ": its hidden years cannot be joined");
  }

  Report r;
  r.min_count = opt.min_count;
  r.cases = n;
  for (size_t t = 0; t < grids.size(); ++t) {
    const Spec& s = kSpecs[t];
    const Grid& g = grids[t];
    auto cell = [&](size_t row, size_t col) {
      size_t e = g.At(row, col);
      Cell c;
      c.suppressed = g.hidden[e] != 0;
      c.count = c.suppressed ? 0 : g.count[e];
      return c;
    };
    Table tab;
    tab.id = s.id;
    tab.name = s.name;
    tab.row_title = s.row_title;
    tab.column_title = s.column_title;
    tab.row_ids = values[s.row].ids;
    tab.column_ids = values[s.col].ids;
    for (const auto& id : tab.row_ids) tab.rows.push_back(Label(labels, s.row, id));
    for (const auto& id : tab.column_ids) tab.columns.push_back(Label(labels, s.col, id));
    tab.cells.resize(g.rows);
    for (size_t row = 0; row < g.rows; ++row) {
      for (size_t col = 0; col < g.cols; ++col) tab.cells[row].push_back(cell(row, col));
      tab.row_totals.push_back(cell(row, g.cols));
    }
    for (size_t col = 0; col < g.cols; ++col) tab.column_totals.push_back(cell(g.rows, col));
    tab.total = cell(g.rows, g.cols);
    r.tables.push_back(std::move(tab));
  }
  *out = std::move(r);
  return Status::OK();
}

}  // namespace stats
}  // namespace sealdrop
