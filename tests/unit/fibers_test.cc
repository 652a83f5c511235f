// Connections as fibers: an idle or slow connection must hold no thread, a
// deadline must end a wait, a full server must leave connections waiting
// rather than drop them, and Stop must end idle waits at once.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "server/server.h"

using namespace sealdrop;
using namespace sealdrop::server;
using Clock = std::chrono::steady_clock;

namespace {

// A listening socket on 127.0.0.1 and the fibers serving it on a thread.
struct Harness {
  int lfd = -1;
  int port = 0;
  Fibers fibers;
  std::thread runner;
  Status result;

  Harness(uint32_t threads, uint32_t max, Fibers::Handler handler) : fibers(threads, max) {
    lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(lfd >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(lfd, 128) == 0);
    socklen_t len = sizeof sa;
    REQUIRE(::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port = ntohs(sa.sin_port);
    runner = std::thread([this, h = std::move(handler)] { result = fibers.Run(lfd, h); });
  }
  ~Harness() { Stop(std::chrono::seconds(1)); }
  void Stop(std::chrono::seconds grace) {
    if (!runner.joinable()) return;
    fibers.Stop(grace);
    runner.join();
    ::close(lfd);
  }
};

// -1 on failure; safe off the test's thread (Catch2 assertions are not).
int TryConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(uint16_t(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

int Connect(int port) {
  int fd = TryConnect(port);
  REQUIRE(fd >= 0);
  return fd;
}

// Sends `line` and reads the echo: "" if none came.
std::string RoundTrip(int fd, const std::string& line) {
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size())) return "";
  std::string got;
  char buf[256];
  while (got.size() < line.size()) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) return "";
    got.append(buf, size_t(r));
  }
  return got;
}

// Echoes until the client closes, parking while nothing has arrived. `idle`
// says whether those waits are idle ones (evictable, ended by a stop).
void EchoWith(int fd, bool idle) {
  char buf[256];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r == 0) return;
    if (r < 0) {
      int err = Fibers::Errno();
      if (err != EAGAIN && err != EWOULDBLOCK) return;
      if (!Fibers::Wait(EPOLLIN, Clock::now() + std::chrono::seconds(30), idle)) return;
      continue;
    }
    for (ssize_t off = 0; off < r;) {
      ssize_t w = ::send(fd, buf + off, size_t(r - off), MSG_NOSIGNAL);
      if (w > 0) {
        off += w;
      } else if (Fibers::Errno() != EAGAIN ||
                 !Fibers::Wait(EPOLLOUT, Clock::now() + std::chrono::seconds(30))) {
        return;
      }
    }
  }
}

void Echo(int fd) { EchoWith(fd, true); }
void BusyEcho(int fd) { EchoWith(fd, false); }

}  // namespace

TEST_CASE("FiberIdleConnectionsDoNotStarveAnActiveOne", "[fibers]") {
  // One worker thread: with a thread per connection the active client would
  // wait behind the idle ones forever.
  Harness h(1, 256, Echo);
  std::vector<int> idle;
  for (int i = 0; i < 100; i++) idle.push_back(Connect(h.port));
  int fd = Connect(h.port);
  auto t0 = Clock::now();
  CHECK(RoundTrip(fd, "hello\n") == "hello\n");
  CHECK(Clock::now() - t0 < std::chrono::seconds(5));
  ::close(fd);
  for (int i : idle) ::close(i);
}

TEST_CASE("FiberWaitEndsAtItsDeadline", "[fibers]") {
  std::atomic<int> outcome{-1};
  std::atomic<int64_t> waited_ms{0};
  Harness h(2, 8, [&](int) {
    auto t0 = Clock::now();
    bool ok = Fibers::Wait(EPOLLIN, t0 + std::chrono::milliseconds(300));
    waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    outcome = ok ? 1 : 0;
  });
  int fd = Connect(h.port);
  for (int i = 0; i < 500 && outcome < 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(outcome == 0);  // nothing was sent: the deadline, not an event, ended it
  CHECK(waited_ms >= 290);
  CHECK(waited_ms < 3000);
  // The fiber closed the connection when it ended.
  char c;
  CHECK(::recv(fd, &c, 1, 0) == 0);
  ::close(fd);
}

TEST_CASE("FiberFullServerKeepsNewConnectionsWaitingNotDropped", "[fibers]") {
  Harness h(2, 2, BusyEcho);  // connections in the middle of a request
  int a = Connect(h.port), b = Connect(h.port);
  CHECK(RoundTrip(a, "a\n") == "a\n");
  CHECK(RoundTrip(b, "b\n") == "b\n");
  int c = Connect(h.port);  // queued in the backlog: both slots are taken
  ::send(c, "c\n", 2, MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(h.fibers.live() == 2);
  ::close(a);  // frees a slot: c is accepted and served
  char buf[8];
  CHECK(::recv(c, buf, sizeof buf, 0) == 2);
  ::close(b);
  ::close(c);
}

TEST_CASE("FiberStopEndsIdleWaitsAtOnceAndBusyOnesWithinGrace", "[fibers]") {
  std::atomic<int> busy_ended{0};
  Harness h(2, 16, [&](int fd) {
    // A client that says nothing for 200 ms is idle; one that sends a byte
    // is in the middle of a request and then waits far longer than the grace.
    if (!Fibers::Wait(EPOLLIN, Clock::now() + std::chrono::milliseconds(200))) {
      Echo(fd);
      return;
    }
    char c;
    if (::recv(fd, &c, 1, 0) != 1) return;
    Fibers::Wait(EPOLLIN, Clock::now() + std::chrono::seconds(60));
    busy_ended++;
  });
  std::vector<int> idle;
  for (int i = 0; i < 5; i++) idle.push_back(Connect(h.port));
  int busy = Connect(h.port);
  ::send(busy, "x", 1, MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto t0 = Clock::now();
  h.Stop(std::chrono::seconds(1));
  auto took = Clock::now() - t0;
  CHECK(h.result.ok());
  CHECK(busy_ended == 1);
  CHECK(took < std::chrono::seconds(5));
  for (int fd : idle) {
    char c;
    CHECK(::recv(fd, &c, 1, 0) == 0);  // closed by the server
    ::close(fd);
  }
  ::close(busy);
}

TEST_CASE("FiberManyConnectionsMovingBetweenThreadsKeepTheirData", "[fibers]") {
  // Each connection parks between messages and may resume on another
  // worker; every echo must still be its own.
  Harness h(4, 256, Echo);
  std::vector<std::thread> clients;
  std::atomic<int> good{0};
  for (int t = 0; t < 32; t++) {
    clients.emplace_back([&, t] {
      int fd = TryConnect(h.port);
      if (fd < 0) return;
      int ok = 0;
      for (int i = 0; i < 100; i++) {
        std::string line = "client " + std::to_string(t) + " line " + std::to_string(i) + "\n";
        if (RoundTrip(fd, line) == line) ok++;
      }
      ::close(fd);
      if (ok == 100) good++;
    });
  }
  for (auto& c : clients) c.join();
  CHECK(good == 32);
}

TEST_CASE("FiberFullServerEndsTheLongestIdleConnectionForANewOne", "[fibers]") {
  Harness h(2, 2, Echo);
  int a = Connect(h.port);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int b = Connect(h.port);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Both slots are idle connections; a third client must get in at once.
  int c = Connect(h.port);
  auto t0 = Clock::now();
  CHECK(RoundTrip(c, "c\n") == "c\n");
  CHECK(Clock::now() - t0 < std::chrono::seconds(3));
  char x;
  CHECK(::recv(a, &x, 1, 0) == 0);      // the oldest made room
  CHECK(RoundTrip(b, "b\n") == "b\n");  // the younger one was kept
  ::close(a);
  ::close(b);
  ::close(c);
}
