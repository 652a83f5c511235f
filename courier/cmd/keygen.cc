// sealdrop-courier keygen: the courier's Ed25519 transport key, under a
// passphrase, and its public half for the server's [[courier]].
#include <sys/stat.h>

#include <cstdio>

#include "courier/cmd/cmd.h"

namespace sealdrop {
namespace courier {
namespace cmd {
namespace {

struct Args {
  std::string out, passfile;
};

int Run(const Args& a) {
  for (const char* ext : {"", ".pub"}) {
    struct stat sb;
    if (::lstat((a.out + ext).c_str(), &sb) == 0)
      return Fail(Status::Exists(a.out + ext + " already exists"),
                  "keygen never overwrites a key; choose another --out");
  }
  crypto::Secret pass;
  Status st = crypto::ReadPassphrase(a.passfile, "New passphrase: ", a.passfile.empty(), &pass);
  if (!st.ok()) return Fail(st, "use --passphrase-file when there is no terminal");
  crypto::SigningKey key;
  st = crypto::GenerateSigningKey(&key);
  std::string bytes;
  if (st.ok()) st = crypto::SealSigningKeyFile(key, 1, pass, crypto::KdfParams{}, &bytes);
  if (st.ok()) st = cli::WriteNewFile(a.out, bytes, 0600);
  const std::string pub = crypto::FormatSigningPublic(key.pk);
  if (st.ok()) st = cli::WriteNewFile(a.out + ".pub", pub + "\n", 0644);
  if (!st.ok()) return Fail(st);
  std::printf("transport key: %s (public half %s.pub)\nfor the server's config.toml:\n"
              "[[courier]]\nname = \"...\"\nkey = \"%s\"\n",
              a.out.c_str(), a.out.c_str(), pub.c_str());
  return 0;
}

}  // namespace

Command AddKeygen(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("keygen", "make the courier's transport key under a passphrase");
  c->add_option("--out", a->out, "key file to create (<out>.pub beside it)")->required();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace courier
}  // namespace sealdrop
