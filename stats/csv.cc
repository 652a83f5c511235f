// The report as one RFC 4180 file (docs/STATS.md, "CSV").
#include "stats/stats.h"

namespace sealdrop {
namespace stats {
namespace {

std::string Field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

void Line(std::string* out, const std::string& table, const char* part, const std::string& row_id,
          const std::string& row, const std::string& column_id, const std::string& column,
          const Cell& c) {
  *out += Field(table) + "," + part + "," + Field(row_id) + "," + Field(row) + "," +
          Field(column_id) + "," + Field(column) + "," +
          (c.suppressed ? std::string() : std::to_string(c.count)) + "," +
          (c.suppressed ? "yes" : "no") + "\r\n";
}

}  // namespace

std::string Csv(const Report& r) {
  std::string out = "table,part,row_id,row,column_id,column,count,suppressed\r\n";
  Cell cases, threshold;
  cases.count = r.cases;
  threshold.count = r.min_count;
  Line(&out, "report", "cases", "", "", "", "", cases);
  Line(&out, "report", "min_count", "", "", "", "", threshold);
  for (const Table& t : r.tables) {
    for (size_t i = 0; i < t.rows.size(); ++i)
      for (size_t j = 0; j < t.columns.size(); ++j)
        Line(&out, t.id, "cell", t.row_ids[i], t.rows[i], t.column_ids[j], t.columns[j],
             t.cells[i][j]);
    for (size_t i = 0; i < t.rows.size(); ++i)
      Line(&out, t.id, "row total", t.row_ids[i], t.rows[i], "", "", t.row_totals[i]);
    for (size_t j = 0; j < t.columns.size(); ++j)
      Line(&out, t.id, "column total", "", "", t.column_ids[j], t.columns[j], t.column_totals[j]);
    Line(&out, t.id, "total", "", "", "", "", t.total);
  }
  return out;
}

}  // namespace stats
}  // namespace sealdrop
