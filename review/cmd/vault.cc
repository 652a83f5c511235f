// How the subcommands reach what the vault holds sealed: the passphrase, the
// reviewer's key it unlocks, the vault itself, and a submission found, its
// content key unsealed, its manifest read and its items decrypted.
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

crypto::Id CryptoId(const storage::Id& id) {
  crypto::Id c;
  std::memcpy(c.data(), id.data(), c.size());
  return c;
}

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
                    const crypto::Keyring& ring, crypto::Secret* ck, format::Manifest* m) {
  Status st = crypto::OpenContentKey(SealedKeys(rec), ring, ck);
  if (st.Is(Status::Code::kNotFound)) {
    std::string mine;
    for (const std::string& k : RingIds(ring)) mine += (mine.empty() ? "" : ", ") + k;
    return Status::NotFound("submission " + IdHex(rec.id) + " is not sealed to your key" +
                            (ring.keys.size() > 1 ? "s " : " ") + mine);
  }
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

}  // namespace

namespace {

// A key file's bytes, once it is known that nobody else can read it.
Status ReadKeyFile(const std::string& keyfile, std::string* bytes) {
  struct stat st;
  if (::stat(keyfile.c_str(), &st) != 0)
    return Status::IOError("cannot read " + keyfile + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0)
    return Status::InvalidArgument(keyfile + " is readable by others; chmod 600 it");
  return cli::ReadFile(keyfile, bytes);
}

}  // namespace

Status UnlockKey(const std::string& keyfile, const std::string& passfile, crypto::Keyring* ring,
                 crypto::Secret* passphrase) {
  std::string bytes;
  SD_RETURN_IF_ERROR(ReadKeyFile(keyfile, &bytes));
  std::vector<crypto::PublicKey> pubs;
  SD_RETURN_IF_ERROR(crypto::PeekKeyring(bytes, &pubs));
  crypto::Secret pass;
  const crypto::PublicKey& cur = pubs.back();
  std::string prompt = "Passphrase for " + std::string(crypto::IsKeyring(bytes) ? "keyring" : "key") +
                       " " + crypto::ToHex(cur.id.data(), cur.id.size()) + ": ";
  SD_RETURN_IF_ERROR(review::ReadPassphrase(passfile, prompt.c_str(), false, &pass));
  SD_RETURN_IF_ERROR(crypto::OpenKeyring(bytes, pass, ring));
  if (passphrase != nullptr) *passphrase = std::move(pass);
  return Status::OK();
}

std::vector<std::string> RingIds(const crypto::Keyring& ring) {
  std::vector<std::string> ids;
  for (const auto& k : ring.keys) ids.push_back(crypto::ToHex(k.pub.id.data(), k.pub.id.size()));
  return ids;
}

Status UnlockSigningKey(const std::string& keyfile, const std::string& passfile,
                        crypto::SigningKey* key, crypto::Secret* passphrase, uint32_t* epoch) {
  std::string bytes;
  SD_RETURN_IF_ERROR(ReadKeyFile(keyfile, &bytes));
  crypto::SignPublic pk;
  SD_RETURN_IF_ERROR(crypto::PeekSigningKeyFile(bytes, &pk, epoch));
  crypto::Secret pass;
  std::string prompt = "Passphrase for signing key " + crypto::FormatSigningPublic(pk) + ": ";
  SD_RETURN_IF_ERROR(review::ReadPassphrase(passfile, prompt.c_str(), false, &pass));
  SD_RETURN_IF_ERROR(crypto::OpenSigningKeyFile(bytes, pass, key));
  if (passphrase != nullptr) *passphrase = std::move(pass);
  return Status::OK();
}

Status TrustedInstances(storage::Store* vault, std::vector<std::string>* out) {
  out->clear();
  std::string list;
  Status st = vault->GetMeta("instances", &list);
  if (st.Is(Status::Code::kNotFound)) return Status::OK();
  SD_RETURN_IF_ERROR(st);
  size_t pos = 0;
  while (pos < list.size()) {
    size_t nl = list.find('\n', pos);
    if (nl == std::string::npos) nl = list.size();
    if (nl > pos) out->push_back(list.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return Status::OK();
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

std::vector<crypto::SealedKey> SealedKeys(const storage::SubmissionRec& rec) {
  std::vector<crypto::SealedKey> v;
  for (const auto& k : rec.keys) {
    crypto::SealedKey s;
    s.key_id = k.key_id;
    s.alg = k.alg;
    s.box = k.box;
    v.push_back(s);
  }
  return v;
}

Status InitReader(const storage::SubmissionRec& rec, uint32_t item, const crypto::Secret& ck,
                  uint64_t size, crypto::StreamReader* reader) {
  if (size > rec.items[item].padded)
    return Status::Corruption("item is larger than its padded size");
  crypto::StreamHeader hdr;
  std::memcpy(hdr.data(), rec.items[item].header.data(), hdr.size());
  if (rec.chunk_size > crypto::kChunkSize) return Status::Corruption("chunk size is too large");
  return reader->Init(ck, CryptoId(rec.id), item, hdr, storage::StreamVersion(rec));
}

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

int BeginReading(const std::vector<std::string>& ids, const std::string& vault_dir,
                 const std::string& keyfile, const std::string& passfile, Reading* r) {
  r->dir = vault_dir;
  Status st = OpenVault(vault_dir, false, &r->vault);
  if (!st.ok()) return Fail(st);
  r->recs.resize(ids.size());
  for (size_t i = 0; i < ids.size(); i++) {
    st = FindSubmission(r->vault.get(), ids[i], &r->recs[i]);
    if (!st.ok()) return Fail(st, "sealdrop-review list --vault " + vault_dir + " shows the ids");
  }
  r->key = HeldKey(keyfile);
  if (r->key) return 0;
  auto key = std::make_shared<crypto::Keyring>();
  st = UnlockKey(keyfile, passfile, key.get());
  if (!st.ok()) return Fail(st);
  r->key = std::move(key);
  return 0;
}

std::vector<std::string> KeyIds(const storage::SubmissionRec& rec) {
  std::vector<std::string> out;
  for (const auto& k : rec.keys) out.push_back(crypto::ToHex(k.key_id.data(), k.key_id.size()));
  return out;
}

Status ReadManifest(storage::Store* vault, const storage::SubmissionRec& rec,
                    const crypto::Keyring& ring, crypto::Secret* ck, format::Manifest* m) {
  return OpenManifest(vault, rec, ring, ck, m);
}

int OpenSubmission(Reading& r, size_t i, Opened* o) {
  o->vault = r.vault.get();
  o->rec = r.recs[i];
  Status st = OpenManifest(o->vault, o->rec, *r.key, &o->ck, &o->m);
  if (st.Is(Status::Code::kNotFound)) {
    std::string ids;
    for (const std::string& k : KeyIds(o->rec)) ids += (ids.empty() ? "" : ", ") + k;
    return Fail(st, "it is sealed to key " + ids +
                        ": only those reviewers can open it (sealdrop-server check names whose "
                        "keys new submissions are sealed to)");
  }
  if (!st.ok()) return Fail(st);
  // The first of the record's entries that one of the ring's keys matches.
  for (const auto& k : o->rec.keys)
    for (const auto& mine : r.key->keys)
      if (o->key_id == crypto::KeyId{} && k.key_id == mine.pub.id) o->key_id = k.key_id;
  return 0;
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
