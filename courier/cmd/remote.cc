// What fetch and push share: the transport key, the instance, the answers.
#include <cstdio>
#include <vector>

#include "courier/cmd/cmd.h"

namespace sealdrop {
namespace courier {
namespace cmd {

int Prepare(const Remote& r, Endpoint* at, crypto::SigningKey* key) {
  std::string hex;
  Status st = crypto::NormaliseFingerprint(r.fingerprint, &hex);
  std::vector<uint8_t> bytes;
  if (!st.ok() || !crypto::FromHex(hex, &bytes))
    return Fail(st, "--instance-fingerprint takes the whole instance key that sealdrop-server "
                    "init or check printed");
  std::copy(bytes.begin(), bytes.end(), at->instance.begin());
  at->url = r.server;
  at->ca = r.ca;
  at->proxy = r.proxy;
  std::string file;
  st = cli::ReadFile(r.key, &file);
  crypto::SignPublic pk;
  if (st.ok()) st = crypto::PeekSigningKeyFile(file, &pk);
  if (!st.ok()) return Fail(st, "--key takes the file sealdrop-courier keygen wrote");
  crypto::Secret pass;
  const std::string prompt = "Passphrase for transport key " + crypto::FormatSigningPublic(pk) + ": ";
  st = crypto::ReadPassphrase(r.passfile, prompt.c_str(), false, &pass);
  if (st.ok()) st = crypto::OpenSigningKeyFile(file, pass, key);
  crypto::Wipe(file.data(), file.size());
  if (!st.ok()) return Fail(st);
  return 0;
}

int Refused(const Answer& a) {
  std::string text = a.text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  for (char& c : text)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) c = '_';
  std::fprintf(stderr, "%s: error: the server answered %d\n%s\n", kTool, a.status, text.c_str());
  // Refused as not signed by a listed courier for this instance: a matter
  // of keys, as for the other tools' authentication failures.
  if (a.status == 401 || a.status == 403) {
    std::fprintf(stderr, "%s: hint: is this courier's key listed as a [[courier]] in the "
                         "server's config.toml, and is the clock right?\n", kTool);
    return 1;
  }
  return 2;
}

}  // namespace cmd
}  // namespace courier
}  // namespace sealdrop
