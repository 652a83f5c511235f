// sealdrop-review keygen: a new recipient key pair, its secret half sealed
// under a passphrase.
#include <cstdio>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::string out;
  uint32_t epoch = 1;
  std::string passfile;
};

int Run(const std::string& out, uint32_t epoch, const std::string& passfile) {
  crypto::Secret pass;
  Status st = review::ReadPassphrase(passfile, "New passphrase: ", passfile.empty(), &pass);
  if (!st.ok()) return Fail(st, "use --passphrase-file when there is no terminal");
  crypto::RecipientKey key;
  crypto::GenerateRecipientKey(epoch, &key);
  std::string bytes;
  st = crypto::SealKeyFile(key, pass, crypto::KdfParams{}, &bytes);
  if (!st.ok()) return Fail(st);
  st = cli::WriteNewFile(out, bytes, 0600);
  if (!st.ok()) return Fail(st, "keygen never overwrites a key; choose another --out");
  st = cli::WriteNewFile(out + ".pub", crypto::FormatPublicKey(key.pub) + "\n", 0644);
  if (!st.ok()) return Fail(st);
  std::printf("key %s (epoch %u)\nsecret: %s\npublic: %s.pub\n",
              crypto::ToHex(key.pub.id.data(), key.pub.id.size()).c_str(), epoch, out.c_str(),
              out.c_str());
  return 0;
}

}  // namespace

Command AddKeygen(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("keygen", "make a recipient key pair under a passphrase");
  c->add_option("--out", a->out, "secret key file to create (the public half goes to <out>.pub)")
      ->required();
  c->add_option("--epoch", a->epoch, "key epoch, for rotation")->capture_default_str();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  return {c, [a] { return Run(a->out, a->epoch, a->passfile); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
