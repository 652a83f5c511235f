// sealdrop-review extract: decrypts submissions' messages and files into a
// directory, replacing nothing there; one unlock for all of them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::vector<std::string> ids;
  std::string vault, key, passfile, out;
  bool all_new = false, scrub = false, keep_original = false;
};

// Creates a new file in dirfd named after `name`, adding " (2)" etc. rather
// than replacing anything. Returns the fd and the name used.
Status CreateUnique(int dirfd, const std::string& name, int* fd, std::string* used) {
  std::string stem, ext;
  SplitName(name, &stem, &ext);
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

// Creates `dir` and any missing parents, mode 0700.
Status MakeDirs(const std::string& dir) {
  for (size_t at = 1; at <= dir.size(); at++) {
    if (at < dir.size() && dir[at] != '/') continue;
    const std::string part = dir.substr(0, at);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::IOError("cannot create " + part + ": " + std::strerror(errno));
  }
  return Status::OK();
}

// Names what makes dir/name risky and replaces it with mat2's clean copy,
// telling on standard error what was removed.
Status ScrubOne(const std::string& dir, const std::string& name, bool keep_original) {
  const std::string path = dir + "/" + name;
  Inspection in;
  SD_RETURN_IF_ERROR(Inspect(path, &in));
  for (const std::string& r : in.risks)
    std::fprintf(stderr, "%s: warning: %s: %s (%s); open it only on a machine you can wipe\n",
                 kTool, path.c_str(), r.c_str(), in.mime.c_str());
  Scrubbed s;
  SD_RETURN_IF_ERROR(Scrub(dir, name, in.mime, keep_original, &s));
  if (!s.done) {
    std::fprintf(stderr, "%s: %s: %s, not scrubbed: %s\n", kTool, path.c_str(), in.mime.c_str(),
                 s.why_not.c_str());
    return Status::OK();
  }
  std::fprintf(stderr, "%s: %s: %s, scrubbed: mat2 removed %zu fields%s\n", kTool, path.c_str(),
               in.mime.c_str(), s.removed.size(), s.removed.empty() ? "" : ":");
  for (const std::string& f : s.removed) std::fprintf(stderr, "  %s\n", f.c_str());
  if (!s.original.empty())
    std::fprintf(stderr, "%s: %s: the original is kept as %s/%s\n", kTool, path.c_str(),
                 dir.c_str(), s.original.c_str());
  return Status::OK();
}

// Marks for the triage records of what was extracted, stored together.
using Marks = std::vector<std::pair<storage::Id, std::vector<uint8_t>>>;

int ExtractOne(Reading& rd, size_t i, const std::string& out, const Args& a, Marks* marks) {
  Opened o;
  if (int rc = OpenSubmission(rd, i, &o)) return rc;
  const storage::SubmissionRec& rec = o.rec;
  const format::Manifest& m = o.m;
  Status st = MakeDirs(out);
  if (!st.ok()) return Fail(st);
  int dirfd = ::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return Fail(Status::IOError("cannot open " + out + ": " + std::strerror(errno)));

  std::string used;
  auto write_one = [&](const std::string& want, const std::function<Status(int)>& body) -> Status {
    int fd = -1;
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
      return DecryptToFile(o.vault, rec, f.item, o.ck, f.size, fd);
    });
    if (st.ok() && a.scrub) st = ScrubOne(out, used, a.keep_original);
  }
  ::close(dirfd);
  if (!st.ok()) return Fail(st);
  // The first extract is recorded, so that --all-new passes over it.
  format::Triage t;
  st = LoadTriage(o.vault, rec, o.ck, &t);
  if (st.ok() && t.extracted == 0) {
    t.extracted = storage::Today();
    marks->emplace_back(rec.id, std::vector<uint8_t>());
    st = SealTriageOf(rec, o.ck, t, &marks->back().second);
  }
  if (!st.ok()) return Fail(st);
  return 0;
}

// The submissions sealed to this key that were never extracted, oldest
// first.
Status NewOnes(Reading* rd, size_t* others) {
  std::vector<storage::SubmissionRec> all;
  uint64_t total = 0;
  SD_RETURN_IF_ERROR(rd->vault->Newest(SIZE_MAX, &all, &total));
  *others = 0;
  rd->recs.clear();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    crypto::Secret ck;
    Status st = crypto::OpenContentKey(SealedKeys(*it), *rd->key, &ck);
    if (st.Is(Status::Code::kNotFound)) {
      ++*others;
      continue;
    }
    SD_RETURN_IF_ERROR(st);
    format::Triage t;
    SD_RETURN_IF_ERROR(LoadTriage(rd->vault.get(), *it, ck, &t));
    if (t.extracted == 0) rd->recs.push_back(*it);
  }
  return Status::OK();
}

// One id goes into --out; several, or --all-new, each into --out/<id>, with
// one unlock. The files are synced before the extracts are recorded: a crash
// between the two extracts those again, beside the first copies.
int Run(const Args& a) {
  if (a.keep_original && !a.scrub)
    return Fail(Status::InvalidArgument("--keep-original goes with --scrub"),
                "add --scrub, or leave --keep-original out: without --scrub the files are as sent");
  if (a.all_new == !a.ids.empty())
    return Fail(Status::InvalidArgument("give submission ids or --all-new"),
                "sealdrop-review list --vault " + a.vault + " shows the ids");
  Reading rd;
  if (int rc = BeginReading(a.ids, a.vault, a.key, a.passfile, &rd)) return rc;
  size_t others = 0;
  if (a.all_new) {
    Status st = NewOnes(&rd, &others);
    if (!st.ok()) return Fail(st);
  }
  Marks marks;
  int rc = 0;
  // On a terminal the paths it prints show the progress already.
  Progress progress("extracting", rd.recs.size(), false, ::isatty(1) != 1);
  for (size_t i = 0; rc == 0 && i < rd.recs.size(); i++) {
    progress.Update(i);
    const bool alone = rd.recs.size() == 1 && !a.all_new;
    rc = ExtractOne(rd, i, alone ? a.out : a.out + "/" + IdHex(rd.recs[i].id), a, &marks);
    std::fflush(stdout);
  }
  progress.Done();
  // What came out before a failure is recorded too.
  Status st = rd.vault->PutTriageMany(marks);
  if (!st.ok() && rc == 0) return Fail(st);
  if (a.all_new)
    std::fprintf(stderr, "%s: extracted %zu new submissions%s\n", kTool, marks.size(),
                 others ? (", " + std::to_string(others) + " not sealed to your key left alone")
                              .c_str()
                        : "");
  return rc;
}

}  // namespace

Command AddExtract(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c =
      app.add_subcommand("extract", "decrypt submissions' messages and files to a directory");
  c->add_option("ids", a->ids, "submission ids (or unique prefixes); several go to --out/<id>");
  c->add_flag("--all-new", a->all_new,
              "every submission sealed to your key that was never extracted, each to --out/<id>");
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_option("--key", a->key, "your secret key file")->required();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  c->add_option("--out", a->out,
                 "directory to write into, made if missing (nothing in it is ever replaced)")
      ->required();
  c->add_flag("--scrub", a->scrub,
              "name each file's real type (libmagic) and what makes it risky to open "
              "(qpdf for PDFs), and replace it with a copy mat2 has cleaned of metadata");
  c->add_flag("--keep-original", a->keep_original,
              "with --scrub, keep the original beside the clean copy as <name>.original.<ext>");
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
