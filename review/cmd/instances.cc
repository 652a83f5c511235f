// sealdrop-review instances: the server instances a vault trusts, and
// forgetting one. After a server is seized or rebuilt with a new instance
// key, its old key must no longer be able to sign bundles the vault takes.
#include <algorithm>
#include <cstdio>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::string vault, forget;
};

int Run(const Args& a) {
  std::unique_ptr<storage::Store> vault;
  Status st = OpenVault(a.vault, false, &vault);
  if (!st.ok()) return Fail(st);
  std::vector<std::string> trusted;
  st = TrustedInstances(vault.get(), &trusted);
  if (!st.ok()) return Fail(st);
  if (a.forget.empty()) {
    for (const std::string& hex : trusted) {
      std::string day;
      const bool known = vault->GetMeta("instance:" + hex, &day).ok();
      std::printf("%s  first bundle from %s\n", hex.c_str(),
                  known ? storage::DayName(uint32_t(std::strtoul(day.c_str(), nullptr, 10))).c_str()
                        : "(unknown day)");
    }
    if (trusted.empty()) std::printf("this vault trusts no instance yet\n");
    return 0;
  }
  std::string hex;
  st = NormaliseFingerprint(a.forget, &hex);
  if (!st.ok()) return Fail(st, "--forget takes the whole instance key that instances lists");
  auto it = std::find(trusted.begin(), trusted.end(), hex);
  if (it == trusted.end())
    return Fail(Status::NotFound("the vault does not trust instance " + hex),
                "sealdrop-review instances --vault <dir> lists the ones it does");
  trusted.erase(it);
  std::string list;
  for (const std::string& t : trusted) list += t + "\n";
  // Trust first (import looks for instance:<hex>), then the list; what came
  // from it stays: only its later bundles are refused.
  st = vault->DeleteMeta("instance:" + hex);
  if (st.ok()) st = vault->PutMeta("instances", list);
  if (!st.ok()) return Fail(st);
  std::printf("the vault no longer trusts instance %s: its bundles are refused unless named "
              "with --instance-fingerprint; what it sent before stays in the vault\n",
              hex.c_str());
  return 0;
}

}  // namespace

Command AddInstances(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("instances", "list the server instances the vault trusts, or "
                                                "forget one");
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_option("--forget", a->forget, "stop trusting this instance (its whole key, as listed)");
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
