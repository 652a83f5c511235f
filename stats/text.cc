// The report as terminal tables.
#include <algorithm>

#include "stats/note.h"
#include "stats/stats.h"
#include "stats/utf8.h"

namespace sealdrop {
namespace stats {
namespace {

constexpr char kMark[] = "*";

// Terminal columns, taken as one per code point (no wide or combining ones).
size_t Width(const std::string& s) {
  size_t w = 0;
  for (unsigned char ch : s)
    if ((ch & 0xC0) != 0x80) ++w;
  return w;
}

// A label as a terminal may show it: control characters (which could move the
// cursor or set a title) and bytes that are not UTF-8 become U+FFFD.
std::string Clean(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8At(s, i);
    unsigned char c = static_cast<unsigned char>(s[i]), d = n == 2 ? s[i + 1] : 0;
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F)) || (n == 2 && c == 0xC2 && d < 0xA0)) {
      out += "\xEF\xBF\xBD";
      i += n ? n : 1;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

std::string Pad(const std::string& s, size_t w, bool right) {
  std::string fill(w > Width(s) ? w - Width(s) : 0, ' ');
  return right ? fill + s : s + fill;
}

std::string Show(const Cell& c) { return c.suppressed ? kMark : std::to_string(c.count); }

void Render(const Table& t, uint64_t min_count, std::string* out) {
  // One line of strings per row: the label, the cells, the row's total.
  std::vector<std::vector<std::string>> lines;
  std::vector<std::string> head{t.row_title + " \\ " + t.column_title};
  for (const auto& c : t.columns) head.push_back(Clean(c));
  head.push_back("total");
  lines.push_back(head);
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::vector<std::string> l{Clean(t.rows[r])};
    for (const Cell& c : t.cells[r]) l.push_back(Show(c));
    l.push_back(Show(t.row_totals[r]));
    lines.push_back(l);
  }
  std::vector<std::string> foot{"total"};
  for (const Cell& c : t.column_totals) foot.push_back(Show(c));
  foot.push_back(Show(t.total));
  lines.push_back(foot);

  std::vector<size_t> width(head.size(), 0);
  for (const auto& l : lines)
    for (size_t i = 0; i < l.size(); ++i) width[i] = std::max(width[i], Width(l[i]));
  bool any = false;
  for (const auto& l : lines)
    for (size_t i = 1; i < l.size(); ++i) any |= l[i] == kMark;

  *out += t.name.substr(0, 1) == "b" ? "B" + t.name.substr(1) : t.name;
  *out += " (cases per " + t.row_title + " and " + t.column_title + ")\n\n";
  for (size_t k = 0; k < lines.size(); ++k) {
    std::string line;
    for (size_t i = 0; i < lines[k].size(); ++i)
      line += (i ? "  " : "") + Pad(lines[k][i], width[i], i > 0);
    *out += line + "\n";
  }
  if (any) *out += "\n" + std::string(kMark) + " " + HiddenNote(min_count) + "\n";
  *out += "\n";
}

}  // namespace

std::string Text(const Report& r) {
  std::string out = "sealdrop statistics: " + std::to_string(r.cases) + " cases; threshold " +
                    std::to_string(r.min_count) + ".\n\n";
  for (const Table& t : r.tables) Render(t, r.min_count, &out);
  return out;
}

}  // namespace stats
}  // namespace sealdrop
