#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <lmdb.h>

#include "storage/storage.h"

using namespace sealdrop;
using namespace sealdrop::storage;

namespace {

// A fresh 0700 directory under `base` (mkdtemp creates it so), removed at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& base = "/tmp") {
    std::string tmpl = base + "/sealdrop-storage-test-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    path_ = p;
    struct stat st;
    REQUIRE(::stat(path_.c_str(), &st) == 0);
    REQUIRE((st.st_mode & 0777) == 0700);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Options Opt(Role role = Role::kServer, uint64_t quota = uint64_t(64) << 20) {
  Options o;
  o.role = role;
  o.quota = quota;
  return o;
}

std::unique_ptr<Store> OpenOk(const std::string& dir, const Options& opt = Opt()) {
  std::unique_ptr<Store> s;
  Status st = Store::Open(dir, opt, &s);
  INFO(st.ToString());
  REQUIRE(st.ok());
  REQUIRE(s != nullptr);
  return s;
}

Id MakeId(uint8_t tag) {
  Id id{};
  for (size_t i = 0; i < id.size(); i++) id[i] = uint8_t(tag * 31 + i);
  id[0] = tag;  // ids sort by tag
  return id;
}

std::vector<uint8_t> Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng());
  return v;
}

// A record with one recipient and items of the given padded sizes
// (item 0 stands for the manifest).
SubmissionRec MakeRec(const Id& id, const std::vector<uint64_t>& padded,
                      uint32_t chunk_size = 1024) {
  SubmissionRec rec;
  rec.id = id;
  rec.day = 19800;
  rec.chunk_size = chunk_size;
  rec.keys.resize(1);
  auto kb = Bytes(8 + 80, id[0]);
  std::memcpy(rec.keys[0].key_id.data(), kb.data(), 8);
  rec.keys[0].box.assign(kb.begin() + 8, kb.end());
  for (size_t i = 0; i < padded.size(); i++) {
    ItemRec it;
    auto hb = Bytes(24, id[0] * 1000u + uint32_t(i));
    std::memcpy(it.header.data(), hb.data(), 24);
    it.padded = padded[i];
    it.chunks = uint32_t((padded[i] + chunk_size - 1) / chunk_size);
    rec.items.push_back(it);
  }
  return rec;
}

using ChunkData = std::map<std::pair<uint32_t, uint32_t>, std::vector<uint8_t>>;

// Ciphertext-sized stand-ins for every chunk of `rec` (the store never decrypts).
ChunkData MakeChunks(const SubmissionRec& rec) {
  ChunkData d;
  for (uint32_t i = 0; i < rec.items.size(); i++)
    for (uint32_t j = 0; j < rec.items[i].chunks; j++) {
      uint64_t n = ChunkCipherSize(rec, rec.items[i], j);
      REQUIRE(n > 16);
      d[{i, j}] = Bytes(size_t(n), rec.id[0] * 7919u + i * 131u + j);
    }
  return d;
}

std::vector<ChunkWrite> Writes(const ChunkData& d) {
  std::vector<ChunkWrite> w;
  for (const auto& kv : d)
    w.push_back(ChunkWrite{kv.first.first, kv.first.second, kv.second.data(), kv.second.size()});
  return w;
}

// BeginPending + PutChunks + Commit, all required to succeed.
void StoreOk(Store* s, const SubmissionRec& rec, const ChunkData& d) {
  Status st = s->BeginPending(rec.id);
  INFO(st.ToString());
  REQUIRE(st.ok());
  st = s->PutChunks(rec.id, Writes(d));
  INFO(st.ToString());
  REQUIRE(st.ok());
  st = s->Commit(rec);
  INFO(st.ToString());
  REQUIRE(st.ok());
}

// Reads back every item of `rec` and compares with `d` byte for byte.
void RequireReadsBack(Store* s, const SubmissionRec& rec, const ChunkData& d) {
  for (uint32_t i = 0; i < rec.items.size(); i++) {
    uint32_t next = 0;
    Status st = s->ReadItem(rec, i, [&](uint32_t index, const uint8_t* p, size_t n) {
      REQUIRE(index == next);
      auto it = d.find({i, index});
      REQUIRE(it != d.end());
      REQUIRE(n == it->second.size());
      REQUIRE(std::memcmp(p, it->second.data(), n) == 0);
      next++;
      return Status::OK();
    });
    INFO(st.ToString());
    REQUIRE(st.ok());
    REQUIRE(next == rec.items[i].chunks);
  }
}

Store::Report CheckOk(Store* s) {
  Store::Report r;
  Status st = s->Check(&r);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return r;
}

std::string Problems(const Store::Report& r) {
  std::string s;
  for (const auto& p : r.problems) s += p + "\n";
  return s;
}

std::vector<Id> Listed(Store* s) {
  std::vector<Id> ids;
  REQUIRE(s->ForEach([&](const SubmissionRec& r) {
               ids.push_back(r.id);
               return true;
             }).ok());
  return ids;
}

// After a writer died between BeginPending and Commit: nothing of the
// submission is visible, Check counts it as pending, Sweep removes it and
// leaves a clean store. `committed` are submissions that must survive.
void RequireRecoveredAfterCrash(
    const std::string& dir, const Id& lost,
    const std::vector<std::pair<SubmissionRec, ChunkData>>& committed) {
  auto s = OpenOk(dir);
  REQUIRE_FALSE(s->Contains(lost));
  SubmissionRec got;
  REQUIRE(s->Get(lost, &got).Is(Status::Code::kNotFound));
  std::vector<Id> want;
  for (const auto& c : committed) want.push_back(c.first.id);
  REQUIRE(Listed(s.get()) == want);

  Store::Report r = CheckOk(s.get());
  INFO(Problems(r));
  REQUIRE(r.problems.empty());
  REQUIRE(r.pending == 1);
  REQUIRE(r.submissions == committed.size());

  uint64_t swept = 99;
  Status st = s->Sweep(&swept);
  INFO(st.ToString());
  REQUIRE(st.ok());
  REQUIRE(swept == 1);

  r = CheckOk(s.get());
  INFO(Problems(r));
  REQUIRE(r.problems.empty());
  REQUIRE(r.pending == 0);
  uint64_t chunks = 0;
  for (const auto& c : committed) chunks += c.second.size();
  REQUIRE(r.chunks == chunks);
  REQUIRE(r.submissions == committed.size());
  for (const auto& c : committed) RequireReadsBack(s.get(), c.first, c.second);

  // A second sweep has nothing left to do, and the id is usable again.
  REQUIRE(s->Sweep(&swept).ok());
  REQUIRE(swept == 0);
  REQUIRE(s->BeginPending(lost).ok());
}

// Writes a pending submission in a child process that then dies without
// committing (by `how`: SIGKILL or _exit(0)). The parent holds no Store.
void WriteAndDieInChild(const std::string& dir, const SubmissionRec& rec, const ChunkData& d,
                        bool kill) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: no Catch2 here, only exit codes.
    std::unique_ptr<Store> s;
    if (!Store::Open(dir, Opt(), &s).ok()) ::_exit(10);
    if (!s->BeginPending(rec.id).ok()) ::_exit(11);
    std::vector<ChunkWrite> w = Writes(d);
    w.pop_back();  // the upload was cut off before its last chunk
    if (!s->PutChunks(rec.id, w).ok()) ::_exit(12);
    if (kill) ::raise(SIGKILL);
    ::_exit(0);  // no destructors, no Commit, no Abort
  }
  int wstatus = 0;
  REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  if (kill) {
    INFO("child status " << wstatus);
    REQUIRE(WIFSIGNALED(wstatus));
    REQUIRE(WTERMSIG(wstatus) == SIGKILL);
  } else {
    REQUIRE(WIFEXITED(wstatus));
    REQUIRE(WEXITSTATUS(wstatus) == 0);
  }
}

}  // namespace

// --- Crash safety ----------------------------------------------------------------

// Also proves Abort can delete the last chunks in the store (LMDB leaves the
// cursor unpositioned then).
TEST_CASE("CrashBeforeCommitLeavesNothingVisible", "[storage]") {
  SECTION("store object destroyed without Commit") {
    TempDir dir;
    SubmissionRec rec = MakeRec(MakeId(1), {1024, 3000});
    ChunkData d = MakeChunks(rec);
    {
      auto s = OpenOk(dir.path());
      REQUIRE(s->BeginPending(rec.id).ok());
      REQUIRE(s->PutChunks(rec.id, Writes(d)).ok());
    }
    RequireRecoveredAfterCrash(dir.path(), rec.id, {});
  }
  SECTION("writer process killed without Commit") {
    TempDir dir;
    SubmissionRec rec = MakeRec(MakeId(2), {1024, 5000});
    WriteAndDieInChild(dir.path(), rec, MakeChunks(rec), /*kill=*/true);
    RequireRecoveredAfterCrash(dir.path(), rec.id, {});
  }
  SECTION("writer process exits without Commit") {
    TempDir dir;
    SubmissionRec rec = MakeRec(MakeId(3), {1024, 5000});
    WriteAndDieInChild(dir.path(), rec, MakeChunks(rec), /*kill=*/false);
    RequireRecoveredAfterCrash(dir.path(), rec.id, {});
  }
}

// The same crashes with committed submissions beside the lost one (before and
// after it in id order): they survive, and the lost one still disappears.
TEST_CASE("CrashBeforeCommitBesideCommittedLeavesOnlyCommitted", "[storage]") {
  TempDir dir;
  std::vector<std::pair<SubmissionRec, ChunkData>> committed;
  for (uint8_t tag : {uint8_t(1), uint8_t(9)}) {
    SubmissionRec rec = MakeRec(MakeId(tag), {1024, 2500});
    committed.emplace_back(rec, MakeChunks(rec));
  }
  {
    auto s = OpenOk(dir.path());
    for (const auto& c : committed) StoreOk(s.get(), c.first, c.second);
  }
  SECTION("store object destroyed without Commit") {
    SubmissionRec rec = MakeRec(MakeId(5), {1024, 3000});
    ChunkData d = MakeChunks(rec);
    {
      auto s = OpenOk(dir.path());
      REQUIRE(s->BeginPending(rec.id).ok());
      REQUIRE(s->PutChunks(rec.id, Writes(d)).ok());
    }
    RequireRecoveredAfterCrash(dir.path(), rec.id, committed);
  }
  SECTION("writer process killed without Commit") {
    SubmissionRec rec = MakeRec(MakeId(5), {1024, 40000});
    WriteAndDieInChild(dir.path(), rec, MakeChunks(rec), /*kill=*/true);
    RequireRecoveredAfterCrash(dir.path(), rec.id, committed);
  }
  SECTION("writer process exits without Commit") {
    SubmissionRec rec = MakeRec(MakeId(5), {1024, 40000});
    WriteAndDieInChild(dir.path(), rec, MakeChunks(rec), /*kill=*/false);
    RequireRecoveredAfterCrash(dir.path(), rec.id, committed);
  }
}

TEST_CASE("CommittedSubmissionSurvivesReopen", "[storage]") {
  TempDir dir;
  SubmissionRec rec = MakeRec(MakeId(4), {1024, 7000, 1});
  ChunkData d = MakeChunks(rec);
  {
    auto s = OpenOk(dir.path());
    StoreOk(s.get(), rec, d);
  }
  auto s = OpenOk(dir.path());
  REQUIRE(s->Contains(rec.id));
  SubmissionRec got;
  REQUIRE(s->Get(rec.id, &got).ok());
  REQUIRE(EncodeSubmission(got) == EncodeSubmission(rec));
  REQUIRE(Listed(s.get()) == std::vector<Id>{rec.id});
  RequireReadsBack(s.get(), got, d);
  Store::Report r = CheckOk(s.get());
  INFO(Problems(r));
  REQUIRE(r.problems.empty());
  REQUIRE(r.submissions == 1);
  REQUIRE(r.chunks == d.size());
  REQUIRE(r.pending == 0);
  REQUIRE(r.bytes == StoredSize(rec));
  uint64_t sum = 0;
  for (const auto& kv : d) sum += kv.second.size();
  REQUIRE(StoredSize(rec) == sum);
}

// --- Page cache ----------------------------------------------------------------------

namespace {

// Bytes of `path` in the kernel's page cache (mincore over a fresh mapping).
uint64_t CachedBytes(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  struct stat st;
  REQUIRE(::fstat(fd, &st) == 0);
  size_t len = size_t(st.st_size), ps = size_t(::sysconf(_SC_PAGESIZE));
  void* m = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  REQUIRE(m != MAP_FAILED);
  std::vector<unsigned char> v((len + ps - 1) / ps);
  REQUIRE(::mincore(m, len, v.data()) == 0);
  ::munmap(m, len);
  uint64_t n = 0;
  for (unsigned char c : v) n += (c & 1) ? ps : 0;
  return n;
}

// 16 MiB of 256 KiB chunks written with the given page-cache choice; returns
// how much of the data file stays cached.
uint64_t CachedAfterWriting(bool cache_writes) {
  // On tmpfs the page cache is the file itself and nothing can be let go:
  // then use the working directory (the build tree).
  struct statfs fs;
  REQUIRE(::statfs("/tmp", &fs) == 0);
  TempDir dir(fs.f_type == 0x01021994 ? "." : "/tmp");
  Options o = Opt(Role::kServer, uint64_t(256) << 20);
  o.cache_writes = cache_writes;
  auto s = OpenOk(dir.path(), o);
  SubmissionRec rec = MakeRec(MakeId(40), {4096, 64u << 20 >> 2}, 256 * 1024);
  ChunkData d = MakeChunks(rec);
  StoreOk(s.get(), rec, d);
  uint64_t cached = CachedBytes(dir.path() + "/data.mdb");
  RequireReadsBack(s.get(), rec, d);
  return cached;
}

}  // namespace

// The server does not keep what it wrote in the page cache: fresh page-cache
// pages cost a trip to the host on virtual machines that return free memory,
// and the stored chunks are not read again until an export.
TEST_CASE("ServerWritesDoNotStayInPageCache", "[storage]") {
  uint64_t kept = CachedAfterWriting(true);
  uint64_t dropped = CachedAfterWriting(false);
  INFO("cached after writing 16 MiB: kept " << kept << ", dropped " << dropped);
  REQUIRE(kept >= (12u << 20));
  REQUIRE(dropped < (2u << 20));
}

// check's "held, by day received": a day's count, and what of it was never
// exported, from the day index.
TEST_CASE("HeldByDayCountsEachDayAndWhatWasNeverExported", "[storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  std::vector<Store::DayCount> days;
  REQUIRE(s->ByDay(&days).ok());
  REQUIRE(days.empty());
  const uint32_t day_of[] = {19802, 19800, 19802, 19801, 19802};
  for (uint8_t i = 0; i < 5; i++) {
    SubmissionRec rec = MakeRec(MakeId(uint8_t(10 + i)), {1024});
    rec.day = day_of[i];
    StoreOk(s.get(), rec, MakeChunks(rec));
  }
  REQUIRE(s->MarkExported({MakeId(10), MakeId(11)}).ok());
  REQUIRE(s->ByDay(&days).ok());
  REQUIRE(days.size() == 3);
  REQUIRE((days[0].day == 19800 && days[0].held == 1 && days[0].unexported == 0));
  REQUIRE((days[1].day == 19801 && days[1].held == 1 && days[1].unexported == 1));
  REQUIRE((days[2].day == 19802 && days[2].held == 3 && days[2].unexported == 2));
}

// The vault keeps the team's sealed notes only for submissions it holds, and
// a server store keeps none.
TEST_CASE("TriageKeptOnlyForHeldSubmissionsInAVault", "[storage]") {
  TempDir dir, sdir;
  auto v = OpenOk(dir.path(), Opt(Role::kVault));
  SubmissionRec rec = MakeRec(MakeId(21), {1024});
  StoreOk(v.get(), rec, MakeChunks(rec));
  const std::vector<uint8_t> sealed(100, 0x5a);
  std::vector<uint8_t> got;
  REQUIRE(v->GetTriage(rec.id, &got).Is(Status::Code::kNotFound));
  REQUIRE(v->PutTriage(MakeId(22), sealed).Is(Status::Code::kInvalidArgument));
  REQUIRE(v->PutTriage(rec.id, {}).Is(Status::Code::kInvalidArgument));
  REQUIRE(v->PutTriage(rec.id, sealed).ok());
  REQUIRE(v->GetTriage(rec.id, &got).ok());
  REQUIRE(got == sealed);
  REQUIRE(v->PutTriage(rec.id, std::vector<uint8_t>(40, 1)).ok());  // replaced
  REQUIRE(v->GetTriage(rec.id, &got).ok());
  REQUIRE(got == std::vector<uint8_t>(40, 1));
  auto s = OpenOk(sdir.path());
  StoreOk(s.get(), rec, MakeChunks(rec));
  REQUIRE(s->PutTriage(rec.id, sealed).Is(Status::Code::kInvalidArgument));
}

// Expiry (expire_days): only exported submissions older than the day are
// found; withdrawing one takes it out of sight at once, marks it pending,
// and the sweep then removes its chunks, leaving the store consistent.
TEST_CASE("WithdrawnSubmissionGoesAtOnceAndItsChunksWithTheSweep", "[storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  const uint32_t day_of[] = {19800, 19801, 19805, 19790};
  std::map<uint8_t, ChunkData> data;
  for (uint8_t i = 0; i < 4; i++) {
    SubmissionRec rec = MakeRec(MakeId(uint8_t(30 + i)), {1024, 40000});
    rec.day = day_of[i];
    data[i] = MakeChunks(rec);
    StoreOk(s.get(), rec, data[i]);
  }
  // 33 (day 19790) is never exported: it is not found, however old.
  REQUIRE(s->MarkExported({MakeId(30), MakeId(31), MakeId(32)}).ok());
  std::vector<Id> old;
  REQUIRE(s->ExportedBefore(19802, &old).ok());
  REQUIRE(old == std::vector<Id>{MakeId(30), MakeId(31)});
  REQUIRE(s->Withdraw({MakeId(30), MakeId(31), MakeId(99)}).ok());
  REQUIRE_FALSE(s->Contains(MakeId(30)));
  REQUIRE(s->Pending(MakeId(30)));
  std::vector<Store::DayCount> days;
  REQUIRE(s->ByDay(&days).ok());
  REQUIRE(days.size() == 2);  // 19790 and 19805 are left
  Store::Report r = CheckOk(s.get());
  REQUIRE(r.problems.empty());
  REQUIRE(r.submissions == 2);
  REQUIRE(r.pending == 2);
  uint64_t swept = 0;
  REQUIRE(s->Sweep(&swept).ok());
  REQUIRE(swept == 2);
  r = CheckOk(s.get());
  REQUIRE(r.problems.empty());
  REQUIRE(r.pending == 0);
  REQUIRE(r.chunks == data[2].size() + data[3].size());
  SubmissionRec kept;
  REQUIRE(s->Get(MakeId(33), &kept).ok());
  RequireReadsBack(s.get(), kept, data[3]);
  // A vault never withdraws.
  TempDir vdir;
  auto v = OpenOk(vdir.path(), Opt(Role::kVault));
  REQUIRE(v->Withdraw({MakeId(30)}).Is(Status::Code::kInvalidArgument));
}

// --- Quota ---------------------------------------------------------------------------

// A flood of large uploads fills the quota up to the reserve and no further:
// the reserve is left for small writes, which then fill it up to the quota.
TEST_CASE("LargeUploadsCannotTakeTheReserveLeftForMessages", "[storage]") {
  TempDir dir;
  Options o = Opt(Role::kServer, uint64_t(8) << 20);
  o.reserve = uint64_t(2) << 20;
  auto s = OpenOk(dir.path(), o);
  auto chunk = Bytes(1024 + 17, 78);
  auto fill = [&](const Id& id, bool small, uint32_t* written) {
    Status st;
    for (int round = 0; round < 10000; round++) {
      std::vector<ChunkWrite> w;
      for (uint32_t j = 0; j < 16; j++)
        w.push_back(ChunkWrite{1, *written + j, chunk.data(), chunk.size()});
      WriteBatch b;
      b.PutChunks(id, w, small);
      st = s->Write(b);
      if (!st.ok()) break;
      *written += 16;
    }
    return st;
  };
  uint32_t large = 0;
  Status st = fill(MakeId(1), false, &large);
  INFO(st.ToString());
  REQUIRE(st.Is(Status::Code::kFull));
  REQUIRE(st.message() == kOnlySmall);
  uint64_t used = 0;
  REQUIRE(s->Used(&used).ok());
  REQUIRE(used <= o.quota - o.reserve);
  REQUIRE(uint64_t(large) * chunk.size() > (uint64_t(3) << 20));

  // A batch mixing small and large writes is refused whole: the large ones
  // may not ride in with the small.
  std::vector<ChunkWrite> w16;
  for (uint32_t j = 0; j < 16; j++) w16.push_back(ChunkWrite{1, j, chunk.data(), chunk.size()});
  WriteBatch mixed;
  mixed.PutChunks(MakeId(3), w16, true);
  mixed.PutChunks(MakeId(4), w16, false);
  st = s->Write(mixed);
  REQUIRE(st.message() == kOnlySmall);
  REQUIRE_FALSE(s->Pending(MakeId(3)));
  REQUIRE_FALSE(s->Pending(MakeId(4)));

  // Small writes still go in, a MiB and more, until the quota itself.
  uint32_t small = 0;
  st = fill(MakeId(2), true, &small);
  REQUIRE(st.Is(Status::Code::kFull));
  REQUIRE(st.message() != kOnlySmall);
  REQUIRE(uint64_t(small) * chunk.size() > (uint64_t(1) << 20));
  REQUIRE(s->Used(&used).ok());
  REQUIRE(used <= o.quota);
  Store::Report r = CheckOk(s.get());
  REQUIRE(r.problems.empty());
  REQUIRE(r.chunks == uint64_t(large) + small);
}

TEST_CASE("ReserveLargerThanQuotaIsRefused", "[storage]") {
  TempDir dir;
  Options o = Opt(Role::kServer, uint64_t(8) << 20);
  o.reserve = o.quota + 1;
  std::unique_ptr<Store> s;
  REQUIRE(Store::Open(dir.path(), o, &s).Is(Status::Code::kInvalidArgument));
  REQUIRE(s == nullptr);
}

TEST_CASE("MapFullGivesErrorAndKeepsEarlierSubmissions", "[storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path(), Opt(Role::kServer, uint64_t(4) << 20));

  SubmissionRec first = MakeRec(MakeId(1), {1024, 5000});
  ChunkData first_data = MakeChunks(first);
  StoreOk(s.get(), first, first_data);

  // A second upload grows until the quota stops it.
  SubmissionRec big = MakeRec(MakeId(2), {1024, uint64_t(64) << 20});
  REQUIRE(s->BeginPending(big.id).ok());
  auto chunk = Bytes(1024 + 17, 77);
  constexpr uint32_t kBatch = 16;
  uint32_t written = 0;
  Status st;
  for (int round = 0; round < 10000; round++) {
    std::vector<ChunkWrite> w;
    for (uint32_t j = 0; j < kBatch; j++)
      w.push_back(ChunkWrite{1, written + j, chunk.data(), chunk.size()});
    st = s->PutChunks(big.id, w);
    if (!st.ok()) break;
    written += kBatch;
  }
  INFO(st.ToString());
  REQUIRE(st.Is(Status::Code::kFull));
  // Well over a MiB went in before the quota was reached, not far beyond it.
  REQUIRE(uint64_t(written) * chunk.size() > (uint64_t(1) << 20));
  REQUIRE(uint64_t(written) * chunk.size() < (uint64_t(4) << 20));

  // The refused write changed nothing.
  Store::Report r = CheckOk(s.get());
  INFO(Problems(r));
  REQUIRE(r.problems.empty());
  REQUIRE(r.chunks == first_data.size() + written);
  REQUIRE(r.pending == 1);
  // Committing in this state is refused too (chunks are missing), cleanly.
  REQUIRE_FALSE(s->Commit(big).ok());

  uint64_t used_full = 0, used_after = 0;
  REQUIRE(s->Used(&used_full).ok());
  REQUIRE(s->Abort(big.id).ok());
  REQUIRE(s->Used(&used_after).ok());
  REQUIRE(used_after < used_full);

  REQUIRE(s->Contains(first.id));
  REQUIRE_FALSE(s->Contains(big.id));
  RequireReadsBack(s.get(), first, first_data);
  r = CheckOk(s.get());
  INFO(Problems(r));
  REQUIRE(r.problems.empty());
  REQUIRE(r.pending == 0);
  REQUIRE(r.submissions == 1);
  REQUIRE(r.chunks == first_data.size());

  // The space is usable again: a new submission of a MiB commits.
  SubmissionRec next = MakeRec(MakeId(3), {1024, uint64_t(1) << 20});
  ChunkData next_data = MakeChunks(next);
  StoreOk(s.get(), next, next_data);
  RequireReadsBack(s.get(), next, next_data);
  RequireReadsBack(s.get(), first, first_data);
  r = CheckOk(s.get());
  INFO(Problems(r));
  REQUIRE(r.problems.empty());
  REQUIRE(r.submissions == 2);
}

// --- Commit and its refusals -------------------------------------------------------------

TEST_CASE("CommitRefusesMissingChunk", "[storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  SubmissionRec rec = MakeRec(MakeId(1), {1024, 4000});
  ChunkData d = MakeChunks(rec);
  uint64_t pending = 0;
  for (auto missing : {std::make_pair(0u, 0u), std::make_pair(1u, 0u), std::make_pair(1u, 3u)}) {
    // Each case under its own id, all built like `rec`.
    SubmissionRec other = MakeRec(MakeId(uint8_t(10 + pending)), {1024, 4000});
    ChunkData partial = MakeChunks(other);
    partial.erase(missing);
    REQUIRE(s->BeginPending(other.id).ok());
    REQUIRE(s->PutChunks(other.id, Writes(partial)).ok());
    pending++;
    Status st = s->Commit(other);
    INFO("missing item " << missing.first << " chunk " << missing.second << ": " << st.ToString());
    REQUIRE(st.Is(Status::Code::kCorruption));
    REQUIRE_FALSE(s->Contains(other.id));
    REQUIRE(Listed(s.get()).empty());
    Store::Report r = CheckOk(s.get());
    REQUIRE(r.pending == pending);
    REQUIRE(r.submissions == 0);
  }
  REQUIRE(s->BeginPending(rec.id).ok());
  ChunkData partial = d;
  partial.erase({1u, 2u});
  REQUIRE(s->PutChunks(rec.id, Writes(partial)).ok());
  REQUIRE(s->Commit(rec).Is(Status::Code::kCorruption));
  // Supplying the missing chunk makes the same record committable.
  REQUIRE(s->PutChunks(rec.id, Writes(d)).ok());
  REQUIRE(s->Commit(rec).ok());
  REQUIRE(s->Contains(rec.id));
  RequireReadsBack(s.get(), rec, d);
}

TEST_CASE("CommitRefusesWrongChunkLength", "[storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  SubmissionRec rec = MakeRec(MakeId(1), {1024, 3000});  // item 1: 1024, 1024, 952
  ChunkData d = MakeChunks(rec);
  REQUIRE(d.at({1, 2}).size() == 952 + 16);
  REQUIRE(s->BeginPending(rec.id).ok());
  REQUIRE(s->PutChunks(rec.id, Writes(d)).ok());
  for (auto at : {std::make_pair(1u, 2u), std::make_pair(1u, 0u)}) {
    for (int delta : {-1, +1}) {
      ChunkData bad = d;
      bad[at].resize(size_t(int(bad[at].size()) + delta), 0);
      REQUIRE(s->PutChunks(rec.id, Writes(bad)).ok());
      Status st = s->Commit(rec);
      INFO("chunk " << at.second << " off by " << delta << ": " << st.ToString());
      REQUIRE(st.Is(Status::Code::kCorruption));
      REQUIRE_FALSE(s->Contains(rec.id));
    }
  }
  // Rewriting the right lengths makes it committable.
  REQUIRE(s->PutChunks(rec.id, Writes(d)).ok());
  REQUIRE(s->Commit(rec).ok());
  RequireReadsBack(s.get(), rec, d);
}

TEST_CASE("CommitOfUnknownIdRefused", "[storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  SubmissionRec rec = MakeRec(MakeId(1), {1024});
  Status st = s->Commit(rec);
  INFO(st.ToString());
  REQUIRE(st.Is(Status::Code::kInvalidArgument));
  REQUIRE_FALSE(s->Contains(rec.id));
  // Chunks cannot be written for an id that is not pending either.
  ChunkData d = MakeChunks(rec);
  REQUIRE(s->PutChunks(rec.id, Writes(d)).Is(Status::Code::kInvalidArgument));
  Store::Report r = CheckOk(s.get());
  REQUIRE(r.chunks == 0);
  // A committed id is no longer pending: committing it again is refused and
  // the stored record is unchanged.
  StoreOk(s.get(), rec, d);
  SubmissionRec other = rec;
  other.day = 1;
  REQUIRE(s->Commit(other).Is(Status::Code::kInvalidArgument));
  SubmissionRec got;
  REQUIRE(s->Get(rec.id, &got).ok());
  REQUIRE(got.day == rec.day);
  // CommitMany is all or nothing: one unknown id refuses the lot.
  SubmissionRec a = MakeRec(MakeId(2), {1024}), b = MakeRec(MakeId(3), {1024});
  ChunkData ad = MakeChunks(a);
  REQUIRE(s->BeginPending(a.id).ok());
  REQUIRE(s->PutChunks(a.id, Writes(ad)).ok());
  REQUIRE(s->CommitMany({a, b}).Is(Status::Code::kInvalidArgument));
  REQUIRE_FALSE(s->Contains(a.id));
  REQUIRE_FALSE(s->Contains(b.id));
  REQUIRE(s->CommitMany({a}).ok());
  REQUIRE(s->Contains(a.id));
}

TEST_CASE("BeginPendingTwiceRefused", "[storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  SubmissionRec rec = MakeRec(MakeId(1), {1024});
  ChunkData d = MakeChunks(rec);
  REQUIRE(s->BeginPending(rec.id).ok());
  REQUIRE(s->PutChunks(rec.id, Writes(d)).ok());
  REQUIRE(s->BeginPending(rec.id).Is(Status::Code::kExists));
  // The refusal did not disturb the upload in progress.
  REQUIRE(s->Commit(rec).ok());
  // A committed id cannot be begun again either.
  REQUIRE(s->BeginPending(rec.id).Is(Status::Code::kExists));
  RequireReadsBack(s.get(), rec, d);
  Store::Report r = CheckOk(s.get());
  REQUIRE(r.pending == 0);
  REQUIRE(r.problems.empty());
}

TEST_CASE("AbortOfCommittedRefused", "[storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  SubmissionRec rec = MakeRec(MakeId(1), {1024, 2048});
  ChunkData d = MakeChunks(rec);
  StoreOk(s.get(), rec, d);
  REQUIRE(s->Abort(rec.id).Is(Status::Code::kInvalidArgument));
  REQUIRE(s->Contains(rec.id));
  RequireReadsBack(s.get(), rec, d);
  Store::Report r = CheckOk(s.get());
  INFO(Problems(r));
  REQUIRE(r.problems.empty());
  REQUIRE(r.chunks == d.size());
  // Sweep leaves committed submissions alone too.
  uint64_t swept = 99;
  REQUIRE(s->Sweep(&swept).ok());
  REQUIRE(swept == 0);
  RequireReadsBack(s.get(), rec, d);
}

TEST_CASE("AbortRemovesOnlyItsOwnChunks", "[storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  // Ids that share a long prefix, so a prefix scan that overran would show.
  // a < b < c, differing only in the last byte.
  Id ida = MakeId(1), idb = ida, idc = ida;
  idb[kIdSize - 1] = uint8_t(ida[kIdSize - 1] + 1);
  idc[kIdSize - 1] = uint8_t(ida[kIdSize - 1] + 2);
  REQUIRE(ida < idb);
  REQUIRE(idb < idc);
  SubmissionRec a = MakeRec(ida, {1024, 9000}), b = MakeRec(idb, {1024, 9000}),
                c = MakeRec(idc, {1024, 9000});
  ChunkData ad = MakeChunks(a), bd = MakeChunks(b), cd = MakeChunks(c);
  StoreOk(s.get(), a, ad);
  StoreOk(s.get(), c, cd);
  REQUIRE(s->BeginPending(b.id).ok());
  REQUIRE(s->PutChunks(b.id, Writes(bd)).ok());
  REQUIRE(s->Abort(b.id).ok());
  RequireReadsBack(s.get(), a, ad);
  RequireReadsBack(s.get(), c, cd);
  Store::Report r = CheckOk(s.get());
  INFO(Problems(r));
  REQUIRE(r.problems.empty());
  REQUIRE(r.chunks == ad.size() + cd.size());
  REQUIRE(r.pending == 0);
  // Ids sorting first and last in the table, beside committed ones.
  for (uint8_t tag : {uint8_t(0), uint8_t(200)}) {
    SubmissionRec e = MakeRec(MakeId(tag), {1024, 9000});
    REQUIRE(s->BeginPending(e.id).ok());
    REQUIRE(s->PutChunks(e.id, Writes(MakeChunks(e))).ok());
    Status st = s->Abort(e.id);
    INFO("id tag " << int(tag) << ": " << st.ToString());
    REQUIRE(st.ok());
    r = CheckOk(s.get());
    INFO(Problems(r));
    REQUIRE(r.problems.empty());
    REQUIRE(r.chunks == ad.size() + cd.size());
    REQUIRE(r.pending == 0);
  }
  RequireReadsBack(s.get(), a, ad);
  RequireReadsBack(s.get(), c, cd);
}

// A record Get, ForEach and the bundle reader would refuse must never be stored.
TEST_CASE("CommitRefusesRecordItCannotReadBack", "[storage]") {
  TempDir dir;
  auto s = OpenOk(dir.path());
  SubmissionRec good = MakeRec(MakeId(1), {1024});
  StoreOk(s.get(), good, MakeChunks(good));

  SubmissionRec rec = MakeRec(MakeId(2), {1024, 3000});
  ChunkData d = MakeChunks(rec);
  REQUIRE(s->BeginPending(rec.id).ok());
  REQUIRE(s->PutChunks(rec.id, Writes(d)).ok());
  SubmissionRec bad = rec;
  bad.keys.clear();  // no recipient: DecodeSubmission calls this corrupt
  CHECK_FALSE(s->Commit(bad).ok());
  // Whatever Commit said, the store must stay readable as a whole.
  std::vector<Id> ids;
  Status st = s->ForEach([&](const SubmissionRec& r) {
    ids.push_back(r.id);
    return true;
  });
  INFO(st.ToString());
  CHECK(st.ok());
  Store::Report r = CheckOk(s.get());
  INFO(Problems(r));
  CHECK(r.problems.empty());
}

// --- Records ----------------------------------------------------------------------------

namespace {

Status DecodeText(const std::string& b, SubmissionRec* out) {
  return DecodeSubmission(reinterpret_cast<const uint8_t*>(b.data()), b.size(), out);
}

}  // namespace

TEST_CASE("NewerRecordVersionRefusedByName", "[storage]") {
  SubmissionRec rec = MakeRec(MakeId(1), {1024, 5000, 300});
  rec.keys.resize(2);
  rec.keys[1].key_id[0] = 0xAA;
  rec.keys[1].box.assign(80, 0x5c);
  std::string enc = EncodeSubmission(rec);
  // Version 3: each key entry is key id, algorithm, length, sealed key.
  REQUIRE(enc.size() == 35 + 2 * (8 + 3 + 80) + 3 * 36);
  auto decode = DecodeText;
  SubmissionRec back;
  REQUIRE(decode(enc, &back).ok());
  REQUIRE(back.id == rec.id);
  REQUIRE(back.day == rec.day);
  REQUIRE(back.chunk_size == rec.chunk_size);
  REQUIRE(back.keys.size() == 2);
  REQUIRE(back.keys[1].key_id == rec.keys[1].key_id);
  REQUIRE(back.keys[0].box == rec.keys[0].box);
  REQUIRE(back.items.size() == 3);
  for (size_t i = 0; i < 3; i++) {
    REQUIRE(back.items[i].header == rec.items[i].header);
    REQUIRE(back.items[i].padded == rec.items[i].padded);
    REQUIRE(back.items[i].chunks == rec.items[i].chunks);
  }

  // Versions 1 and 2 (80-byte X25519 entries, no algorithm) are read too;
  // 4 is refused by name.
  REQUIRE(back.version == 3);
  REQUIRE(back.keys[0].alg == kSealX25519);
  SubmissionRec old = rec;
  old.version = 2;
  std::string v2 = EncodeSubmission(old);
  REQUIRE(v2.size() == 35 + 2 * 88 + 3 * 36);
  REQUIRE(decode(v2, &back).ok());
  REQUIRE(back.version == 2);
  REQUIRE(back.keys[1].box == rec.keys[1].box);
  REQUIRE(back.keys[1].alg == kSealX25519);
  std::string v1 = v2;
  v1[4] = 1;
  REQUIRE(decode(v1, &back).ok());
  REQUIRE(back.version == 1);
  REQUIRE(StreamVersion(back) == 1);
  std::string v4 = enc;
  v4[4] = 4;
  Status st = decode(v4, &back);
  INFO(st.ToString());
  REQUIRE(st.Is(Status::Code::kVersion));
  REQUIRE(st.message().find("version 4") != std::string::npos);

  std::string magic = enc;
  magic[0] = 'X';
  REQUIRE(decode(magic, &back).Is(Status::Code::kCorruption));

  for (size_t n = 0; n < enc.size(); n++) {
    std::vector<uint8_t> prefix(enc.begin(), enc.begin() + n);  // exact-size buffer
    INFO("prefix of " << n << " bytes");
    REQUIRE(DecodeSubmission(prefix.data(), prefix.size(), &back).Is(Status::Code::kCorruption));
  }
  REQUIRE(decode(enc + '\0', &back).Is(Status::Code::kCorruption));

  // Impossible sizes are refused: chunk count disagreeing with padded size,
  // padded 0, chunk size 0, no recipients.
  SubmissionRec odd = rec;
  odd.items[1].chunks++;
  REQUIRE(decode(EncodeSubmission(odd), &back).Is(Status::Code::kCorruption));
  odd = rec;
  odd.items[2].padded = 0;
  odd.items[2].chunks = 0;
  REQUIRE(decode(EncodeSubmission(odd), &back).Is(Status::Code::kCorruption));
  odd = rec;
  odd.chunk_size = 0;
  REQUIRE(decode(EncodeSubmission(odd), &back).Is(Status::Code::kCorruption));
  odd = rec;
  odd.keys.clear();
  REQUIRE(decode(EncodeSubmission(odd), &back).Is(Status::Code::kCorruption));
}

TEST_CASE("SealedKeyOfUnknownAlgorithmIsKeptForAnotherReader", "[storage]") {
  // A newer recipient (say a hybrid post-quantum key) beside today's: this
  // build cannot open that entry, but must keep the record and its bytes.
  SubmissionRec rec = MakeRec(MakeId(2), {1024});
  SealedKeyRec pq;
  pq.key_id.fill(0xd1);
  pq.alg = 7;
  pq.box.assign(1120, 0x33);
  rec.keys.push_back(pq);
  std::string enc = EncodeSubmission(rec);
  SubmissionRec back;
  REQUIRE(DecodeText(enc, &back).ok());
  REQUIRE(back.keys.size() == 2);
  REQUIRE(back.keys[1].alg == 7);
  REQUIRE(back.keys[1].box == pq.box);
  REQUIRE(EncodeSubmission(back) == enc);
}

TEST_CASE("SealedKeyOfImpossibleSizeRefused", "[storage]") {
  SubmissionRec rec = MakeRec(MakeId(3), {1024});
  SubmissionRec back;
  auto refused = [&](const SubmissionRec& r) {
    Status st = DecodeText(EncodeSubmission(r), &back);
    INFO(st.ToString());
    return st.Is(Status::Code::kCorruption);
  };
  SubmissionRec odd = rec;
  odd.keys[0].box.resize(79);  // X25519 SEAL is exactly 80 bytes
  REQUIRE(refused(odd));
  odd = rec;
  odd.keys[0].box.resize(81);
  REQUIRE(refused(odd));
  odd = rec;
  odd.keys[0].alg = 0;  // no algorithm is numbered 0
  REQUIRE(refused(odd));
  odd = rec;
  odd.keys[0].alg = 9;
  odd.keys[0].box.clear();
  REQUIRE(refused(odd));
  odd.keys[0].box.assign(kMaxSealedKey + 1, 1);
  REQUIRE(refused(odd));
  odd.keys[0].box.resize(kMaxSealedKey);
  REQUIRE_FALSE(refused(odd));
}

TEST_CASE("ChunkCipherSizeCoversPaddedBytes", "[storage]") {
  SubmissionRec rec = MakeRec(MakeId(1), {1024, 3000, 1});
  // Version 2 adds a 16-byte tag per chunk; version 1 secretstream's 17 bytes.
  for (uint8_t version : {3, 2, 1}) {
    rec.version = version;
    const uint64_t t = version >= 2 ? 16 : 17;
    REQUIRE(ChunkCipherSize(rec, rec.items[0], 0) == 1024 + t);
    REQUIRE(ChunkCipherSize(rec, rec.items[0], 1) == 0);
    REQUIRE(ChunkCipherSize(rec, rec.items[1], 0) == 1024 + t);
    REQUIRE(ChunkCipherSize(rec, rec.items[1], 2) == 952 + t);
    REQUIRE(ChunkCipherSize(rec, rec.items[1], 3) == 0);
    REQUIRE(StoredSize(rec) == 1024 + 3000 + 1 + 5 * t);
  }
  REQUIRE(ChunkCipherSize(rec, rec.items[2], 0) == 1 + 17);
  REQUIRE(StoredSize(rec) == 1024 + 3000 + 1 + 5 * 17);
}

// --- Opening -----------------------------------------------------------------------------

TEST_CASE("StoreOfOtherRoleRefused", "[storage]") {
  for (Role made : {Role::kServer, Role::kVault}) {
    Role other = made == Role::kServer ? Role::kVault : Role::kServer;
    TempDir dir;
    OpenOk(dir.path(), Opt(made));
    std::unique_ptr<Store> s;
    Status st = Store::Open(dir.path(), Opt(other), &s);
    INFO(st.ToString());
    REQUIRE(st.Is(Status::Code::kInvalidArgument));
    REQUIRE(s == nullptr);
    // The refusal did not rewrite the store's role.
    OpenOk(dir.path(), Opt(made));
    REQUIRE_FALSE(Store::Open(dir.path(), Opt(other), &s).ok());
  }
}

TEST_CASE("WorldReadableStoreDirRefused", "[storage]") {
  TempDir dir;
  OpenOk(dir.path());
  for (mode_t mode : {mode_t(0755), mode_t(0750), mode_t(0701), mode_t(0704)}) {
    REQUIRE(::chmod(dir.path().c_str(), mode) == 0);
    std::unique_ptr<Store> s;
    Status st = Store::Open(dir.path(), Opt(), &s);
    INFO("mode " << std::oct << mode << ": " << st.ToString());
    REQUIRE_FALSE(st.ok());
    REQUIRE(s == nullptr);
  }
  REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
  OpenOk(dir.path());
}

TEST_CASE("ReadOnlyOpenOfMissingStoreRefused", "[storage]") {
  TempDir dir;
  Options ro = Opt();
  ro.read_only = true;
  std::unique_ptr<Store> s;
  REQUIRE_FALSE(Store::Open(dir.path() + "/absent", ro, &s).ok());
  REQUIRE(s == nullptr);
  // Nothing was created by the refused read-only open.
  struct stat st;
  REQUIRE(::stat((dir.path() + "/absent").c_str(), &st) != 0);
}

// --- Export queue and meta ---------------------------------------------------------------

TEST_CASE("UnexportedListsCommittedUntilMarked", "[storage]") {
  TempDir dir;
  SubmissionRec a = MakeRec(MakeId(1), {1024}), b = MakeRec(MakeId(2), {1024}),
                c = MakeRec(MakeId(3), {1024});
  {
    auto s = OpenOk(dir.path());
    std::vector<Id> ids;
    REQUIRE(s->Unexported(&ids).ok());
    REQUIRE(ids.empty());
    StoreOk(s.get(), b, MakeChunks(b));
    StoreOk(s.get(), a, MakeChunks(a));
    // Pending, not committed: not listed.
    REQUIRE(s->BeginPending(c.id).ok());
    REQUIRE(s->PutChunks(c.id, Writes(MakeChunks(c))).ok());
    REQUIRE(s->Unexported(&ids).ok());
    REQUIRE(ids == std::vector<Id>{a.id, b.id});
    REQUIRE(s->MarkExported({a.id}).ok());
    REQUIRE(s->Unexported(&ids).ok());
    REQUIRE(ids == std::vector<Id>{b.id});
    // Marking an unknown or already exported id is harmless.
    REQUIRE(s->MarkExported({a.id, MakeId(9)}).ok());
    // Exported submissions stay in the store.
    REQUIRE(s->Contains(a.id));
  }
  {
    auto s = OpenOk(dir.path());
    std::vector<Id> ids;
    REQUIRE(s->Unexported(&ids).ok());
    REQUIRE(ids == std::vector<Id>{b.id});
    REQUIRE(s->Commit(c).ok());
    REQUIRE(s->Unexported(&ids).ok());
    REQUIRE(ids == std::vector<Id>{b.id, c.id});
    REQUIRE(s->MarkExported({b.id, c.id}).ok());
    REQUIRE(s->Unexported(&ids).ok());
    REQUIRE(ids.empty());
  }
  // A vault does not queue what it commits for export.
  TempDir vdir;
  auto v = OpenOk(vdir.path(), Opt(Role::kVault));
  StoreOk(v.get(), a, MakeChunks(a));
  std::vector<Id> ids{MakeId(7)};
  REQUIRE(v->Unexported(&ids).ok());
  REQUIRE(ids.empty());
}

TEST_CASE("MetaRoundTrip", "[storage]") {
  TempDir dir;
  const std::string binary("pin\0\x01\xff", 6);
  {
    auto s = OpenOk(dir.path(), Opt(Role::kVault));
    std::string v = "untouched";
    REQUIRE(s->GetMeta("instance", &v).Is(Status::Code::kNotFound));
    REQUIRE(v == "untouched");
    REQUIRE(s->PutMeta("instance", "first").ok());
    REQUIRE(s->PutMeta("instance", binary).ok());
    REQUIRE(s->PutMeta("empty", "").ok());
    REQUIRE(s->GetMeta("instance", &v).ok());
    REQUIRE(v == binary);
    // The store's own format record cannot be overwritten or shadowed.
    REQUIRE(s->PutMeta("format", "x").Is(Status::Code::kInvalidArgument));
    REQUIRE(s->PutMeta("", "x").Is(Status::Code::kInvalidArgument));
    REQUIRE(s->PutMeta(std::string(257, 'k'), "x").Is(Status::Code::kInvalidArgument));
    REQUIRE(s->PutMeta(std::string(256, 'k'), "x").ok());
  }
  auto s = OpenOk(dir.path(), Opt(Role::kVault));
  std::string v;
  REQUIRE(s->GetMeta("instance", &v).ok());
  REQUIRE(v == binary);
  REQUIRE(s->GetMeta("empty", &v).ok());
  REQUIRE(v.empty());
  REQUIRE(s->GetMeta(std::string(256, 'k'), &v).ok());
  REQUIRE(v == "x");
  REQUIRE(s->GetMeta("instanc", &v).Is(Status::Code::kNotFound));
}

// A store from before the server kept no record of sources: `check` counts
// the records, serve's DropSources deletes them with their table, and a
// store without them is left as it is.
TEST_CASE("SourceRecordsOfAnOlderStoreAreCountedThenDeletedWithTheirTable") {
  TempDir d;
  { auto s = OpenOk(d.path()); }
  // Written as the older version filed them: a table named "sources".
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 12);
  REQUIRE(mdb_env_set_mapsize(env, (uint64_t(64) << 20) + (uint64_t(64) << 20)) == 0);
  REQUIRE(mdb_env_open(env, d.path().c_str(), MDB_NOTLS, 0600) == 0);
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  REQUIRE(mdb_dbi_open(txn, "sources", MDB_CREATE, &dbi) == 0);
  for (uint8_t i = 0; i < 3; i++) {
    uint8_t key[32] = {i}, val[42] = {'S', 'D', 'S', 'O', 1, 1};
    MDB_val k{sizeof key, key}, v{sizeof val, val};
    REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  }
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);

  auto s = OpenOk(d.path());
  Store::Report r;
  REQUIRE(s->Check(&r).ok());
  CHECK(r.old_sources == 3);
  CHECK(r.problems.empty());
  uint64_t dropped = 0;
  REQUIRE(s->DropSources(&dropped).ok());
  CHECK(dropped == 3);
  REQUIRE(s->DropSources(&dropped).ok());
  CHECK(dropped == 0);
  s.reset();
  s = OpenOk(d.path());
  r = Store::Report();
  REQUIRE(s->Check(&r).ok());
  CHECK(r.old_sources == 0);
  s.reset();
  // The table's name is gone from the file, not only its records.
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 12);
  REQUIRE(mdb_env_open(env, d.path().c_str(), MDB_NOTLS | MDB_RDONLY, 0600) == 0);
  REQUIRE(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0);
  CHECK(mdb_dbi_open(txn, "sources", 0, &dbi) == MDB_NOTFOUND);
  mdb_txn_abort(txn);
  mdb_env_close(env);
}

TEST_CASE("ANewServerStoreHasNoSourceTable") {
  TempDir d;
  { auto s = OpenOk(d.path()); }
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 12);
  REQUIRE(mdb_env_open(env, d.path().c_str(), MDB_NOTLS | MDB_RDONLY, 0600) == 0);
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  REQUIRE(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0);
  CHECK(mdb_dbi_open(txn, "sources", 0, &dbi) == MDB_NOTFOUND);
  mdb_txn_abort(txn);
  mdb_env_close(env);
}
