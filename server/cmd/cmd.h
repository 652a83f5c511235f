// sealdrop-server's subcommands, one file each, behind the table in
// server/main.cc. Each Add* declares its subcommand's flags on `app` and
// returns what runs it once the command line is parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "base/cli.h"
#include "server/server.h"

namespace sealdrop {
namespace server {

namespace cmd {

constexpr const char* kTool = "sealdrop-server";

using cli::Command;

Command AddInit(CLI::App& app);    // init.cc
Command AddServe(CLI::App& app);   // serve.cc
Command AddExport(CLI::App& app);  // export.cc
Command AddCheck(CLI::App& app);   // check.cc
Command AddImportOutbox(CLI::App& app);  // import_outbox.cc
Command AddSetKey(CLI::App& app);  // set_key.cc
Command AddApi(CLI::App& app);     // api.cc

inline int Fail(const Status& st, const std::string& hint = "") {
  return cli::Fail(kTool, st, hint);
}

// Reads the instance's signing key (instance.key), wiping the file's bytes.
inline Status LoadInstanceKey(const Config& cfg, crypto::SigningKey* key) {
  std::string text;
  Status st = cli::ReadFile(cfg.instance_key(), &text);
  if (st.ok()) st = crypto::ParseInstanceKey(text, key);
  crypto::Wipe(text.data(), text.size());
  return st;
}

// How every command but init opens the instance's store.
inline storage::Options StoreOptions(const Config& cfg) {
  storage::Options o;
  o.role = storage::Role::kServer;
  o.quota = cfg.store_quota;
  o.reserve = cfg.store_quota / 100 * cfg.store_reserve;
  o.cache_writes = false;
  return o;
}

}  // namespace cmd
}  // namespace server
}  // namespace sealdrop
