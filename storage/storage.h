// sealdrop storage: the server's LMDB store and the reviewer's vault.
//
// The store knows records and bytes, not keys: everything it holds is already
// sealed. Record formats are specified in docs/FORMAT.md ("Stored records").
//
// Life of a submission:
//   BeginPending(id)   marks the id as being written (swept if never committed)
//   PutChunks(...)     small write transactions as ciphertext arrives
//   Commit(id, rec)    one transaction makes it visible, then syncs to disk
//   Abort(id)          removes every trace of an unfinished one
//
// Caveats (LMDB's): one Store per process per directory; a Store may be used
// from many threads (LMDB serialises writers); never use it after fork().
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

struct MDB_env;
struct MDB_txn;

namespace sealdrop {
namespace storage {

constexpr size_t kIdSize = 16;
using Id = std::array<uint8_t, kIdSize>;

// One recipient's sealed content key. Records before version 3 hold only
// algorithm 1 (X25519 SEAL, 80 bytes); version 3 names the algorithm of each,
// and keeps an entry of an algorithm this build does not know as it is.
constexpr uint8_t kSealX25519 = 1;
constexpr size_t kMaxSealedKey = 4096;
struct SealedKeyRec {
  std::array<uint8_t, 8> key_id{};
  uint8_t alg = kSealX25519;
  std::vector<uint8_t> box;
};

struct ItemRec {
  std::array<uint8_t, 24> header{};  // stream header
  uint64_t padded = 0;               // plaintext bytes after padding
  uint32_t chunks = 0;
};

// A sealed submission as stored (FORMAT.md "Submission record").
struct SubmissionRec {
  // Record version (FORMAT.md "Submission record"): 3 is written, 1 and 2
  // are still read. StreamVersion() gives its items' stream version.
  uint8_t version = 3;
  Id id{};
  uint32_t day = 0;  // days since 1970-01-01 (UTC): the only time stored
  uint32_t chunk_size = 0;  // plaintext bytes per chunk
  std::vector<SealedKeyRec> keys;
  std::vector<ItemRec> items;  // item 0 is the manifest
};

// Version 1 records' streams are version 1; every later record's are 2.
inline uint8_t StreamVersion(const SubmissionRec& rec) { return rec.version == 1 ? 1 : 2; }

// REQUIRES: before version 3, every key is algorithm 1 with an 80-byte box.
std::string EncodeSubmission(const SubmissionRec& rec);
Status DecodeSubmission(const uint8_t* p, size_t n, SubmissionRec* out);
// Ciphertext bytes of a chunk: the stored length of chunk `index` of `item`.
uint64_t ChunkCipherSize(const SubmissionRec& rec, const ItemRec& item, uint32_t index);
// Total ciphertext bytes the submission occupies.
uint64_t StoredSize(const SubmissionRec& rec);

// A reply from the team as the server keeps it (FORMAT.md "Reply record"):
// filed under the source's reply key and the reply's id, with the signature
// of the reviewer who sent it and the day it arrived.
using Key32 = std::array<uint8_t, 32>;
struct ReplyRec {
  Key32 source{};  // the reply key it is sealed to
  Id id{};
  uint32_t day = 0;
  Key32 signer{};  // the reviewer's signing key
  std::array<uint8_t, 64> sig{};
  std::vector<uint8_t> sealed;
};
std::string EncodeReply(const ReplyRec& rec);
// Key: the source's reply key, then the id.
Status DecodeReply(const uint8_t* key, size_t key_len, const uint8_t* p, size_t n, ReplyRec* out);

// A reply in the vault (FORMAT.md "Queued reply record"), from `reply` on,
// so that every instance gets it and an outbox can be written again. It goes
// to every instance the vault trusts (docs/INSTANCES.md): `sent` says which
// outbox carried it to each instance it went to.
struct QueuedReply {
  struct Sent {
    Key32 instance{};
    uint64_t outbox = 0;  // 1, 2, ...
  };
  Id id{};
  Id submission{};  // the submission it answers
  Key32 source{};
  uint32_t day = 0;
  std::vector<Sent> sent;  // at most kMaxQueuedSent, one per instance
  std::vector<uint8_t> sealed;
  // The outbox that carried it to `instance`; 0 if none has yet.
  uint64_t OutboxFor(const Key32& instance) const;
};
constexpr size_t kMaxQueuedSent = 1024;
// Writes version 2; reads 1 (one instance at most) and 2.
std::string EncodeQueuedReply(const QueuedReply& rec);
Status DecodeQueuedReply(const uint8_t* p, size_t n, QueuedReply* out);

// Vault: a reply a source deleted on one instance (FORMAT.md "Queued
// deletion record"), to be deleted on every other instance that was sent it.
struct QueuedDeletion {
  Id id{};              // the reply's
  Key32 from{};         // the instance whose bundle said the source deleted it
  std::vector<QueuedReply::Sent> sent;  // per instance, the outbox that carried the deletion
  uint64_t OutboxFor(const Key32& instance) const;
};
std::string EncodeQueuedDeletion(const QueuedDeletion& rec);
Status DecodeQueuedDeletion(const uint8_t* key, size_t key_len, const uint8_t* p, size_t n,
                            QueuedDeletion* out);

// Server: a submission the reviewers said their vault holds (FORMAT.md
// "Acknowledgement record"), deleted ack_grace_days after `day`.
struct AckRec {
  Id id{};
  uint32_t day = 0;  // the day the outbox carrying it was imported
  Key32 signer{};    // the reviewer whose outbox said so
};

// Vault: an acknowledgement to send (FORMAT.md "Queued acknowledgement
// record"), filed when the import commits the submission.
struct QueuedAck {
  Id id{};
  Key32 instance{};     // the instance the submission came from
  uint64_t outbox = 0;  // the outbox that carries it; 0 while queued
};

struct ChunkWrite {
  uint32_t item = 0;
  uint32_t index = 0;
  const uint8_t* data = nullptr;
  size_t size = 0;
};

// Writes applied in one transaction: all or none (Store::Write).
class WriteBatch {
 public:
  struct Op {
    enum Kind { kChunks, kCommit, kDrop, kAck } kind = kChunks;
    Id id{};
    std::vector<ChunkWrite> chunks;  // data must outlive Store::Write
    SubmissionRec rec;
    int max_chunks = 0;  // kDrop
    Key32 instance{};    // kAck
  };
  // Writes chunks of an upload, marking it pending if it is not yet. Only
  // chunks of a small upload (`small`) may go into the quota's reserve
  // (Options::reserve).
  void PutChunks(const Id& id, std::vector<ChunkWrite> chunks, bool small = false);
  // Publishes a pending submission (its chunks may be earlier in this batch).
  void Commit(const SubmissionRec& rec);
  // Removes up to max_chunks chunks of an unfinished upload, and its pending
  // mark with the last of them (Store::Pending tells when it is gone). A
  // large upload is removed a round at a time, each round riding along with
  // other writes, so that removing it never holds them up.
  void Drop(const Id& id, int max_chunks);
  // Vault: queues an acknowledgement of a committed submission (it may be
  // committed earlier in this batch) from `instance`, unless one is queued
  // or was sent already.
  void Ack(const Id& id, const Key32& instance);

  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  uint64_t bytes() const { return bytes_; }
  // Bytes of chunks that may not use the reserve.
  uint64_t large_bytes() const { return large_bytes_; }
  size_t commits() const { return commits_; }
  // Whether Store::Write syncs before it returns.
  bool durable() const { return commits_ > 0 || acks_ > 0; }

 private:
  std::vector<Op> ops_;
  uint64_t bytes_ = 0;
  uint64_t large_bytes_ = 0;
  size_t commits_ = 0;
  size_t acks_ = 0;
};

// Days since 1970-01-01 (UTC): the only time sealdrop stores or shows.
uint32_t Today();
// "2026-12-03" for a day.
std::string DayName(uint32_t day);

// Sets a file's (or directory's) access and modification times to 00:00 UTC
// of today, so that they tell the day and nothing finer. Best effort: the
// times are evidence, not data. The change time cannot be set; SECURITY.md
// says what it still shows.
void SetDayTimes(const std::string& path);

enum class Role : uint8_t { kServer = 1, kVault = 2 };

// Status::Full's message when only the reserve is left (Options::reserve).
extern const char kOnlySmall[];

struct Options {
  Role role = Role::kServer;
  // Bytes the store may use. Writes beyond it fail with Status::Full and
  // change nothing; the LMDB map is made somewhat larger so that removing
  // an upload can always proceed.
  uint64_t quota = uint64_t(16) << 30;
  // The last `reserve` bytes of the quota take only chunks written as small
  // (WriteBatch::PutChunks): when large uploads have filled the rest, a
  // message still gets through. Such a refusal is Full with kOnlySmall.
  uint64_t reserve = 0;
  bool read_only = false;
  // For processes that read whole submissions (export, the vault): keep the
  // kernel's readahead. The server, which writes, turns it off.
  bool read_ahead = false;
  // Keep what a write put in the kernel's page cache. The server turns this
  // off: it never reads back what it stored until an export, and fresh page
  // cache costs more than recycled (docs/PERFORMANCE.md).
  bool cache_writes = true;
};

class Store {
 public:
  // Opens (creating if absent, unless read_only) the store in directory `dir`.
  // Refuses a store of another role or of a newer format version by name.
  // Stores nullptr in *out and returns non-OK on error.
  static Status Open(const std::string& dir, const Options& opt, std::unique_ptr<Store>* out);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies the batch in one transaction; if it commits any submission the
  // store is synced to disk before this returns. Full if the quota would be
  // passed. On error nothing of the batch is applied.
  Status Write(const WriteBatch& batch);

  // Removes every pending (never committed) submission; *swept gets the count.
  Status Sweep(uint64_t* swept);

  Status BeginPending(const Id& id);
  // Writes the chunks in one transaction. Full if the quota would be passed.
  Status PutChunks(const Id& id, const std::vector<ChunkWrite>& chunks);
  // Checks that every chunk named by `rec` is present with the right size,
  // then publishes the record and clears the pending mark in one transaction,
  // and forces it to disk before returning.
  Status Commit(const SubmissionRec& rec);
  // As Commit for many records in one transaction (the vault's import).
  Status CommitMany(const std::vector<SubmissionRec>& recs);
  Status Abort(const Id& id);

  bool Contains(const Id& id);
  // True while an upload or import of `id` is unfinished (marked pending).
  bool Pending(const Id& id);
  Status Get(const Id& id, SubmissionRec* out);
  // Calls fn for every committed submission, in id order, starting at the
  // first id not below `from`; stop by returning false.
  Status ForEach(const std::function<bool(const SubmissionRec&)>& fn, const Id& from = Id{});
  // The `limit` most recently received submissions, newest first; *total
  // gets the number stored. Costs O(limit), however many are stored.
  Status Newest(size_t limit, std::vector<SubmissionRec>* out, uint64_t* total);
  // Streams the chunks of one item in order, a batch of them per read
  // transaction. The data stays valid until `release` (if given) has been
  // called for its batch, which happens before the transaction ends.
  Status ReadItem(const SubmissionRec& rec, uint32_t item,
                  const std::function<Status(uint32_t index, const uint8_t* p, size_t n)>& fn,
                  const std::function<Status()>& release = nullptr);

  // Committed submissions by the day they were received, oldest first, and
  // how many of each day were never exported (server).
  struct DayCount {
    uint32_t day = 0;
    uint64_t held = 0, unexported = 0;
  };
  Status ByDay(std::vector<DayCount>* out);

  // Server: the ids of submissions received before day `before` that were
  // exported at least once, oldest first.
  Status ExportedBefore(uint32_t before, std::vector<Id>* out);
  // Server: takes committed submissions back out of sight, in one synced
  // transaction: their records, day-index entries and export marks go, and
  // each is marked pending, so that its chunks are removed as an unfinished
  // upload's are (WriteBatch::Drop, or Sweep at the next start). Ids not
  // held are passed over. Their acknowledgements go too, held or not.
  Status Withdraw(const std::vector<Id>& ids);

  // Server: ids committed but not yet exported; and marking them exported.
  Status Unexported(std::vector<Id>* out);
  Status MarkExported(const std::vector<Id>& ids);

  // Server: deletes the source records that stores written before sealdrop
  // kept none (FORMAT.md "Source record", docs/INSTANCES.md) still hold, in
  // one synced transaction; *dropped gets how many there were.
  Status DropSources(uint64_t* dropped);

  // Server: stores the replies of outbox number `sequence` from `signer`,
  // records the acknowledged ids that are held (dated `day`, marked
  // exported; one acknowledged before keeps its first date), deletes the
  // replies named in `deleted` that are held (a source deleted them on
  // another instance; *removed gets how many), and records that number, in
  // one synced transaction. Exists if that number was stored already (a
  // replay), InvalidArgument if it is not the next one (*expected gets the
  // next); either way nothing changes.
  Status ImportOutbox(const Key32& signer, uint64_t sequence, const std::vector<ReplyRec>& replies,
                      const std::vector<Id>& acked, uint32_t day, uint64_t* expected,
                      const std::vector<Id>& deleted = {}, uint64_t* removed = nullptr);
  // Server: every acknowledgement, in id order.
  Status Acknowledged(std::vector<AckRec>* out);
  // Server: the replies filed for reply key `source`, at most `limit`.
  Status Replies(const Key32& source, size_t limit, std::vector<ReplyRec>* out);
  // Server: removes one reply as its source asked, and notes its id, with
  // the day the reply arrived, for the bundles that carry it to the vault
  // (DeletedReplies), in one transaction; NotFound if there is none.
  Status DeleteReply(const Key32& source, const Id& id);
  // Server: the ids of the replies sources deleted here, in id order, at
  // most `limit`; each is kept until its reply would have expired.
  Status DeletedReplies(size_t limit, std::vector<Id>* out);
  // Server: removes every reply that arrived before day `before`, and the
  // notes of deleted replies that arrived before it.
  Status ExpireReplies(uint32_t before, uint64_t* removed);

  // Vault: a new reply, queued.
  Status QueueReply(const QueuedReply& rec);
  // Vault: every reply, queued or sent, in id order.
  Status QueuedReplies(std::vector<QueuedReply>* out);
  // Vault: every acknowledgement, queued or sent, in id order.
  Status QueuedAcks(std::vector<QueuedAck>* out);
  // Vault: notes that the source deleted these replies on instance `from`
  // (a bundle from it said so), for those of `ids` that are queued replies
  // not noted before; *noted gets how many were new. One synced
  // transaction. Ids of no reply in this vault are passed over.
  Status QueueDeletions(const Key32& from, const std::vector<Id>& ids, uint64_t* noted);
  // Vault: every noted deletion, in id order.
  Status QueuedDeletions(std::vector<QueuedDeletion>* out);
  // Vault: marks the replies and the acknowledgements as carried by outbox
  // `sequence` to `instance` (a reply keeps what other instances were sent)
  // and sets meta `key` to `value` (the outbox counter), in one transaction.
  // InvalidArgument if a reply was carried to `instance` by another outbox.
  // `deletions`: the noted deletions it carries, marked likewise.
  Status MarkOutbox(const std::vector<Id>& ids, const std::vector<Id>& acks, uint64_t sequence,
                    const Key32& instance, const std::string& key, const std::string& value,
                    const std::vector<Id>& deletions = {});

  // Vault: the team's notes on a submission, as crypto::SealTriage sealed
  // them (the store sees only bytes), replacing what was there, synced.
  // InvalidArgument if no such submission.
  Status PutTriage(const Id& id, const std::vector<uint8_t>& sealed);
  // As PutTriage for many, in one transaction: all or none.
  Status PutTriageMany(const std::vector<std::pair<Id, std::vector<uint8_t>>>& records);
  // NotFound if the submission has none.
  Status GetTriage(const Id& id, std::vector<uint8_t>* sealed);

  // Vault: index records (FORMAT.md "Index record"), sealed by
  // crypto::SealIndex, filed under a reviewer's index id and a submission's
  // id, replacing what was there, in one transaction; not synced, since the
  // index is rebuilt from the submissions.
  using IndexId = std::array<uint8_t, 8>;
  Status PutIndex(const IndexId& iid, const std::vector<std::pair<Id, std::vector<uint8_t>>>& records);
  // Calls fn with every record filed under `iid`, in submission id order,
  // inside one read transaction; the bytes are valid only during the call.
  Status ForEachIndex(const IndexId& iid,
                      const std::function<Status(const Id& id, const uint8_t* sealed, size_t n)>& fn);

  // Small named values (instance pins in the vault). Key must be short.
  Status PutMeta(const std::string& key, const std::string& value);
  Status GetMeta(const std::string& key, std::string* value);  // NotFound if absent
  Status DeleteMeta(const std::string& key);  // OK if absent

  struct Report {
    uint64_t submissions = 0;
    uint64_t chunks = 0;
    uint64_t pending = 0;
    uint64_t bytes = 0;
    uint64_t old_sources = 0;  // server: source records DropSources deletes
    uint64_t replies = 0;
    uint64_t acks = 0;  // server: acknowledged; vault: queued or sent
    uint64_t deleted = 0;  // server: reply deletions kept for bundles; vault: noted
    std::vector<std::string> problems;
  };
  // Verifies every record and chunk. Problems are listed, not repaired.
  Status Check(Report* report);

  // Bytes of the quota in use, counting reusable free pages as free.
  Status Used(uint64_t* used);
  uint64_t quota() const { return opt_.quota; }

  // Reserves disk blocks for the next `ahead` bytes the file will grow by
  // (fallocate, file size unchanged), so that writes do not pay for growing
  // the file. Cheap when enough is reserved already. Never beyond the map.
  Status Preallocate(uint64_t ahead);

  // Lets go of the pages this process has read through the store's map; the
  // page cache keeps them, and the data stays valid. A reader of many chunks
  // (a bundle) calls it now and then: else every page it read counts in its
  // memory until it exits.
  void DropMappedPages();

 private:
  Store() = default;
  Status TxnPutChunks(struct MDB_txn* txn, const Id& id, const std::vector<ChunkWrite>& chunks);
  Status TxnCommit(struct MDB_txn* txn, const SubmissionRec& rec);
  Status TxnQueueAck(struct MDB_txn* txn, const Id& id, const Key32& instance);
  // Deletes up to max_chunks chunks of an unfinished upload; *more says
  // whether any remain, and the pending mark goes with the last of them.
  Status TxnAbort(struct MDB_txn* txn, const Id& id, int max_chunks, bool* more);
  Status PutDayIndex(struct MDB_txn* txn, const SubmissionRec& rec);
  Status RebuildDayIndex(struct MDB_txn* txn);
  bool FindMap();
  void ReleaseWritten(const WriteBatch& batch);
  bool DiskNearlyFull(uint64_t need);
  // SetDayTimes on the store's directory and files, after every write: they
  // would otherwise tell the second of the latest submission.
  void KeepDayTimes();
  Status KeysOf(unsigned dbi, std::vector<Id>* out);
  Status WalkByDay(const std::function<bool(uint32_t day, const uint8_t* id, bool unexported)>& fn);
  struct Dbis;
  MDB_env* env_ = nullptr;
  std::string dir_;
  std::unique_ptr<Dbis> dbi_;
  Options opt_;
  uint64_t reserved_ = 0;  // file offset up to which blocks are allocated
  void* map_addr_ = nullptr;  // LMDB's map, found at Open
  size_t map_len_ = 0;
};

}  // namespace storage
}  // namespace sealdrop
