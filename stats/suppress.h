// Private to stats/: complementary suppression on one table with its margins.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sealdrop {
namespace stats {

// A table of rows x cols counts bordered by its margins: entry (r, c) with
// r < rows, c < cols is a cell, (r, cols) row r's total, (rows, c) column c's
// total and (rows, cols) the table's total, which is always published.
struct Grid {
  size_t rows = 0, cols = 0;
  std::vector<uint64_t> count;  // (rows + 1) * (cols + 1), row-major
  std::vector<char> hidden;     // same layout; may come in with entries hidden

  Grid(size_t r, size_t c)
      : rows(r), cols(c), count((r + 1) * (c + 1), 0), hidden((r + 1) * (c + 1), 0) {}
  size_t At(size_t r, size_t c) const { return r * (cols + 1) + c; }
};

// Hides every entry from 1 to min_count - 1, then hides more entries,
// cheapest first, until each hidden entry lies on a cycle of hidden entries
// (docs/STATS.md, "Complementary suppression"): no hidden entry is then fixed
// by the published ones, and none is ever 0. Deterministic. Returns false if
// some hidden entry cannot be protected (only possible when the table's total
// is under min_count, which Build refuses first).
bool Protect(Grid* g, uint64_t min_count);

// The graph's nodes: rows 0..rows (rows: the column totals), then columns.
inline size_t RowNode(const Grid& g, size_t r) { return r; }
inline size_t ColNode(const Grid& g, size_t c) { return g.rows + 1 + c; }

// Hides the cheapest paths of entries that join all of `nodes` in the graph
// of hidden entries, none of them through node `without`. REQUIRES: each of
// `nodes` is joined to `without` by a hidden entry, so that each path closes
// a cycle and Protect's guarantee still holds after it. Returns false if the
// nodes cannot be joined.
bool Link(Grid* g, const std::vector<size_t>& nodes, size_t without);

}  // namespace stats
}  // namespace sealdrop
