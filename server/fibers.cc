// Connections as fibers (ucontext) on a few worker threads, woken by one
// epoll poller. See server.h for why.
//
// Ownership, which keeps the races out:
// - A fiber is Running (on exactly one worker), Waiting (parked: the poller
//   may wake it) or Ready (queued). All three live under mu_.
// - Parking happens on the worker after the fiber's context is saved: the
//   socket is armed first (EPOLLONESHOT, tagged with a fresh generation),
//   then the fiber becomes Waiting. An event that beats that is remembered.
// - The poller wakes by slot and generation under mu_, so an event for a fiber
//   that has since moved on or ended is ignored, never dereferenced.
// - Thread-locals are read only through noinline functions: a fiber may park
//   on one thread and resume on another, and a compiler may otherwise keep a
//   thread-local's address across the switch. errno likewise (Errno()).
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "server/server.h"

#if defined(__SANITIZE_ADDRESS__)
#define SD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SD_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SD_TSAN 1
#endif
#endif
#ifdef SD_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef SD_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace sealdrop {
namespace server {

namespace {
// Generous: httplib reads bodies through a 64 KiB buffer on the stack, and
// sanitizers grow frames. Only touched pages cost memory.
#if defined(SD_ASAN) || defined(SD_TSAN)
constexpr size_t kStack = 4u << 20;
#else
constexpr size_t kStack = 1u << 20;
#endif
constexpr size_t kGuard = 64u << 10;
constexpr uint64_t kListenTag = ~uint64_t(0);
constexpr uint64_t kKickTag = ~uint64_t(0) - 1;
}  // namespace

struct Fibers::Worker {
  ucontext_t ctx;
  Fiber* current = nullptr;
  void* asan_fake = nullptr;
  const void* stack_lo = nullptr;
  size_t stack_size = 0;
  void* tsan = nullptr;
};

struct Fibers::Fiber {
  enum State { kReady, kRunning, kWaiting };
  Fibers* owner = nullptr;
  ucontext_t ctx;
  char* map = nullptr;  // guard + stack
  int fd = -1;
  uint32_t slot = 0;
  State state = kReady;
  bool done = false;
  // The wait asked for (set by the fiber before switching out).
  uint32_t events = 0;
  Clock::time_point deadline;
  bool idle = false;
  // The wait's outcome and bookkeeping (under mu_).
  uint32_t gen = 0;
  uint32_t early_gen = 0;  // an event for `gen` came before it was Waiting
  bool timed_out = false;
  bool in_timers = false;
  Clock::time_point timer_at;
  void* asan_fake = nullptr;
  void* tsan = nullptr;
};

namespace {
thread_local Fibers::Worker* t_worker = nullptr;

// Never inlined, so the thread-local is looked up on the thread the fiber
// runs on now.
__attribute__((noinline)) Fibers::Worker* CurrentWorker() {
  asm volatile("" ::: "memory");
  return t_worker;
}
__attribute__((noinline)) void SetCurrentWorker(Fibers::Worker* w) {
  asm volatile("" ::: "memory");
  t_worker = w;
}
}  // namespace

Fibers::Fibers(uint32_t threads, uint32_t max_fibers)
    : threads_(threads ? threads : 1), max_(max_fibers ? max_fibers : 1) {
  slots_.assign(max_, nullptr);
  for (uint32_t i = max_; i > 0; i--) free_slots_.push_back(i - 1);
  // Made here, not in Run: Stop() may come from another thread at any time.
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  kick_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Fibers::~Fibers() {
  if (ep_ >= 0) ::close(ep_);
  if (kick_ >= 0) ::close(kick_);
}

uint32_t Fibers::live() const {
  std::lock_guard<std::mutex> lk(mu_);
  return live_;
}

void Fibers::Kick() {
  uint64_t one = 1;
  ssize_t r = ::write(kick_, &one, sizeof one);
  (void)r;  // a full counter still wakes the poller
}

void Fibers::Stop(std::chrono::seconds grace) {
  grace_ms_.store(std::chrono::duration_cast<std::chrono::milliseconds>(grace).count());
  stop_requested_.store(true);
  Kick();
}

// --- inside a fiber -------------------------------------------------------------------------
void Fibers::Entry() {
  Worker* w = CurrentWorker();
  Fiber* f = w->current;
#ifdef SD_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &w->stack_lo, &w->stack_size);
#endif
  try {
    f->owner->handler_(f->fd);
  } catch (...) {
    // A handler's exception must not unwind past the fiber's first frame.
    // Counted, never logged: a line's time would say when a source came.
    Stats().Fault();
  }
  f->done = true;
  w = CurrentWorker();
#ifdef SD_ASAN
  __sanitizer_start_switch_fiber(nullptr, w->stack_lo, w->stack_size);
#endif
#ifdef SD_TSAN
  __tsan_switch_to_fiber(w->tsan, 0);
#endif
  ::setcontext(&w->ctx);
  std::abort();  // unreachable
}

bool Fibers::Wait(uint32_t events, Clock::time_point deadline, bool idle) {
  Worker* w = CurrentWorker();
  Fiber* f = w->current;
  f->events = events;
  f->deadline = deadline;
  f->idle = idle;
#ifdef SD_ASAN
  __sanitizer_start_switch_fiber(&f->asan_fake, w->stack_lo, w->stack_size);
#endif
#ifdef SD_TSAN
  __tsan_switch_to_fiber(w->tsan, 0);
#endif
  ::swapcontext(&f->ctx, &w->ctx);
  // Resumed, perhaps on another worker.
  w = CurrentWorker();
#ifdef SD_ASAN
  __sanitizer_finish_switch_fiber(f->asan_fake, &w->stack_lo, &w->stack_size);
#endif
  return !f->timed_out;
}

bool Fibers::Stopping() {
  Worker* w = CurrentWorker();
  if (w == nullptr || w->current == nullptr) return false;
  return w->current->owner->stop_requested_.load();
}

__attribute__((noinline)) int Fibers::Errno() {
  asm volatile("" ::: "memory");
  return errno;
}

// --- workers --------------------------------------------------------------------------------
void Fibers::WorkerMain() {
  Worker w;
  SetCurrentWorker(&w);
#ifdef SD_TSAN
  w.tsan = __tsan_get_current_fiber();
#endif
  for (;;) {
    Fiber* f;
    {
      std::unique_lock<std::mutex> lk(mu_);
      ready_cv_.wait(lk, [&] { return !ready_.empty() || quit_; });
      if (ready_.empty()) break;
      f = ready_.front();
      ready_.pop_front();
      f->state = Fiber::kRunning;
    }
    w.current = f;
#ifdef SD_ASAN
    __sanitizer_start_switch_fiber(&w.asan_fake, f->map + kGuard, kStack);
#endif
#ifdef SD_TSAN
    __tsan_switch_to_fiber(f->tsan, 0);
#endif
    ::swapcontext(&w.ctx, &f->ctx);
#ifdef SD_ASAN
    __sanitizer_finish_switch_fiber(w.asan_fake, nullptr, nullptr);
#endif
    w.current = nullptr;
    if (f->done)
      Finish(f);
    else
      Park(f);
  }
  SetCurrentWorker(nullptr);
}

void Fibers::Park(Fiber* f) {
  uint32_t gen;
  {
    std::lock_guard<std::mutex> lk(mu_);
    gen = ++seq_;
    if (gen == 0) gen = ++seq_;
    f->gen = gen;
  }
  epoll_event ev{};
  ev.events = f->events | EPOLLONESHOT;
  ev.data.u64 = (uint64_t(gen) << 32) | f->slot;
  bool armed = ::epoll_ctl(ep_, EPOLL_CTL_MOD, f->fd, &ev) == 0;
  bool kick = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Clock::time_point deadline = f->deadline;
    if (stopping_) deadline = std::min(deadline, stop_deadline_);
    if (f->early_gen == gen) {  // ready already
      MakeReady(f, false);
      return;
    }
    // A socket that cannot be watched would never wake its fiber: the wait
    // fails, as it does for an idle one when the server stops.
    if (!armed || (stopping_ && f->idle)) {
      MakeReady(f, true);
      return;
    }
    f->state = Fiber::kWaiting;
    f->timer_at = deadline;
    f->in_timers = true;
    kick = timers_.empty() || deadline < timers_.begin()->first;
    timers_.emplace(deadline, f);
  }
  if (kick) Kick();
}

void Fibers::MakeReady(Fiber* f, bool timed_out) {
  if (f->in_timers) {
    timers_.erase({f->timer_at, f});
    f->in_timers = false;
  }
  f->timed_out = timed_out;
  f->state = Fiber::kReady;
  ready_.push_back(f);
  ready_cv_.notify_one();
}

void Fibers::Finish(Fiber* f) {
  ::epoll_ctl(ep_, EPOLL_CTL_DEL, f->fd, nullptr);
  ::close(f->fd);
#ifdef SD_TSAN
  __tsan_destroy_fiber(f->tsan);
#endif
  ::munmap(f->map, kGuard + kStack);
  bool resume_accept = false, last = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    slots_[f->slot] = nullptr;
    free_slots_.push_back(f->slot);
    live_--;
    resume_accept = !accepting_ && !stopping_;
    if (resume_accept) resume_at_ = Clock::now();
    last = stopping_ && live_ == 0;
  }
  delete f;
  if (resume_accept || last) Kick();
}

// --- the poller -----------------------------------------------------------------------------
void Fibers::Accept() {
  bool accepted = false;
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (free_slots_.empty()) {
        // Full. If this round took a connection, whether another waits is
        // unknown: the listener stays watched and the next round tells.
        if (accepted) return;
        // Another waits: it stays in the backlog until a fiber ends, and to
        // make room the connection idle the longest (earliest deadline)
        // goes, so that idle connections cannot keep everyone else out.
        PauseAccepting(Clock::time_point::max());  // until a fiber ends
        Fiber* oldest = nullptr;
        for (const auto& t : timers_) {
          if (t.second->idle) {
            oldest = t.second;
            break;
          }
        }
        if (oldest != nullptr) MakeReady(oldest, true);
        return;
      }
    }
    int fd = ::accept4(listen_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // Out of descriptors or memory: a level-triggered listener would spin,
      // so wait for a connection to end.
      Stats().Fault();
      std::lock_guard<std::mutex> lk(mu_);
      PauseAccepting(Clock::now() + std::chrono::seconds(1));
      return;
    }
    void* map = ::mmap(nullptr, kGuard + kStack, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) {
      ::close(fd);
      Stats().Fault();
      std::lock_guard<std::mutex> lk(mu_);
      PauseAccepting(Clock::now() + std::chrono::seconds(1));
      return;
    }
    ::mprotect(map, kGuard, PROT_NONE);  // a stack overflow faults, never corrupts
    auto* f = new Fiber;
    f->owner = this;
    f->map = static_cast<char*>(map);
    f->fd = fd;
    ::getcontext(&f->ctx);
    f->ctx.uc_stack.ss_sp = f->map + kGuard;
    f->ctx.uc_stack.ss_size = kStack;
    f->ctx.uc_link = nullptr;
    ::makecontext(&f->ctx, &Fibers::Entry, 0);
#ifdef SD_TSAN
    f->tsan = __tsan_create_fiber(0);
#endif
    epoll_event ev{};
    ev.events = EPOLLONESHOT;  // armed by each wait
    std::lock_guard<std::mutex> lk(mu_);
    f->slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[f->slot] = f;
    live_++;
    ev.data.u64 = f->slot;  // generation 0: never a wait's
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    MakeReady(f, false);
    accepted = true;
  }
}

void Fibers::PauseAccepting(Clock::time_point until) {
  resume_at_ = until;
  if (!accepting_) return;
  epoll_event ev{};
  ev.data.u64 = kListenTag;
  ::epoll_ctl(ep_, EPOLL_CTL_MOD, listen_, &ev);
  accepting_ = false;
}

Status Fibers::Run(int listen_fd, Handler handler) {
  handler_ = std::move(handler);
  listen_ = listen_fd;
  if (ep_ < 0 || kick_ < 0) return Status::IOError("cannot make the epoll set or its eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kKickTag;
  ::epoll_ctl(ep_, EPOLL_CTL_ADD, kick_, &ev);
  ev.data.u64 = kListenTag;
  if (::epoll_ctl(ep_, EPOLL_CTL_ADD, listen_, &ev) != 0)
    return Status::IOError(std::string("epoll: ") + std::strerror(errno));

  std::vector<std::thread> workers;
  for (uint32_t i = 0; i < threads_; i++) workers.emplace_back([this] { WorkerMain(); });

  epoll_event evs[128];
  for (;;) {
    int timeout = -1;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopping_ && live_ == 0) break;
      const Clock::time_point now = Clock::now();
      if (!accepting_ && !stopping_ && resume_at_ <= now && !free_slots_.empty()) {
        epoll_event lev{};
        lev.events = EPOLLIN;
        lev.data.u64 = kListenTag;
        ::epoll_ctl(ep_, EPOLL_CTL_MOD, listen_, &lev);
        accepting_ = true;
      }
      Clock::time_point next = Clock::time_point::max();
      if (!timers_.empty()) next = timers_.begin()->first;
      if (!accepting_ && !stopping_) next = std::min(next, resume_at_);
      if (stop_requested_.load() && !stopping_) {
        timeout = 0;
      } else if (next != Clock::time_point::max()) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
        timeout = int(std::max<int64_t>(0, std::min<int64_t>(ms, 60000)));
      }
    }
    int n = ::epoll_wait(ep_, evs, 128, timeout);
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "sealdrop-server: epoll_wait: %s\n", std::strerror(errno));
      break;
    }
    bool accept = false;
    for (int i = 0; i < n; i++) {
      uint64_t tag = evs[i].data.u64;
      if (tag == kListenTag) {
        accept = true;
      } else if (tag == kKickTag) {
        uint64_t v;
        ssize_t r = ::read(kick_, &v, sizeof v);
        (void)r;
      } else {
        uint32_t slot = uint32_t(tag), gen = uint32_t(tag >> 32);
        std::lock_guard<std::mutex> lk(mu_);
        Fiber* f = slot < slots_.size() ? slots_[slot] : nullptr;
        if (f == nullptr || gen == 0 || f->gen != gen) continue;  // stale
        if (f->state == Fiber::kWaiting)
          MakeReady(f, false);
        else if (f->state == Fiber::kRunning)
          f->early_gen = gen;
      }
    }
    if (stop_requested_.load() && !stopping_) {
      ::epoll_ctl(ep_, EPOLL_CTL_DEL, listen_, nullptr);
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
      accepting_ = false;
      stop_deadline_ = Clock::now() + std::chrono::milliseconds(grace_ms_.load());
      // Idle fibers end now; the rest keep their deadline up to the grace.
      std::vector<Fiber*> moved;
      for (auto it = timers_.begin(); it != timers_.end();) {
        Fiber* f = it->second;
        if (f->idle || it->first > stop_deadline_) {
          moved.push_back(f);
          it = timers_.erase(it);
          f->in_timers = false;
        } else {
          ++it;
        }
      }
      for (Fiber* f : moved) {
        if (f->idle) {
          MakeReady(f, true);
        } else {
          f->timer_at = stop_deadline_;
          f->in_timers = true;
          timers_.emplace(stop_deadline_, f);
        }
      }
    } else if (accept && !stopping_) {
      Accept();
    }
    std::lock_guard<std::mutex> lk(mu_);
    const Clock::time_point now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now)
      MakeReady(timers_.begin()->second, true);
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    quit_ = true;
  }
  ready_cv_.notify_all();
  for (auto& t : workers) t.join();
  return Status::OK();
}

}  // namespace server
}  // namespace sealdrop
