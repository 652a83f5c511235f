// sealdrop-server import-outbox: stores the replies and acknowledgements of
// an outbox the reviewers wrote, once its signer, instance, number,
// signatures and record hashes are proven. Anything wrong refuses the whole
// outbox and changes nothing.
#include <cstdio>

#include "server/cmd/cmd.h"

namespace sealdrop {
namespace server {
namespace cmd {
namespace {

struct Args {
  std::string dir, file;
};

int Run(const Args& a) {
  Config cfg;
  Status st = LoadConfig(a.dir, &cfg);
  if (!st.ok()) return Fail(st);
  crypto::SigningKey instance;
  st = LoadInstanceKey(cfg, &instance);
  if (!st.ok()) return Fail(st);
  std::string bytes;
  st = cli::ReadFile(a.file, &bytes, format::MaxOutbox());
  if (!st.ok()) return Fail(st);
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const char* nothing = "nothing was imported";

  // The header first, to name what is wrong; nothing it says is believed
  // until ReadOutbox has checked the signatures.
  format::OutboxInfo info;
  st = format::ReadOutboxHeader(p, bytes.size(), &info);
  if (!st.ok()) return Fail(st, nothing);
  const std::string signer = crypto::FormatSigningPublic(info.signer);
  const Recipient* who = cfg.Signer(info.signer);
  if (who == nullptr)
    return Fail(Status::AuthFailed("the outbox is signed by " + signer +
                                   ", which is no reviewer's signing key in config.toml"),
                std::string(nothing) + "; a reviewer's key is listed as `signing` in their "
                "[[recipient]]");
  if (info.instance != instance.pk)
    return Fail(Status::AuthFailed("the outbox is for instance " +
                                   crypto::ToHex(info.instance.data(), 32) + ", not this one (" +
                                   crypto::ToHex(instance.pk.data(), 32) + ")"),
                std::string(nothing) + "; import it on the instance it names");
  std::vector<format::OutboxReply> replies;
  std::vector<format::OutboxAck> acks;
  st = format::ReadOutbox(p, bytes.size(), &info, &replies, &acks);
  if (!st.ok()) return Fail(st, std::string(nothing) + "; the outbox was damaged or altered on its "
                                "way: write it again with sealdrop-review outbox --again " +
                                std::to_string(info.sequence));

  std::unique_ptr<storage::Store> store;
  st = storage::Store::Open(cfg.store_dir(), StoreOptions(cfg), &store);
  if (!st.ok()) return Fail(st);
  std::vector<storage::Id> held;
  size_t gone = 0;
  st = MatchAcks(store.get(), acks, &held, &gone);
  if (!st.ok())
    return Fail(st, std::string(nothing) + "; the vault that wrote it did not get that "
                "submission from this server's bundles: ask the reviewer who signed it");
  std::vector<storage::ReplyRec> recs;
  const uint32_t today = storage::Today();
  for (auto& r : replies) {
    storage::ReplyRec rec;
    rec.source = r.source;
    rec.id = r.id;
    rec.day = today;
    rec.signer = info.signer;
    rec.sig = r.sig;
    rec.sealed = std::move(r.sealed);
    recs.push_back(std::move(rec));
  }
  uint64_t expected = 0;
  st = store->ImportOutbox(info.signer, info.sequence, recs, held, today, &expected);
  const std::string number = std::to_string(info.sequence);
  if (st.Is(Status::Code::kExists))
    return Fail(Status::Exists("outbox " + number + " from " + who->name +
                               " was imported before (a replay)"),
                std::string(nothing) + "; the next outbox from this reviewer is number " +
                    std::to_string(expected));
  if (st.Is(Status::Code::kInvalidArgument))
    return Fail(Status::InvalidArgument("outbox " + number + " from " + who->name +
                                        " is out of order: this instance expects number " +
                                        std::to_string(expected)),
                std::string(nothing) + "; import outbox " + std::to_string(expected) +
                    " first, or have it written again with sealdrop-review outbox --again " +
                    std::to_string(expected));
  if (!st.ok()) return Fail(st, nothing);
  std::printf("imported outbox %s from %s: %zu replies, %zu acknowledgements\n", number.c_str(),
              who->name.c_str(), recs.size(), acks.size());
  if (gone > 0)
    std::printf("%zu of the acknowledged submissions were deleted already\n", gone);
  if (!held.empty())
    std::printf("%zu acknowledged submissions will be deleted from %s (ack_grace_days = %u), "
                "at a start or change of day of sealdrop-server serve\n",
                held.size(), storage::DayName(today + cfg.ack_grace_days).c_str(),
                cfg.ack_grace_days);
  return 0;
}

}  // namespace

Command AddImportOutbox(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("import-outbox",
                                   "store the replies of a signed outbox from the reviewers");
  c->add_option("dir", a->dir, "instance directory")->required();
  c->add_option("file", a->file, "the outbox (F.sdo) that sealdrop-review outbox wrote")
      ->required();
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace server
}  // namespace sealdrop
