// sealdrop-server set-key: the server's half of a reviewer's key rotation.
// Replaces one [[recipient]]'s key, or signing key, in config.toml, touching
// no other line of the file, once the new file has been checked as the
// server would load it. A replaced signing key moves to retired_signing, so
// that what it signed before still counts.
#include <sys/stat.h>

#include <cstdio>
#include <toml++/toml.h>

#include "server/cmd/cmd.h"

namespace sealdrop {
namespace server {
namespace cmd {
namespace {

struct Args {
  std::string dir, name, key, signing;
};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Where a setting of the [[recipient]] named `name` is written: its 1-based
// first and last lines (0 if it is not set) and its string value, if any.
struct Where {
  size_t first = 0, last = 0;
  std::string text;
};

Status Locate(const std::string& file, const std::string& path, const std::string& name,
              const char* setting, Where* out) {
  toml::table t;
  try {
    t = toml::parse(file, path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  }
  *out = Where{};
  const toml::array* arr = t["recipient"].as_array();
  for (size_t i = 0; arr != nullptr && i < arr->size(); i++) {
    const toml::table* r = (*arr)[i].as_table();
    if (r == nullptr || (*r)["name"].value<std::string>() != name) continue;
    if (const toml::node* n = r->get(setting)) {
      out->first = n->source().begin.line;
      out->last = n->source().end.line;
      if (n->is_string()) out->text = **n->as_string();
    }
    return Status::OK();
  }
  return Status::NotFound("no [[recipient]] named '" + name + "' in " + path);
}

// Byte offset of the start of 1-based line `line` (npos past the end).
size_t LineStart(const std::string& file, size_t line) {
  size_t at = 0;
  for (size_t l = 1; l < line && at != std::string::npos; l++) {
    at = file.find('\n', at);
    if (at != std::string::npos) at++;
  }
  return at;
}

// `file` with the quoted text `old` on line `line` replaced by `now`.
Status ReplaceOnLine(const std::string& file, const std::string& path, size_t line,
                     const std::string& old, const std::string& now, std::string* out) {
  const size_t at = LineStart(file, line);
  const size_t end = at == std::string::npos ? at : file.find('\n', at);
  const size_t pos = at == std::string::npos ? at : file.find(old, at);
  if (pos == std::string::npos || (end != std::string::npos && pos + old.size() > end))
    return Status::InvalidArgument(path + ":" + std::to_string(line) +
                                   ": the key is not written out on its line");
  *out = file.substr(0, pos) + now + file.substr(pos + old.size());
  return Status::OK();
}

std::string ReadKeyText(const std::string& arg, const char* prefix) {
  std::string text = Trim(arg);
  if (text.rfind(prefix, 0) == 0) return text;
  // A path to the .pub file that keygen or rotate wrote.
  if (!cli::ReadFile(arg, &text).ok()) return "";
  return Trim(text);
}

// The recipient key: a rotation moves forward only.
Status SetRecipientKey(const Args& a, const crypto::PublicKey& pub, const Recipient& now,
                       const std::string& path, std::string* file, std::string* said) {
  const std::string text = crypto::FormatPublicKey(pub);
  const std::string old_id = crypto::ToHex(now.key.id.data(), now.key.id.size());
  const std::string new_id = crypto::ToHex(pub.id.data(), pub.id.size());
  if (now.key.id == pub.id) {
    *said += "recipient " + a.name + ": key " + new_id + " is listed already\n";
    return Status::OK();
  }
  // An older key brought back would seal new submissions to a key that may
  // have been retired because it leaked.
  if (pub.epoch <= now.key.epoch)
    return Status::InvalidArgument("the new key's epoch (" + std::to_string(pub.epoch) +
                                   ") is not above the listed key's (" +
                                   std::to_string(now.key.epoch) +
                                   "); sealdrop-review rotate makes a key of the next epoch");
  Where w;
  SD_RETURN_IF_ERROR(Locate(*file, path, a.name, "key", &w));
  if (w.text.empty()) return Status::InvalidArgument(path + ": recipient '" + a.name + "' has no key line");
  SD_RETURN_IF_ERROR(ReplaceOnLine(*file, path, w.first, w.text, text, file));
  *said += "recipient " + a.name + ": key " + old_id + " (epoch " + std::to_string(now.key.epoch) +
           ") replaced by " + new_id + " (epoch " + std::to_string(pub.epoch) +
           "); submissions already stored stay sealed to " + old_id +
           ", which the reviewer's keyring keeps\n";
  return Status::OK();
}

// The signing key: the old one joins retired_signing, and no retired key
// comes back.
Status SetSigningKey(const Args& a, const crypto::SignPublic& pk, const Recipient& now,
                     const std::string& path, std::string* file, std::string* said) {
  const std::string text = crypto::FormatSigningPublic(pk);
  if (now.has_signing && now.signing == pk) {
    *said += "recipient " + a.name + ": signing key " + text + " is listed already\n";
    return Status::OK();
  }
  for (const auto& old : now.retired)
    if (old == pk)
      return Status::InvalidArgument("that signing key was retired; make a new one with "
                                     "sealdrop-review rotate --signing-key");
  Where w;
  SD_RETURN_IF_ERROR(Locate(*file, path, a.name, "signing", &w));
  if (!now.has_signing || w.text.empty())
    return Status::InvalidArgument(path + ": recipient '" + a.name + "' has no signing line; add "
                                   "signing = \"" + text + "\" to it by hand");
  const std::string old = w.text;
  SD_RETURN_IF_ERROR(ReplaceOnLine(*file, path, w.first, old, text, file));
  // The retired list, one line, rewritten whole; or a new line after signing.
  std::string list = "retired_signing = [";
  for (const auto& r : now.retired) list += "\"" + crypto::FormatSigningPublic(r) + "\", ";
  list += "\"" + old + "\"]\n";
  Where r;
  SD_RETURN_IF_ERROR(Locate(*file, path, a.name, "retired_signing", &r));
  if (r.first != 0 && r.first != r.last)
    return Status::InvalidArgument(path + ":" + std::to_string(r.first) +
                                   ": retired_signing spans several lines; write it on one");
  const size_t line = r.first != 0 ? r.first : w.first + 1;
  const size_t at = LineStart(*file, line);
  const size_t end = r.first == 0 || at == std::string::npos ? at : file->find('\n', at);
  const std::string head = at == std::string::npos ? *file : file->substr(0, at);
  const std::string tail = end == std::string::npos ? "" : file->substr(end + (r.first != 0));
  *file = head + (head.empty() || head.back() == '\n' ? "" : "\n") + list + tail;
  *said += "recipient " + a.name + ": signing key " + old + " retired, " + text +
           " takes its place; replies and acknowledgements the old key signed still count, "
           "outboxes signed with it are no longer imported\n";
  return Status::OK();
}

int Run(const Args& a) {
  if (a.key.empty() && a.signing.empty())
    return Fail(Status::InvalidArgument("set-key needs --key, --signing or both"),
                "--key takes the .pub file rotate wrote; --signing its .sign.pub");
  crypto::PublicKey pub;
  crypto::SignPublic pk{};
  Status st;
  if (!a.key.empty() && !(st = crypto::ParsePublicKey(ReadKeyText(a.key, "sdpk"), &pub)).ok())
    return Fail(st, "--key takes the public key (sdpk1:...) or its .pub file");
  if (!a.signing.empty() &&
      !(st = crypto::ParseSigningPublic(ReadKeyText(a.signing, "sdsig"), &pk)).ok())
    return Fail(st, "--signing takes the signing key (sdsig1:...) or its .sign.pub file");
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
  std::string file, said;
  st = cli::ReadFile(path, &file);
  if (!st.ok()) return Fail(st);
  const std::string before = file;
  if (!a.key.empty()) st = SetRecipientKey(a, pub, *now, path, &file, &said);
  if (st.ok() && !a.signing.empty()) st = SetSigningKey(a, pk, *now, path, &file, &said);
  if (!st.ok()) return Fail(st, "config.toml was left as it was");
  if (file == before) {
    std::printf("%snothing changed\n", said.c_str());
    return 0;
  }
  Config check;
  st = ParseConfig(cfg.dir, file, &check);
  if (!st.ok()) return Fail(st, "config.toml was left as it was");
  // The file must say what was asked, and no more than that of this reviewer.
  for (const Recipient& r : check.recipients) {
    if (r.name != a.name) continue;
    const bool key_ok = a.key.empty() || r.key.id == pub.id;
    const bool sign_ok = a.signing.empty() || (r.has_signing && r.signing == pk &&
                                               r.retired.size() == now->retired.size() +
                                                                       (now->signing == pk ? 0 : 1));
    if (!key_ok || !sign_ok)
      return Fail(Status::Corruption("the edited config.toml does not list the new key"),
                  "config.toml was left as it was; edit it by hand");
  }
  struct stat sb {};
  const mode_t mode = ::stat(path.c_str(), &sb) == 0 ? (sb.st_mode & 07777) : 0600;
  st = cli::ReplaceFile(path, file, mode);
  if (!st.ok()) return Fail(st);
  // As init leaves them: the times would otherwise say when the key changed.
  storage::SetDayTimes(path);
  storage::SetDayTimes(cfg.dir);
  std::printf("%sin %s; restart sealdrop-server serve (and api) to use it\n", said.c_str(),
              path.c_str());
  return 0;
}

}  // namespace

Command AddSetKey(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand(
      "set-key",
      "replace a reviewer's recipient or signing key in config.toml (after sealdrop-review rotate)");
  c->add_option("dir", a->dir, "instance directory")->required();
  c->add_option("--name", a->name, "the [[recipient]]'s name")->required();
  c->add_option("--key", a->key, "the new public key (sdpk1:...) or its .pub file");
  c->add_option("--signing", a->signing,
                "the new signing key (sdsig1:...) or its .sign.pub file; the old one is retired");
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace server
}  // namespace sealdrop
