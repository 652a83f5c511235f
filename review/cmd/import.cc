// sealdrop-review import: verifies a bundle from sealdrop-server export and
// adds its submissions to the vault, still sealed.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "review/cmd/cmd.h"
#include "review/cmd/json.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

// An exclusive lock on a vault for the life of a command that writes to it.
// Opening for writing sweeps every pending submission, so two imports into
// one vault at once would remove each other's unfinished work.
class VaultLock {
 public:
  VaultLock() = default;
  VaultLock(const VaultLock&) = delete;
  VaultLock& operator=(const VaultLock&) = delete;
  ~VaultLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  // InvalidArgument if another process holds the lock; it is never waited for.
  Status Take(const std::string& dir) {
    path_ = dir + "/write.lock";
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    created_ = fd_ >= 0;
    if (fd_ < 0 && errno == EEXIST)
      fd_ = ::open(path_.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ < 0) return Status::IOError("cannot open " + path_ + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return Status::OK();
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    if (e == EWOULDBLOCK)
      return Status::InvalidArgument("another sealdrop-review import is writing to " + dir);
    return Status::IOError("cannot lock " + path_ + ": " + std::strerror(e));
  }
  // For a directory that turned out not to be a vault: leaves it as it was.
  void Discard() {
    if (created_) ::unlink(path_.c_str());
  }

 private:
  int fd_ = -1;
  bool created_ = false;
  std::string path_;
};

// Opens (creating if absent) the vault for a command that writes to it, takes
// its lock, and removes whatever an interrupted import left pending, as the
// server sweeps its store at start-up. Returns 0, or the exit status after
// reporting the error.
int OpenVaultForWriting(const std::string& dir, std::unique_ptr<storage::Store>* vault,
                        VaultLock* lock) {
  // Locked before LMDB is opened: opening waits for LMDB's writer lock, which
  // a running import holds while it writes, and for ever if it is stopped.
  struct stat sb;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Fail(Status::IOError("cannot create " + dir + ": " + std::strerror(errno)));
  if (::stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode))
    return Fail(Status::InvalidArgument(dir + " is not a directory"),
                "--vault names a directory (created if absent)");
  Status st = lock->Take(dir);
  if (!st.ok()) return Fail(st, "wait for the other import to finish, then run this one again");
  st = OpenVault(dir, true, vault);
  if (!st.ok()) {
    lock->Discard();
    return Fail(st);
  }
  uint64_t swept = 0;
  st = (*vault)->Sweep(&swept);
  if (!st.ok()) return Fail(st);
  if (swept)
    std::fprintf(stderr, "%s: removed %llu submissions that an interrupted import left unfinished\n",
                 kTool, static_cast<unsigned long long>(swept));
  return 0;
}

// Marks an instance as trusted, so that its later bundles import without a
// flag. The list goes first: an interrupted pin leaves the instance untrusted.
Status PinInstance(storage::Store* vault, const std::string& hex, uint32_t day) {
  std::string list;
  Status st = vault->GetMeta("instances", &list);
  if (!st.ok() && !st.Is(Status::Code::kNotFound)) return st;
  if (("\n" + list).find("\n" + hex + "\n") == std::string::npos)
    SD_RETURN_IF_ERROR(vault->PutMeta("instances", list + hex + "\n"));
  return vault->PutMeta("instance:" + hex, std::to_string(day));
}

// The recipient key ids of `recs` that this vault has not seen before,
// which it then remembers (meta "recipients", one hex id per line). A server
// whose operator, or intruder, adds a key of their own seals every new
// submission to it too: the reviewers should hear of every new one. `first`
// says the vault knew none yet.
Status NewRecipients(storage::Store* vault, const std::vector<storage::SubmissionRec>& recs,
                     std::vector<std::string>* fresh, bool* first) {
  std::string list;
  Status st = vault->GetMeta("recipients", &list);
  if (!st.ok() && !st.Is(Status::Code::kNotFound)) return st;
  *first = list.empty();
  std::set<std::string> seen;
  for (const auto& r : recs)
    for (const auto& k : r.keys) {
      const std::string id = crypto::ToHex(k.key_id.data(), k.key_id.size());
      if (("\n" + list).find("\n" + id + "\n") == std::string::npos && seen.insert(id).second)
        fresh->push_back(id);
    }
  if (fresh->empty()) return Status::OK();
  for (const std::string& id : *fresh) list += id + "\n";
  return vault->PutMeta("recipients", list);
}

// Reports an import that failed once its signer was trusted. Nothing of the
// bundle is visible; what it staged is removed now, or by the next import if
// this one is killed first.
int ImportFailed(const Status& st) {
  bool auth = st.Is(Status::Code::kAuthFailed) || st.Is(Status::Code::kCorruption);
  const char* hint =
      auth ? "nothing was imported; the bundle is damaged or was altered on its way: import an "
             "intact copy"
      : st.Is(Status::Code::kVersion)
          ? "nothing was imported; upgrade sealdrop-review to a version no older than the server's"
          : "nothing was imported; once the problem is fixed, run the same import again";
  std::fprintf(stderr, "%s: error: %s\n%s: hint: %s\n", kTool, st.message().c_str(), kTool, hint);
  return auth ? 1 : 2;
}

struct Args {
  std::string bundle, vault, key, passfile;
  bool trust_new = false, json = false;
  std::vector<std::string> fingerprints;  // --instance-fingerprint, as typed
};

int Run(const Args& a) {
  // A mistyped fingerprint is a usage error, found before a passphrase is asked.
  std::set<std::string> expected;
  for (const auto& f : a.fingerprints) {
    std::string hex;
    Status st = review::NormaliseFingerprint(f, &hex);
    if (!st.ok())
      return Fail(st, "--instance-fingerprint takes the whole instance key that sealdrop-server "
                      "init or check printed");
    expected.insert(hex);
  }
  crypto::Keyring key;
  Status st = UnlockKey(a.key, a.passfile, &key);
  if (!st.ok()) return Fail(st);
  int fd = ::open(a.bundle.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(Status::IOError("cannot read " + a.bundle + ": " + std::strerror(errno)));
  struct CloseFd {
    int fd;
    ~CloseFd() { ::close(fd); }
  } close_fd{fd};

  // The signer is judged from the header (docs/FORMAT.md "Bundle") before
  // anything is stored. ReadBundle then reads the same bytes again and
  // verifies the signature, which covers them, before anything is visible.
  constexpr size_t kHeader = format::kBundleHeaderSize;
  uint8_t head[kHeader];
  size_t head_len = 0, replayed = 0;
  while (head_len < kHeader) {
    ssize_t r = ::read(fd, head + head_len, kHeader - head_len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return Fail(Status::IOError("cannot read " + a.bundle + ": " + std::strerror(errno)));
    if (r == 0) break;
    head_len += size_t(r);
  }
  struct stat bst;
  Progress progress("importing " + a.bundle, ::fstat(fd, &bst) == 0 ? uint64_t(bst.st_size) : 0,
                    true);
  uint64_t read_so_far = 0;
  format::Source source = [&](uint8_t* p, size_t n, size_t* got) -> Status {
    if (replayed < head_len) {
      *got = std::min(n, head_len - replayed);
      std::memcpy(p, head + replayed, *got);
      replayed += *got;
      return Status::OK();
    }
    ssize_t r;
    do r = ::read(fd, p, n);
    while (r < 0 && errno == EINTR);
    if (r < 0) return Status::IOError("cannot read " + a.bundle + ": " + std::strerror(errno));
    *got = size_t(r);
    read_so_far += *got;
    progress.Update(read_so_far);
    return Status::OK();
  };
  format::BundleInfo info;
  st = format::ReadBundleHeader(head, head_len, &info);
  if (!st.ok()) return ImportFailed(st);
  const std::string signer = crypto::ToHex(info.instance.data(), info.instance.size());

  // A vault that does not exist yet trusts nothing, and a refused bundle
  // does not create one.
  std::unique_ptr<storage::Store> vault;
  VaultLock lock;
  struct stat sb;
  if (::stat(a.vault.c_str(), &sb) == 0) {
    if (int rc = OpenVaultForWriting(a.vault, &vault, &lock)) return rc;
  }
  bool pinned = false;
  if (vault) {
    std::string day;
    st = vault->GetMeta("instance:" + signer, &day);
    if (!st.ok() && !st.Is(Status::Code::kNotFound)) return Fail(st);
    pinned = st.ok();
  }
  bool pin = false;
  if (!expected.empty()) {
    // The operator named the instance: any other signer is refused, even one
    // pinned before.
    if (expected.count(signer) == 0) {
      std::string given;
      for (const auto& e : expected) given += (given.empty() ? "" : ", ") + e;
      return Fail(Status::AuthFailed("bundle is signed by instance " + signer +
                                     ", not by the instance --instance-fingerprint gives (" +
                                     given + ")"),
                  "nothing was imported; check that the bundle came from your server and that "
                  "the fingerprint is the instance key sealdrop-server init or check printed");
    }
    pin = !pinned;
  } else if (!pinned) {
    if (!a.trust_new)
      return Fail(Status::AuthFailed("bundle is signed by instance " + signer +
                                     ", which this vault does not trust yet"),
                  "compare it with the instance key that sealdrop-server init or check "
                  "printed; if they are the same, run import again with "
                  "--instance-fingerprint <that key>");
    // A warning, so to standard error with --json.
    std::fprintf(a.json ? stderr : stdout,
                 "trusting instance %s without checking it; it should be the instance key that "
                 "sealdrop-server init or check printed\n",
                 signer.c_str());
    std::fflush(stdout);
    pin = true;
  }
  if (!vault) {
    if (int rc = OpenVaultForWriting(a.vault, &vault, &lock)) return rc;
  }

  // Everything goes in as pending and becomes visible in one transaction
  // once the whole bundle has verified.
  std::map<storage::Id, storage::SubmissionRec> staged;
  std::set<storage::Id> skipped;
  // Only what this reviewer's keys can open is acknowledged: the vault holds
  // the rest too, but an acknowledgement lets the server delete it, and no
  // one who can read it may have it yet.
  std::set<storage::Id> mine;
  auto sealed_to_me = [&](const storage::SubmissionRec& rec) {
    for (const auto& k : rec.keys)
      for (const auto& own : key.keys)
        if (crypto::Equal(k.key_id.data(), own.pub.id.data(), k.key_id.size())) return true;
    return false;
  };
  std::vector<std::vector<uint8_t>> hold;
  std::vector<storage::ChunkWrite> writes;
  std::vector<storage::Id> write_ids;
  size_t held = 0;
  auto flush = [&]() -> Status {
    // Chunks are grouped per submission for PutChunks.
    size_t i = 0;
    while (i < writes.size()) {
      size_t j = i;
      std::vector<storage::ChunkWrite> group;
      while (j < writes.size() && write_ids[j] == write_ids[i]) group.push_back(writes[j++]);
      SD_RETURN_IF_ERROR(vault->PutChunks(write_ids[i], group));
      i = j;
    }
    writes.clear();
    write_ids.clear();
    hold.clear();
    held = 0;
    return Status::OK();
  };
  format::BundleHandler h;
  h.submission = [&](const storage::SubmissionRec& rec) -> Status {
    if (staged.count(rec.id) || skipped.count(rec.id))
      return Status::Corruption("bundle lists a submission twice");
    if (sealed_to_me(rec)) mine.insert(rec.id);
    if (vault->Contains(rec.id)) {
      skipped.insert(rec.id);
      return Status::OK();
    }
    SD_RETURN_IF_ERROR(vault->BeginPending(rec.id));
    staged[rec.id] = rec;
    return Status::OK();
  };
  h.chunk = [&](const storage::Id& id, uint32_t item, uint32_t index, const uint8_t* p,
                size_t n) -> Status {
    if (skipped.count(id)) return Status::OK();
    auto it = staged.find(id);
    if (it == staged.end()) return Status::Corruption("bundle chunk for an unknown submission");
    const auto& rec = it->second;
    if (item >= rec.items.size() || index >= rec.items[item].chunks ||
        n != storage::ChunkCipherSize(rec, rec.items[item], index))
      return Status::Corruption("bundle chunk does not fit its submission");
    hold.emplace_back(p, p + n);
    writes.push_back({item, index, hold.back().data(), n});
    write_ids.push_back(id);
    held += n;
    return held >= (4u << 20) ? flush() : Status::OK();
  };
  // Replies a source deleted on that instance: the other instances delete
  // them when their next outbox says so (outbox.cc).
  std::vector<storage::Id> deleted;
  h.deleted = [&](const storage::Id& id) -> Status {
    deleted.push_back(id);
    return Status::OK();
  };
  st = format::ReadBundle(source, h, &info);
  if (st.ok() && crypto::ToHex(info.instance.data(), info.instance.size()) != signer)
    st = Status::Corruption("bundle signer differs from the one its header named");
  if (st.ok()) st = flush();
  // Pinned before the commit: an import killed in between leaves the pin
  // (the bundle verified) and pending submissions that the next one sweeps.
  if (st.ok() && pin) st = PinInstance(vault.get(), signer, info.day);
  std::vector<storage::SubmissionRec> recs;
  for (auto& kv : staged) recs.push_back(kv.second);
  // The acknowledgements go in the same transaction: a submission sealed to
  // this reviewer is in the vault exactly when its acknowledgement is queued.
  // One imported before
  // (its own acknowledgement queued or sent then, or from before
  // acknowledgements) gets one if it has none.
  storage::WriteBatch commit;
  storage::Key32 from{};
  std::copy(info.instance.begin(), info.instance.end(), from.begin());
  for (const auto& r : recs) commit.Commit(r);
  for (const auto& r : recs)
    if (mine.count(r.id)) commit.Ack(r.id, from);
  for (const auto& id : skipped)
    if (mine.count(id)) commit.Ack(id, from);
  if (st.ok()) st = vault->Write(commit);
  progress.Done();
  if (!st.ok()) {
    for (auto& kv : staged) (void)vault->Abort(kv.first);
    return ImportFailed(st);
  }
  // After the commit: a crash in between loses nothing, since every bundle
  // from that instance carries its deletions again.
  uint64_t noted = 0;
  st = vault->QueueDeletions(from, deleted, &noted);
  if (!st.ok()) return Fail(st, "the submissions were imported; import the bundle again");
  size_t readable = 0;
  for (const auto& r : recs) {
    crypto::Secret ck;
    if (crypto::OpenContentKey(SealedKeys(r), key, &ck).ok()) readable++;
  }
  const std::string key_id =
      crypto::ToHex(key.current().pub.id.data(), key.current().pub.id.size());
  std::vector<std::string> fresh;
  bool first = false;
  st = NewRecipients(vault.get(), recs, &fresh, &first);
  if (!st.ok()) return Fail(st, "the submissions were imported; import the bundle again to "
                                "see its recipients");
  // What the vault learns now, list and stats need not open again.
  Questionnaires qs;
  st = Reindex(vault.get(), key, recs, &qs);
  if (!st.ok())
    std::fprintf(stderr, "%s: warning: the submissions were imported, but not indexed (%s): "
                         "list --key indexes them\n", kTool, st.message().c_str());
  std::string fresh_list;
  for (const std::string& id : fresh) fresh_list += (fresh_list.empty() ? "" : ", ") + id;
  if (!fresh.empty() && !first)
    std::fprintf(stderr, "%s: warning: sealed to recipient keys this vault has not seen before: "
                         "%s. A reviewer who joined or rotated has a new key; if no one did, the "
                         "server's config.toml was changed: ask the team before replying.\n",
                 kTool, fresh_list.c_str());
  if (a.json) {
    PrintJson({{"imported", recs.size()},
               {"already_in_vault", skipped.size()},
               {"open_with_key", readable},
               {"acknowledged", mine.size()},
               {"replies_deleted", noted},
               {"key", key_id},
               {"instance", signer},
               {"newly_trusted", pin},
               {"new_recipients", fresh}});
    return 0;
  }
  if (pin)
    std::printf("the vault now trusts instance %s: its later bundles need no flag\n",
                signer.c_str());
  std::printf("imported %zu submissions (%zu already in the vault); %zu of them open with key %s\n",
              recs.size(), skipped.size(), readable, key_id.c_str());
  if (first && !fresh.empty()) std::printf("sealed to recipient keys %s\n", fresh_list.c_str());
  if (noted > 0)
    std::printf("%llu replies were deleted by their sources there: the next outboxes delete "
                "them on the other instances\n", static_cast<unsigned long long>(noted));
  if (mine.size() < recs.size() + skipped.size())
    std::printf("%zu are sealed to none of your keys: kept, but not acknowledged to the server, "
                "which keeps them for the reviewers who can read them\n",
                recs.size() + skipped.size() - mine.size());
  return 0;
}

}  // namespace

Command AddImport(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c =
      app.add_subcommand("import", "verify a bundle and add it to the vault, still sealed");
  c->add_option("bundle", a->bundle, "bundle file from sealdrop-server export")->required();
  c->add_option("--vault", a->vault, "vault directory (created if absent)")->required();
  c->add_option("--key", a->key, "your secret key file")->required();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  // One value per flag, so that a fingerprint never swallows the bundle's name.
  auto* fp = c->add_option("--instance-fingerprint", a->fingerprints,
                           "the instance key sealdrop-server init or check printed: the "
                           "bundle must be signed by it, and the vault trusts it from then "
                           "on (repeatable)")
                 ->allow_extra_args(false);
  c->add_flag("--json", a->json, "print the outcome as one JSON object");
  c->add_flag("--trust-new-instance", a->trust_new,
              "trust the bundle's signer without checking its fingerprint (it is printed)")
      ->excludes(fp);
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
