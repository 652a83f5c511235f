// sealdrop-server import-outbox: stores the replies and acknowledgements of
// an outbox the reviewers wrote, once its signer, instance, number,
// signatures and record hashes are proven. Anything wrong refuses the whole
// outbox and changes nothing.
#include <cstdio>

#include "server/cmd/cmd.h"

namespace sealdrop {
namespace server {
namespace cmd {
namespace {

struct Args {
  std::string dir, file;
};

int Run(const Args& a) {
  Config cfg;
  Status st = LoadConfig(a.dir, &cfg);
  if (!st.ok()) return Fail(st);
  crypto::SigningKey instance;
  st = LoadInstanceKey(cfg, &instance);
  if (!st.ok()) return Fail(st);
  std::string bytes;
  st = cli::ReadFile(a.file, &bytes, format::MaxOutbox());
  if (!st.ok()) return Fail(st);
  std::unique_ptr<storage::Store> store;
  st = storage::Store::Open(cfg.store_dir(), StoreOptions(cfg), &store);
  if (!st.ok()) return Fail(st);
  OutboxImport done;
  std::string hint;
  st = ImportOutboxBytes(cfg, instance.pk, store.get(), bytes, &done, &hint);
  if (!st.ok()) return Fail(st, hint);
  std::fputs(done.Report(cfg.ack_grace_days).c_str(), stdout);
  return 0;
}

}  // namespace

Command AddImportOutbox(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("import-outbox",
                                   "store the replies of a signed outbox from the reviewers");
  c->add_option("dir", a->dir, "instance directory")->required();
  c->add_option("file", a->file, "the outbox (F.sdo) that sealdrop-review outbox wrote")
      ->required();
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace server
}  // namespace sealdrop
