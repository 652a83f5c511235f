// sealdrop-review outbox: writes the replies the instance has not been sent,
// and acknowledgements of the submissions imported from it, into one outbox
// for it, numbered and signed with the reviewer's signing key, for
// `sealdrop-server import-outbox` (FORMAT.md "Outbox"). Every reply goes to
// every instance the vault trusts: a source may log in through any of the
// instances behind one address (docs/INSTANCES.md).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::string vault, signing_key, passfile, out, instance;
  uint64_t again = 0;
};

// The instance the outbox is for: the one given, which the vault must trust,
// or the only one it trusts.
Status PickInstance(storage::Store* vault, const std::string& given, std::string* hex) {
  std::vector<std::string> trusted;
  SD_RETURN_IF_ERROR(TrustedInstances(vault, &trusted));
  if (!given.empty()) {
    SD_RETURN_IF_ERROR(review::NormaliseFingerprint(given, hex));
    for (const auto& t : trusted)
      if (t == *hex) return Status::OK();
    return Status::InvalidArgument("the vault has imported nothing from instance " + *hex);
  }
  if (trusted.size() == 1) {
    *hex = trusted[0];
    return Status::OK();
  }
  if (trusted.empty())
    return Status::InvalidArgument("the vault trusts no instance yet: import a bundle first");
  std::string names;
  for (const auto& t : trusted) names += "\n  " + t;
  return Status::InvalidArgument("the vault trusts several instances; name one with "
                                 "--instance-fingerprint:" + names);
}

int Run(const Args& a) {
  std::unique_ptr<storage::Store> vault;
  Status st = OpenVault(a.vault, false, &vault);
  if (!st.ok()) return Fail(st);
  std::string inst_hex;
  st = PickInstance(vault.get(), a.instance, &inst_hex);
  if (!st.ok()) return Fail(st, "the fingerprint is the instance key sealdrop-server init or check printed");
  std::vector<uint8_t> raw;
  storage::Key32 instance{};
  if (!crypto::FromHex(inst_hex, &raw) || raw.size() != instance.size())
    return Fail(Status::Corruption("the vault's list of instances is damaged"));
  std::copy(raw.begin(), raw.end(), instance.begin());

  std::vector<storage::QueuedReply> all;
  st = vault->QueuedReplies(&all);
  if (!st.ok()) return Fail(st);
  // Replies a source deleted on some instance: deleted on every other one
  // that was sent them, and sent to none that was not.
  std::vector<storage::QueuedDeletion> noted;
  st = vault->QueuedDeletions(&noted);
  if (!st.ok()) return Fail(st);
  std::set<storage::Id> gone;
  for (const auto& d : noted) gone.insert(d.id);
  std::map<storage::Id, uint64_t> sent_here;  // reply id: the outbox that carried it here
  for (const auto& r : all) sent_here[r.id] = r.OutboxFor(instance);
  std::vector<storage::QueuedReply> picked;
  std::vector<storage::Id> deletions;
  size_t left = 0, deletions_left = 0;
  for (const auto& d : noted) {
    const uint64_t carried = d.OutboxFor(instance);
    bool want = a.again == 0 ? carried == 0 : carried == a.again;
    if (a.again == 0) {
      // Only to an instance that got the reply, and not back to the one
      // where the source deleted it.
      want = want && sent_here[d.id] != 0 && d.from != instance;
    }
    if (!want) continue;
    if (deletions.size() < format::kMaxOutboxDeleted) deletions.push_back(d.id);
    else deletions_left++;
  }
  for (auto& r : all) {
    const uint64_t carried = r.OutboxFor(instance);
    const bool want = a.again == 0 ? carried == 0 && !gone.count(r.id) : carried == a.again;
    if (!want) continue;
    if (picked.size() < format::kMaxOutboxReplies) picked.push_back(std::move(r));
    else left++;
  }
  std::vector<storage::QueuedAck> queued;
  st = vault->QueuedAcks(&queued);
  if (!st.ok()) return Fail(st);
  std::vector<format::OutboxAck> acks;
  std::vector<storage::Id> ack_ids;
  size_t acks_left = 0;
  for (const auto& q : queued) {
    if (q.instance != instance || q.outbox != a.again) continue;
    if (acks.size() == format::kMaxOutboxAcks) {
      acks_left++;
      continue;
    }
    storage::SubmissionRec rec;
    st = vault->Get(q.id, &rec);
    if (!st.ok()) return Fail(st, "the vault is damaged: restore it from a copy");
    acks.push_back({q.id, format::RecordHash(rec)});
    ack_ids.push_back(q.id);
  }
  if (picked.empty() && acks.empty() && deletions.empty()) {
    if (a.again != 0)
      return Fail(Status::NotFound("no outbox " + std::to_string(a.again) + " was written for "
                                   "instance " + inst_hex));
    return Fail(Status::NotFound("nothing waits for an outbox to instance " + inst_hex +
                                 ": no reply it was not sent, and no submission imported from "
                                 "it since its last outbox"),
                "write a reply first with sealdrop-review reply <id> --message-file F");
  }

  crypto::SigningKey key;
  st = UnlockSigningKey(a.signing_key, a.passfile, &key);
  if (!st.ok()) return Fail(st, "the signing key is the .sign file keygen wrote beside your key");
  // One counter per instance and signing key, as the server keeps one per
  // signing key.
  const std::string counter = "outbox:" + inst_hex + ":" + crypto::ToHex(key.pk.data(), 32);
  uint64_t sequence = a.again;
  if (sequence == 0) {
    std::string last;
    st = vault->GetMeta(counter, &last);
    if (!st.ok() && !st.Is(Status::Code::kNotFound)) return Fail(st);
    uint64_t n = 0;
    if (st.ok()) {
      char* end = nullptr;
      n = std::strtoull(last.c_str(), &end, 10);
      if (last.empty() || end != last.c_str() + last.size() || n == UINT64_MAX)
        return Fail(Status::Corruption("the vault's outbox counter is damaged"));
    }
    sequence = n + 1;
  }
  format::OutboxInfo info;
  info.instance = instance;
  info.sequence = sequence;
  std::vector<format::OutboxReply> replies;
  std::vector<storage::Id> ids;
  for (auto& r : picked) {
    format::OutboxReply o;
    o.id = r.id;
    o.source = r.source;
    o.sealed = std::move(r.sealed);
    replies.push_back(std::move(o));
    ids.push_back(r.id);
  }
  std::string bytes;
  st = format::WriteOutbox(key, info, &replies, acks, &bytes, deletions);
  if (!st.ok()) return Fail(st);
  st = cli::WriteNewFile(a.out, bytes, 0600);
  if (!st.ok()) return Fail(st, "outbox never replaces a file; choose another --out");
  // Marked once the file is on disk: a failure here leaves the replies
  // queued, and the next outbox reuses the number, which the server takes
  // only once.
  if (a.again == 0) {
    st = vault->MarkOutbox(ids, ack_ids, sequence, instance, counter, std::to_string(sequence),
                           deletions);
    if (!st.ok()) return Fail(st, a.out + " was written; import it, then write the next outbox");
  }
  std::printf("outbox %llu for instance %s: %zu replies and %zu acknowledgements in %s "
              "(%zu bytes)\n",
              static_cast<unsigned long long>(sequence), inst_hex.c_str(), replies.size(),
              acks.size(), a.out.c_str(), bytes.size());
  if (!deletions.empty())
    std::printf("it deletes %zu replies their sources deleted on another instance\n",
                deletions.size());
  if (left > 0 || acks_left > 0 || deletions_left > 0)
    std::printf("%zu more replies, %zu more acknowledgements and %zu more deletions wait for the "
                "next outbox\n", left, acks_left, deletions_left);
  return 0;
}

}  // namespace

Command AddOutbox(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand(
      "outbox", "write the queued replies and acknowledgements into a signed outbox for "
                "sealdrop-server import-outbox");
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_option("--signing-key", a->signing_key, "your signing key file (<key>.sign from keygen)")
      ->required();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  c->add_option("--out", a->out, "outbox file to create (F.sdo)")->required();
  c->add_option("--instance-fingerprint", a->instance,
                "the instance the outbox is for, when the vault trusts several");
  c->add_option("--again", a->again,
                "write outbox N again, with the same replies, for one that was lost on its way")
      ->check(CLI::PositiveNumber);
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
