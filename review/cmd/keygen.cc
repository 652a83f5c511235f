// sealdrop-review keygen: a reviewer's keys, each secret half sealed under
// the one passphrase: the recipient key pair that opens submissions, and the
// signing key pair that signs outboxes of replies.
#include <sys/stat.h>

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
  // All four names are free before anything is written: a keygen refused half
  // way would leave a recipient key without its signing key.
  for (const char* ext : {"", ".pub", ".sign", ".sign.pub"}) {
    struct stat sb;
    if (::lstat((out + ext).c_str(), &sb) == 0)
      return Fail(Status::Exists(out + ext + " already exists"),
                  "keygen never overwrites a key; choose another --out");
  }
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
  crypto::SigningKey sign;
  crypto::GenerateSigningKey(&sign);
  st = crypto::SealSigningKeyFile(sign, epoch, pass, crypto::KdfParams{}, &bytes);
  if (!st.ok()) return Fail(st);
  st = cli::WriteNewFile(out + ".sign", bytes, 0600);
  if (!st.ok()) return Fail(st, "keygen never overwrites a key; choose another --out");
  const std::string sign_pub = crypto::FormatSigningPublic(sign.pk);
  st = cli::WriteNewFile(out + ".sign.pub", sign_pub + "\n", 0644);
  if (!st.ok()) return Fail(st);
  std::printf("key %s (epoch %u)\nsecret: %s\npublic: %s.pub\n"
              "signing key (for outboxes of replies): %s.sign, public half %s.sign.pub\n"
              "for the server's config.toml:\n"
              "[[recipient]]\nname = \"...\"\nkey = \"%s\"\nsigning = \"%s\"\n",
              crypto::ToHex(key.pub.id.data(), key.pub.id.size()).c_str(), epoch, out.c_str(),
              out.c_str(), out.c_str(), out.c_str(), crypto::FormatPublicKey(key.pub).c_str(),
              sign_pub.c_str());
  return 0;
}

}  // namespace

Command AddKeygen(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("keygen", "make a reviewer's recipient and signing key pairs under a passphrase");
  c->add_option("--out", a->out, "secret key file to create (<out>.pub, <out>.sign and <out>.sign.pub beside it)")
      ->required();
  c->add_option("--epoch", a->epoch, "key epoch, for rotation")->capture_default_str();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  return {c, [a] { return Run(a->out, a->epoch, a->passfile); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
