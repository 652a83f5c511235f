// sealdrop-review: the air-gapped reviewer's tool.
//   keygen, import, list, show, extract
// Exit status: 0 success, 1 authentication failed (wrong passphrase, altered
// bundle or ciphertext, untrusted or unexpected instance), 2 usage or I/O error.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>
#include <set>

#include "base/cli.h"
#include "format/format.h"
#include "review/review.h"

using namespace sealdrop;

namespace sealdrop {
namespace review {

Status ReadPassphrase(const std::string& file, const char* prompt, bool confirm,
                      crypto::Secret* out) {
  constexpr size_t kMax = 1024;
  crypto::Secret buf(kMax + 1);
  size_t n = 0;
  if (!file.empty()) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IOError("cannot read " + file + ": " + std::strerror(errno));
    ssize_t r;
    while (n <= kMax && (r = ::read(fd, buf.data() + n, kMax + 1 - n)) > 0) n += size_t(r);
    ::close(fd);
    uint8_t* nl = static_cast<uint8_t*>(std::memchr(buf.data(), '\n', n));
    if (nl != nullptr) n = size_t(nl - buf.data());
    else if (n > kMax) return Status::TooLarge("passphrase file is too long");
    if (n > 0 && buf.data()[n - 1] == '\r') n--;
  } else {
    int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (tty < 0)
      return Status::InvalidArgument("no terminal to ask for the passphrase");
    struct termios old, quiet;
    if (::tcgetattr(tty, &old) != 0) {
      ::close(tty);
      return Status::InvalidArgument("no terminal to ask for the passphrase");
    }
    quiet = old;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    quiet.c_lflag |= ECHONL;
    auto ask = [&](const char* p, crypto::Secret* into, size_t* len) -> Status {
      // Echo goes off before the prompt appears, so nothing typed after the
      // prompt is ever shown (or flushed away).
      ::tcsetattr(tty, TCSAFLUSH, &quiet);
      (void)!::write(tty, p, std::strlen(p));
      size_t k = 0;
      char c;
      bool over = false;
      while (::read(tty, &c, 1) == 1 && c != '\n') {
        if (k < kMax) into->data()[k++] = uint8_t(c);
        else over = true;
      }
      ::tcsetattr(tty, TCSAFLUSH, &old);
      crypto::Wipe(&c, 1);
      if (over) return Status::TooLarge("passphrase is too long");
      if (k > 0 && into->data()[k - 1] == '\r') k--;
      *len = k;
      return Status::OK();
    };
    Status st = ask(prompt, &buf, &n);
    if (st.ok() && confirm) {
      crypto::Secret again(kMax + 1);
      size_t m = 0;
      st = ask("Repeat passphrase: ", &again, &m);
      if (st.ok() && (m != n || !crypto::Equal(buf.data(), again.data(), n)))
        st = Status::InvalidArgument("the passphrases differ");
    }
    ::close(tty);
    SD_RETURN_IF_ERROR(st);
  }
  if (n == 0) return Status::InvalidArgument("empty passphrase");
  buf.resize_down(n);
  *out = std::move(buf);
  return Status::OK();
}

}  // namespace review
}  // namespace sealdrop

namespace {

constexpr const char* kTool = "sealdrop-review";

int Fail(const Status& st, const std::string& hint = "") { return cli::Fail(kTool, st, hint); }

Status UnlockKey(const std::string& keyfile, const std::string& passfile,
                 crypto::RecipientKey* key) {
  struct stat st;
  if (::stat(keyfile.c_str(), &st) != 0)
    return Status::IOError("cannot read " + keyfile + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0)
    return Status::InvalidArgument(keyfile + " is readable by others; chmod 600 it");
  std::string bytes;
  SD_RETURN_IF_ERROR(cli::ReadFile(keyfile, &bytes));
  crypto::PublicKey pub;
  SD_RETURN_IF_ERROR(crypto::PeekKeyFile(bytes, &pub));
  crypto::Secret pass;
  std::string prompt = "Passphrase for key " + crypto::ToHex(pub.id.data(), pub.id.size()) + ": ";
  SD_RETURN_IF_ERROR(review::ReadPassphrase(passfile, prompt.c_str(), false, &pass));
  return crypto::OpenKeyFile(bytes, pass, key);
}

Status OpenVault(const std::string& dir, bool create, std::unique_ptr<storage::Store>* out) {
  struct stat st;
  if (!create && ::stat(dir.c_str(), &st) != 0)
    return Status::NotFound("no vault at " + dir);
  storage::Options o;
  o.role = storage::Role::kVault;
  o.read_ahead = true;
  // The laptop's disk is the real limit; the map only needs room to grow by
  // a large import beyond what the vault holds already.
  o.quota = uint64_t(32) << 30;
  if (::stat((dir + "/data.mdb").c_str(), &st) == 0) o.quota += uint64_t(st.st_size);
  o.read_only = false;
  return storage::Store::Open(dir, o, out);
}

std::string IdHex(const storage::Id& id) { return crypto::ToHex(id.data(), id.size()); }

// Finds the one submission whose hex id starts with `prefix`.
Status FindSubmission(storage::Store* vault, const std::string& prefix, storage::SubmissionRec* out) {
  if (prefix.size() < 6) return Status::InvalidArgument("give at least 6 characters of the id");
  // Seek to the first id that could match, so this costs O(log n).
  std::vector<uint8_t> bytes;
  std::string even = prefix.substr(0, std::min<size_t>(prefix.size() & ~size_t(1), 32));
  for (auto& c : even) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (!crypto::FromHex(even, &bytes))
    return Status::InvalidArgument("an id is made of hexadecimal digits");
  storage::Id from{};
  std::memcpy(from.data(), bytes.data(), bytes.size());
  std::string want = prefix;
  for (auto& c : want) c = char(std::tolower(static_cast<unsigned char>(c)));
  int found = 0;
  SD_RETURN_IF_ERROR(vault->ForEach(
      [&](const storage::SubmissionRec& r) {
        std::string hex = IdHex(r.id);
        if (hex.compare(0, want.size(), want) != 0) return hex.compare(0, even.size(), even) == 0;
        if (++found == 1) *out = r;
        return found < 2;
      },
      from));
  if (found == 0) return Status::NotFound("no submission " + prefix + " in the vault");
  if (found > 1) return Status::InvalidArgument("id prefix " + prefix + " is ambiguous");
  return Status::OK();
}

std::vector<crypto::SealedKey> SealedKeys(const storage::SubmissionRec& rec) {
  std::vector<crypto::SealedKey> v;
  for (const auto& k : rec.keys) {
    crypto::SealedKey s;
    s.key_id = k.key_id;
    s.box = k.box;
    v.push_back(s);
  }
  return v;
}

crypto::Id CryptoId(const storage::Id& id) {
  crypto::Id c;
  std::memcpy(c.data(), id.data(), c.size());
  return c;
}

// Opens the stream of an item whose first `size` bytes are the file's.
Status InitReader(const storage::SubmissionRec& rec, uint32_t item, const crypto::Secret& ck,
                  uint64_t size, crypto::StreamReader* reader) {
  if (size > rec.items[item].padded)
    return Status::Corruption("item is larger than its padded size");
  crypto::StreamHeader hdr;
  std::memcpy(hdr.data(), rec.items[item].header.data(), hdr.size());
  if (rec.chunk_size > crypto::kChunkSize) return Status::Corruption("chunk size is too large");
  return reader->Init(ck, CryptoId(rec.id), item, hdr, rec.version);
}

// Opens chunk `index` (ciphertext p, n) of `item` into `plain`, which holds
// rec.chunk_size bytes, and checks that whatever lies past the item's first
// `size` bytes is zero padding; *keep gets how many of the chunk's bytes are
// the item's. For version 2, safe from several threads at once.
Status OpenChunk(crypto::StreamReader* reader, const storage::SubmissionRec& rec, uint32_t item,
                 uint64_t size, uint32_t index, const uint8_t* p, size_t n, uint8_t* plain,
                 size_t* keep) {
  const storage::ItemRec& it = rec.items[item];
  if (n != storage::ChunkCipherSize(rec, it, index))
    return Status::Corruption("chunk length disagrees with its record");
  size_t m = 0;
  SD_RETURN_IF_ERROR(reader->Read(index, index + 1 == it.chunks, p, n, plain, &m));
  uint64_t at = uint64_t(index) * rec.chunk_size;
  *keep = at >= size ? 0 : size_t(std::min<uint64_t>(m, size - at));
  uint8_t any = 0;
  for (size_t i = *keep; i < m; i++) any |= plain[i];
  return any == 0 ? Status::OK() : Status::Corruption("padding is not zero");
}

// Decrypts one item in order on this thread, handing plaintext (padding
// removed) to `out`.
Status DecryptItem(storage::Store* vault, const storage::SubmissionRec& rec, uint32_t item,
                   const crypto::Secret& ck, uint64_t size,
                   const std::function<Status(const uint8_t*, size_t)>& out) {
  crypto::StreamReader reader;
  SD_RETURN_IF_ERROR(InitReader(rec, item, ck, size, &reader));
  crypto::Secret plain(rec.chunk_size);
  // Every chunk the record names is read, each of exactly its length.
  return vault->ReadItem(rec, item, [&](uint32_t index, const uint8_t* p, size_t n) {
    size_t keep = 0;
    SD_RETURN_IF_ERROR(OpenChunk(&reader, rec, item, size, index, p, n, plain.data(), &keep));
    return keep ? out(plain.data(), keep) : Status::OK();
  });
}

Status OpenManifest(storage::Store* vault, const storage::SubmissionRec& rec,
                    const crypto::RecipientKey& key, crypto::Secret* ck, format::Manifest* m) {
  Status st = crypto::OpenContentKey(SealedKeys(rec), key, ck);
  if (st.Is(Status::Code::kNotFound))
    return Status::NotFound("submission " + IdHex(rec.id) + " is not sealed to key " +
                            crypto::ToHex(key.pub.id.data(), key.pub.id.size()));
  SD_RETURN_IF_ERROR(st);
  // The manifest is small; collect it in guarded memory.
  const uint64_t cap = rec.items[0].padded;
  if (cap > format::MaxPaddedManifest()) return Status::Corruption("manifest is implausibly large");
  crypto::Secret buf{static_cast<size_t>(cap)};
  size_t len = 0;
  SD_RETURN_IF_ERROR(DecryptItem(vault, rec, 0, *ck, cap, [&](const uint8_t* p, size_t n) {
    std::memcpy(buf.data() + len, p, n);
    len += n;
    return Status::OK();
  }));
  SD_RETURN_IF_ERROR(format::DecodeManifest(buf.data(), len, m));
  for (const auto& f : m->files)
    if (f.item >= rec.items.size()) return Status::Corruption("manifest names a missing item");
  return Status::OK();
}

// --- keygen -----------------------------------------------------------------------------
int Keygen(const std::string& out, uint32_t epoch, const std::string& passfile) {
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

// --- import ------------------------------------------------------------------------------
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

struct ImportArgs {
  std::string bundle, vault, key, passfile;
  bool trust_new = false;
  std::vector<std::string> fingerprints;  // --instance-fingerprint, as typed
};

int Import(const ImportArgs& a) {
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
  crypto::RecipientKey key;
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
    std::printf("trusting instance %s without checking it; it should be the instance key that "
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
  st = format::ReadBundle(source, h, &info);
  if (st.ok() && crypto::ToHex(info.instance.data(), info.instance.size()) != signer)
    st = Status::Corruption("bundle signer differs from the one its header named");
  if (st.ok()) st = flush();
  // Pinned before the commit: an import killed in between leaves the pin
  // (the bundle verified) and pending submissions that the next one sweeps.
  if (st.ok() && pin) st = PinInstance(vault.get(), signer, info.day);
  std::vector<storage::SubmissionRec> recs;
  for (auto& kv : staged) recs.push_back(kv.second);
  if (st.ok()) st = vault->CommitMany(recs);
  if (!st.ok()) {
    for (auto& kv : staged) (void)vault->Abort(kv.first);
    return ImportFailed(st);
  }
  if (pin)
    std::printf("the vault now trusts instance %s: its later bundles need no flag\n",
                signer.c_str());
  size_t readable = 0;
  for (const auto& r : recs) {
    crypto::Secret ck;
    if (crypto::OpenContentKey(SealedKeys(r), key, &ck).ok()) readable++;
  }
  std::printf("imported %zu submissions (%zu already in the vault); %zu of them open with key %s\n",
              recs.size(), skipped.size(), readable,
              crypto::ToHex(key.pub.id.data(), key.pub.id.size()).c_str());
  return 0;
}

// --- list --------------------------------------------------------------------------------
int List(const std::string& vault_dir, bool json, size_t limit) {
  std::unique_ptr<storage::Store> vault;
  Status st = OpenVault(vault_dir, false, &vault);
  if (!st.ok()) return Fail(st, "import a bundle first: sealdrop-review import <bundle> --vault <dir> --key <key>");
  nlohmann::json arr = nlohmann::json::array();
  std::vector<storage::SubmissionRec> all;
  uint64_t total = 0;
  st = vault->Newest(limit, &all, &total);
  if (!st.ok()) return Fail(st);
  if (!json) std::printf("%-32s  %-10s  %5s  %14s\n", "id", "received", "files", "sealed bytes");
  for (const auto& r : all) {
    if (json) {
      arr.push_back({{"id", IdHex(r.id)},
                     {"received", storage::DayName(r.day)},
                     {"files", r.items.size() - 1},
                     {"sealed_bytes", storage::StoredSize(r)}});
    } else {
      std::printf("%-32s  %-10s  %5zu  %14llu\n", IdHex(r.id).c_str(), storage::DayName(r.day).c_str(),
                  r.items.size() - 1, static_cast<unsigned long long>(storage::StoredSize(r)));
    }
  }
  if (json) std::printf("%s\n", arr.dump(2).c_str());
  if (all.size() < total)
    std::fprintf(stderr, "%s: showing the %zu newest of %llu; --all lists every one\n", kTool,
                 all.size(), static_cast<unsigned long long>(total));
  return 0;
}

// --- show ----------------------------------------------------------------------------------
// A submission found, its content key unsealed and its manifest read.
struct Opened {
  std::unique_ptr<storage::Store> vault;
  storage::SubmissionRec rec;
  crypto::Secret ck;
  format::Manifest m;
};

// Returns 0, or the exit status after reporting the error.
int OpenSubmission(const std::string& id, const std::string& vault_dir, const std::string& keyfile,
                   const std::string& passfile, Opened* o) {
  Status st = OpenVault(vault_dir, false, &o->vault);
  if (!st.ok()) return Fail(st);
  st = FindSubmission(o->vault.get(), id, &o->rec);
  if (!st.ok()) return Fail(st, "sealdrop-review list --vault " + vault_dir + " shows the ids");
  crypto::RecipientKey key;
  st = UnlockKey(keyfile, passfile, &key);
  if (!st.ok()) return Fail(st);
  st = OpenManifest(o->vault.get(), o->rec, key, &o->ck, &o->m);
  if (!st.ok()) return Fail(st);
  return 0;
}

int Show(const std::string& id, const std::string& vault_dir, const std::string& keyfile,
         const std::string& passfile, bool json) {
  Opened o;
  if (int rc = OpenSubmission(id, vault_dir, keyfile, passfile, &o)) return rc;
  const storage::SubmissionRec& rec = o.rec;
  const format::Manifest& m = o.m;
  if (json) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : m.files)
      files.push_back({{"name", review::SafeName(f.name)}, {"type", f.type}, {"size", f.size}});
    nlohmann::json j = {{"id", IdHex(rec.id)},
                        {"received", storage::DayName(rec.day)},
                        {"message", m.message},
                        {"files", files}};
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("id:       %s\nreceived: %s\nfiles:    %zu\n", IdHex(rec.id).c_str(),
              storage::DayName(rec.day).c_str(), m.files.size());
  for (size_t i = 0; i < m.files.size(); i++)
    std::printf("  %zu. %s  (%llu bytes, %s)\n", i + 1, review::SafeName(m.files[i].name).c_str(),
                static_cast<unsigned long long>(m.files[i].size),
                review::Printable(m.files[i].type).c_str());
  std::printf("message:\n%s\n", review::Printable(m.message).c_str());
  return 0;
}

// --- extract -------------------------------------------------------------------------------
// Creates a new file in dirfd named after `name`, adding " (2)" etc. rather
// than replacing anything. Returns the fd and the name used.
Status CreateUnique(int dirfd, const std::string& name, int* fd, std::string* used) {
  std::string stem = name, ext;
  size_t dot = name.rfind('.');
  if (dot != std::string::npos && dot > 0 && name.size() - dot <= 16) {
    stem = name.substr(0, dot);
    ext = name.substr(dot);
  }
  for (int n = 1; n < 10000; n++) {
    std::string cand = n == 1 ? name : stem + " (" + std::to_string(n) + ")" + ext;
    int f = ::openat(dirfd, cand.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600);
    if (f >= 0) {
      *fd = f;
      *used = cand;
      return Status::OK();
    }
    if (errno != EEXIST) return Status::IOError("cannot create " + cand + ": " + std::strerror(errno));
  }
  return Status::IOError("too many files named " + name);
}

// Runs fn(0) .. fn(n - 1) on this thread and `helpers` others, and returns
// the first error. The helpers live as long as the pool.
class Pool {
 public:
  explicit Pool(unsigned helpers) {
    for (unsigned i = 0; i < helpers; i++) threads_.emplace_back([this] { Serve(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Status Run(size_t n, const std::function<Status(size_t)>& fn) {
    {
      std::lock_guard<std::mutex> l(mu_);
      fn_ = &fn;
      n_ = n;
      next_ = 0;
      busy_ = 0;
      err_ = Status::OK();
      gen_++;
    }
    cv_.notify_all();
    Work();
    std::unique_lock<std::mutex> l(mu_);
    done_.wait(l, [&] { return next_ >= n_ && busy_ == 0; });
    fn_ = nullptr;
    return err_;
  }

 private:
  void Serve() {
    uint64_t seen = 0;
    while (true) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return quit_ || gen_ != seen; });
        if (quit_) return;
        seen = gen_;
      }
      Work();
    }
  }
  // Takes indices until none is left; an error stops the others taking more.
  void Work() {
    std::unique_lock<std::mutex> l(mu_);
    while (fn_ != nullptr && next_ < n_) {
      size_t i = next_++;
      busy_++;
      const auto* fn = fn_;
      l.unlock();
      Status st = (*fn)(i);
      l.lock();
      busy_--;
      if (!st.ok() && err_.ok()) {
        err_ = st;
        next_ = n_;
      }
    }
    if (busy_ == 0) done_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_, done_;
  std::vector<std::thread> threads_;
  const std::function<Status(size_t)>* fn_ = nullptr;
  size_t n_ = 0, next_ = 0, busy_ = 0;
  uint64_t gen_ = 0;
  bool quit_ = false;
  Status err_;
};

// Decrypts one item into fd. Chunks are decrypted straight into guarded
// buffers, where plaintext waits for a writer thread, so decrypting and
// writing overlap. Version 2 chunks are decrypted on every core; version 1
// (secretstream) chunks only in order, on this thread.
Status DecryptToFile(storage::Store* vault, const storage::SubmissionRec& rec, uint32_t item,
                     const crypto::Secret& ck, uint64_t size, int fd) {
  // 6 MiB in all: within a typical locked-memory limit (8 MiB). Page
  // multiples, so sodium_malloc returns page-aligned memory, as O_DIRECT
  // wants. A direct write of 2 MiB takes the disk here 25% less time per
  // byte than one of 1 MiB; decrypting one buffer while the writer has the
  // others keeps both busy (docs/PERFORMANCE.md).
  constexpr size_t kBuf = 2u << 20;
  constexpr size_t kBuffers = 3;
  static_assert(kBuf % crypto::kChunkSize == 0, "whole chunks fill a buffer");
  crypto::StreamReader reader;
  SD_RETURN_IF_ERROR(InitReader(rec, item, ck, size, &reader));
  const size_t per_slot = kBuf / rec.chunk_size;
  unsigned cores = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  Pool pool(reader.version() == crypto::kStreamV1 ? 0 : cores - 1);

  struct Slot {
    crypto::Secret buf{kBuf};
    size_t len = 0;
  };
  std::vector<Slot> slots(kBuffers);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<size_t> full, empty;
  for (size_t i = 0; i < kBuffers; i++) empty.push_back(i);
  bool done = false;
  Status write_st;
  std::thread writer([&] {
    review::PlainWriter out(fd);
    while (true) {
      size_t i;
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return !full.empty() || done; });
        if (full.empty()) return;
        i = full.front();
        full.pop_front();
      }
      Status w = write_st.ok() ? out.Write(slots[i].buf.data(), slots[i].len) : write_st;
      crypto::Wipe(slots[i].buf.data(), slots[i].len);
      {
        std::lock_guard<std::mutex> l(mu);
        if (!w.ok() && write_st.ok()) write_st = w;
        empty.push_back(i);
      }
      cv.notify_all();
    }
  });

  // Chunks seen but not yet decrypted: at most one buffer's worth, and never
  // past the read transaction their bytes live in.
  struct Job {
    uint32_t index;
    const uint8_t* p;
    size_t n;
    uint8_t* out = nullptr;
    size_t keep = 0;
  };
  std::vector<Job> jobs;
  auto flush = [&]() -> Status {
    if (jobs.empty()) return Status::OK();
    size_t i;
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return !empty.empty(); });
      if (!write_st.ok()) return write_st;
      i = empty.front();
      empty.pop_front();
    }
    // The chunks of a buffer follow each other.
    for (size_t k = 0; k < jobs.size(); k++) jobs[k].out = slots[i].buf.data() + k * rec.chunk_size;
    Status st = pool.Run(jobs.size(), [&](size_t k) {
      Job& jb = jobs[k];
      return OpenChunk(&reader, rec, item, size, jb.index, jb.p, jb.n, jb.out, &jb.keep);
    });
    slots[i].len = 0;
    for (const Job& jb : jobs) slots[i].len += jb.keep;
    jobs.clear();
    // A failed buffer goes back unwritten, and wiped.
    if (!st.ok()) crypto::Wipe(slots[i].buf.data(), kBuf);
    {
      std::lock_guard<std::mutex> l(mu);
      (st.ok() ? full : empty).push_back(i);
    }
    cv.notify_all();
    return st;
  };
  Status st = vault->ReadItem(
      rec, item,
      [&](uint32_t index, const uint8_t* p, size_t n) {
        jobs.push_back({index, p, n});
        return jobs.size() == per_slot ? flush() : Status::OK();
      },
      [&] { return flush(); });
  {
    std::lock_guard<std::mutex> l(mu);
    done = true;
  }
  cv.notify_all();
  writer.join();
  if (!st.ok()) return st;
  return write_st;
}

int Extract(const std::string& id, const std::string& vault_dir, const std::string& keyfile,
            const std::string& passfile, const std::string& out) {
  Opened o;
  if (int rc = OpenSubmission(id, vault_dir, keyfile, passfile, &o)) return rc;
  const storage::SubmissionRec& rec = o.rec;
  const format::Manifest& m = o.m;
  Status st;

  if (::mkdir(out.c_str(), 0700) != 0 && errno != EEXIST)
    return Fail(Status::IOError("cannot create " + out + ": " + std::strerror(errno)));
  int dirfd = ::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return Fail(Status::IOError("cannot open " + out + ": " + std::strerror(errno)));

  auto write_one = [&](const std::string& want, const std::function<Status(int)>& body) -> Status {
    int fd = -1;
    std::string used;
    SD_RETURN_IF_ERROR(CreateUnique(dirfd, want, &fd, &used));
    Status s = body(fd);
    if (s.ok() && ::fsync(fd) != 0) s = Status::IOError("cannot sync " + used);
    ::close(fd);
    if (!s.ok()) {
      ::unlinkat(dirfd, used.c_str(), 0);  // no half-written plaintext left behind
      return s;
    }
    std::printf("%s/%s\n", out.c_str(), used.c_str());
    return Status::OK();
  };
  if (!m.message.empty()) {
    st = write_one("message.txt", [&](int fd) {
      return cli::WriteAll(fd, m.message.data(), m.message.size(), "message.txt");
    });
  }
  for (size_t i = 0; st.ok() && i < m.files.size(); i++) {
    const auto& f = m.files[i];
    st = write_one(review::SafeName(f.name), [&](int fd) {
      return DecryptToFile(o.vault.get(), rec, f.item, o.ck, f.size, fd);
    });
  }
  ::close(dirfd);
  if (!st.ok()) return Fail(st);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (!cli::Start(kTool)) return 2;
  CLI::App app{"sealdrop-review: the reviewer's air-gapped tool"};
  app.require_subcommand(1);
  std::string out, vault, key, passfile, id;
  uint32_t epoch = 1;
  bool json = false;
  ImportArgs ia;

  auto* keygen = app.add_subcommand("keygen", "make a recipient key pair under a passphrase");
  keygen->add_option("--out", out, "secret key file to create (the public half goes to <out>.pub)")
      ->required();
  keygen->add_option("--epoch", epoch, "key epoch, for rotation")->capture_default_str();
  keygen->add_option("--passphrase-file", passfile, "read the passphrase from this file");

  auto* imp = app.add_subcommand("import", "verify a bundle and add it to the vault, still sealed");
  imp->add_option("bundle", ia.bundle, "bundle file from sealdrop-server export")->required();
  imp->add_option("--vault", ia.vault, "vault directory (created if absent)")->required();
  imp->add_option("--key", ia.key, "your secret key file")->required();
  imp->add_option("--passphrase-file", ia.passfile, "read the passphrase from this file");
  // One value per flag, so that a fingerprint never swallows the bundle's name.
  auto* fp = imp->add_option("--instance-fingerprint", ia.fingerprints,
                             "the instance key sealdrop-server init or check printed: the "
                             "bundle must be signed by it, and the vault trusts it from then "
                             "on (repeatable)")
                 ->allow_extra_args(false);
  imp->add_flag("--trust-new-instance", ia.trust_new,
                "trust the bundle's signer without checking its fingerprint (it is printed)")
      ->excludes(fp);

  size_t limit = 100;
  bool all = false;
  auto* list = app.add_subcommand("list", "list the submissions in the vault, newest first");
  list->add_option("--vault", vault, "vault directory")->required();
  list->add_flag("--json", json, "print a JSON array");
  list->add_option("--limit", limit, "how many of the newest to list")->capture_default_str();
  list->add_flag("--all", all, "list every submission");

  auto* show = app.add_subcommand("show", "decrypt and print a submission's message and files");
  show->add_option("id", id, "submission id (or a unique prefix)")->required();
  show->add_option("--vault", vault, "vault directory")->required();
  show->add_option("--key", key, "your secret key file")->required();
  show->add_option("--passphrase-file", passfile, "read the passphrase from this file");
  show->add_flag("--json", json, "print JSON");

  auto* ext = app.add_subcommand("extract", "decrypt a submission's message and files to a directory");
  ext->add_option("id", id, "submission id (or a unique prefix)")->required();
  ext->add_option("--vault", vault, "vault directory")->required();
  ext->add_option("--key", key, "your secret key file")->required();
  ext->add_option("--passphrase-file", passfile, "read the passphrase from this file");
  ext->add_option("--out", out, "directory to write into (nothing in it is ever replaced)")
      ->required();

  if (int rc = cli::Parse(kTool, app, argc, argv); rc >= 0) return rc;
  if (*keygen) return Keygen(out, epoch, passfile);
  if (*imp) return Import(ia);
  if (*list) return List(vault, json, all ? SIZE_MAX : limit);
  if (*show) return Show(id, vault, key, passfile, json);
  if (*ext) return Extract(id, vault, key, passfile, out);
  return 2;
}
