// The report as a standalone SVG chart: cases per requesting country and per
// month, with the suppression stated on the chart itself.
#include <algorithm>
#include <cstdio>

#include "stats/note.h"
#include "stats/stats.h"
#include "stats/utf8.h"

namespace sealdrop {
namespace stats {
namespace {

constexpr int kWidth = 900;
constexpr int kLabelRight = 230;     // country labels end here, bars start after
constexpr size_t kLabelPoints = 32;  // and are cut to fit in front
constexpr int kBarMax = 560;
constexpr int kRowHeight = 18;
constexpr int kMonthHeight = 200;

// Text fit for XML 1.0: markup characters escaped; bytes that are not UTF-8
// and characters XML forbids become U+FFFD.
std::string Esc(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8At(s, i);
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (n == 0 || (n == 1 && c < 0x20 && c != '\t' && c != '\n' && c != '\r')) {
      out += "\xEF\xBF\xBD";
      i += n ? n : 1;
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.append(s, i, n);
    }
    i += n;
  }
  return out;
}

// At most `max` code points of s, the last of them an ellipsis if cut.
std::string Shorten(const std::string& s, size_t max) {
  size_t points = 0, i = 0;
  for (; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++points == max) break;
  if (i >= s.size()) return s;
  size_t rest = 0;
  for (size_t k = i; k < s.size(); ++k) rest += (static_cast<unsigned char>(s[k]) & 0xC0) != 0x80;
  return rest <= 1 ? s : s.substr(0, i) + "\xE2\x80\xA6";
}

std::string Text(int x, int y, const std::string& s, const char* extra = "") {
  char head[96];
  snprintf(head, sizeof head, "<text x=\"%d\" y=\"%d\"%s>", x, y, extra);
  return head + Esc(s) + "</text>\n";
}

std::string Rect(double x, double y, double w, double h, const char* fill) {
  char buf[160];
  snprintf(buf, sizeof buf,
           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x, y, w, h,
           fill);
  return buf;
}

const Table* Find(const Report& r, const char* id) {
  for (const Table& t : r.tables)
    if (t.id == id) return &t;
  return nullptr;
}

void Countries(const Table& t, int* y, std::string* out) {
  *out += Text(20, *y, "Cases per requesting country", " class=\"h\"");
  *y += 12;
  uint64_t max = 1;
  for (const Cell& c : t.row_totals)
    if (!c.suppressed) max = std::max(max, c.count);
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const Cell& c = t.row_totals[i];
    int base = *y + kRowHeight - 5;
    *out += Text(kLabelRight, base, Shorten(t.rows[i], kLabelPoints), " text-anchor=\"end\"");
    if (c.suppressed) {
      *out += Rect(kLabelRight + 10, *y + 3, 24, kRowHeight - 6, "url(#hidden)");
      *out += Text(kLabelRight + 40, base, "hidden", " class=\"n\"");
    } else {
      double w = double(c.count) * kBarMax / double(max);
      *out += Rect(kLabelRight + 10, *y + 3, w, kRowHeight - 6, "#4a6fa5");
      *out += Text(kLabelRight + 16 + int(w), base, std::to_string(c.count), " class=\"n\"");
    }
    *y += kRowHeight;
  }
  *y += 30;
}

void Months(const Table& t, int* y, std::string* out) {
  *out += Text(20, *y, "Cases per month of first submission", " class=\"h\"");
  *y += 20;
  // Every month of every known year, in order.
  std::vector<const Cell*> series;
  std::vector<std::string> years;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    if (t.row_ids[i].empty()) continue;
    years.push_back(t.rows[i]);
    for (size_t j = 0; j < t.columns.size(); ++j)
      if (!t.column_ids[j].empty()) series.push_back(&t.cells[i][j]);
  }
  uint64_t max = 1;
  for (const Cell* c : series)
    if (!c->suppressed) max = std::max(max, c->count);
  const int left = 60, span = kWidth - left - 30;
  const double step = series.empty() ? 0 : double(span) / double(series.size());
  const int base = *y + kMonthHeight;
  *out += Text(left - 6, *y + 10, std::to_string(max), " class=\"n\" text-anchor=\"end\"");
  *out += Text(left - 6, base, "0", " class=\"n\" text-anchor=\"end\"");
  char axis[128];
  snprintf(axis, sizeof axis, "<path d=\"M%d %d H%d\" stroke=\"#333\"/>\n", left, base,
           left + span);
  *out += axis;
  for (size_t k = 0; k < series.size(); ++k) {
    const Cell& c = *series[k];
    double x = left + k * step + step * 0.1, w = std::max(1.0, step * 0.8);
    if (c.suppressed) {
      *out += Rect(x, base - 10, w, 10, "url(#hidden)");
    } else if (c.count > 0) {
      double h = double(c.count) * kMonthHeight / double(max);
      *out += Rect(x, base - h, w, h, "#4a6fa5");
    }
  }
  for (size_t i = 0; i < years.size(); ++i)
    *out += Text(int(left + i * 12 * step), base + 16, years[i], " class=\"n\"");
  *y = base + 40;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    if (!t.row_ids[i].empty()) continue;
    const Cell& c = t.row_totals[i];
    *out += Text(20, *y,
                 "Cases whose first day is unknown, not drawn: " +
                     (c.suppressed ? std::string("hidden") : std::to_string(c.count)));
    *y += 20;
  }
}

}  // namespace

std::string Svg(const Report& r) {
  std::string body;
  int y = 36;
  body += Text(20, y, "sealdrop statistics: " + std::to_string(r.cases) + " cases", " class=\"t\"");
  y += 26;
  // The statement, on the chart itself.
  if (r.min_count > 1) {
    body += Text(20, y,
                 "Suppression: " + SmallCounts(r.min_count) + " are not published (threshold " +
                     std::to_string(r.min_count) + "), nor are other counts hidden with them");
    y += 18;
    body += Text(20, y, "so that none can be worked out from the published counts and totals.");
    y += 18;
    body += Rect(20, y - 10, 24, 12, "url(#hidden)");
    body += Text(50, y, "a hidden count (its bar's length or height means nothing)");
  } else {
    body += Text(20, y, "No count is suppressed (threshold 1).");
  }
  y += 40;
  if (const Table* t = Find(r, "country")) Countries(*t, &y, &body);
  if (const Table* t = Find(r, "month")) Months(*t, &y, &body);

  char head[512];
  snprintf(head, sizeof head,
           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
           "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
           kWidth, y + 10, kWidth, y + 10);
  std::string out = head;
  out += "<title>sealdrop statistics</title>\n";
  out +=
      "<defs><pattern id=\"hidden\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\">"
      "<path d=\"M0 6 L6 0\" stroke=\"#777\"/></pattern>"
      "<style>.t{font-size:18px;font-weight:bold}.h{font-size:14px;font-weight:bold}"
      ".n{fill:#333}</style></defs>\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  return out + body + "</svg>\n";
}

}  // namespace stats
}  // namespace sealdrop
