// Record formats: docs/FORMAT.md, "Stored records".
#include "storage/storage.h"

#include <lmdb.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>

namespace sealdrop {
namespace storage {

const char kOnlySmall[] = "the store keeps its last room for messages and small submissions";

namespace {

constexpr uint8_t kRecordVersion = 1;
// Submission records: 1 (secretstream), 2 (RFC 8439 chunks), 3 (as 2, with
// an algorithm and a length on every sealed content key).
constexpr uint8_t kSubVersionMin = 1;
constexpr uint8_t kSubVersionMax = 3;
constexpr size_t kSealedX25519 = 80;
constexpr char kSubMagic[4] = {'S', 'D', 'S', 'U'};
constexpr char kChunkMagic[4] = {'S', 'D', 'C', 'H'};
constexpr char kPendMagic[4] = {'S', 'D', 'P', 'E'};
constexpr char kStoreMagic[4] = {'S', 'D', 'S', 'T'};
constexpr size_t kRecHdr = 5;
constexpr char kReplyMagic[4] = {'S', 'D', 'R', 'E'};
constexpr char kQueuedMagic[4] = {'S', 'D', 'R', 'Q'};
constexpr char kTriageMagic[4] = {'S', 'D', 'T', 'R'};
constexpr char kIndexMagic[4] = {'S', 'D', 'I', 'R'};
constexpr size_t kIndexKey = 8 + kIdSize;  // index id, submission id
constexpr size_t kMaxIndexRecord = (64u << 10) + 24 + 16;
constexpr char kAckMagic[4] = {'S', 'D', 'A', 'K'};        // server
constexpr char kAckQueuedMagic[4] = {'S', 'D', 'A', 'Q'};  // vault
constexpr size_t kAckSize = kRecHdr + 4 + 32;
constexpr size_t kAckQueuedSize = kRecHdr + 32 + 8;
// crypto::kMaxTriage of padded plaintext, sealed (nonce and tag).
constexpr size_t kMaxTriageRecord = (4u << 20) + 24 + 16;
constexpr size_t kReplyFixed = kRecHdr + 4 + 32 + 64 + 4;
constexpr size_t kQueuedFixed = kRecHdr + 16 + 16 + 32 + 4 + 8 + 32 + 4;  // version 1
// Version 2: id, submission, reply key, day, sealed length, then the sealed
// reply and the instances it was sent to.
constexpr uint8_t kQueuedVersion = 2;
constexpr size_t kQueuedHead = kRecHdr + 16 + 16 + 32 + 4 + 4;
constexpr size_t kQueuedSent = 32 + 8;
constexpr char kDeletedMagic[4] = {'S', 'D', 'D', 'L'};     // server
constexpr size_t kDeletedSize = kRecHdr + 4;
constexpr char kDeletionMagic[4] = {'S', 'D', 'D', 'Q'};    // vault
constexpr size_t kDeletionHead = kRecHdr + 32 + 2;
// Above the longest sealed reply (crypto::MaxSealedReply, about 69 KiB).
constexpr size_t kMaxSealedReply = 1u << 20;
// Ciphertext bytes per chunk beyond its plaintext: secretstream's tag and MAC
// in version 1, the AEAD's tag in version 2.
size_t ChunkOverhead(uint8_t version) { return version == 1 ? 17 : 16; }
constexpr size_t kMaxKeys = 256;
constexpr size_t kMaxItems = 65536;
constexpr uint32_t kMaxChunkSize = 16u << 20;
// Kept beyond the quota so that deletions (which copy pages) always fit.
constexpr uint64_t kHeadroom = 64u << 20;

void PutU16(std::string* s, uint16_t v) {
  s->push_back(char(v));
  s->push_back(char(v >> 8));
}
void PutU32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; i++) s->push_back(char(v >> (8 * i)));
}
void PutU64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; i++) s->push_back(char(v >> (8 * i)));
}
uint64_t GetLE(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
void PutBE32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}
uint32_t GetBE32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// Lower-case hex, for names in reports and meta keys (storage links no crypto).
std::string Hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) s += d[p[i] >> 4], s += d[p[i] & 15];
  return s;
}

Status FromMdb(int rc, const char* what) {
  if (rc == MDB_SUCCESS) return Status::OK();
  std::string m = std::string(what) + ": " + mdb_strerror(rc);
  if (rc == MDB_NOTFOUND) return Status::NotFound(m);
  if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT) return Status::Full(m);
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID)
    return Status::Corruption(m);
  if (rc == MDB_VERSION_MISMATCH) return Status::Version(m);
  return Status::IOError(m);
}

bool HasHeader(const MDB_val& v, const char magic[4]) {
  return v.mv_size >= kRecHdr && std::memcmp(v.mv_data, magic, 4) == 0;
}

// Marks an id pending (an upload under way, or a submission withdrawn): the
// start-up sweep removes whatever chunks a crash leaves under it.
Status PutPending(MDB_txn* txn, MDB_dbi pending, MDB_val* k) {
  uint8_t rec[kRecHdr];
  std::memcpy(rec, kPendMagic, 4);
  rec[4] = kRecordVersion;
  MDB_val pv{sizeof(rec), rec};
  return FromMdb(mdb_put(txn, pending, k, &pv, 0), "mark pending");
}

Status CheckHeader(const MDB_val& v, const char magic[4], const char* what,
                   uint8_t min = kRecordVersion, uint8_t max = kRecordVersion) {
  if (!HasHeader(v, magic)) return Status::Corruption(std::string(what) + " has a bad magic");
  uint8_t ver = static_cast<const uint8_t*>(v.mv_data)[4];
  if (ver < min || ver > max)
    return Status::Version(std::string(what) + " record version " + std::to_string(ver) +
                           " is not one this build supports (" + std::to_string(min) +
                           (min == max ? "" : " to " + std::to_string(max)) + ")");
  return Status::OK();
}

struct ChunkKey {
  uint8_t b[kIdSize + 8];
  ChunkKey(const Id& id, uint32_t item, uint32_t index) {
    std::memcpy(b, id.data(), kIdSize);
    PutBE32(b + kIdSize, item);
    PutBE32(b + kIdSize + 4, index);
  }
  MDB_val val() { return MDB_val{sizeof(b), b}; }
};

MDB_val IdVal(const Id& id) { return MDB_val{kIdSize, const_cast<uint8_t*>(id.data())}; }

// RAII over a transaction; aborts unless committed.
class Txn {
 public:
  Txn(MDB_env* env, bool write) {
    rc_ = mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn_);
  }
  ~Txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  int rc() const { return rc_; }
  MDB_txn* get() { return txn_; }
  int Commit() {
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    return rc;
  }

 private:
  MDB_txn* txn_ = nullptr;
  int rc_;
};

}  // namespace

// --- Records -------------------------------------------------------------------

std::string EncodeSubmission(const SubmissionRec& rec) {
  std::string s(kSubMagic, 4);
  s.push_back(char(rec.version));
  s.append(reinterpret_cast<const char*>(rec.id.data()), kIdSize);
  PutU32(&s, rec.day);
  PutU32(&s, rec.chunk_size);
  PutU16(&s, uint16_t(rec.keys.size()));
  PutU32(&s, uint32_t(rec.items.size()));
  for (const auto& k : rec.keys) {
    s.append(reinterpret_cast<const char*>(k.key_id.data()), k.key_id.size());
    if (rec.version >= 3) {
      s.push_back(char(k.alg));
      PutU16(&s, uint16_t(k.box.size()));
    }
    s.append(reinterpret_cast<const char*>(k.box.data()), k.box.size());
  }
  for (const auto& it : rec.items) {
    s.append(reinterpret_cast<const char*>(it.header.data()), it.header.size());
    PutU64(&s, it.padded);
    PutU32(&s, it.chunks);
  }
  return s;
}

Status DecodeSubmission(const uint8_t* p, size_t n, SubmissionRec* out) {
  MDB_val v{n, const_cast<uint8_t*>(p)};
  SD_RETURN_IF_ERROR(CheckHeader(v, kSubMagic, "submission", kSubVersionMin, kSubVersionMax));
  constexpr size_t kFixed = kRecHdr + kIdSize + 4 + 4 + 2 + 4;
  if (n < kFixed) return Status::Corruption("submission record is truncated");
  out->version = p[4];
  const uint8_t* q = p + kRecHdr;
  std::memcpy(out->id.data(), q, kIdSize), q += kIdSize;
  out->day = uint32_t(GetLE(q, 4)), q += 4;
  out->chunk_size = uint32_t(GetLE(q, 4)), q += 4;
  size_t nkeys = size_t(GetLE(q, 2));
  q += 2;
  size_t nitems = size_t(GetLE(q, 4));
  q += 4;
  if (nkeys == 0 || nkeys > kMaxKeys) return Status::Corruption("submission has no recipients");
  if (nitems == 0 || nitems > kMaxItems) return Status::Corruption("submission item count");
  if (out->chunk_size == 0 || out->chunk_size > kMaxChunkSize)
    return Status::Corruption("submission chunk size");
  const uint8_t* end = p + n;
  out->keys.resize(nkeys);
  for (auto& k : out->keys) {
    if (size_t(end - q) < 8) return Status::Corruption("submission record is truncated");
    std::memcpy(k.key_id.data(), q, 8), q += 8;
    size_t len = kSealedX25519;
    k.alg = kSealX25519;
    if (out->version >= 3) {
      if (end - q < 3) return Status::Corruption("submission record is truncated");
      k.alg = q[0];
      len = size_t(GetLE(q + 1, 2));
      q += 3;
      // An unknown algorithm is kept: another reviewer's newer key may read it.
      if (k.alg == 0 || len == 0 || len > kMaxSealedKey ||
          (k.alg == kSealX25519 && len != kSealedX25519))
        return Status::Corruption("submission has a sealed key of an impossible size");
    }
    if (size_t(end - q) < len) return Status::Corruption("submission record is truncated");
    k.box.assign(q, q + len), q += len;
  }
  if (size_t(end - q) != nitems * 36)
    return Status::Corruption("submission record has the wrong length");
  out->items.resize(nitems);
  for (auto& it : out->items) {
    std::memcpy(it.header.data(), q, 24), q += 24;
    it.padded = GetLE(q, 8), q += 8;
    it.chunks = uint32_t(GetLE(q, 4)), q += 4;
    uint64_t want = it.padded == 0 ? 0 : (it.padded + out->chunk_size - 1) / out->chunk_size;
    if (it.padded == 0 || it.padded > (uint64_t(1) << 48) || it.chunks != want)
      return Status::Corruption("submission item has an impossible size");
  }
  return Status::OK();
}

uint64_t ChunkCipherSize(const SubmissionRec& rec, const ItemRec& item, uint32_t index) {
  uint64_t start = uint64_t(index) * rec.chunk_size;
  if (start >= item.padded) return 0;
  return std::min<uint64_t>(rec.chunk_size, item.padded - start) + ChunkOverhead(StreamVersion(rec));
}

uint64_t StoredSize(const SubmissionRec& rec) {
  uint64_t total = 0;
  for (const auto& it : rec.items)
    total += it.padded + uint64_t(it.chunks) * ChunkOverhead(StreamVersion(rec));
  return total;
}

// --- Store ---------------------------------------------------------------------

struct Store::Dbis {
  MDB_dbi meta, subs, chunks, pending, unexported, byday;
  MDB_dbi sources, replies, triage, acks, index, deleted;
  bool has_sources = false;  // only a store written before the server kept none
  bool has_replies = false;  // nor one from before replies
  bool has_triage = false;   // a vault's, nor one from before triage
  bool has_acks = false;     // nor one from before acknowledgements
  bool has_index = false;    // a vault's, nor one from before the index
  bool has_deleted = false;  // nor one from before deletions travelled
};

Store::~Store() {
  if (env_ != nullptr) mdb_env_close(env_);
}

Status Store::Open(const std::string& dir, const Options& opt, std::unique_ptr<Store>* out) {
  out->reset();
  if (opt.reserve > opt.quota) return Status::InvalidArgument("the reserve is larger than the quota");
  std::unique_ptr<Store> s(new Store());
  s->opt_ = opt;
  s->dir_ = dir;
  s->dbi_.reset(new Dbis());
  if (!opt.read_only) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::IOError("cannot create store directory " + dir + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::NotFound("no store directory at " + dir);
  if ((st.st_mode & 077) != 0)
    return Status::InvalidArgument("store directory " + dir +
                                   " is readable by others; chmod 700 it");
  SD_RETURN_IF_ERROR(FromMdb(mdb_env_create(&s->env_), "mdb_env_create"));
  mdb_env_set_maxdbs(s->env_, 16);
  SD_RETURN_IF_ERROR(FromMdb(mdb_env_set_mapsize(s->env_, opt.quota + kHeadroom), "mapsize"));
  // NOMETASYNC: each commit syncs its data pages; Commit() forces the meta page
  // too, so a confirmed submission is on disk and integrity holds throughout.
  // NORDAHEAD: the map is read a page here and there (branch pages, the
  // header of a chunk being deleted); readahead and fault-around would pull
  // whole chunks into this process's memory.
  unsigned flags = MDB_NOTLS | MDB_NOMETASYNC | (opt.read_ahead ? 0 : MDB_NORDAHEAD) |
                   (opt.read_only ? MDB_RDONLY : 0);
  int rc = mdb_env_open(s->env_, dir.c_str(), flags, 0600);
  if (rc != MDB_SUCCESS) return FromMdb(rc, ("cannot open store " + dir).c_str());
  // Found now, not on the first write: a serving process opens no file once
  // it is confined (server/sandbox.cc), and this reads /proc/self/maps.
  s->FindMap();

  Txn txn(s->env_, !opt.read_only);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  unsigned create = opt.read_only ? 0 : MDB_CREATE;
  Dbis& d = *s->dbi_;
  const std::pair<const char*, MDB_dbi*> names[] = {{"meta", &d.meta},
                                                    {"subs", &d.subs},
                                                    {"chunks", &d.chunks},
                                                    {"pending", &d.pending},
                                                    {"unexported", &d.unexported},
                                                    {"byday", &d.byday}};
  for (const auto& nm : names) {
    rc = mdb_dbi_open(txn.get(), nm.first, create, nm.second);
    if (rc == MDB_NOTFOUND) return Status::NotFound("no sealdrop store in " + dir);
    SD_RETURN_IF_ERROR(FromMdb(rc, "open table"));
  }
  if (opt.role == Role::kServer) {
    // Never created any more; one an older store holds is opened so that
    // check can count it and serve delete it (DropSources).
    rc = mdb_dbi_open(txn.get(), "sources", 0, &d.sources);
    if (rc != MDB_NOTFOUND) SD_RETURN_IF_ERROR(FromMdb(rc, "open table"));
    d.has_sources = rc == MDB_SUCCESS;
  }
  rc = mdb_dbi_open(txn.get(), "replies", create, &d.replies);
  if (rc != MDB_NOTFOUND) SD_RETURN_IF_ERROR(FromMdb(rc, "open table"));
  d.has_replies = rc == MDB_SUCCESS;
  if (opt.role == Role::kVault) {
    rc = mdb_dbi_open(txn.get(), "triage", create, &d.triage);
    if (rc != MDB_NOTFOUND) SD_RETURN_IF_ERROR(FromMdb(rc, "open table"));
    d.has_triage = rc == MDB_SUCCESS;
    rc = mdb_dbi_open(txn.get(), "index", create, &d.index);
    if (rc != MDB_NOTFOUND) SD_RETURN_IF_ERROR(FromMdb(rc, "open table"));
    d.has_index = rc == MDB_SUCCESS;
  }
  rc = mdb_dbi_open(txn.get(), "acks", create, &d.acks);
  if (rc != MDB_NOTFOUND) SD_RETURN_IF_ERROR(FromMdb(rc, "open table"));
  d.has_acks = rc == MDB_SUCCESS;
  // Server: replies its sources deleted; vault: deletions to forward.
  rc = mdb_dbi_open(txn.get(), opt.role == Role::kServer ? "deleted" : "deletions", create,
                    &d.deleted);
  if (rc != MDB_NOTFOUND) SD_RETURN_IF_ERROR(FromMdb(rc, "open table"));
  d.has_deleted = rc == MDB_SUCCESS;
  MDB_val k{6, const_cast<char*>("format")}, v;
  rc = mdb_get(txn.get(), d.meta, &k, &v);
  if (rc == MDB_NOTFOUND) {
    if (opt.read_only) return Status::NotFound("no sealdrop store in " + dir);
    uint8_t fmt[6] = {'S', 'D', 'S', 'T', kRecordVersion, uint8_t(opt.role)};
    MDB_val fv{sizeof(fmt), fmt};
    SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn.get(), d.meta, &k, &fv, 0), "write format"));
  } else {
    SD_RETURN_IF_ERROR(FromMdb(rc, "read format"));
    SD_RETURN_IF_ERROR(CheckHeader(v, kStoreMagic, "store"));
    if (v.mv_size != 6) return Status::Corruption("store format record has the wrong length");
    uint8_t role = static_cast<uint8_t*>(v.mv_data)[5];
    if (role != uint8_t(opt.role))
      return Status::InvalidArgument(std::string("this directory holds a ") +
                                     (role == uint8_t(Role::kVault) ? "reviewer vault" : "server store") +
                                     ", not a " +
                                     (opt.role == Role::kVault ? "reviewer vault" : "server store"));
  }
  if (!opt.read_only) {
    SD_RETURN_IF_ERROR(s->RebuildDayIndex(txn.get()));
    SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
    s->KeepDayTimes();
  }
  // Found now, before any other thread can use the store: later calls of
  // DropMappedPages (the reviewer API's fetches, in parallel) only read it.
  (void)s->FindMap();
  *out = std::move(s);
  return Status::OK();
}

// The day index lists committed submissions by day, so the newest can be
// found without reading them all. A store whose index is incomplete (written
// before it existed) gets it rebuilt here.
Status Store::RebuildDayIndex(MDB_txn* txn) {
  MDB_stat subs, idx;
  SD_RETURN_IF_ERROR(FromMdb(mdb_stat(txn, dbi_->subs, &subs), "stat"));
  SD_RETURN_IF_ERROR(FromMdb(mdb_stat(txn, dbi_->byday, &idx), "stat"));
  if (subs.ms_entries == idx.ms_entries) return Status::OK();
  SD_RETURN_IF_ERROR(FromMdb(mdb_drop(txn, dbi_->byday, 0), "clear day index"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn, dbi_->subs, &c), "cursor"));
  MDB_val k, v;
  int rc;
  Status st;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && st.ok();
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    SubmissionRec rec;
    if (!DecodeSubmission(static_cast<uint8_t*>(v.mv_data), v.mv_size, &rec).ok()) continue;
    st = PutDayIndex(txn, rec);
  }
  mdb_cursor_close(c);
  return st;
}

Status Store::PutDayIndex(MDB_txn* txn, const SubmissionRec& rec) {
  uint8_t key[4 + kIdSize];
  PutBE32(key, rec.day);
  std::memcpy(key + 4, rec.id.data(), kIdSize);
  MDB_val k{sizeof(key), key}, empty{0, nullptr};
  return FromMdb(mdb_put(txn, dbi_->byday, &k, &empty, 0), "index by day");
}

Status Store::Newest(size_t limit, std::vector<SubmissionRec>* out, uint64_t* total) {
  out->clear();
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_stat st;
  SD_RETURN_IF_ERROR(FromMdb(mdb_stat(txn.get(), dbi_->subs, &st), "stat"));
  *total = st.ms_entries;
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->byday, &c), "cursor"));
  MDB_val k, v;
  Status s;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_LAST); rc == MDB_SUCCESS && out->size() < limit;
       rc = mdb_cursor_get(c, &k, &v, MDB_PREV)) {
    if (k.mv_size != 4 + kIdSize) continue;
    MDB_val idk{kIdSize, static_cast<uint8_t*>(k.mv_data) + 4}, rv;
    if (mdb_get(txn.get(), dbi_->subs, &idk, &rv) != MDB_SUCCESS) continue;
    SubmissionRec rec;
    s = DecodeSubmission(static_cast<uint8_t*>(rv.mv_data), rv.mv_size, &rec);
    if (!s.ok()) break;
    out->push_back(std::move(rec));
  }
  mdb_cursor_close(c);
  return s;
}

// Walks the day index, oldest first, until fn returns false: each
// submission's day, id, and (server) whether it was never exported.
Status Store::WalkByDay(
    const std::function<bool(uint32_t day, const uint8_t* id, bool unexported)>& fn) {
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->byday, &c), "cursor"));
  MDB_val k, v;
  int rc;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 4 + kIdSize) continue;
    const uint8_t* p = static_cast<const uint8_t*>(k.mv_data);
    MDB_val idk{kIdSize, const_cast<uint8_t*>(p + 4)}, uv;
    const bool unexported = opt_.role == Role::kServer &&
                            mdb_get(txn.get(), dbi_->unexported, &idk, &uv) == MDB_SUCCESS;
    if (!fn(GetBE32(p), p + 4, unexported)) break;
  }
  mdb_cursor_close(c);
  return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? Status::OK() : FromMdb(rc, "read day index");
}

Status Store::ByDay(std::vector<DayCount>* out) {
  out->clear();
  return WalkByDay([&](uint32_t day, const uint8_t*, bool unexported) {
    if (out->empty() || out->back().day != day) out->push_back(DayCount{day, 0, 0});
    out->back().held++;
    if (unexported) out->back().unexported++;
    return true;
  });
}

Status Store::Used(uint64_t* used) {
  MDB_envinfo info;
  MDB_stat st;
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &st);
  uint64_t high = uint64_t(info.me_last_pgno + 1) * st.ms_psize;
  if (high + kHeadroom / 2 < opt_.quota - opt_.reserve) {
    *used = high;
    return Status::OK();
  }
  // Near the quota: count free pages, which LMDB reuses before growing.
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), 0, &c), "freelist"));
  MDB_val k, v;
  uint64_t free_pages = 0;
  int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    // A freelist record is a count followed by that many page numbers. Its
    // size comes from the leaf node, so the record itself is never read:
    // reading it would fault whole folios of chunk data into our map.
    if (v.mv_size >= sizeof(size_t)) free_pages += v.mv_size / sizeof(size_t) - 1;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  uint64_t fb = free_pages * st.ms_psize;
  *used = high > fb ? high - fb : 0;
  return Status::OK();
}

// Where LMDB mapped the data file in this process; false if not found.
bool Store::FindMap() {
  if (map_addr_ != nullptr) return true;
  // LMDB does not say where its map is (me_mapaddr is only for FIXEDMAP):
  // find the mapping of the data file by its inode.
  int fd = -1;
  struct stat st;
  if (mdb_env_get_fd(env_, &fd) != MDB_SUCCESS || ::fstat(fd, &st) != 0) return false;
  FILE* f = std::fopen("/proc/self/maps", "r");
  if (f == nullptr) return false;
  char line[512];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    unsigned long lo = 0, hi = 0, ino = 0;
    if (std::sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi, &ino) == 3 && ino == st.st_ino &&
        hi - lo > map_len_) {
      map_addr_ = reinterpret_cast<void*>(lo);
      map_len_ = hi - lo;
    }
  }
  std::fclose(f);
  return map_addr_ != nullptr;
}

// Pages LMDB reads through its read-only map (tree pages, freelist records,
// the header of a chunk being deleted) are mapped a whole folio at a time
// and count in this process's memory until unmapped. MADV_DONTNEED on a
// shared file mapping only drops our page-table entries; the page cache,
// and every reader, are unaffected.
void Store::DropMappedPages() {
  if (FindMap()) ::madvise(map_addr_, map_len_, MADV_DONTNEED);
}

// Hands the page cache of the chunks just written (and synced, so clean)
// back to the kernel. The next write then reuses those pages while they are
// still warm, instead of taking fresh ones: on virtual machines that return
// free memory to the host, a fresh page costs a trip to the host on first
// touch, which made the page-cache copy the biggest cost of an upload.
// Tree pages stay cached; only chunk data is let go.
void Store::ReleaseWritten(const WriteBatch& batch) {
  int fd = -1;
  MDB_stat ms;
  if (!FindMap() || mdb_env_get_fd(env_, &fd) != MDB_SUCCESS || mdb_env_stat(env_, &ms) != 0)
    return;
  const uint64_t ps = ms.ms_psize;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [from, to) in the file
  {
    Txn txn(env_, false);
    if (txn.rc() != MDB_SUCCESS) return;
    const auto* base = static_cast<const uint8_t*>(map_addr_);
    for (const auto& op : batch.ops()) {
      if (op.kind != WriteBatch::Op::kChunks) continue;
      for (const auto& c : op.chunks) {
        ChunkKey ck(op.id, c.item, c.index);
        MDB_val k = ck.val(), v;
        if (mdb_get(txn.get(), dbi_->chunks, &k, &v) != MDB_SUCCESS) continue;
        const auto* p = static_cast<const uint8_t*>(v.mv_data);
        if (p < base || p + v.mv_size > base + map_len_) continue;
        // A value too large for a leaf gets a run of pages of its own
        // (LMDB's overflow pages), so every page it touches is the chunk's.
        if (v.mv_size < ps) continue;
        uint64_t from = uint64_t(p - base) / ps * ps;
        uint64_t to = (uint64_t(p - base) + v.mv_size + ps - 1) / ps * ps;
        if (!ranges.empty() && ranges.back().second == from) ranges.back().second = to;
        else ranges.emplace_back(from, to);
      }
    }
  }
  DropMappedPages();
  for (const auto& r : ranges)
    (void)::posix_fadvise(fd, off_t(r.first), off_t(r.second - r.first), POSIX_FADV_DONTNEED);
}

bool Store::DiskNearlyFull(uint64_t need) {
  int fd = -1;
  struct statvfs vfs;
  if (mdb_env_get_fd(env_, &fd) != MDB_SUCCESS || ::fstatvfs(fd, &vfs) != 0) return false;
  return uint64_t(vfs.f_bavail) * vfs.f_frsize < need + (16u << 20);
}

uint32_t Today() { return uint32_t(::time(nullptr) / 86400); }

std::string DayName(uint32_t day) {
  const time_t t = time_t(day) * 86400;
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

void SetDayTimes(const std::string& path) {
  const time_t day = time_t(Today()) * 86400;
  const struct timespec times[2] = {{day, 0}, {day, 0}};
  (void)::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

void Store::KeepDayTimes() {
  for (const char* name : {"/data.mdb", "/lock.mdb", ""}) SetDayTimes(dir_ + name);
}

Status Store::Preallocate(uint64_t ahead) {
  MDB_envinfo info;
  MDB_stat st;
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &st);
  uint64_t high = uint64_t(info.me_last_pgno + 1) * st.ms_psize;
  uint64_t limit = opt_.quota + kHeadroom;
  uint64_t want = std::min(limit, high + ahead);
  if (reserved_ >= want) return Status::OK();
  int fd = -1;
  SD_RETURN_IF_ERROR(FromMdb(mdb_env_get_fd(env_, &fd), "file descriptor"));
  // Reserve twice what was asked, so that this runs rarely.
  uint64_t to = std::min(limit, high + 2 * ahead);
  uint64_t from = std::max(reserved_, high);
  struct statvfs vfs;
  if (to > from && ::fstatvfs(fd, &vfs) == 0) {
    // Never take the file system's last free space: on ext4 a failed
    // fallocate keeps what it got, and others share the disk.
    uint64_t avail = uint64_t(vfs.f_bavail) * vfs.f_frsize;
    uint64_t total = uint64_t(vfs.f_blocks) * vfs.f_frsize;
    uint64_t margin = std::max<uint64_t>(256u << 20, total / 10);
    uint64_t room = avail > margin ? avail - margin : 0;
    if (to - from > room) to = from + room;
  }
  if (to > from && ::fallocate(fd, FALLOC_FL_KEEP_SIZE, off_t(from), off_t(to - from)) != 0) {
    if (errno == EOPNOTSUPP) {
      reserved_ = limit;  // the file system cannot; writes will allocate
      return Status::OK();
    }
    if (errno == ENOSPC) return Status::Full("the disk is full");
    return Status::IOError(std::string("fallocate: ") + std::strerror(errno));
  }
  reserved_ = to;
  if (to > from) KeepDayTimes();  // fallocate sets the modification time
  return Status::OK();
}

Status Store::Sweep(uint64_t* swept) {
  *swept = 0;
  std::vector<Id> ids;
  SD_RETURN_IF_ERROR(KeysOf(dbi_->pending, &ids));
  for (const Id& id : ids) {
    SD_RETURN_IF_ERROR(Abort(id));
    (*swept)++;
  }
  return Status::OK();
}

namespace {

// Verifies that every chunk of `rec` is present with its exact length. Only
// `deep` reads the chunk itself: a commit must not fault the whole upload's
// pages into memory.
Status VerifyChunks(MDB_txn* txn, MDB_dbi chunks, const SubmissionRec& rec, bool deep) {
  for (uint32_t i = 0; i < rec.items.size(); i++) {
    const ItemRec& it = rec.items[i];
    for (uint32_t j = 0; j < it.chunks; j++) {
      ChunkKey ck(rec.id, i, j);
      MDB_val k = ck.val(), v;
      int rc = mdb_get(txn, chunks, &k, &v);
      if (rc == MDB_NOTFOUND)
        return Status::Corruption("chunk " + std::to_string(j) + " of item " + std::to_string(i) +
                                  " is missing");
      SD_RETURN_IF_ERROR(FromMdb(rc, "read chunk"));
      if (deep) SD_RETURN_IF_ERROR(CheckHeader(v, kChunkMagic, "chunk"));
      if (v.mv_size < kRecHdr || v.mv_size - kRecHdr != ChunkCipherSize(rec, it, j))
        return Status::Corruption("chunk " + std::to_string(j) + " of item " + std::to_string(i) +
                                  " has the wrong length");
    }
  }
  return Status::OK();
}

}  // namespace

void WriteBatch::PutChunks(const Id& id, std::vector<ChunkWrite> chunks, bool small) {
  uint64_t n = 0;
  for (const auto& c : chunks) n += c.size + kRecHdr + 64;
  bytes_ += n;
  if (!small) large_bytes_ += n;
  Op op;
  op.kind = Op::kChunks;
  op.id = id;
  op.chunks = std::move(chunks);
  ops_.push_back(std::move(op));
}

std::string EncodeReply(const ReplyRec& rec) {
  std::string s(kReplyMagic, 4);
  s.push_back(char(kRecordVersion));
  PutU32(&s, rec.day);
  s.append(reinterpret_cast<const char*>(rec.signer.data()), rec.signer.size());
  s.append(reinterpret_cast<const char*>(rec.sig.data()), rec.sig.size());
  PutU32(&s, uint32_t(rec.sealed.size()));
  s.append(reinterpret_cast<const char*>(rec.sealed.data()), rec.sealed.size());
  return s;
}

Status DecodeReply(const uint8_t* key, size_t key_len, const uint8_t* p, size_t n, ReplyRec* out) {
  if (key_len != 32 + kIdSize) return Status::Corruption("reply has a malformed key");
  MDB_val v{n, const_cast<uint8_t*>(p)};
  SD_RETURN_IF_ERROR(CheckHeader(v, kReplyMagic, "reply"));
  if (n < kReplyFixed) return Status::Corruption("reply record is truncated");
  const size_t len = size_t(GetLE(p + kReplyFixed - 4, 4));
  if (len > kMaxSealedReply || n != kReplyFixed + len)
    return Status::Corruption("reply record has the wrong length");
  std::memcpy(out->source.data(), key, 32);
  std::memcpy(out->id.data(), key + 32, kIdSize);
  const uint8_t* q = p + kRecHdr;
  out->day = uint32_t(GetLE(q, 4)), q += 4;
  std::memcpy(out->signer.data(), q, 32), q += 32;
  std::memcpy(out->sig.data(), q, 64), q += 64 + 4;
  out->sealed.assign(q, q + len);
  return Status::OK();
}

uint64_t QueuedReply::OutboxFor(const Key32& instance) const {
  for (const Sent& s : sent)
    if (s.instance == instance) return s.outbox;
  return 0;
}

uint64_t QueuedDeletion::OutboxFor(const Key32& instance) const {
  for (const QueuedReply::Sent& s : sent)
    if (s.instance == instance) return s.outbox;
  return 0;
}

std::string EncodeQueuedDeletion(const QueuedDeletion& rec) {
  std::string s(kDeletionMagic, 4);
  s.push_back(char(kRecordVersion));
  s.append(reinterpret_cast<const char*>(rec.from.data()), 32);
  PutU16(&s, uint16_t(rec.sent.size()));
  for (const QueuedReply::Sent& e : rec.sent) {
    s.append(reinterpret_cast<const char*>(e.instance.data()), 32);
    PutU64(&s, e.outbox);
  }
  return s;
}

Status DecodeQueuedDeletion(const uint8_t* key, size_t key_len, const uint8_t* p, size_t n,
                            QueuedDeletion* out) {
  if (key_len != kIdSize) return Status::Corruption("queued deletion has a malformed key");
  MDB_val v{n, const_cast<uint8_t*>(p)};
  SD_RETURN_IF_ERROR(CheckHeader(v, kDeletionMagic, "queued deletion"));
  if (n < kDeletionHead) return Status::Corruption("queued deletion record is truncated");
  std::memcpy(out->id.data(), key, kIdSize);
  const uint8_t* q = p + kRecHdr;
  std::memcpy(out->from.data(), q, 32), q += 32;
  const size_t count = size_t(GetLE(q, 2));
  q += 2;
  if (count > kMaxQueuedSent || n != kDeletionHead + count * kQueuedSent)
    return Status::Corruption("queued deletion record has the wrong length");
  out->sent.clear();
  for (size_t i = 0; i < count; i++) {
    QueuedReply::Sent e;
    std::memcpy(e.instance.data(), q, 32), q += 32;
    e.outbox = GetLE(q, 8), q += 8;
    if (e.outbox == 0 || out->OutboxFor(e.instance) != 0)
      return Status::Corruption("queued deletion names an instance twice or outbox 0");
    out->sent.push_back(e);
  }
  return Status::OK();
}

std::string EncodeQueuedReply(const QueuedReply& rec) {
  std::string s(kQueuedMagic, 4);
  s.push_back(char(kQueuedVersion));
  s.append(reinterpret_cast<const char*>(rec.id.data()), kIdSize);
  s.append(reinterpret_cast<const char*>(rec.submission.data()), kIdSize);
  s.append(reinterpret_cast<const char*>(rec.source.data()), 32);
  PutU32(&s, rec.day);
  PutU32(&s, uint32_t(rec.sealed.size()));
  s.append(reinterpret_cast<const char*>(rec.sealed.data()), rec.sealed.size());
  PutU16(&s, uint16_t(rec.sent.size()));
  for (const QueuedReply::Sent& e : rec.sent) {
    s.append(reinterpret_cast<const char*>(e.instance.data()), 32);
    PutU64(&s, e.outbox);
  }
  return s;
}

Status DecodeQueuedReply(const uint8_t* p, size_t n, QueuedReply* out) {
  MDB_val v{n, const_cast<uint8_t*>(p)};
  SD_RETURN_IF_ERROR(CheckHeader(v, kQueuedMagic, "queued reply", 1, kQueuedVersion));
  out->sent.clear();
  const uint8_t* q = p + kRecHdr;
  if (p[4] == 1) {
    if (n < kQueuedFixed) return Status::Corruption("queued reply record is truncated");
    const size_t len = size_t(GetLE(p + kQueuedFixed - 4, 4));
    if (len > kMaxSealedReply || n != kQueuedFixed + len)
      return Status::Corruption("queued reply record has the wrong length");
    std::memcpy(out->id.data(), q, kIdSize), q += kIdSize;
    std::memcpy(out->submission.data(), q, kIdSize), q += kIdSize;
    std::memcpy(out->source.data(), q, 32), q += 32;
    out->day = uint32_t(GetLE(q, 4)), q += 4;
    QueuedReply::Sent e;
    e.outbox = GetLE(q, 8), q += 8;
    std::memcpy(e.instance.data(), q, 32), q += 32 + 4;
    // Version 1 went to one instance at most; zeros while queued.
    if (e.outbox != 0) out->sent.push_back(e);
    out->sealed.assign(q, q + len);
    return Status::OK();
  }
  if (n < kQueuedHead) return Status::Corruption("queued reply record is truncated");
  std::memcpy(out->id.data(), q, kIdSize), q += kIdSize;
  std::memcpy(out->submission.data(), q, kIdSize), q += kIdSize;
  std::memcpy(out->source.data(), q, 32), q += 32;
  out->day = uint32_t(GetLE(q, 4)), q += 4;
  const size_t len = size_t(GetLE(q, 4));
  q += 4;
  if (len > kMaxSealedReply || n - kQueuedHead < len + 2)
    return Status::Corruption("queued reply record has the wrong length");
  const uint8_t* sealed = q;
  q += len;
  const size_t count = size_t(GetLE(q, 2));
  q += 2;
  if (count > kMaxQueuedSent || n != kQueuedHead + len + 2 + count * kQueuedSent)
    return Status::Corruption("queued reply record has the wrong length");
  for (size_t i = 0; i < count; i++) {
    QueuedReply::Sent e;
    std::memcpy(e.instance.data(), q, 32), q += 32;
    e.outbox = GetLE(q, 8), q += 8;
    if (e.outbox == 0 || out->OutboxFor(e.instance) != 0)
      return Status::Corruption("queued reply record names an instance twice or outbox 0");
    out->sent.push_back(e);
  }
  out->sealed.assign(sealed, sealed + len);
  return Status::OK();
}

void WriteBatch::Commit(const SubmissionRec& rec) {
  Op op;
  op.kind = Op::kCommit;
  op.id = rec.id;
  op.rec = rec;
  commits_++;
  ops_.push_back(std::move(op));
}

void WriteBatch::Ack(const Id& id, const Key32& instance) {
  Op op;
  op.kind = Op::kAck;
  op.id = id;
  op.instance = instance;
  acks_++;
  ops_.push_back(std::move(op));
}

void WriteBatch::Drop(const Id& id, int max_chunks) {
  Op op;
  op.kind = Op::kDrop;
  op.id = id;
  op.max_chunks = max_chunks;
  ops_.push_back(std::move(op));
}

Status Store::TxnPutChunks(MDB_txn* txn, const Id& id, const std::vector<ChunkWrite>& chunks) {
  MDB_val k = IdVal(id), v;
  if (mdb_get(txn, dbi_->subs, &k, &v) == MDB_SUCCESS)
    return Status::InvalidArgument("chunks for a committed submission");
  if (mdb_get(txn, dbi_->pending, &k, &v) == MDB_NOTFOUND) {
    // The first write of an upload marks it pending, in the same transaction,
    // so the start-up sweep finds whatever a crash leaves.
    SD_RETURN_IF_ERROR(PutPending(txn, dbi_->pending, &k));
  }
  for (const auto& c : chunks) {
    ChunkKey ck(id, c.item, c.index);
    MDB_val key = ck.val();
    MDB_val val{kRecHdr + c.size, nullptr};
    // MDB_RESERVE: LMDB hands us the space, saving one copy of the chunk.
    SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn, dbi_->chunks, &key, &val, MDB_RESERVE), "write chunk"));
    auto* dst = static_cast<uint8_t*>(val.mv_data);
    std::memcpy(dst, kChunkMagic, 4);
    dst[4] = kRecordVersion;
    std::memcpy(dst + kRecHdr, c.data, c.size);
  }
  return Status::OK();
}

Status Store::TxnCommit(MDB_txn* txn, const SubmissionRec& rec) {
  MDB_val k = IdVal(rec.id), v;
  if (mdb_get(txn, dbi_->pending, &k, &v) != MDB_SUCCESS)
    return Status::InvalidArgument("commit of an id that is not pending");
  SD_RETURN_IF_ERROR(VerifyChunks(txn, dbi_->chunks, rec, false));
  std::string bytes = EncodeSubmission(rec);
  // Never store a record this store would refuse to read back.
  SubmissionRec check;
  SD_RETURN_IF_ERROR(
      DecodeSubmission(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &check));
  MDB_val rv{bytes.size(), bytes.data()};
  SD_RETURN_IF_ERROR(
      FromMdb(mdb_put(txn, dbi_->subs, &k, &rv, MDB_NOOVERWRITE), "write submission"));
  SD_RETURN_IF_ERROR(FromMdb(mdb_del(txn, dbi_->pending, &k, nullptr), "clear pending"));
  SD_RETURN_IF_ERROR(PutDayIndex(txn, rec));
  if (opt_.role == Role::kServer) {
    MDB_val empty{0, nullptr};
    SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn, dbi_->unexported, &k, &empty, 0), "mark unexported"));
  }
  return Status::OK();
}

Status Store::DropSources(uint64_t* dropped) {
  *dropped = 0;
  if (!dbi_->has_sources) return Status::OK();
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_stat st;
  SD_RETURN_IF_ERROR(FromMdb(mdb_stat(txn.get(), dbi_->sources, &st), "stat"));
  // The table itself goes too: its name alone would say the store once
  // kept sources.
  SD_RETURN_IF_ERROR(FromMdb(mdb_drop(txn.get(), dbi_->sources, 1), "delete source records"));
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  dbi_->has_sources = false;
  SD_RETURN_IF_ERROR(FromMdb(mdb_env_sync(env_, 1), "sync"));
  KeepDayTimes();
  *dropped = st.ms_entries;
  return Status::OK();
}

Status Store::TxnAbort(MDB_txn* txn, const Id& id, int max_chunks, bool* more) {
  MDB_val k = IdVal(id), v;
  if (mdb_get(txn, dbi_->subs, &k, &v) == MDB_SUCCESS)
    return Status::InvalidArgument("abort of a committed submission");
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn, dbi_->chunks, &c), "cursor"));
  auto ours = [&](const MDB_val& key) {
    return key.mv_size >= kIdSize && std::memcmp(key.mv_data, id.data(), kIdSize) == 0;
  };
  MDB_val ck{kIdSize, const_cast<uint8_t*>(id.data())}, cv;
  int rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
  for (int n = 0; rc == MDB_SUCCESS && n < max_chunks && ours(ck); n++) {
    rc = mdb_cursor_del(c, 0);
    if (rc != MDB_SUCCESS) break;
    // Seek again: after deleting the table's last entry LMDB leaves the
    // cursor without a current position.
    ck = MDB_val{kIdSize, const_cast<uint8_t*>(id.data())};
    rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
  }
  *more = rc == MDB_SUCCESS && ours(ck);
  mdb_cursor_close(c);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return FromMdb(rc, "delete chunks");
  if (*more) return Status::OK();
  rc = mdb_del(txn, dbi_->pending, &k, nullptr);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return FromMdb(rc, "clear pending");
  return Status::OK();
}

Status Store::Write(const WriteBatch& batch) {
  if (batch.empty()) return Status::OK();
  if (batch.bytes() > 0) {
    uint64_t used = 0;
    SD_RETURN_IF_ERROR(Used(&used));
    if (used + batch.bytes() > opt_.quota) return Status::Full("the store has reached its quota");
    if (batch.large_bytes() > 0 && used + batch.bytes() > opt_.quota - opt_.reserve)
      return Status::Full(kOnlySmall);
  }
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  for (const auto& op : batch.ops()) {
    switch (op.kind) {
      case WriteBatch::Op::kChunks:
        SD_RETURN_IF_ERROR(TxnPutChunks(txn.get(), op.id, op.chunks));
        break;
      case WriteBatch::Op::kCommit:
        SD_RETURN_IF_ERROR(TxnCommit(txn.get(), op.rec));
        break;
      case WriteBatch::Op::kDrop: {
        bool more = false;
        SD_RETURN_IF_ERROR(TxnAbort(txn.get(), op.id, op.max_chunks, &more));
        break;
      }
      case WriteBatch::Op::kAck:
        SD_RETURN_IF_ERROR(TxnQueueAck(txn.get(), op.id, op.instance));
        break;
    }
  }
  Status cst = FromMdb(txn.Commit(), "commit");
  if (cst.Is(Status::Code::kIOError) && DiskNearlyFull(batch.bytes()))
    return Status::Full("the disk is full");  // LMDB reports a short write as EIO
  SD_RETURN_IF_ERROR(cst);
  KeepDayTimes();
  // A commit the source will be told about must be on disk first.
  if (batch.durable()) SD_RETURN_IF_ERROR(FromMdb(mdb_env_sync(env_, 1), "sync"));
  // LMDB reads tree and freelist pages through its map, and the kernel maps
  // whole folios around each, pulling neighbouring chunk data into this
  // process's memory; let go of it after every write.
  if (!opt_.cache_writes && batch.bytes() > 0) ReleaseWritten(batch);
  else DropMappedPages();
  return Status::OK();
}

Status Store::BeginPending(const Id& id) {
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_val k = IdVal(id), v;
  if (mdb_get(txn.get(), dbi_->subs, &k, &v) == MDB_SUCCESS ||
      mdb_get(txn.get(), dbi_->pending, &k, &v) == MDB_SUCCESS)
    return Status::Exists("id already in use");
  SD_RETURN_IF_ERROR(TxnPutChunks(txn.get(), id, {}));
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  KeepDayTimes();
  return Status::OK();
}

Status Store::PutChunks(const Id& id, const std::vector<ChunkWrite>& chunks) {
  {
    // Chunks are only for an upload that has begun.
    Txn txn(env_, false);
    SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
    MDB_val k = IdVal(id), v;
    if (mdb_get(txn.get(), dbi_->pending, &k, &v) != MDB_SUCCESS)
      return Status::InvalidArgument("chunks for an id that is not pending");
  }
  WriteBatch b;
  b.PutChunks(id, chunks);
  return Write(b);
}

Status Store::Commit(const SubmissionRec& rec) { return CommitMany({rec}); }

Status Store::CommitMany(const std::vector<SubmissionRec>& recs) {
  WriteBatch b;
  for (const auto& rec : recs) b.Commit(rec);
  return Write(b);
}

Status Store::Abort(const Id& id) {
  // Deleting a chunk faults its pages into this process's map, so a large
  // upload is removed a few MiB at a time, letting go of the map in between.
  // Until the last round removes the pending mark a crash leaves it for the
  // sweep, as before.
  constexpr int kRound = 8;
  bool more = true;
  while (more) {
    Txn txn(env_, true);
    SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
    SD_RETURN_IF_ERROR(TxnAbort(txn.get(), id, kRound, &more));
    SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit abort"));
    KeepDayTimes();
    DropMappedPages();
  }
  return Status::OK();
}

bool Store::Pending(const Id& id) {
  Txn txn(env_, false);
  if (txn.rc() != MDB_SUCCESS) return true;  // unknown: assume there is more to remove
  MDB_val k = IdVal(id), v;
  return mdb_get(txn.get(), dbi_->pending, &k, &v) == MDB_SUCCESS;
}

bool Store::Contains(const Id& id) {
  Txn txn(env_, false);
  if (txn.rc() != MDB_SUCCESS) return false;
  MDB_val k = IdVal(id), v;
  return mdb_get(txn.get(), dbi_->subs, &k, &v) == MDB_SUCCESS;
}

Status Store::Get(const Id& id, SubmissionRec* out) {
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_val k = IdVal(id), v;
  int rc = mdb_get(txn.get(), dbi_->subs, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("no submission with that id");
  SD_RETURN_IF_ERROR(FromMdb(rc, "read submission"));
  return DecodeSubmission(static_cast<uint8_t*>(v.mv_data), v.mv_size, out);
}

Status Store::ForEach(const std::function<bool(const SubmissionRec&)>& fn, const Id& from) {
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->subs, &c), "cursor"));
  MDB_val k = IdVal(from), v;
  Status st;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    SubmissionRec rec;
    st = DecodeSubmission(static_cast<uint8_t*>(v.mv_data), v.mv_size, &rec);
    if (!st.ok() || !fn(rec)) break;
  }
  mdb_cursor_close(c);
  return st;
}

Status Store::ReadItem(const SubmissionRec& rec, uint32_t item,
                       const std::function<Status(uint32_t, const uint8_t*, size_t)>& fn,
                       const std::function<Status()>& release) {
  if (item >= rec.items.size()) return Status::InvalidArgument("no such item");
  const ItemRec& it = rec.items[item];
  // One short read transaction per batch, so a slow consumer does not pin
  // old pages for the whole read.
  constexpr uint32_t kBatch = 64;
  for (uint32_t start = 0; start < it.chunks; start += kBatch) {
    Txn txn(env_, false);
    SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
    for (uint32_t j = start; j < std::min(it.chunks, start + kBatch); j++) {
      ChunkKey ck(rec.id, item, j);
      MDB_val k = ck.val(), v;
      int rc = mdb_get(txn.get(), dbi_->chunks, &k, &v);
      if (rc == MDB_NOTFOUND) return Status::Corruption("a chunk is missing");
      SD_RETURN_IF_ERROR(FromMdb(rc, "read chunk"));
      SD_RETURN_IF_ERROR(CheckHeader(v, kChunkMagic, "chunk"));
      SD_RETURN_IF_ERROR(fn(j, static_cast<uint8_t*>(v.mv_data) + kRecHdr, v.mv_size - kRecHdr));
    }
    if (release) SD_RETURN_IF_ERROR(release());
  }
  return Status::OK();
}

Status Store::Unexported(std::vector<Id>* out) { return KeysOf(dbi_->unexported, out); }

// The ids that key a table (pending, unexported).
Status Store::KeysOf(unsigned dbi, std::vector<Id>* out) {
  out->clear();
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi, &c), "cursor"));
  MDB_val k, v;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != kIdSize) continue;
    Id id;
    std::memcpy(id.data(), k.mv_data, kIdSize);
    out->push_back(id);
  }
  mdb_cursor_close(c);
  return Status::OK();
}

Status Store::ExportedBefore(uint32_t before, std::vector<Id>* out) {
  out->clear();
  return WalkByDay([&](uint32_t day, const uint8_t* id, bool unexported) {
    if (day >= before) return false;
    if (!unexported) {
      out->emplace_back();
      std::memcpy(out->back().data(), id, kIdSize);
    }
    return true;
  });
}

Status Store::Withdraw(const std::vector<Id>& ids) {
  if (opt_.role != Role::kServer) return Status::InvalidArgument("only a server store withdraws");
  if (ids.empty()) return Status::OK();
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  for (const Id& id : ids) {
    MDB_val k = IdVal(id), v;
    int rc = dbi_->has_acks ? mdb_del(txn.get(), dbi_->acks, &k, nullptr) : MDB_NOTFOUND;
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return FromMdb(rc, "clear acknowledgement");
    rc = mdb_get(txn.get(), dbi_->subs, &k, &v);
    if (rc == MDB_NOTFOUND) continue;
    SD_RETURN_IF_ERROR(FromMdb(rc, "read submission"));
    SubmissionRec rec;
    SD_RETURN_IF_ERROR(DecodeSubmission(static_cast<const uint8_t*>(v.mv_data), v.mv_size, &rec));
    uint8_t day_key[4 + kIdSize];
    PutBE32(day_key, rec.day);
    std::memcpy(day_key + 4, id.data(), kIdSize);
    MDB_val dk{sizeof(day_key), day_key};
    rc = mdb_del(txn.get(), dbi_->byday, &dk, nullptr);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return FromMdb(rc, "unindex by day");
    rc = mdb_del(txn.get(), dbi_->unexported, &k, nullptr);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return FromMdb(rc, "clear export mark");
    SD_RETURN_IF_ERROR(FromMdb(mdb_del(txn.get(), dbi_->subs, &k, nullptr), "withdraw"));
    SD_RETURN_IF_ERROR(PutPending(txn.get(), dbi_->pending, &k));
  }
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  KeepDayTimes();
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

Status Store::MarkExported(const std::vector<Id>& ids) {
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  for (const Id& id : ids) {
    MDB_val k = IdVal(id);
    int rc = mdb_del(txn.get(), dbi_->unexported, &k, nullptr);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return FromMdb(rc, "mark exported");
  }
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  KeepDayTimes();
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

namespace {

std::string ReplyKeyBytes(const Key32& source, const Id& id) {
  std::string k(reinterpret_cast<const char*>(source.data()), 32);
  k.append(reinterpret_cast<const char*>(id.data()), kIdSize);
  return k;
}

std::string SequenceKey(const Key32& signer) {
  return "outbox:" + Hex(signer.data(), signer.size());
}

std::string EncodeQueuedAck(const QueuedAck& a) {
  std::string s(kAckQueuedMagic, 4);
  s.push_back(char(kRecordVersion));
  s.append(reinterpret_cast<const char*>(a.instance.data()), a.instance.size());
  PutU64(&s, a.outbox);
  return s;
}

Status DecodeQueuedAck(const MDB_val& k, const MDB_val& v, QueuedAck* out) {
  SD_RETURN_IF_ERROR(CheckHeader(v, kAckQueuedMagic, "queued acknowledgement"));
  if (k.mv_size != kIdSize || v.mv_size != kAckQueuedSize)
    return Status::Corruption("queued acknowledgement has the wrong length");
  const auto* p = static_cast<const uint8_t*>(v.mv_data) + kRecHdr;
  std::memcpy(out->id.data(), k.mv_data, kIdSize);
  std::memcpy(out->instance.data(), p, 32);
  out->outbox = GetLE(p + 32, 8);
  return Status::OK();
}

Status DecodeAck(const MDB_val& k, const MDB_val& v, AckRec* out) {
  SD_RETURN_IF_ERROR(CheckHeader(v, kAckMagic, "acknowledgement"));
  if (k.mv_size != kIdSize || v.mv_size != kAckSize)
    return Status::Corruption("acknowledgement has the wrong length");
  const auto* p = static_cast<const uint8_t*>(v.mv_data) + kRecHdr;
  std::memcpy(out->id.data(), k.mv_data, kIdSize);
  out->day = uint32_t(GetLE(p, 4));
  std::memcpy(out->signer.data(), p + 4, 32);
  return Status::OK();
}

}  // namespace

Status Store::TxnQueueAck(MDB_txn* txn, const Id& id, const Key32& instance) {
  if (!dbi_->has_acks || opt_.role != Role::kVault)
    return Status::InvalidArgument("only a vault queues acknowledgements");
  MDB_val k = IdVal(id), v;
  int rc = mdb_get(txn, dbi_->subs, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::InvalidArgument("an acknowledgement of a submission not held");
  SD_RETURN_IF_ERROR(FromMdb(rc, "read submission"));
  QueuedAck a;
  a.id = id;
  a.instance = instance;
  const std::string val = EncodeQueuedAck(a);
  MDB_val av{val.size(), const_cast<char*>(val.data())};
  rc = mdb_put(txn, dbi_->acks, &k, &av, MDB_NOOVERWRITE);
  return rc == MDB_KEYEXIST ? Status::OK() : FromMdb(rc, "queue acknowledgement");
}

// Every record of the acks table, decoded by `decode`.
template <typename Rec, typename Decode>
static Status ReadAcks(MDB_env* env, MDB_dbi dbi, bool has, Decode decode, std::vector<Rec>* out) {
  out->clear();
  if (!has) return Status::OK();
  Txn txn(env, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi, &c), "cursor"));
  MDB_val k, v;
  Status st;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && st.ok();
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    Rec r;
    st = decode(k, v, &r);
    if (st.ok()) out->push_back(r);
  }
  mdb_cursor_close(c);
  return st;
}

Status Store::Acknowledged(std::vector<AckRec>* out) {
  if (opt_.role != Role::kServer) return Status::InvalidArgument("only a server keeps acknowledgements");
  return ReadAcks(env_, dbi_->acks, dbi_->has_acks, DecodeAck, out);
}

Status Store::QueuedAcks(std::vector<QueuedAck>* out) {
  if (opt_.role != Role::kVault) return Status::InvalidArgument("only a vault queues acknowledgements");
  return ReadAcks(env_, dbi_->acks, dbi_->has_acks, DecodeQueuedAck, out);
}

Status Store::ImportOutbox(const Key32& signer, uint64_t sequence,
                           const std::vector<ReplyRec>& replies, const std::vector<Id>& acked,
                           uint32_t day, uint64_t* expected, const std::vector<Id>& deleted,
                           uint64_t* removed) {
  if (removed != nullptr) *removed = 0;
  if (!dbi_->has_replies || !dbi_->has_acks || opt_.role != Role::kServer)
    return Status::InvalidArgument("this store keeps no replies");
  uint64_t bytes = 0;
  for (const ReplyRec& r : replies) bytes += r.sealed.size() + kReplyFixed + 64;
  bytes += acked.size() * (kAckSize + kIdSize + 64);
  uint64_t used = 0;
  SD_RETURN_IF_ERROR(Used(&used));
  if (used + bytes > opt_.quota) return Status::Full("the store has reached its quota");
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  const std::string seq_key = SequenceKey(signer);
  MDB_val sk{seq_key.size(), const_cast<char*>(seq_key.data())}, sv;
  uint64_t last = 0;
  int rc = mdb_get(txn.get(), dbi_->meta, &sk, &sv);
  if (rc == MDB_SUCCESS) {
    if (sv.mv_size != 8) return Status::Corruption("outbox counter has the wrong length");
    last = GetLE(static_cast<const uint8_t*>(sv.mv_data), 8);
  } else if (rc != MDB_NOTFOUND) {
    return FromMdb(rc, "read outbox counter");
  }
  *expected = last + 1;
  if (sequence <= last)
    return Status::Exists("outbox " + std::to_string(sequence) + " was imported before");
  if (sequence != last + 1)
    return Status::InvalidArgument("outbox " + std::to_string(sequence) + " is out of order");
  for (const ReplyRec& r : replies) {
    const std::string key = ReplyKeyBytes(r.source, r.id);
    const std::string val = EncodeReply(r);
    MDB_val k{key.size(), const_cast<char*>(key.data())}, v{val.size(), const_cast<char*>(val.data())};
    rc = mdb_put(txn.get(), dbi_->replies, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) return Status::Exists("a reply in the outbox is stored already");
    SD_RETURN_IF_ERROR(FromMdb(rc, "write reply"));
  }
  std::string ack(kAckMagic, 4);
  ack.push_back(char(kRecordVersion));
  PutU32(&ack, day);
  ack.append(reinterpret_cast<const char*>(signer.data()), signer.size());
  for (const Id& id : acked) {
    MDB_val k = IdVal(id), v;
    // Withdrawn since (expired): nothing to delete, and no record of it.
    rc = mdb_get(txn.get(), dbi_->subs, &k, &v);
    if (rc == MDB_NOTFOUND) continue;
    SD_RETURN_IF_ERROR(FromMdb(rc, "read submission"));
    MDB_val av{ack.size(), ack.data()};
    rc = mdb_put(txn.get(), dbi_->acks, &k, &av, MDB_NOOVERWRITE);
    if (rc != MDB_KEYEXIST) SD_RETURN_IF_ERROR(FromMdb(rc, "write acknowledgement"));
    rc = mdb_del(txn.get(), dbi_->unexported, &k, nullptr);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return FromMdb(rc, "mark exported");
  }
  // Replies are filed under their source's reply key: those to delete are
  // found by their ids in one pass over the table.
  uint64_t gone = 0;
  if (!deleted.empty()) {
    std::set<Id> wanted(deleted.begin(), deleted.end());
    std::vector<std::string> keys;
    MDB_cursor* c = nullptr;
    SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->replies, &c), "cursor"));
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (k.mv_size != 32 + kIdSize) continue;
      Id id;
      std::memcpy(id.data(), static_cast<const uint8_t*>(k.mv_data) + 32, kIdSize);
      if (wanted.count(id)) keys.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) return FromMdb(rc, "find deleted replies");
    for (const std::string& key : keys) {
      MDB_val dk{key.size(), const_cast<char*>(key.data())};
      SD_RETURN_IF_ERROR(FromMdb(mdb_del(txn.get(), dbi_->replies, &dk, nullptr), "delete reply"));
    }
    gone = keys.size();
  }
  std::string seq;
  PutU64(&seq, sequence);
  MDB_val nv{seq.size(), seq.data()};
  SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn.get(), dbi_->meta, &sk, &nv, 0), "write outbox counter"));
  if (removed != nullptr) *removed = gone;
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  KeepDayTimes();
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

Status Store::Replies(const Key32& source, size_t limit, std::vector<ReplyRec>* out) {
  out->clear();
  if (!dbi_->has_replies) return Status::OK();
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->replies, &c), "cursor"));
  MDB_val k{32, const_cast<uint8_t*>(source.data())}, v;
  Status st;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
       rc == MDB_SUCCESS && out->size() < limit && k.mv_size == 32 + kIdSize &&
       std::memcmp(k.mv_data, source.data(), 32) == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    ReplyRec r;
    st = DecodeReply(static_cast<const uint8_t*>(k.mv_data), k.mv_size,
                     static_cast<const uint8_t*>(v.mv_data), v.mv_size, &r);
    if (!st.ok()) break;
    out->push_back(std::move(r));
  }
  mdb_cursor_close(c);
  return st;
}

Status Store::DeleteReply(const Key32& source, const Id& id) {
  if (!dbi_->has_replies) return Status::NotFound("no such reply");
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  const std::string key = ReplyKeyBytes(source, id);
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v;
  int rc = mdb_get(txn.get(), dbi_->replies, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("no such reply");
  SD_RETURN_IF_ERROR(FromMdb(rc, "read reply"));
  if (v.mv_size < kReplyFixed || !HasHeader(v, kReplyMagic))
    return Status::Corruption("a reply record is damaged: run sealdrop-server check");
  // The day the reply arrived, not today's: the note says nothing of when
  // the source came, and goes when the reply would have expired.
  const uint32_t arrived = uint32_t(GetLE(static_cast<const uint8_t*>(v.mv_data) + kRecHdr, 4));
  SD_RETURN_IF_ERROR(FromMdb(mdb_del(txn.get(), dbi_->replies, &k, nullptr), "delete reply"));
  if (dbi_->has_deleted) {
    std::string note(kDeletedMagic, 4);
    note.push_back(char(kRecordVersion));
    PutU32(&note, arrived);
    MDB_val ik = IdVal(id), nv{note.size(), note.data()};
    SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn.get(), dbi_->deleted, &ik, &nv, 0), "note deletion"));
  }
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  KeepDayTimes();
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

Status Store::DeletedReplies(size_t limit, std::vector<Id>* out) {
  out->clear();
  if (!dbi_->has_deleted || opt_.role != Role::kServer) return Status::OK();
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->deleted, &c), "cursor"));
  MDB_val k, v;
  int rc;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && out->size() < limit;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != kIdSize) continue;
    Id id;
    std::memcpy(id.data(), k.mv_data, kIdSize);
    out->push_back(id);
  }
  mdb_cursor_close(c);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return FromMdb(rc, "read deletion notes");
  return Status::OK();
}

Status Store::QueueDeletions(const Key32& from, const std::vector<Id>& ids, uint64_t* noted) {
  *noted = 0;
  if (!dbi_->has_deleted || !dbi_->has_replies || opt_.role != Role::kVault)
    return Status::InvalidArgument("this store forwards no deletions");
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  QueuedDeletion d;
  d.from = from;
  const std::string val = EncodeQueuedDeletion(d);
  for (const Id& id : ids) {
    MDB_val k = IdVal(id), v;
    int rc = mdb_get(txn.get(), dbi_->replies, &k, &v);
    if (rc == MDB_NOTFOUND) continue;  // not a reply this vault sent
    SD_RETURN_IF_ERROR(FromMdb(rc, "read queued reply"));
    MDB_val nv{val.size(), const_cast<char*>(val.data())};
    rc = mdb_put(txn.get(), dbi_->deleted, &k, &nv, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) continue;
    SD_RETURN_IF_ERROR(FromMdb(rc, "note deletion"));
    ++*noted;
  }
  if (*noted == 0) return Status::OK();
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  KeepDayTimes();
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

Status Store::QueuedDeletions(std::vector<QueuedDeletion>* out) {
  out->clear();
  if (!dbi_->has_deleted || opt_.role != Role::kVault) return Status::OK();
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->deleted, &c), "cursor"));
  MDB_val k, v;
  Status st;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && st.ok();
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    QueuedDeletion d;
    st = DecodeQueuedDeletion(static_cast<const uint8_t*>(k.mv_data), k.mv_size,
                              static_cast<const uint8_t*>(v.mv_data), v.mv_size, &d);
    if (st.ok()) out->push_back(std::move(d));
  }
  mdb_cursor_close(c);
  return st;
}

Status Store::ExpireReplies(uint32_t before, uint64_t* removed) {
  *removed = 0;
  if (!dbi_->has_replies) return Status::OK();
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->replies, &c), "cursor"));
  // Keys first, deletions after: a cursor's position after deleting the
  // table's last entry is not one to read on from.
  std::vector<std::string> old;
  MDB_val k, v;
  int rc;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    const auto* p = static_cast<const uint8_t*>(v.mv_data);
    // A record too damaged to read its day is left for check to report.
    if (v.mv_size >= kReplyFixed && HasHeader(v, kReplyMagic) &&
        uint32_t(GetLE(p + kRecHdr, 4)) < before)
      old.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
  }
  mdb_cursor_close(c);
  if (rc != MDB_NOTFOUND) return FromMdb(rc, "expire replies");
  for (const std::string& key : old) {
    MDB_val dk{key.size(), const_cast<char*>(key.data())};
    SD_RETURN_IF_ERROR(FromMdb(mdb_del(txn.get(), dbi_->replies, &dk, nullptr), "expire reply"));
  }
  std::vector<std::string> notes;
  if (dbi_->has_deleted && opt_.role == Role::kServer) {
    SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->deleted, &c), "cursor"));
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (v.mv_size == kDeletedSize && HasHeader(v, kDeletedMagic) &&
          uint32_t(GetLE(static_cast<const uint8_t*>(v.mv_data) + kRecHdr, 4)) < before)
        notes.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) return FromMdb(rc, "expire deletion notes");
    for (const std::string& key : notes) {
      MDB_val dk{key.size(), const_cast<char*>(key.data())};
      SD_RETURN_IF_ERROR(FromMdb(mdb_del(txn.get(), dbi_->deleted, &dk, nullptr), "expire note"));
    }
  }
  if (old.empty() && notes.empty()) return Status::OK();
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  *removed = old.size();
  KeepDayTimes();
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

Status Store::QueueReply(const QueuedReply& rec) {
  if (!dbi_->has_replies || opt_.role != Role::kVault)
    return Status::InvalidArgument("this store queues no replies");
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  const std::string val = EncodeQueuedReply(rec);
  MDB_val k = IdVal(rec.id), v{val.size(), const_cast<char*>(val.data())};
  int rc = mdb_put(txn.get(), dbi_->replies, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return Status::Exists("a reply with that id is queued already");
  SD_RETURN_IF_ERROR(FromMdb(rc, "queue reply"));
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

Status Store::QueuedReplies(std::vector<QueuedReply>* out) {
  out->clear();
  if (!dbi_->has_replies) return Status::OK();
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->replies, &c), "cursor"));
  MDB_val k, v;
  Status st;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && st.ok();
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    QueuedReply r;
    st = DecodeQueuedReply(static_cast<const uint8_t*>(v.mv_data), v.mv_size, &r);
    if (st.ok()) out->push_back(std::move(r));
  }
  mdb_cursor_close(c);
  return st;
}

Status Store::MarkOutbox(const std::vector<Id>& ids, const std::vector<Id>& acks,
                         uint64_t sequence, const Key32& instance, const std::string& key,
                         const std::string& value, const std::vector<Id>& deletions) {
  if (!dbi_->has_replies || !dbi_->has_acks || opt_.role != Role::kVault)
    return Status::InvalidArgument("this store queues no replies");
  if (key.empty() || key.size() > 256 || key == "format") return Status::InvalidArgument("bad meta key");
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  for (const Id& id : ids) {
    MDB_val k = IdVal(id), v;
    SD_RETURN_IF_ERROR(FromMdb(mdb_get(txn.get(), dbi_->replies, &k, &v), "read queued reply"));
    QueuedReply r;
    SD_RETURN_IF_ERROR(DecodeQueuedReply(static_cast<const uint8_t*>(v.mv_data), v.mv_size, &r));
    const uint64_t was = r.OutboxFor(instance);
    if (was == sequence) continue;  // written again (outbox --again)
    if (was != 0) return Status::InvalidArgument("a reply was carried to that instance before");
    if (r.sent.size() >= kMaxQueuedSent) return Status::TooLarge("a reply went to too many instances");
    r.sent.push_back({instance, sequence});
    const std::string val = EncodeQueuedReply(r);
    MDB_val nv{val.size(), const_cast<char*>(val.data())};
    SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn.get(), dbi_->replies, &k, &nv, 0), "mark reply sent"));
  }
  for (const Id& id : acks) {
    MDB_val k = IdVal(id), v;
    SD_RETURN_IF_ERROR(FromMdb(mdb_get(txn.get(), dbi_->acks, &k, &v), "read acknowledgement"));
    QueuedAck a;
    SD_RETURN_IF_ERROR(DecodeQueuedAck(k, v, &a));
    if (a.instance != instance) return Status::InvalidArgument("an acknowledgement for another instance");
    a.outbox = sequence;
    const std::string val = EncodeQueuedAck(a);
    MDB_val nv{val.size(), const_cast<char*>(val.data())};
    SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn.get(), dbi_->acks, &k, &nv, 0), "mark acknowledgement sent"));
  }
  if (!deletions.empty() && !dbi_->has_deleted)
    return Status::InvalidArgument("this vault forwards no deletions");
  for (const Id& id : deletions) {
    MDB_val k = IdVal(id), v;
    SD_RETURN_IF_ERROR(FromMdb(mdb_get(txn.get(), dbi_->deleted, &k, &v), "read deletion"));
    QueuedDeletion d;
    SD_RETURN_IF_ERROR(DecodeQueuedDeletion(id.data(), kIdSize,
                                            static_cast<const uint8_t*>(v.mv_data), v.mv_size, &d));
    const uint64_t was = d.OutboxFor(instance);
    if (was == sequence) continue;
    if (was != 0) return Status::InvalidArgument("a deletion was carried to that instance before");
    if (d.sent.size() >= kMaxQueuedSent) return Status::TooLarge("a deletion went to too many instances");
    d.sent.push_back({instance, sequence});
    const std::string val = EncodeQueuedDeletion(d);
    MDB_val nv{val.size(), const_cast<char*>(val.data())};
    SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn.get(), dbi_->deleted, &k, &nv, 0), "mark deletion sent"));
  }
  MDB_val mk{key.size(), const_cast<char*>(key.data())}, mv{value.size(), const_cast<char*>(value.data())};
  SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn.get(), dbi_->meta, &mk, &mv, 0), "write meta"));
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

Status Store::PutTriage(const Id& id, const std::vector<uint8_t>& sealed) {
  return PutTriageMany({{id, sealed}});
}

Status Store::PutTriageMany(const std::vector<std::pair<Id, std::vector<uint8_t>>>& records) {
  if (!dbi_->has_triage) return Status::InvalidArgument("this store keeps no triage records");
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  for (const auto& [id, sealed] : records) {
    if (sealed.empty() || sealed.size() > kMaxTriageRecord)
      return Status::InvalidArgument("a triage record has an impossible length");
    MDB_val k = IdVal(id), v;
    if (mdb_get(txn.get(), dbi_->subs, &k, &v) != MDB_SUCCESS)
      return Status::InvalidArgument("no such submission");
    std::string rec(kTriageMagic, 4);
    rec.push_back(char(kRecordVersion));
    rec.append(reinterpret_cast<const char*>(sealed.data()), sealed.size());
    MDB_val rv{rec.size(), const_cast<char*>(rec.data())};
    SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn.get(), dbi_->triage, &k, &rv, 0), "write triage"));
  }
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

Status Store::GetTriage(const Id& id, std::vector<uint8_t>* sealed) {
  sealed->clear();
  if (!dbi_->has_triage) return Status::NotFound("no triage record");
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_val k = IdVal(id), v;
  int rc = mdb_get(txn.get(), dbi_->triage, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("no triage record");
  SD_RETURN_IF_ERROR(FromMdb(rc, "read triage"));
  SD_RETURN_IF_ERROR(CheckHeader(v, kTriageMagic, "triage"));
  const uint8_t* p = static_cast<const uint8_t*>(v.mv_data);
  sealed->assign(p + kRecHdr, p + v.mv_size);
  return Status::OK();
}

Status Store::PutIndex(const IndexId& iid,
                       const std::vector<std::pair<Id, std::vector<uint8_t>>>& records) {
  if (!dbi_->has_index) return Status::InvalidArgument("this store keeps no index");
  if (records.empty()) return Status::OK();
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  for (const auto& [id, sealed] : records) {
    if (sealed.empty() || sealed.size() > kMaxIndexRecord)
      return Status::InvalidArgument("an index record has an impossible length");
    uint8_t key[kIndexKey];
    std::memcpy(key, iid.data(), 8);
    std::memcpy(key + 8, id.data(), kIdSize);
    MDB_val k{kIndexKey, key};
    std::string rec(kIndexMagic, 4);
    rec.push_back(char(kRecordVersion));
    rec.append(reinterpret_cast<const char*>(sealed.data()), sealed.size());
    MDB_val rv{rec.size(), const_cast<char*>(rec.data())};
    SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn.get(), dbi_->index, &k, &rv, 0), "write index"));
  }
  // Not synced: the index is rebuilt from the submissions whenever it lacks
  // a record, so a crash costs only time.
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  KeepDayTimes();
  return Status::OK();
}

Status Store::ForEachIndex(
    const IndexId& iid,
    const std::function<Status(const Id& id, const uint8_t* sealed, size_t n)>& fn) {
  if (!dbi_->has_index) return Status::OK();
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* cur = nullptr;
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->index, &cur), "cursor"));
  std::unique_ptr<MDB_cursor, void (*)(MDB_cursor*)> hold(cur, mdb_cursor_close);
  uint8_t from[kIndexKey] = {};
  std::memcpy(from, iid.data(), 8);
  MDB_val k{kIndexKey, from}, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc != MDB_NOTFOUND;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    SD_RETURN_IF_ERROR(FromMdb(rc, "read index"));
    if (k.mv_size != kIndexKey || std::memcmp(k.mv_data, iid.data(), 8) != 0) break;
    SD_RETURN_IF_ERROR(CheckHeader(v, kIndexMagic, "index"));
    Id id;
    std::memcpy(id.data(), static_cast<const uint8_t*>(k.mv_data) + 8, kIdSize);
    SD_RETURN_IF_ERROR(
        fn(id, static_cast<const uint8_t*>(v.mv_data) + kRecHdr, v.mv_size - kRecHdr));
  }
  return Status::OK();
}

Status Store::PutMeta(const std::string& key, const std::string& value) {
  if (key.empty() || key.size() > 256 || key == "format")
    return Status::InvalidArgument("bad meta key");
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  SD_RETURN_IF_ERROR(FromMdb(mdb_put(txn.get(), dbi_->meta, &k, &v, 0), "write meta"));
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  KeepDayTimes();
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

Status Store::DeleteMeta(const std::string& key) {
  if (key.empty() || key.size() > 256 || key == "format")
    return Status::InvalidArgument("bad meta key");
  Txn txn(env_, true);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  int rc = mdb_del(txn.get(), dbi_->meta, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::OK();
  SD_RETURN_IF_ERROR(FromMdb(rc, "delete meta"));
  SD_RETURN_IF_ERROR(FromMdb(txn.Commit(), "commit"));
  KeepDayTimes();
  return FromMdb(mdb_env_sync(env_, 1), "sync");
}

Status Store::GetMeta(const std::string& key, std::string* value) {
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v;
  int rc = mdb_get(txn.get(), dbi_->meta, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("no meta value " + key);
  SD_RETURN_IF_ERROR(FromMdb(rc, "read meta"));
  value->assign(static_cast<char*>(v.mv_data), v.mv_size);
  return Status::OK();
}

Status Store::Check(Report* r) {
  *r = Report();
  Txn txn(env_, false);
  SD_RETURN_IF_ERROR(FromMdb(txn.rc(), "begin"));
  MDB_cursor* c = nullptr;
  MDB_val k, v;
  // Submissions and their chunks.
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->subs, &c), "cursor"));
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    std::string name = k.mv_size == kIdSize ? Hex(static_cast<uint8_t*>(k.mv_data), kIdSize)
                                            : std::string("(bad key)");
    SubmissionRec rec;
    Status st = DecodeSubmission(static_cast<uint8_t*>(v.mv_data), v.mv_size, &rec);
    if (!st.ok()) {
      r->problems.push_back("submission " + name + ": " + st.ToString());
      continue;
    }
    if (k.mv_size != kIdSize || std::memcmp(k.mv_data, rec.id.data(), kIdSize) != 0) {
      r->problems.push_back("submission " + name + ": record id differs from its key");
      continue;
    }
    st = VerifyChunks(txn.get(), dbi_->chunks, rec, true);
    if (!st.ok()) r->problems.push_back("submission " + name + ": " + st.ToString());
    r->submissions++;
    r->bytes += StoredSize(rec);
  }
  mdb_cursor_close(c);
  // Every chunk must belong to a committed or a pending submission.
  SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->chunks, &c), "cursor"));
  Id last{};
  bool last_known = false, have_last = false;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    r->chunks++;
    if (k.mv_size != kIdSize + 8) {
      r->problems.push_back("a chunk has a malformed key");
      continue;
    }
    if (!HasHeader(v, kChunkMagic)) r->problems.push_back("a chunk has a bad magic");
    if (!have_last || std::memcmp(last.data(), k.mv_data, kIdSize) != 0) {
      std::memcpy(last.data(), k.mv_data, kIdSize);
      have_last = true;
      MDB_val idk = IdVal(last), tmp;
      last_known = mdb_get(txn.get(), dbi_->subs, &idk, &tmp) == MDB_SUCCESS ||
                   mdb_get(txn.get(), dbi_->pending, &idk, &tmp) == MDB_SUCCESS;
      if (!last_known)
        r->problems.push_back("chunks of " + Hex(last.data(), kIdSize) +
                              " belong to no submission");
    }
  }
  mdb_cursor_close(c);
  MDB_stat ps;
  SD_RETURN_IF_ERROR(FromMdb(mdb_stat(txn.get(), dbi_->pending, &ps), "stat"));
  r->pending = ps.ms_entries;
  if (dbi_->has_sources) {
    MDB_stat ss;
    SD_RETURN_IF_ERROR(FromMdb(mdb_stat(txn.get(), dbi_->sources, &ss), "stat"));
    r->old_sources = ss.ms_entries;
  }
  if (dbi_->has_acks) {
    SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->acks, &c), "cursor"));
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      r->acks++;
      AckRec a;
      QueuedAck q;
      Status st = opt_.role == Role::kServer ? DecodeAck(k, v, &a) : DecodeQueuedAck(k, v, &q);
      if (!st.ok()) r->problems.push_back("an acknowledgement: " + st.message());
    }
    mdb_cursor_close(c);
  }
  if (dbi_->has_deleted) {
    SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->deleted, &c), "cursor"));
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      r->deleted++;
      QueuedDeletion d;
      const bool ok = opt_.role == Role::kServer
                          ? k.mv_size == kIdSize && v.mv_size == kDeletedSize &&
                                HasHeader(v, kDeletedMagic)
                          : DecodeQueuedDeletion(static_cast<const uint8_t*>(k.mv_data), k.mv_size,
                                                 static_cast<const uint8_t*>(v.mv_data), v.mv_size,
                                                 &d)
                                .ok();
      if (!ok) r->problems.push_back("a note of a deleted reply is malformed");
    }
    mdb_cursor_close(c);
  }
  if (dbi_->has_replies) {
    SD_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn.get(), dbi_->replies, &c), "cursor"));
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      r->replies++;
      Status st;
      if (opt_.role == Role::kServer) {
        ReplyRec rec;
        st = DecodeReply(static_cast<const uint8_t*>(k.mv_data), k.mv_size,
                         static_cast<const uint8_t*>(v.mv_data), v.mv_size, &rec);
      } else {
        QueuedReply rec;
        st = DecodeQueuedReply(static_cast<const uint8_t*>(v.mv_data), v.mv_size, &rec);
        if (st.ok() && (k.mv_size != kIdSize || std::memcmp(k.mv_data, rec.id.data(), kIdSize) != 0))
          st = Status::Corruption("record id differs from its key");
      }
      if (!st.ok()) r->problems.push_back("a reply: " + st.message());
    }
    mdb_cursor_close(c);
  }
  return Status::OK();
}

}  // namespace storage
}  // namespace sealdrop
