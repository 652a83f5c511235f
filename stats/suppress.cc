// Complementary suppression by cycles. The line equations of a table with its
// margins (each row's cells sum to its total, each column's likewise) are
// those of a bipartite graph: a node per row (the column totals' row too) and
// per column (the row totals' column too), an edge per entry. Adding 1 and
// taking 1 in turn around a cycle of hidden entries keeps every published
// number, so a hidden entry on such a cycle, all of whose entries are at
// least 1, can be one more or one less than it is. An entry on no cycle (a
// bridge) is fixed by the others. So: hide the small ones, then close each
// bridge into a cycle along the cheapest path of entries.
#include "stats/suppress.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <queue>

namespace sealdrop {
namespace stats {
namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();

// Nodes 0..rows are rows (rows: the column totals), rows+1.. are columns.
struct Nodes {
  const Grid& g;
  size_t Count() const { return g.rows + g.cols + 2; }
  bool IsRow(size_t n) const { return n <= g.rows; }
  size_t Col(size_t c) const { return g.rows + 1 + c; }
  size_t Corner() const { return g.At(g.rows, g.cols); }
  // The entry joining node n to the k-th node of the other side, and that node.
  size_t Entry(size_t n, size_t k) const { return IsRow(n) ? g.At(n, k) : g.At(k, n - g.rows - 1); }
  size_t Other(size_t n, size_t k) const { return IsRow(n) ? Col(k) : k; }
  size_t Degree(size_t n) const { return IsRow(n) ? g.cols + 1 : g.rows + 1; }
};

// Tarjan's bridges over the hidden entries.
struct Bridges {
  const Nodes& nodes;
  std::vector<size_t> disc, low;
  std::vector<char> bridge;
  size_t time = 0;

  explicit Bridges(const Nodes& n)
      : nodes(n), disc(n.Count(), kNone), low(n.Count(), 0), bridge(n.g.hidden.size(), 0) {}

  void Visit(size_t u, size_t via) {
    disc[u] = low[u] = time++;
    for (size_t k = 0; k < nodes.Degree(u); ++k) {
      size_t e = nodes.Entry(u, k);
      if (!nodes.g.hidden[e] || e == via) continue;
      size_t v = nodes.Other(u, k);
      if (disc[v] == kNone) {
        Visit(v, e);
        low[u] = std::min(low[u], low[v]);
        if (low[v] > disc[u]) bridge[e] = 1;
      } else {
        low[u] = std::min(low[u], disc[v]);
      }
    }
  }

  void Find() {
    for (size_t u = 0; u < nodes.Count(); ++u)
      if (disc[u] == kNone) Visit(u, kNone);
  }
};

// Hides the cheapest path of entries from node `from` to node `to` that uses
// neither entry `banned` nor node `without`. Cheapest: least sum of newly
// hidden counts, then fewest entries; hidden entries are free. Zero entries
// and the table's total are never used.
bool HidePath(Grid* g, size_t from, size_t to, size_t banned, size_t without) {
  Nodes nodes{*g};
  const uint64_t inf = std::numeric_limits<uint64_t>::max();
  std::vector<uint64_t> dist(nodes.Count(), inf);
  std::vector<size_t> back(nodes.Count(), kNone);  // entry we came by
  std::vector<size_t> prev(nodes.Count(), kNone);
  std::vector<char> done(nodes.Count(), 0);
  // Ties go to the lowest node, so the path chosen depends only on the table.
  using Item = std::pair<uint64_t, size_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
  dist[from] = 0;
  queue.push({0, from});
  for (;;) {
    if (queue.empty()) return false;
    size_t u = queue.top().second;
    queue.pop();
    if (done[u]) continue;
    if (u == to) break;
    done[u] = 1;
    for (size_t k = 0; k < nodes.Degree(u); ++k) {
      size_t e = nodes.Entry(u, k), v = nodes.Other(u, k);
      if (e == banned || e == nodes.Corner() || v == without) continue;
      uint64_t w;
      if (g->hidden[e]) {
        w = 0;
      } else if (g->count[e] > 0) {
        w = g->count[e] * 1024 + 1;
      } else {
        continue;
      }
      if (!done[v] && dist[u] + w < dist[v]) {
        dist[v] = dist[u] + w;
        back[v] = e;
        prev[v] = u;
        queue.push({dist[v], v});
      }
    }
  }
  for (size_t n = to; n != from; n = prev[n]) g->hidden[back[n]] = 1;
  return true;
}

// Closes a bridge into a cycle: a path between its ends that avoids it.
bool CloseCycle(Grid* g, size_t bridge) {
  size_t r = bridge / (g->cols + 1), c = bridge % (g->cols + 1);
  return HidePath(g, ColNode(*g, c), RowNode(*g, r), bridge, kNone);
}

// Which nodes node `from` reaches over hidden entries, not through `without`.
std::vector<char> Reach(const Grid& g, size_t from, size_t without) {
  Nodes nodes{g};
  std::vector<char> seen(nodes.Count(), 0);
  std::vector<size_t> todo{from};
  seen[from] = 1;
  while (!todo.empty()) {
    size_t u = todo.back();
    todo.pop_back();
    for (size_t k = 0; k < nodes.Degree(u); ++k) {
      size_t v = nodes.Other(u, k);
      if (g.hidden[nodes.Entry(u, k)] && v != without && !seen[v]) {
        seen[v] = 1;
        todo.push_back(v);
      }
    }
  }
  return seen;
}

}  // namespace

bool Protect(Grid* g, uint64_t min_count) {
  Nodes nodes{*g};
  for (size_t e = 0; e < g->count.size(); ++e)
    if (e != nodes.Corner() && g->count[e] > 0 && g->count[e] < min_count) g->hidden[e] = 1;
  if (g->hidden[nodes.Corner()]) return false;
  // Closing a bridge makes no other: the entries it hides lie on the new
  // cycle. So one search for bridges is enough; one an earlier cycle closed
  // already costs nothing.
  Bridges b(nodes);
  b.Find();
  for (size_t e = 0; e < b.bridge.size(); ++e)
    if (b.bridge[e] && !CloseCycle(g, e)) return false;
  return true;
}

// A path added between two nodes that the hidden entries already join to a
// third (`without`) closes a cycle through them, so it makes no bridge.
bool Link(Grid* g, const std::vector<size_t>& nodes, size_t without) {
  for (size_t i = 1; i < nodes.size(); ++i) {
    if (Reach(*g, nodes[0], without)[nodes[i]]) continue;
    if (!HidePath(g, nodes[i], nodes[0], kNone, without)) return false;
  }
  return true;
}

}  // namespace stats
}  // namespace sealdrop
