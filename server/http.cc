// The HTTP front: the only translation unit that includes cpp-httplib (the
// patched header from deploy/install-deps.sh, never /usr/include/httplib.h).
#define CPPHTTPLIB_OPENSSL_SUPPORT
// Larger receive buffer than the default 16 KiB: fewer parser calls per byte.
#define CPPHTTPLIB_RECV_BUFSIZ size_t(64u * 1024u)
#include "httplib.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "server/server.h"

// deploy/install-deps.sh refuses anything older than 0.18.7; CMake checks the patch.

namespace sealdrop {
namespace server {
namespace {

using Clock = std::chrono::steady_clock;
thread_local Clock::time_point t_start;
thread_local bool t_started = false;

constexpr const char* kHtml = "text/html; charset=utf-8";

// Multipart framing and the message ride on top of the file bytes.
uint64_t FormOverhead(const Config& cfg) {
  return format::kMaxMessage * 2 + uint64_t(cfg.max_files) * 4096 + 65536;
}

uint32_t Today() { return uint32_t(::time(nullptr) / 86400); }

// Route names for the access log: never the raw path or query.
const char* RouteName(const httplib::Request& req) {
  if (req.path == "/") return "/";
  if (req.path == "/style.css") return "/style.css";
  if (req.path == "/submit") return "/submit";
  if (req.path == "/favicon.ico") return "/favicon.ico";
  return "(other)";
}

void Refuse(httplib::Response& res, int status, const std::string& msg) {
  res.status = status;
  res.set_content(ErrorPage(status, msg), kHtml);
  // The unread rest of the body must never be parsed as a request.
  res.set_header("Connection", "close");
}

int HttpStatusFor(const Status& st) {
  switch (st.code()) {
    case Status::Code::kTooLarge: return 413;
    case Status::Code::kFull: return 507;
    case Status::Code::kInvalidArgument:
    case Status::Code::kCorruption: return 400;
    default: return 500;
  }
}

std::string MessageFor(const Status& st, const Config& cfg) {
  switch (st.code()) {
    case Status::Code::kTooLarge:
      return "Your submission is larger than this server accepts (" +
             std::to_string(cfg.max_upload >> 20) + " MiB of files, " +
             std::to_string(cfg.max_files) + " files, 1 MiB of message). Send less at once.";
    case Status::Code::kFull:
      return "The server has no room for your submission right now. Please try again later.";
    case Status::Code::kInvalidArgument:
    case Status::Code::kCorruption:
      return "The upload was malformed. Please use the form on this site.";
    default:
      return "Something went wrong on the server.";
  }
}

bool ParseLength(const std::string& v, uint64_t* out) {
  if (v.empty() || v.size() > 19) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + uint64_t(c - '0');
  }
  *out = n;
  return true;
}

// Request hygiene in front of every handler. Returns true (with the refusal
// in res) if the request must not go further.
bool Hygiene(const Config& cfg, const httplib::Request& req, httplib::Response& res) {
  if (req.has_header("Content-Encoding")) {
    Refuse(res, 415, "Compressed uploads are not accepted.");
    return true;
  }
  if (req.has_header("Transfer-Encoding")) {
    Refuse(res, 411, "Uploads must say how long they are. Please use the form on this site.");
    return true;
  }
  uint64_t len = 0;
  bool has_len = req.has_header("Content-Length");
  if (has_len && !ParseLength(req.get_header_value("Content-Length"), &len)) {
    Refuse(res, 400, "The request was malformed.");
    return true;
  }
  if (req.method == "POST" && req.path == "/submit") {
    if (!has_len) {
      Refuse(res, 411, "Uploads must say how long they are. Please use the form on this site.");
      return true;
    }
    if (len > cfg.max_upload + FormOverhead(cfg)) {
      Refuse(res, 413, MessageFor(Status::TooLarge(""), cfg));
      return true;
    }
    return false;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    Refuse(res, 405, "That is not something this site does.");
    return true;
  }
  if (len > 0) {
    Refuse(res, 400, "The request was malformed.");
    return true;
  }
  return false;
}

void HandleSubmit(const Config& cfg, Writer* writer, const httplib::Request& req,
                  httplib::Response& res, const httplib::ContentReader& reader) {
  Form form(cfg, writer, Today());
  Status st = form.Begin(req.get_header_value("Content-Type"));
  if (st.Is(Status::Code::kInvalidArgument))
    return Refuse(res, 400, "The upload was not sent as a form. Please use the form on this site.");
  if (!st.ok()) return Refuse(res, HttpStatusFor(st), MessageFor(st, cfg));
  // cpp-httplib would run its own multipart parser on a multipart body; we
  // want the raw bytes for ours. The Request object is not const where
  // httplib made it, so this write is well defined.
  auto& headers = const_cast<httplib::Request&>(req).headers;
  auto ct = headers.find("Content-Type");
  if (ct != headers.end()) ct->second = "application/octet-stream";

  uint64_t total = 0;
  const Clock::time_point begin = Clock::now();
  bool too_slow = false;
  bool ok = reader([&](const char* data, size_t n) {
    total += n;
    if (cfg.min_rate > 0) {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - begin).count();
      if (secs > 60 && total < uint64_t(secs) * cfg.min_rate) {
        too_slow = true;
        return false;
      }
    }
    return form.Feed(data, n);
  });
  if (!ok) {
    if (too_slow)
      return Refuse(res, 408, "The upload was too slow and was stopped. Please try again.");
    if (!form.error().ok() && !form.error().Is(Status::Code::kInvalidArgument))
      return Refuse(res, HttpStatusFor(form.error()), MessageFor(form.error(), cfg));
    if (res.status == 413) return Refuse(res, 413, MessageFor(Status::TooLarge(""), cfg));
    return Refuse(res, 400,
                  "The upload was interrupted or malformed, so nothing was kept. Please try again.");
  }
  if (form.error().ok() && form.empty())
    return Refuse(res, 400, "There was nothing to send: write a message or choose a file.");
  Receipt receipt;
  st = form.Finish(&receipt);
  if (st.Is(Status::Code::kInvalidArgument))
    return Refuse(res, 400,
                  "The upload was interrupted or malformed, so nothing was kept. Please try again.");
  if (!st.ok()) return Refuse(res, HttpStatusFor(st), MessageFor(st, cfg));
  res.status = 200;
  res.set_content(ReceiptPage(receipt), kHtml);
}

void Configure(httplib::Server& svr, const Config& cfg, Writer* writer, bool tls) {
  httplib::Headers h = {
      {"Content-Security-Policy",
       "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Cache-Control", "no-store"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"},
  };
  if (tls) h.emplace("Strict-Transport-Security", "max-age=63072000");
  svr.set_default_headers(h);

  const uint32_t threads = cfg.threads, queue = cfg.queue;
  svr.new_task_queue = [threads, queue] { return new httplib::ThreadPool(threads, queue); };
  svr.set_read_timeout(cfg.read_timeout, 0);
  svr.set_write_timeout(cfg.write_timeout, 0);
  // Without it each response's second write waits ~40 ms for an ACK (Nagle),
  // capping a keep-alive connection at ~22 submissions a second.
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_timeout(5);
  svr.set_keep_alive_max_count(100);
  svr.set_payload_max_length(size_t(cfg.max_upload + FormOverhead(cfg)));

  svr.set_pre_routing_handler([&cfg](const httplib::Request& req, httplib::Response& res) {
    t_start = Clock::now();
    t_started = true;
    return Hygiene(cfg, req, res) ? httplib::Server::HandlerResponse::Handled
                                  : httplib::Server::HandlerResponse::Unhandled;
  });
  // curl and some proxies ask before sending a large body: refuse it before a
  // single byte of it is sent.
  svr.set_expect_100_continue_handler([&cfg](const httplib::Request& req, httplib::Response& res) {
    return Hygiene(cfg, req, res) ? res.status : 100;
  });

  svr.Get("/", [&cfg](const httplib::Request&, httplib::Response& res) {
    res.set_content(IndexPage(cfg), kHtml);
  });
  svr.Get("/style.css", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(StyleSheet(), "text/css; charset=utf-8");
  });
  // Browsers ask for it on every visit; answer without logging a 404.
  svr.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  svr.Post("/submit", [&cfg, writer](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
    HandleSubmit(cfg, writer, req, res, reader);
  });

  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg = res.status == 404 ? "There is no such page." : "The request was refused.";
    res.set_content(ErrorPage(res.status, msg), kHtml);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Never let an exception's text reach a source; the Upload's destructor has
  // already removed whatever it wrote.
  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        Refuse(res, 500, "Something went wrong on the server.");
      });
  // Method, route, status and duration: nothing that could identify a source.
  svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    // Refusals made before routing (a bad Range, an Expect: 100-continue
    // answer) have no start time: their duration is "-".
    std::string ms = "-";
    if (t_started)
      ms = std::to_string(
               std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_start)
                   .count()) + "ms";
    t_started = false;
    std::fprintf(stderr, "sealdrop-server: access %s %s %d %s\n",
                 req.method.size() <= 8 ? req.method.c_str() : "(other)", RouteName(req),
                 res.status, ms.c_str());
  });
}

}  // namespace

Status Serve(const Config& cfg, Writer* writer) {
  ::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<httplib::Server> svr;
  bool tls = !cfg.unix_socket();
  if (tls) {
    auto s = std::make_unique<httplib::SSLServer>(cfg.tls_cert.c_str(), cfg.tls_key.c_str());
    if (!s->is_valid())
      return Status::InvalidArgument("cannot load the TLS certificate " + cfg.tls_cert +
                                     " or key " + cfg.tls_key);
    svr = std::move(s);
  } else {
    svr = std::make_unique<httplib::Server>();
  }
  Configure(*svr, cfg, writer, tls);

  std::string url;
  if (cfg.unix_socket()) {
    std::string path = cfg.listen.substr(5);
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        return Status::InvalidArgument(path + " exists and is not a socket");
      ::unlink(path.c_str());
    }
    svr->set_address_family(AF_UNIX);
    if (!svr->bind_to_port(path, 80)) return Status::IOError("cannot listen on " + path);
    ::chmod(path.c_str(), 0660);
    url = "http+unix://" + path;
  } else {
    size_t colon = cfg.listen.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("listen must be host:port");
    std::string host = cfg.listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    int port = std::atoi(cfg.listen.c_str() + colon + 1);
    if (port == 0) {
      port = svr->bind_to_any_port(host);
      if (port <= 0) return Status::IOError("cannot listen on " + cfg.listen);
    } else if (!svr->bind_to_port(host, port)) {
      return Status::IOError("cannot listen on " + cfg.listen + " (in use?)");
    }
    url = "https://" + cfg.listen.substr(0, colon) + ":" + std::to_string(port) + "/";
  }

  // SIGINT/SIGTERM stop the server cleanly: main blocked them before any
  // thread started, and this thread takes them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    svr->stop();
  });
  std::fprintf(stderr, "sealdrop-server: listening on %s\n", url.c_str());
  std::fflush(stderr);
  bool ok = svr->listen_after_bind();
  if (waiter.joinable()) {
    // If listen ended on its own, wake the waiter.
    ::kill(::getpid(), SIGTERM);
    waiter.join();
  }
  if (cfg.unix_socket()) ::unlink(cfg.listen.substr(5).c_str());
  std::fprintf(stderr, "sealdrop-server: stopped\n");
  return ok ? Status::OK() : Status::IOError("the listener failed");
}

}  // namespace server
}  // namespace sealdrop
