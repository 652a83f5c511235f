// sealdrop-courier push: uploads an outbox (replies and acknowledgements)
// that sealdrop-review wrote; the server imports it or refuses all of it.
#include <cstdio>

#include "courier/cmd/cmd.h"

namespace sealdrop {
namespace courier {
namespace cmd {
namespace {

// The longest outbox (docs/FORMAT.md "Outbox"): 1000 replies of at most
// 67,632 sealed bytes and 100,000 acknowledgements. format::MaxOutbox() says
// the same, but linking format/ would bring the store's library (LMDB) into
// the courier; the server refuses a longer body from its head anyway.
constexpr size_t kMaxOutbox = 85 + 1000 * (116 + 67632) + 4 + 100000 * 48 + 64;

struct Args {
  Remote remote;
  std::string file;
};

int Run(const Args& a) {
  Endpoint at;
  crypto::SigningKey key;
  if (int rc = Prepare(a.remote, &at, &key)) return rc;
  std::string body;
  Status st = cli::ReadFile(a.file, &body, kMaxOutbox);
  if (!st.ok()) return Fail(st);
  Answer ans;
  st = Send(at, key, "POST", "/v1/outbox", body, nullptr, &ans);
  if (!st.ok()) return Fail(st, "push it again: an outbox is imported once, and a second copy "
                                "is refused as imported before");
  if (ans.status != 200) return Refused(ans);
  std::fputs(ans.text.c_str(), stdout);
  return 0;
}

}  // namespace

Command AddPush(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("push", "upload an outbox that sealdrop-review wrote");
  a->remote.Add(c);
  c->add_option("file", a->file, "the outbox (F.sdo)")->required();
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace courier
}  // namespace sealdrop
