// Sources who come back: the gate that bounds codename derivations, and the
// in-memory sessions of logged-in sources with their CSRF tokens.
#include <sodium.h>

#include "server/server.h"

namespace sealdrop {
namespace server {

KeyGate::KeyGate(uint32_t workers, uint32_t queue, std::chrono::seconds max_wait)
    : workers_(workers), queue_(queue), max_wait_(max_wait) {}

Status KeyGate::Derive(const crypto::Secret& codename, const crypto::CodenameParams& p,
                       crypto::SourceKeys* out) {
  {
    std::unique_lock<std::mutex> l(mu_);
    if (running_ >= workers_) {
      if (waiting_ >= queue_) return Status::Full("busy");
      waiting_++;
      bool got = cv_.wait_for(l, max_wait_, [&] { return running_ < workers_; });
      waiting_--;
      if (!got) return Status::Full("busy");
    }
    running_++;
    peak_ = std::max(peak_, running_);
  }
  Status st = crypto::DeriveSourceKeys(codename, p, out);
  {
    std::lock_guard<std::mutex> l(mu_);
    running_--;
  }
  cv_.notify_one();
  return st;
}

Sessions::Sessions(uint32_t max, std::chrono::seconds idle, std::chrono::seconds lifetime)
    : max_(max), idle_(idle), lifetime_(lifetime), key_(crypto_generichash_KEYBYTES) {
  crypto::RandomBytes(key_.data(), key_.size());
}

Sessions::Key Sessions::Keyed(const char* label, size_t label_size, const std::string& text) const {
  Key k;
  crypto_generichash_state st;
  crypto_generichash_init(&st, key_.data(), key_.size(), k.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(label), label_size);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  crypto_generichash_final(&st, k.data(), k.size());
  return k;
}

Sessions::Key Sessions::Index(const std::string& id) const {
  // Keyed by a hash, so that how long a lookup takes says nothing about how
  // much of a guessed id is right.
  static const char kLabel[] = "sealdrop session index";
  return Keyed(kLabel, sizeof kLabel, id);
}

bool Sessions::Expired(const Session& s, Clock::time_point now) const {
  return now - s.seen > idle_ || now - s.born > lifetime_;
}

Status Sessions::Open(crypto::SourceKeys keys, crypto::Secret codename, std::string* id) {
  uint8_t raw[32];
  crypto::RandomBytes(raw, sizeof raw);
  std::string fresh = crypto::ToHex(raw, sizeof raw);
  crypto::Wipe(raw, sizeof raw);
  auto s = std::make_unique<Session>();
  s->keys = std::move(keys);
  s->codename = std::move(codename);
  // Two different words to type back, chosen at random.
  s->ask[0] = uint8_t(randombytes_uniform(crypto::kCodenameWords));
  s->ask[1] = uint8_t((s->ask[0] + 1 + randombytes_uniform(crypto::kCodenameWords - 1)) %
                      crypto::kCodenameWords);
  if (s->ask[0] > s->ask[1]) std::swap(s->ask[0], s->ask[1]);
  s->born = s->seen = Clock::now();
  std::lock_guard<std::mutex> l(mu_);
  auto oldest = live_.end();
  size_t same = 0;
  for (auto it = live_.begin(); it != live_.end(); ++it) {
    if (!crypto::Equal(it->second->keys.lookup.data(), s->keys.lookup.data(),
                       s->keys.lookup.size()))
      continue;
    same++;
    if (oldest == live_.end() || it->second->seen < oldest->second->seen) oldest = it;
  }
  if (same >= kPerSource) live_.erase(oldest);  // its Secrets wipe themselves
  if (live_.size() >= max_) {
    RemoveExpired(Clock::now());
    if (live_.size() >= max_) return Status::Full("too many sessions");
  }
  live_[Index(fresh)] = std::move(s);
  *id = std::move(fresh);
  return Status::OK();
}

bool Sessions::With(const std::string& id, const std::function<void(Session&)>& fn) {
  if (id.size() != 64) return false;
  const Key k = Index(id);
  std::lock_guard<std::mutex> l(mu_);
  auto it = live_.find(k);
  if (it == live_.end()) return false;
  const auto now = Clock::now();
  if (Expired(*it->second, now)) {
    live_.erase(it);  // its Secrets wipe themselves
    return false;
  }
  it->second->seen = now;
  fn(*it->second);
  return true;
}

void Sessions::Close(const std::string& id) {
  const Key k = Index(id);
  std::lock_guard<std::mutex> l(mu_);
  live_.erase(k);
}

void Sessions::RemoveExpired(Clock::time_point now) {
  for (auto it = live_.begin(); it != live_.end();)
    it = Expired(*it->second, now) ? live_.erase(it) : std::next(it);  // its Secrets wipe themselves
}

void Sessions::Expire() {
  std::lock_guard<std::mutex> l(mu_);
  RemoveExpired(Clock::now());
}

size_t Sessions::live() {
  std::lock_guard<std::mutex> l(mu_);
  return live_.size();
}

std::string Sessions::Token(const std::string& who) const {
  static const char kLabel[] = "sealdrop form token";
  const Key mac = Keyed(kLabel, sizeof kLabel, who);
  return crypto::ToHex(mac.data(), mac.size());
}

bool Sessions::CheckToken(const std::string& who, const std::string& token) const {
  const std::string want = Token(who);
  return token.size() == want.size() &&
         crypto::Equal(reinterpret_cast<const uint8_t*>(want.data()),
                       reinterpret_cast<const uint8_t*>(token.data()), want.size());
}

}  // namespace server
}  // namespace sealdrop
