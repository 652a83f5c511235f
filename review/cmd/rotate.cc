// sealdrop-review rotate: adds a new recipient key to a reviewer's keyring
// (turning a key file into a keyring on first use), so that one unlock
// still opens what was sealed to the older keys; or replaces the signing
// key, whose old secret is of no further use once the server retires it.
#include <cstdio>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::string key, signing_key, passfile;
  uint32_t epoch = 0;
};

// The new key's epoch: the one asked for, or the next; never one not above
// `last`, the epoch of the key it follows.
Status NextEpoch(const Args& a, uint32_t last, const char* whose, uint32_t* epoch) {
  *epoch = a.epoch != 0 ? a.epoch : last + 1;
  if (*epoch <= last)
    return Status::InvalidArgument("--epoch " + std::to_string(*epoch) + " is not above " + whose +
                                   " (" + std::to_string(last) + ")");
  return Status::OK();
}

// Replaces a key file and its .pub, the public half first: if the secret
// cannot be written, the old one stands and the new .pub names a key nobody
// was given yet.
Status Publish(const std::string& path, const std::string& public_line,
               const std::string& secret) {
  Status st = cli::ReplaceFile(path + ".pub", public_line + "\n", 0644);
  return st.ok() ? cli::ReplaceFile(path, secret, 0600) : st;
}

int RotateSigning(const Args& a) {
  crypto::SigningKey old;
  crypto::Secret pass;
  uint32_t last = 0;
  Status st = UnlockSigningKey(a.signing_key, a.passfile, &old, &pass, &last);
  if (!st.ok()) return Fail(st, "--signing-key is the .sign file keygen wrote beside your key");
  uint32_t epoch = 0;
  st = NextEpoch(a, last, "the signing key's", &epoch);
  if (!st.ok()) return Fail(st, "leave --epoch out to take the next one");
  crypto::SigningKey fresh;
  st = crypto::GenerateSigningKey(&fresh);
  std::string bytes;
  if (st.ok()) st = crypto::SealSigningKeyFile(fresh, epoch, pass, crypto::KdfParams{}, &bytes);
  if (!st.ok()) return Fail(st);
  const std::string line = crypto::FormatSigningPublic(fresh.pk);
  st = Publish(a.signing_key, line, bytes);
  if (!st.ok()) return Fail(st);
  std::printf("%s now holds a new signing key (epoch %u); its public half is in %s.pub:\n%s\n"
              "The old key, %s, is gone from this laptop: outboxes it signed that the server has "
              "not imported yet will be refused once it is retired.\n"
              "On the server: sealdrop-server set-key <instance> --name <your name> --signing '%s'\n"
              "and restart sealdrop-server serve and api: replies and acknowledgements the old "
              "key signed still count.\n",
              a.signing_key.c_str(), epoch, a.signing_key.c_str(), line.c_str(),
              crypto::FormatSigningPublic(old.pk).c_str(), line.c_str());
  return 0;
}

int Run(const Args& a) {
  if (a.key.empty() == a.signing_key.empty())
    return Fail(Status::InvalidArgument("rotate takes --key or --signing-key, one at a time"),
                "--key grows your keyring; --signing-key replaces your signing key");
  if (!a.signing_key.empty()) return RotateSigning(a);
  crypto::Keyring ring;
  crypto::Secret pass;  // the same passphrase seals the grown ring
  Status st = UnlockKey(a.key, a.passfile, &ring, &pass);
  if (!st.ok()) return Fail(st);
  uint32_t epoch = 0;
  st = NextEpoch(a, ring.current().pub.epoch, "the newest key's", &epoch);
  if (!st.ok()) return Fail(st, "leave --epoch out to take the next one");
  if (ring.keys.size() >= crypto::kMaxKeyringKeys)
    return Fail(Status::TooLarge("the keyring holds " + std::to_string(ring.keys.size()) +
                                 " keys already, the most it can"));
  crypto::RecipientKey fresh;
  st = crypto::GenerateRecipientKey(epoch, &fresh);
  if (!st.ok()) return Fail(st);
  ring.keys.push_back(std::move(fresh));
  std::string bytes;
  st = crypto::SealKeyring(ring, pass, crypto::KdfParams{}, &bytes);
  if (!st.ok()) return Fail(st);
  const crypto::PublicKey& pub = ring.current().pub;
  const std::string line = crypto::FormatPublicKey(pub);
  st = Publish(a.key, line, bytes);
  if (!st.ok()) return Fail(st);
  std::printf("%s now holds %zu keys; the new one, %s (epoch %u), is in %s.pub:\n%s\n"
              "On the server: sealdrop-server set-key <instance> --name <your name> --key '%s'\n"
              "and restart sealdrop-server serve: new submissions are sealed to it, and this "
              "keyring still opens the old ones.\n",
              a.key.c_str(), ring.keys.size(), crypto::ToHex(pub.id.data(), pub.id.size()).c_str(),
              epoch, a.key.c_str(), line.c_str(), line.c_str());
  return 0;
}

}  // namespace

Command AddRotate(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand(
      "rotate", "add a new recipient key to your keyring (old ones stay, for old submissions), "
                "or replace your signing key");
  c->add_option("--key", a->key, "your secret key file or keyring, replaced by the grown keyring");
  c->add_option("--signing-key", a->signing_key,
                "your signing key file (.sign), replaced by a new one under the same passphrase");
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  c->add_option("--epoch", a->epoch, "the new key's epoch (default: the newest key's + 1)");
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
