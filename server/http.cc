// The HTTP front's connections: accept, TLS, waiting and timeouts are ours,
// and each connection runs as a fiber (server/fibers.cc), so a client that is
// idle or slow holds no thread. cpp-httplib parses the requests and writes
// the answers (routes.cc, visits.cc).
#include "server/front.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "server/server.h"

// deploy/install-deps.sh refuses anything older than 0.18.7; CMake checks the patch.

namespace sealdrop {
namespace server {
namespace {

using Clock = std::chrono::steady_clock;

// A request that has not finished arriving when the server stops gets this
// long to finish.
constexpr std::chrono::seconds kStopGrace{10};
// Between requests on one connection.
constexpr std::chrono::seconds kKeepAlive{5};
constexpr int kKeepAliveMax = 100;
// After the answer to a request we close on (a refusal, say), what the client
// still sends is read and dropped for a while, so that closing does not reset
// the connection before the client has read our answer.
constexpr std::chrono::seconds kLinger{2};
constexpr size_t kLingerBytes = 4u << 20;
// OpenSSL's read-ahead buffer: four full TLS records per read.
constexpr size_t kTlsReadBuffer = 64u << 10;

// What a non-blocking TLS call that could not finish waits for; 0 if it failed.
uint32_t SslWants(int ssl_error) {
  if (ssl_error == SSL_ERROR_WANT_READ) return EPOLLIN;
  if (ssl_error == SSL_ERROR_WANT_WRITE) return EPOLLOUT;
  return 0;
}

// One client connection as cpp-httplib's Stream: TLS (or plain HTTP on a
// unix socket) over a non-blocking socket, parking the fiber instead of
// blocking. It also enforces the deadlines httplib has no notion of: a
// request head must arrive whole within header_timeout.
class Conn final : public httplib::Stream {
 public:
  Conn(const Config& cfg, int fd, SSL* ssl) : cfg_(cfg), fd_(fd), ssl_(ssl) {}
  ~Conn() override {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // A new request head is due by `deadline`.
  void StartHead(Clock::time_point deadline) {
    head_ = true;
    head_any_ = false;
    head_deadline_ = deadline;
    crlf_ = 0;
  }

  bool Handshake() {
    for (;;) {
      ERR_clear_error();
      int r = SSL_accept(ssl_);
      if (r == 1) return true;
      int e = SSL_get_error(ssl_, r);
      uint32_t ev = SslWants(e);
      if (ev == 0 || !Fibers::Wait(ev, head_deadline_, true)) {
        broken_ = true;
        return false;
      }
    }
  }

  // Waits until the next request starts arriving; false if it did not
  // within `until` (or the server is stopping).
  bool NextRequest(Clock::time_point until) {
    if (pos_ < end_ || (ssl_ != nullptr && SSL_has_pending(ssl_) == 1)) return true;
    return Fill(until, true) > 0;
  }

  bool is_readable() const override { return !broken_; }  // read() waits itself
  bool is_writable() const override { return !broken_; }

  ssize_t read(char* p, size_t n) override {
    if (n == 0) return 0;
    ssize_t got;
    if (pos_ < end_) {
      got = ssize_t(std::min(n, end_ - pos_));
      std::memcpy(p, buf_ + pos_, size_t(got));
      pos_ += size_t(got);
    } else if (n >= sizeof buf_) {
      got = Recv(p, n, ReadDeadline(), Idle());  // body bytes: straight to the caller
    } else {
      ssize_t r = Fill(ReadDeadline(), Idle());
      if (r <= 0) return r;
      got = ssize_t(std::min(n, end_ - pos_));
      std::memcpy(p, buf_ + pos_, size_t(got));
      pos_ += size_t(got);
    }
    if (got > 0 && head_) Scan(p, size_t(got));
    return got;
  }

  ssize_t write(const char* p, size_t n) override {
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(cfg_.write_timeout);
    size_t done = 0;
    while (done < n && !broken_) {
      uint32_t ev;
      if (ssl_ != nullptr) {
        ERR_clear_error();
        int r = SSL_write(ssl_, p + done, int(std::min<size_t>(n - done, INT_MAX)));
        if (r > 0) {
          done += size_t(r);
          continue;
        }
        int e = SSL_get_error(ssl_, r);
        ev = SslWants(e);
      } else {
        ssize_t r = ::send(fd_, p + done, n - done, MSG_NOSIGNAL);
        if (r > 0) {
          done += size_t(r);
          continue;
        }
        int err = r < 0 ? Fibers::Errno() : EPIPE;
        if (err == EINTR) continue;
        ev = err == EAGAIN || err == EWOULDBLOCK ? uint32_t(EPOLLOUT) : 0;
      }
      if (ev == 0 || !Fibers::Wait(ev, deadline)) broken_ = true;
    }
    return broken_ ? -1 : ssize_t(n);
  }

  // Never an address: nothing of a source's network identity is kept.
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;
  }
  socket_t socket() const override { return fd_; }

  // Ends the connection. After an answer, `linger` reads and drops what the
  // client still sends for a moment (see kLinger).
  void Close(bool linger) {
    if (ssl_ != nullptr && !broken_) {
      ERR_clear_error();
      SSL_shutdown(ssl_);  // close_notify, once; no waiting for the client's
    }
    if (!linger || broken_) return;
    ::shutdown(fd_, SHUT_WR);
    const Clock::time_point until = Clock::now() + kLinger;
    char sink[16384];
    size_t total = 0;
    while (total < kLingerBytes) {
      ssize_t r = ::recv(fd_, sink, sizeof sink, 0);
      if (r > 0) {
        total += size_t(r);
      } else if (r == 0) {
        break;
      } else {
        int err = Fibers::Errno();
        if (err == EINTR) continue;
        if ((err != EAGAIN && err != EWOULDBLOCK) || !Fibers::Wait(EPOLLIN, until, true)) break;
      }
    }
  }

 private:
  Clock::time_point ReadDeadline() const {
    Clock::time_point d = Clock::now() + std::chrono::seconds(cfg_.read_timeout);
    return head_ ? std::min(d, head_deadline_) : d;
  }

  // Nothing of a request has come yet: the wait may end for a stop or to
  // make room (Fibers::Wait).
  bool Idle() const { return head_ && !head_any_; }

  ssize_t Fill(Clock::time_point deadline, bool idle) {
    pos_ = end_ = 0;
    ssize_t r = Recv(buf_, sizeof buf_, deadline, idle);
    if (r > 0) end_ = size_t(r);
    return r;
  }

  // One read of at most n bytes: >0 bytes, 0 at the end, -1 on an error or
  // the deadline.
  ssize_t Recv(char* p, size_t n, Clock::time_point deadline, bool idle) {
    for (;;) {
      if (broken_) return -1;
      uint32_t ev;
      if (ssl_ != nullptr) {
        ERR_clear_error();
        int r = SSL_read(ssl_, p, int(std::min<size_t>(n, INT_MAX)));
        if (r > 0) return r;
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        ev = SslWants(e);
      } else {
        ssize_t r = ::recv(fd_, p, n, 0);
        if (r >= 0) return r;
        int err = Fibers::Errno();
        if (err == EINTR) continue;
        ev = err == EAGAIN || err == EWOULDBLOCK ? uint32_t(EPOLLIN) : 0;
      }
      if (ev == 0) {
        broken_ = true;
        return -1;
      }
      if (!Fibers::Wait(ev, deadline, idle)) return -1;
    }
  }

  // Finds the blank line that ends the request head in what httplib reads.
  void Scan(const char* p, size_t n) {
    static const char kEnd[] = "\r\n\r\n";
    head_any_ = true;
    for (size_t i = 0; i < n && head_; i++) {
      if (p[i] == kEnd[crlf_]) {
        if (++crlf_ == 4) head_ = false;
      } else {
        crlf_ = p[i] == '\r' ? 1 : 0;
      }
    }
  }

  const Config& cfg_;
  const int fd_;
  SSL* ssl_;
  bool broken_ = false;
  bool head_ = false;
  bool head_any_ = false;
  Clock::time_point head_deadline_;
  int crlf_ = 0;
  char buf_[16384];
  size_t pos_ = 0, end_ = 0;
};

// The listening socket, non-blocking. *url says where it listens.
Status Listen(const Config& cfg, int* out, std::string* url) {
  if (cfg.unix_socket()) {
    std::string path = cfg.listen.substr(5);
    sockaddr_un sa{};
    if (path.empty() || path.size() >= sizeof sa.sun_path)
      return Status::InvalidArgument("listen: the socket path is empty or too long");
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        return Status::InvalidArgument(path + " exists and is not a socket");
      ::unlink(path.c_str());
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::chmod(path.c_str(), 0660) != 0 || ::listen(fd, 1024) != 0) {
      Status st2 = Status::IOError("cannot listen on " + path + ": " + std::strerror(errno));
      ::close(fd);
      return st2;
    }
    storage::SetDayTimes(path);
    *out = fd;
    *url = "http+unix://" + path;
    return Status::OK();
  }
  size_t colon = cfg.listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("listen must be host:port");
  std::string host = cfg.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::string port = cfg.listen.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr)
    return Status::InvalidArgument("listen: cannot resolve " + cfg.listen);
  int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  bool ok = fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            ::bind(fd, res->ai_addr, res->ai_addrlen) == 0 && ::listen(fd, 1024) == 0;
  ::freeaddrinfo(res);
  if (!ok) {
    Status st = Status::IOError("cannot listen on " + cfg.listen + ": " + std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return st;
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  int bound = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  *out = fd;
  *url = "https://" + cfg.listen.substr(0, colon) + ":" + std::to_string(bound) + "/";
  return Status::OK();
}

// TLS 1.2 or 1.3 with forward secrecy only; no compression, renegotiation or
// resumption state kept on the server.
Status TlsContext(const Config& cfg, SSL_CTX** out) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::IOError("TLS: cannot make a context");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // CLEANSE_PLAINTEXT: OpenSSL wipes what it decrypted once it is read,
  // rather than keep a source's bytes in its record buffer until overwritten.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET |
                               SSL_OP_CLEANSE_PLAINTEXT);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // Idle connections give their TLS buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // Read several records per system call: without read-ahead OpenSSL reads
  // each 16 KiB record's header and body apart, two reads per record. Data
  // read ahead waits in OpenSSL's buffer (Conn::NextRequest looks there).
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, kTlsReadBuffer);
  bool ok = SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") == 1 &&
            SSL_CTX_use_certificate_chain_file(ctx, cfg.tls_cert.c_str()) == 1 &&
            SSL_CTX_use_PrivateKey_file(ctx, cfg.tls_key.c_str(), SSL_FILETYPE_PEM) == 1 &&
            SSL_CTX_check_private_key(ctx) == 1;
  if (!ok) {
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return Status::InvalidArgument("cannot load the TLS certificate " + cfg.tls_cert +
                                   " or key " + cfg.tls_key);
  }
  *out = ctx;
  return Status::OK();
}

// One connection, in its fiber: handshake, then requests until the client
// stops, a request is refused, the keep-alive budget is spent or the server
// stops.
void ServeConnection(const Config& cfg, Router& router, SSL_CTX* ctx, int fd) {
  SSL* ssl = nullptr;
  if (ctx != nullptr) {
    int one = 1;
    // Without it each response's second write waits ~40 ms for an ACK
    // (Nagle), capping a keep-alive connection at ~22 submissions a second.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ssl = SSL_new(ctx);
    if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
      if (ssl != nullptr) SSL_free(ssl);
      return;
    }
  }
  Conn conn(cfg, fd, ssl);
  // The handshake and the first request head share one deadline.
  conn.StartHead(Clock::now() + std::chrono::seconds(cfg.header_timeout));
  if (ssl != nullptr && !conn.Handshake()) return conn.Close(false);
  bool answered = false;
  for (int left = kKeepAliveMax; left > 0; left--) {
    if (answered) {
      if (!conn.NextRequest(Clock::now() + kKeepAlive)) return conn.Close(false);
      conn.StartHead(Clock::now() + std::chrono::seconds(cfg.header_timeout));
    }
    bool closed = false;
    const bool close = left == 1 || Fibers::Stopping();
    bool ok = router.Serve(conn, close, closed);
    answered = true;
    if (!ok || closed || close) return conn.Close(ok);
  }
  conn.Close(true);
}

}  // namespace

Status Serve(const Config& cfg, Writer* writer, storage::Store* store,
             const std::function<Status()>& ready) {
  ::signal(SIGPIPE, SIG_IGN);
  SSL_CTX* ctx = nullptr;
  const bool tls = !cfg.unix_socket();
  if (tls) SD_RETURN_IF_ERROR(TlsContext(cfg, &ctx));
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_owner(ctx, &SSL_CTX_free);
  Router router;
  Site site(cfg, writer, store, tls);
  Configure(router, site);

  int lfd = -1;
  std::string url;
  SD_RETURN_IF_ERROR(Listen(cfg, &lfd, &url));
  std::vector<std::string> sockets;
  if (cfg.unix_socket()) sockets.push_back(cfg.listen.substr(5));
  Status dropped = DropPrivileges(cfg, sockets);
  if (!dropped.ok()) {
    ::close(lfd);
    if (cfg.unix_socket()) ::unlink(sockets[0].c_str());
    return dropped;
  }

  Fibers fibers(cfg.threads, cfg.connections);
  if (ready) {
    Status st = ready();
    if (!st.ok()) {
      ::close(lfd);
      return st;
    }
  }
  // SIGINT/SIGTERM stop the server cleanly and SIGUSR1 asks for today's
  // counts: serve blocked them before any thread started, and this thread
  // takes them. It also reports each day's counts when the day ends (UTC),
  // so the time of that line says nothing about any source.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  std::thread waiter([&] {
    uint32_t day = storage::Today();
    for (;;) {
      // Wakes at least twice a minute to end expired sessions (their keys).
      timespec wait{std::min<time_t>(30, time_t(86400 - ::time(nullptr) % 86400)), 0};
      int sig = sigtimedwait(&set, nullptr, &wait);
      site.sessions.Expire();
      site.drafts.Expire();
      if (sig < 0 && storage::Today() == day) continue;
      if (sig == SIGINT || sig == SIGTERM) break;
      if (sig == SIGUSR1) {
        std::fprintf(stderr, "sealdrop-server: today so far: %s, %s\n", Stats().Report().c_str(),
                     StoreFill(store, cfg).c_str());
      } else if (storage::Today() != day) {
        std::fprintf(stderr, "sealdrop-server: %s: %s, %s\n", storage::DayName(day).c_str(),
                     Stats().Report().c_str(), StoreFill(store, cfg).c_str());
        Stats().Reset();
        day = storage::Today();
        // Best effort: missed today, the next start or day tries again.
        (void)ExpireOldReplies(cfg, store);
        // Best effort too: what failed waits for the next start or day.
        Deleted deleted;
        (void)DeleteDue(cfg, store, day, &deleted);
        // Their chunks go a round at a time, between uploads; a stop first
        // leaves them to the sweep at the next start.
        for (const auto* ids : {&deleted.expired, &deleted.acknowledged})
          for (const storage::Id& id : *ids) (void)writer->Abort(id);
        ReportDeleted(cfg, deleted);
      }
      std::fflush(stderr);
    }
    fibers.Stop(kStopGrace);
  });
  std::fprintf(stderr, "sealdrop-server: listening on %s\n", url.c_str());
  std::fflush(stderr);
  Status st = fibers.Run(lfd, [&](int fd) { ServeConnection(cfg, router, ctx, fd); });
  // If Run ended on its own, wake the waiter.
  ::kill(::getpid(), SIGTERM);
  waiter.join();
  ::close(lfd);
  // A Unix socket stays: a confined process unlinks nothing, and Listen
  // replaces it at the next start (systemd removes the runtime directory).
  std::fprintf(stderr, "sealdrop-server: stopped\n");
  return st;
}

}  // namespace server
}  // namespace sealdrop
