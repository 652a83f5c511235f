#include <future>

#include "server/server.h"

namespace sealdrop {
namespace server {
namespace {

// Largest transaction the writer builds from queued jobs: about half the
// queue's budget (server/main.cc), so uploads keep sealing into the other
// half while a transaction is written and synced. An upload hands over its
// ciphertext once it passes 1 MiB, a few bytes over (server/upload.cc): the
// slack lets two such batches share a transaction and its sync.
constexpr size_t kTxnBytes = (2u << 20) + (16u << 10);
// Disk blocks reserved ahead of the file's end, so writes never wait for
// the file system to allocate.
constexpr uint64_t kReserveAhead = 256u << 20;

constexpr size_t kFreeBuffers = 3;

}  // namespace

struct Writer::Job {
  enum Kind { kChunks, kCommit, kAbort } kind;
  storage::Id id{};
  Bytes data;
  std::vector<storage::ChunkWrite> chunks;
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

void Writer::PutChunks(const storage::Id& id, Bytes data,
                       std::vector<storage::ChunkWrite> chunks, std::shared_ptr<Tracker> t) {
  auto job = std::make_unique<Job>();
  job->kind = Job::kChunks;
  job->id = id;
  job->data = std::move(data);
  job->chunks = std::move(chunks);
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

void Writer::Run() {
  while (true) {
    std::vector<std::unique_ptr<Job>> jobs;
    size_t bytes = 0;
    {
      std::unique_lock<std::mutex> l(mu_);
      work_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      // An abort runs alone: it is removed in rounds (Store::Abort).
      while (!queue_.empty() && (jobs.empty() || bytes + queue_.front()->bytes() <= kTxnBytes) &&
             (jobs.empty() || (jobs[0]->kind != Job::kAbort && queue_.front()->kind != Job::kAbort))) {
        bytes += queue_.front()->bytes();
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // Chunks and commits share a transaction; an abort runs alone, in the
    // store's own rounds.
    auto add = [](storage::WriteBatch* b, Job& j) {
      if (j.kind == Job::kChunks) b->PutChunks(j.id, j.chunks);
      else b->Commit(j.rec);
    };
    Status st;
    if (jobs[0]->kind == Job::kAbort) {
      st = store_->Abort(jobs[0]->id);
      // Removing needs a little room too; on a full disk it can fail.
      if (!st.ok()) failed_aborts_.push_back(jobs[0]->id);
    } else {
      storage::WriteBatch batch;
      for (auto& j : jobs) add(&batch, *j);
      st = store_->Write(batch);
    }
    std::vector<Status> results(jobs.size(), st);
    if (!st.ok() && jobs.size() > 1) {
      // One job's failure (a full store, a commit with a chunk missing) must
      // not fail the others: apply them one by one.
      for (size_t i = 0; i < jobs.size(); i++) {
        storage::WriteBatch one;
        add(&one, *jobs[i]);
        results[i] = store_->Write(one);
      }
    }
    // A write went through, so there may be room again: remove what a failed
    // abort left, before anyone hears of this write, rather than at the next
    // start's sweep.
    if (jobs[0]->kind != Job::kAbort && st.ok() && !failed_aborts_.empty() &&
        store_->Abort(failed_aborts_.back()).ok())
      failed_aborts_.pop_back();
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
