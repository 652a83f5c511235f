// Statistics safe to publish: counts of cases in named tables, with small
// counts suppressed and enough others hidden that no suppressed count can be
// worked out from what is published (docs/STATS.md says what each table
// counts, how the suppression works and what it does not protect against).
//
// The module is pure: it takes cases, already counted once per source, and
// returns tables; it reads no vault and writes no file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace sealdrop {
namespace stats {

// One case: a source's submissions counted once. An empty string: not answered.
struct Case {
  std::string country;    // ISO 3166-1 alpha-2 of the state that requested the notice
  std::string kind;       // choice id of the kind of notice
  std::string detention;  // "yes", "no" or ""
  std::string outcome;    // outcome id (the questionnaire's outcome choices) or ""
  uint32_t day = 0;       // day of the case's first submission, days since 1970-01-01 (0: unknown)
};

// Display names for ids (country names, choice labels); an id without one shows itself.
struct Labels {
  std::map<std::string, std::string> country, kind, outcome;
};

struct Options {
  // Counts from 1 to min_count - 1 are suppressed. 1 suppresses nothing.
  uint64_t min_count = 5;
};

// A suppressed cell's count is 0: the true count never leaves Build.
struct Cell {
  uint64_t count = 0;
  bool suppressed = false;
};

// A two-way table of counts with its margins: cells[r][c] counts the cases
// whose row dimension has value row_ids[r] and column dimension column_ids[c].
// Every row and column holds at least one case (the month table shows all
// twelve months); rows and columns are in the order of their ids (never of
// their counts), "not answered" and "unknown" last.
struct Table {
  std::string id;            // "country", "kind", "detention", "outcome", "month"
  std::string name;          // "by requesting country"
  std::string row_title;     // "requesting country"
  std::string column_title;  // "year of first submission"
  std::vector<std::string> row_ids, column_ids;  // "" for not answered or unknown
  std::vector<std::string> rows, columns;        // display labels
  std::vector<std::vector<Cell>> cells;          // [row][column]
  std::vector<Cell> row_totals, column_totals;
  Cell total;  // never suppressed: every table's total is the report's cases
};

struct Report {
  std::vector<Table> tables;
  uint64_t min_count = 5;
  uint64_t cases = 0;
};

// Counts `cases` into the five tables (country, kind, detention, outcome,
// month) and suppresses cells as docs/STATS.md describes. Returns
// InvalidArgument, leaving *out untouched, when opt.min_count is 0, when a case
// holds a country that is not two capital letters or a detention other than
// "yes", "no" or "", or a day after 9999-12-31, when the cases hold more than
// 1,000 different kinds or outcomes, and when there are cases but fewer than
// opt.min_count (nothing could be published).
Status Build(const std::vector<Case>& cases, const Labels& labels, const Options& opt, Report* out);

// Terminal tables; suppressed cells show a mark explained below each table.
std::string Text(const Report& r);
// RFC 4180 CSV, one file for all tables, one line per published number
// (docs/STATS.md, "CSV").
std::string Csv(const Report& r);
// A standalone SVG chart of the cases per requesting country and per month,
// stating on it the threshold and what is hidden.
std::string Svg(const Report& r);

}  // namespace stats
}  // namespace sealdrop
