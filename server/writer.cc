#include <algorithm>
#include <future>

#include "server/server.h"

namespace sealdrop {
namespace server {
namespace {

// Largest transaction the writer builds from queued jobs: about half the
// queue's budget (server/cmd/serve.cc), so uploads keep sealing into the other
// half while a transaction is written and synced. An upload hands over its
// ciphertext once it passes 1 MiB, a few bytes over (server/upload.cc): the
// slack lets two such batches share a transaction and its sync.
constexpr size_t kTxnBytes = (2u << 20) + (16u << 10);
// Disk blocks reserved ahead of the file's end, so writes never wait for
// the file system to allocate.
constexpr uint64_t kReserveAhead = 256u << 20;

constexpr size_t kFreeBuffers = 3;

// An aborted upload's chunks are removed a round at a time. Removing a chunk
// reads its first page from the disk (the server keeps none in the page
// cache), so a round that rides along with other writes is kept small, and
// one that runs on its own, in a pause, larger.
constexpr int kDropRidingRound = 2;
constexpr int kDropLoneRound = 32;
// Rounds run on their own only after the writer has had nothing else to do
// for this long, so a steady trickle of submissions never waits behind one.
constexpr std::chrono::milliseconds kDropPause{20};

}  // namespace

struct Writer::Job {
  enum Kind { kChunks, kCommit, kAbort } kind;
  storage::Id id{};
  Bytes data;
  std::vector<storage::ChunkWrite> chunks;
  bool small = false;
  storage::SubmissionRec rec;
  std::shared_ptr<Tracker> tracker;
  std::promise<Status> done;
  size_t bytes() const { return data.size(); }
};

Writer::Writer(storage::Store* store, size_t budget) : store_(store), budget_(budget) {
  (void)store_->Preallocate(kReserveAhead);
  thread_ = std::thread([this] { Run(); });
}

Writer::~Writer() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  work_.notify_all();
  thread_.join();
}

void Writer::Enqueue(std::unique_ptr<Job> job) {
  std::unique_lock<std::mutex> l(mu_);
  // A job larger than the whole budget still goes through when the queue is
  // empty, so nothing waits forever.
  room_.wait(l, [&] { return queued_bytes_ == 0 || queued_bytes_ + job->bytes() <= budget_; });
  queued_bytes_ += job->bytes();
  queue_.push_back(std::move(job));
  l.unlock();
  work_.notify_one();
}

void Writer::PutChunks(const storage::Id& id, Bytes data, std::vector<storage::ChunkWrite> chunks,
                       bool small, std::shared_ptr<Tracker> t) {
  auto job = std::make_unique<Job>();
  job->kind = Job::kChunks;
  job->id = id;
  job->data = std::move(data);
  job->chunks = std::move(chunks);
  job->small = small;
  job->tracker = std::move(t);
  Enqueue(std::move(job));
}

Bytes Writer::Buffer() {
  std::lock_guard<std::mutex> l(mu_);
  if (free_.empty()) return {};
  Bytes b = std::move(free_.back());
  free_.pop_back();
  return b;
}

Status Writer::Wait(std::unique_ptr<Job> job) {
  std::future<Status> f = job->done.get_future();
  Enqueue(std::move(job));
  return f.get();
}

Status Writer::Commit(const storage::SubmissionRec& rec) {
  auto job = std::make_unique<Job>();
  job->kind = Job::kCommit;
  job->id = rec.id;
  job->rec = rec;
  return Wait(std::move(job));
}

Status Writer::Abort(const storage::Id& id) {
  auto job = std::make_unique<Job>();
  job->kind = Job::kAbort;
  job->id = id;
  return Wait(std::move(job));
}

void Writer::Settle() {
  std::unique_lock<std::mutex> l(mu_);
  settled_.wait(l, [&] { return queue_.empty() && !busy_ && drops_ == 0; });
}

// A drop round that failed for want of room waits for a write that went
// through; other failures (the id was committed after all, say) give it up
// to the sweep at the next start.
void Writer::AfterDropRound(const Status& st) {
  const storage::Id id = dropping_.front();
  if (!st.ok() && st.Is(Status::Code::kFull)) {
    drop_blocked_ = true;
    return;
  }
  if (st.ok() && store_->Pending(id)) return;
  dropping_.pop_front();
  std::lock_guard<std::mutex> l(mu_);
  drops_ = dropping_.size();
}

// Lone drop rounds until nothing is left to drop or a round fails: when the
// store is full, what aborted uploads still hold is the room others need.
void Writer::DrainDrops() {
  drop_blocked_ = false;
  while (!dropping_.empty()) {
    storage::WriteBatch round;
    round.Drop(dropping_.front(), kDropLoneRound);
    Status st = store_->Write(round);
    AfterDropRound(st);
    if (!st.ok()) break;
  }
}

void Writer::Run() {
  while (true) {
    std::vector<std::unique_ptr<Job>> jobs;
    size_t bytes = 0;
    {
      std::unique_lock<std::mutex> l(mu_);
      busy_ = false;
      if (queue_.empty() && drops_ == 0) settled_.notify_all();
      // With uploads to drop, a pause in the work is the time for a lone
      // round; otherwise rounds ride along with other writes.
      auto ready = [&] { return stop_ || !queue_.empty(); };
      bool lone_drop = false;
      if (dropping_.empty() || drop_blocked_) {
        work_.wait(l, ready);
      } else {
        lone_drop = !work_.wait_for(l, kDropPause, ready);
      }
      // Stopping with nothing left, or only drops that wait for room: the
      // sweep at the next start removes those.
      if (queue_.empty() && (dropping_.empty() || (stop_ && drop_blocked_))) return;
      if (stop_ && queue_.empty()) lone_drop = true;    // finish dropping before stopping
      busy_ = true;
      while (!lone_drop && !queue_.empty() &&
             (jobs.empty() || bytes + queue_.front()->bytes() <= kTxnBytes)) {
        bytes += queue_.front()->bytes();
        if (queue_.front()->kind == Job::kAbort) {
          // Accepted at once: the upload is gone for good whatever happens
          // next (a crash leaves it pending, for the sweep), and its chunks
          // are removed round by round after its earlier writes. Those
          // gathered with it are not written at all: written after its
          // removal (a full store's one-by-one retry), they would mark it
          // pending again.
          const storage::Id gone = queue_.front()->id;
          jobs.erase(std::remove_if(jobs.begin(), jobs.end(),
                                    [&](const std::unique_ptr<Job>& j) {
                                      return j->kind == Job::kChunks && j->id == gone;
                                    }),
                     jobs.end());
          dropping_.push_back(gone);
          drops_ = dropping_.size();
          queue_.front()->done.set_value(Status::OK());
          queue_.pop_front();
          continue;
        }
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    auto add = [](storage::WriteBatch* b, Job& j) {
      if (j.kind == Job::kChunks) b->PutChunks(j.id, j.chunks, j.small);
      else b->Commit(j.rec);
    };
    const bool drop = !dropping_.empty() && !drop_blocked_;
    storage::WriteBatch batch;
    for (auto& j : jobs) add(&batch, *j);
    if (drop) batch.Drop(dropping_.front(), jobs.empty() ? kDropLoneRound : kDropRidingRound);
    Status st = batch.empty() ? Status::OK() : store_->Write(batch);
    if (drop && !st.ok() && !jobs.empty()) {
      // The round must not fail the writes it rode with: try them alone.
      storage::WriteBatch alone;
      for (auto& j : jobs) add(&alone, *j);
      Status dst = st;
      st = store_->Write(alone);
      AfterDropRound(dst);
    } else if (drop) {
      AfterDropRound(st);
    }
    std::vector<Status> results(jobs.size(), st);
    if (!st.ok() && !jobs.empty()) {
      // Room held by dropped uploads comes back first; and one job's
      // failure (a full store, a commit with a chunk missing) must not fail
      // the others: apply them one by one.
      if (st.Is(Status::Code::kFull)) DrainDrops();
      for (size_t i = 0; i < jobs.size(); i++) {
        storage::WriteBatch one;
        add(&one, *jobs[i]);
        results[i] = store_->Write(one);
      }
    }
    if (!jobs.empty() && st.ok()) drop_blocked_ = false;  // a write went through: room again
    for (size_t i = 0; i < jobs.size(); i++) {
      Job& j = *jobs[i];
      if (j.kind == Job::kChunks) {
        if (!results[i].ok()) {
          std::lock_guard<std::mutex> l(j.tracker->mu);
          if (j.tracker->error.ok()) j.tracker->error = results[i];
        }
      } else {
        j.done.set_value(results[i]);
      }
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      queued_bytes_ -= bytes;
      for (auto& j : jobs) {
        if (free_.size() >= kFreeBuffers || j->data.capacity() == 0) break;
        j->data.clear();
        free_.push_back(std::move(j->data));
      }
    }
    room_.notify_all();
    // Best effort: a failure here only means writes allocate as they go.
    (void)store_->Preallocate(kReserveAhead);
  }
}

}  // namespace server
}  // namespace sealdrop
