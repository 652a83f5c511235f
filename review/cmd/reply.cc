// sealdrop-review reply: seals a message from the team to the source of a
// submission (the reply key inside its manifest) and queues it in the vault
// until `outbox` carries it to the server.
#include <cstdio>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::string id, vault, key, passfile, message_file;
};

// Every byte is part of a well-formed UTF-8 sequence: the source's browser
// shows the reply as text.
bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = uint8_t(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; k++)
      if ((uint8_t(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

int Run(const Args& a) {
  std::string text;
  Status st = cli::ReadFile(a.message_file, &text, crypto::kMaxReply);
  if (st.Is(Status::Code::kTooLarge))
    return Fail(Status::TooLarge("the reply is longer than " + std::to_string(crypto::kMaxReply) +
                                 " bytes"),
                "shorten it, or send it as several replies");
  if (!st.ok()) return Fail(st);
  if (text.empty()) return Fail(Status::InvalidArgument("the message file is empty"));
  if (!ValidUtf8(text))
    return Fail(Status::InvalidArgument("the message file is not UTF-8 text"),
                "save it as UTF-8 (iconv -t UTF-8 converts it)");
  Reading rd;
  if (int rc = BeginReading({a.id}, a.vault, a.key, a.passfile, &rd)) return rc;
  Opened o;
  if (int rc = OpenSubmission(rd, 0, &o)) return rc;
  if (!o.m.has_reply_key)
    return Fail(Status::InvalidArgument("submission " + IdHex(o.rec.id) +
                                        " was sent without a codename: its source cannot receive "
                                        "a reply"));
  storage::QueuedReply r;
  r.id = crypto::RandomId();
  r.submission = o.rec.id;
  r.source = o.m.reply_key;
  r.day = storage::Today();
  st = crypto::SealReply(reinterpret_cast<const uint8_t*>(text.data()), text.size(),
                         o.m.reply_key.data(), &r.sealed);
  crypto::WipeString(&text);
  if (!st.ok()) return Fail(st);
  st = o.vault->QueueReply(r);
  if (!st.ok()) return Fail(st);
  std::printf("reply %s to the source of %s queued (%zu bytes sealed)\n"
              "write it into an outbox with: sealdrop-review outbox --vault %s ...\n",
              IdHex(r.id).c_str(), IdHex(o.rec.id).c_str(), r.sealed.size(), a.vault.c_str());
  return 0;
}

}  // namespace

Command AddReply(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand(
      "reply", "seal a reply to the source of a submission and queue it for the next outbox");
  c->add_option("id", a->id, "submission id (or a unique prefix)")->required();
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_option("--key", a->key, "your secret key file")->required();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  c->add_option("--message-file", a->message_file, "the reply, as UTF-8 text")->required();
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
