// sealdrop-server set-key: the server's half of a reviewer's key rotation.
// Replaces one [[recipient]]'s key in config.toml, touching no other byte of
// the file, once the new file has been checked as the server would load it.
#include <sys/stat.h>

#include <cstdio>
#include <toml++/toml.h>

#include "server/cmd/cmd.h"

namespace sealdrop {
namespace server {
namespace cmd {
namespace {

struct Args {
  std::string dir, name, key;
};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The 1-based line of config.toml that holds the key of the [[recipient]]
// named `name`, and that key's text.
Status FindKeyLine(const std::string& text, const std::string& path, const std::string& name,
                   size_t* line, std::string* old) {
  toml::table t;
  try {
    t = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  }
  const toml::array* arr = t["recipient"].as_array();
  for (size_t i = 0; arr != nullptr && i < arr->size(); i++) {
    const toml::table* r = (*arr)[i].as_table();
    if (r == nullptr || (*r)["name"].value<std::string>() != name) continue;
    const toml::node* key = r->get("key");
    if (key == nullptr || !key->is_string())
      return Status::InvalidArgument(path + ": recipient '" + name + "' has no key line");
    *line = key->source().begin.line;
    *old = **key->as_string();
    return Status::OK();
  }
  return Status::NotFound("no [[recipient]] named '" + name + "' in " + path);
}

int Run(const Args& a) {
  std::string text = Trim(a.key);
  if (text.rfind("sdpk", 0) != 0) {
    // A path to the .pub file that keygen or rotate wrote.
    Status st = cli::ReadFile(a.key, &text);
    if (!st.ok()) return Fail(st, "--key takes the public key (sdpk1:...) or its .pub file");
    text = Trim(text);
  }
  crypto::PublicKey pub;
  Status st = crypto::ParsePublicKey(text, &pub);
  if (!st.ok()) return Fail(st, "--key takes the public key (sdpk1:...) or its .pub file");

  Config cfg;
  st = LoadConfig(a.dir, &cfg);
  if (!st.ok()) return Fail(st);
  const Recipient* now = nullptr;
  for (const Recipient& r : cfg.recipients)
    if (r.name == a.name) now = &r;
  const std::string path = cfg.dir + "/config.toml";
  if (now == nullptr) {
    std::string names;
    for (const Recipient& r : cfg.recipients) names += (names.empty() ? "" : ", ") + r.name;
    return Fail(Status::NotFound("no [[recipient]] named '" + a.name + "' in " + path),
                "the names there: " + names);
  }
  const std::string old_id = crypto::ToHex(now->key.id.data(), now->key.id.size());
  const std::string new_id = crypto::ToHex(pub.id.data(), pub.id.size());
  if (now->key.id == pub.id) {
    std::printf("recipient %s: key %s is listed already; nothing changed\n", a.name.c_str(),
                new_id.c_str());
    return 0;
  }
  // A rotation moves forward: an older key brought back would seal new
  // submissions to a key that may have been retired because it leaked.
  if (pub.epoch <= now->key.epoch)
    return Fail(Status::InvalidArgument("the new key's epoch (" + std::to_string(pub.epoch) +
                                        ") is not above the listed key's (" +
                                        std::to_string(now->key.epoch) + ")"),
                "sealdrop-review rotate makes a key of the next epoch");

  std::string file;
  st = cli::ReadFile(path, &file);
  size_t line = 0;
  std::string old;
  if (st.ok()) st = FindKeyLine(file, path, a.name, &line, &old);
  if (!st.ok()) return Fail(st);
  // Replace the old key's text on its own line, and only there.
  size_t at = 0;
  for (size_t l = 1; l < line && at != std::string::npos; l++) {
    at = file.find('\n', at);
    if (at != std::string::npos) at++;
  }
  const size_t end = at == std::string::npos ? at : file.find('\n', at);
  const size_t pos = at == std::string::npos ? at : file.find(old, at);
  if (pos == std::string::npos || (end != std::string::npos && pos + old.size() > end))
    return Fail(Status::InvalidArgument(path + ":" + std::to_string(line) +
                                        ": the key is not written out on its line"),
                "replace it by hand with: key = \"" + text + "\"");
  const std::string changed = file.substr(0, pos) + text + file.substr(pos + old.size());
  Config check;
  st = ParseConfig(cfg.dir, changed, &check);
  if (!st.ok()) return Fail(st, "config.toml was left as it was");
  for (const Recipient& r : check.recipients)
    if (r.name == a.name && r.key.id != pub.id)
      return Fail(Status::Corruption("the edited config.toml does not list the new key"),
                  "config.toml was left as it was; edit it by hand");
  struct stat sb {};
  const mode_t mode = ::stat(path.c_str(), &sb) == 0 ? (sb.st_mode & 07777) : 0600;
  st = cli::ReplaceFile(path, changed, mode);
  if (!st.ok()) return Fail(st);
  // As init leaves them: the times would otherwise say when the key changed.
  storage::SetDayTimes(path);
  storage::SetDayTimes(cfg.dir);
  std::printf("recipient %s: key %s (epoch %u) replaced by %s (epoch %u) in %s\n"
              "restart sealdrop-server serve to seal new submissions to it; those already "
              "stored stay sealed to %s, which the reviewer's keyring keeps\n",
              a.name.c_str(), old_id.c_str(), now->key.epoch, new_id.c_str(), pub.epoch,
              path.c_str(), old_id.c_str());
  return 0;
}

}  // namespace

Command AddSetKey(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand(
      "set-key", "replace a reviewer's recipient key in config.toml (after sealdrop-review rotate)");
  c->add_option("dir", a->dir, "instance directory")->required();
  c->add_option("--name", a->name, "the [[recipient]]'s name")->required();
  c->add_option("--key", a->key, "the new public key (sdpk1:...) or its .pub file")->required();
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace server
}  // namespace sealdrop
