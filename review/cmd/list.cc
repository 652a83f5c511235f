// sealdrop-review list: the vault's submissions, newest first, read without
// the key.
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::string vault;
  bool json = false;
  size_t limit = 100;
  bool all = false;
};

int Run(const std::string& vault_dir, bool json, size_t limit) {
  std::unique_ptr<storage::Store> vault;
  Status st = OpenVault(vault_dir, false, &vault);
  if (!st.ok()) return Fail(st, "import a bundle first: sealdrop-review import <bundle> --vault <dir> --key <key>");
  nlohmann::json arr = nlohmann::json::array();
  std::vector<storage::SubmissionRec> all;
  uint64_t total = 0;
  st = vault->Newest(limit, &all, &total);
  if (!st.ok()) return Fail(st);
  if (!json) std::printf("%-32s  %-10s  %5s  %14s\n", "id", "received", "files", "sealed bytes");
  for (const auto& r : all) {
    if (json) {
      arr.push_back({{"id", IdHex(r.id)},
                     {"received", storage::DayName(r.day)},
                     {"files", r.items.size() - 1},
                     {"sealed_bytes", storage::StoredSize(r)}});
    } else {
      std::printf("%-32s  %-10s  %5zu  %14llu\n", IdHex(r.id).c_str(), storage::DayName(r.day).c_str(),
                  r.items.size() - 1, static_cast<unsigned long long>(storage::StoredSize(r)));
    }
  }
  if (json) std::printf("%s\n", arr.dump(2).c_str());
  if (all.size() < total)
    std::fprintf(stderr, "%s: showing the %zu newest of %llu; --all lists every one\n", kTool,
                 all.size(), static_cast<unsigned long long>(total));
  return 0;
}

}  // namespace

Command AddList(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("list", "list the submissions in the vault, newest first");
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_flag("--json", a->json, "print a JSON array");
  c->add_option("--limit", a->limit, "how many of the newest to list")->capture_default_str();
  c->add_flag("--all", a->all, "list every submission");
  return {c, [a] { return Run(a->vault, a->json, a->all ? SIZE_MAX : a->limit); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
