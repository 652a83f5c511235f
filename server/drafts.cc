#include "server/server.h"

namespace sealdrop {
namespace server {

struct Drafts::Entry {
  std::mutex mu;  // held by the request that holds the draft
  Draft d;
  size_t bytes = 0;  // d.answers.size(), as counted in Drafts::bytes_
  Clock::time_point seen;
  bool removed = false;
};

Drafts::Drafts(size_t max_count, size_t max_bytes, std::chrono::seconds idle)
    : max_count_(max_count), max_bytes_(max_bytes), idle_(idle) {}

// The drafts' uploads abort as their entries go: nothing unsent stays.
Drafts::~Drafts() = default;

Drafts::Hold::~Hold() {
  if (owner_ != nullptr) owner_->Release(this);
}

Drafts::Draft& Drafts::Hold::draft() { return entry_->d; }

Status Drafts::Hold::SetAnswers(crypto::Secret answers) {
  std::lock_guard<std::mutex> l(owner_->mu_);
  if (entry_->removed) return Status::NotFound("draft ended");
  const size_t others = owner_->bytes_ - entry_->bytes;
  if (others + answers.size() > owner_->max_bytes_) return Status::Full("drafts hold too much");
  owner_->bytes_ = others + answers.size();
  entry_->bytes = answers.size();
  entry_->d.answers = std::move(answers);
  return Status::OK();
}

void Drafts::Hold::Remove() {
  std::lock_guard<std::mutex> l(owner_->mu_);
  if (entry_->removed) return;
  entry_->removed = true;
  owner_->bytes_ -= entry_->bytes;
  owner_->live_.erase(key_);
}

void Drafts::Release(Hold* h) {
  std::shared_ptr<Entry> e = std::move(h->entry_);
  h->owner_ = nullptr;
  {
    std::lock_guard<std::mutex> l(mu_);
    e->seen = Clock::now();
  }
  e->mu.unlock();
  // A removed draft ends here, outside the table's lock: its upload's
  // abort waits for the writer.
}

Status Drafts::Get(const std::string& who, bool create, Hold* out) {
  std::shared_ptr<Entry> e;
  std::vector<std::shared_ptr<Entry>> gone;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(who);
    if (it != live_.end() && Clock::now() - it->second->seen > idle_ && it->second->mu.try_lock()) {
      // Expired, not yet swept: a new draft in its place.
      it->second->mu.unlock();
      it->second->removed = true;
      bytes_ -= it->second->bytes;
      gone.push_back(std::move(it->second));
      live_.erase(it);
      it = live_.end();
    }
    if (it == live_.end()) {
      if (!create) return Status::NotFound("no draft");
      if (live_.size() >= max_count_) return Status::Full("too many drafts");
      e = std::make_shared<Entry>();
      e->seen = Clock::now();
      live_.emplace(who, e);
    } else {
      e = it->second;
    }
    if (!e->mu.try_lock()) return Status::Full("draft in use");
    e->seen = Clock::now();
  }
  out->owner_ = this;
  out->entry_ = std::move(e);
  out->key_ = who;
  return Status::OK();
}

void Drafts::Expire() {
  std::vector<std::shared_ptr<Entry>> gone;
  {
    std::lock_guard<std::mutex> l(mu_);
    const Clock::time_point now = Clock::now();
    for (auto it = live_.begin(); it != live_.end();) {
      Entry& e = *it->second;
      if (now - e.seen > idle_ && e.mu.try_lock()) {
        e.mu.unlock();
        e.removed = true;
        bytes_ -= e.bytes;
        gone.push_back(std::move(it->second));
        it = live_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Destroyed here, outside the lock: answers wiped, uploads aborted.
}

size_t Drafts::live() {
  std::lock_guard<std::mutex> l(mu_);
  return live_.size();
}

size_t Drafts::bytes() {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_;
}

}  // namespace server
}  // namespace sealdrop
