// The reviewer API (sealdrop-server api): what a courier fetches and pushes,
// on its own listener, apart from the source site. Every request is signed
// (docs/FORMAT.md "Signed request") and checked from its head before any
// body is read; nothing is written per request, refusals are only counted.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <ctime>
#include <map>
#include <mutex>

#include "server/front.h"

namespace sealdrop {
namespace server {

namespace {

constexpr size_t kRefusals = size_t(format::Refusal::kWrongBody) + 1;
const char* const kRefusalNames[kRefusals] = {
    "none", "unsigned", "malformed", "unknown key", "wrong instance", "stale", "bad signature",
    "replayed", "wrong length", "wrong body"};

int HttpStatus(format::Refusal r) {
  switch (r) {
    case format::Refusal::kMalformed:
    case format::Refusal::kWrongLength:
    case format::Refusal::kWrongBody:
      return 400;
    case format::Refusal::kUnknownKey:
    case format::Refusal::kWrongInstance:
      return 403;
    default:
      return 401;
  }
}

bool Header(const httplib::Request& req, const std::string& name, std::string* out) {
  if (!req.has_header(name)) return false;
  *out = req.get_header_value(name);
  return true;
}

}  // namespace

// A bundle being downloaded: its submissions and day, so that a broken
// download resumes with the same bytes (WriteBundle is deterministic). Kept
// in memory only, for an hour at most.
struct Transfer {
  std::vector<storage::Id> ids;
  std::vector<storage::Id> deleted;  // replies sources deleted here
  uint32_t day = 0;
  bool resend = false;
  uint64_t made = 0;
};
constexpr size_t kMaxTransfers = 16;
constexpr uint64_t kTransferLife = 3600;

struct Api::Impl {
  const Config& cfg;
  const crypto::SigningKey& instance;
  storage::Store* store;
  const uint64_t since = uint64_t(::time(nullptr));
  format::NonceCache nonces;
  std::unique_ptr<httplib::Server> http;
  std::atomic<uint64_t> requests{0}, bundles{0}, outboxes{0};
  std::array<std::atomic<uint64_t>, kRefusals> refused{};
  std::mutex transfers_mu;
  std::map<std::string, std::shared_ptr<Transfer>> transfers;  // by token

  Impl(const Config& c, const crypto::SigningKey& k, storage::Store* s)
      : cfg(c), instance(k), store(s) {}

  void Refuse(httplib::Response& res, format::Refusal why, const std::string& message) {
    refused[size_t(why)].fetch_add(1, std::memory_order_relaxed);
    res.status = HttpStatus(why);
    res.set_header("Connection", "close");
    res.set_content("refused: " + message + "\n", "text/plain; charset=utf-8");
  }

  // Whether `body` hashes to the signed Sealdrop-Body, which Check found
  // in its form before routing.
  bool BodyMatches(const httplib::Request& req, const std::string& body) {
    format::Digest d;
    crypto::Hash256(reinterpret_cast<const uint8_t*>(body.data()), body.size(), d.data());
    return crypto::ToHex(d.data(), d.size()) == req.get_header_value("Sealdrop-Body");
  }

  httplib::Server::HandlerResponse Check(const httplib::Request& req, httplib::Response& res) {
    requests.fetch_add(1, std::memory_order_relaxed);
    format::RequestHead h;
    format::Refusal why = format::Refusal::kNone;
    std::string cl;
    const bool has_cl = Header(req, "Content-Length", &cl);
    Status st = format::ParseRequestHead(
        req.method, req.target, has_cl ? &cl : nullptr,
        [&](const std::string& n, std::string* v) { return Header(req, n, v); }, &h, &why);
    const uint64_t now = uint64_t(::time(nullptr));
    if (st.ok()) st = format::VerifyRequest(h, instance.pk, cfg.courier_keys(), now, since, &why);
    if (st.ok() && !nonces.Admit(h.nonce, h.time, now)) {
      why = format::Refusal::kReplayed;
      st = Status::AuthFailed("this request was seen before");
    }
    if (st.ok() && h.length > format::MaxOutbox()) {
      why = format::Refusal::kWrongLength;
      st = Status::TooLarge("a body longer than the longest outbox");
    }
    if (st.ok()) return httplib::Server::HandlerResponse::Unhandled;
    Refuse(res, why, st.message());
    return httplib::Server::HandlerResponse::Handled;
  }

  void Plain(httplib::Response& res, int status, const std::string& text) {
    res.status = status;
    res.set_content(text, "text/plain; charset=utf-8");
  }

  // A new transfer of what a bundle takes now, or the one a resumed
  // download names (?transfer=TOKEN&from=BYTES).
  void Fetch(const httplib::Request& req, httplib::Response& res) {
    if (!BodyMatches(req, req.body)) return Refuse(res, format::Refusal::kWrongBody, "body hash");
    const uint64_t now = uint64_t(::time(nullptr));
    std::shared_ptr<Transfer> t;
    std::string token;
    uint64_t from = 0;
    if (req.has_param("transfer")) {
      token = req.get_param_value("transfer");
      const std::string f = req.get_param_value("from");
      if (f.empty() || f.size() > 19 || f.find_first_not_of("0123456789") != std::string::npos)
        return Plain(res, 400, "from must be a byte offset\n");
      from = std::stoull(f);
      std::lock_guard<std::mutex> l(transfers_mu);
      auto it = transfers.find(token);
      if (it != transfers.end()) t = it->second;
      if (!t)
        return Plain(res, 410, "this transfer is gone (the API restarted, or an hour passed): "
                               "fetch again\n");
    } else {
      t = std::make_shared<Transfer>();
      t->resend = req.has_param("resend");
      t->day = storage::Today();
      t->made = now;
      if (!BundleIds(store, t->resend, &t->ids, &t->deleted).ok())
        return Plain(res, 500, "the store could not be read\n");
      if (t->ids.empty() && t->deleted.empty()) {
        res.status = 204;
        return;
      }
      uint8_t raw[16];
      crypto::RandomBytes(raw, sizeof raw);
      token = crypto::ToHex(raw, sizeof raw);
      std::lock_guard<std::mutex> l(transfers_mu);
      for (auto it = transfers.begin(); it != transfers.end();)
        it = it->second->made + kTransferLife < now ? transfers.erase(it) : std::next(it);
      while (transfers.size() >= kMaxTransfers) {
        auto oldest = transfers.begin();
        for (auto it = transfers.begin(); it != transfers.end(); ++it)
          if (it->second->made < oldest->second->made) oldest = it;
        transfers.erase(oldest);
      }
      transfers[token] = t;
      bundles.fetch_add(1, std::memory_order_relaxed);
    }
    res.set_header("Sealdrop-Transfer", token);
    // Streamed as it is read from the store: memory stays flat however
    // large the bundle. Marked exported only once every byte went out.
    res.set_chunked_content_provider(
        "application/octet-stream",
        [this, t, from](size_t, httplib::DataSink& sink) {
          uint64_t skip = from, sealed = 0;
          Status w = WriteBundle(store, instance, t->ids, t->deleted, t->day,
                                 [&](const uint8_t* p, size_t n) {
                                   // What the courier has already: made again, not sent.
                                   const size_t drop = size_t(std::min<uint64_t>(skip, n));
                                   skip -= drop;
                                   if (drop == n) return Status::OK();
                                   return sink.write(reinterpret_cast<const char*>(p) + drop,
                                                     n - drop)
                                              ? Status::OK()
                                              : Status::IOError("the courier went away");
                                 },
                                 &sealed);
          if (!w.ok() || skip > 0) return false;
          sink.done();
          return true;
        },
        [this, t](bool success) {
          // Sent is not received: the kernel and any proxy on the way hold
          // what went out, so the transfer stays resumable for its hour.
          if (success && !t->resend) (void)store->MarkExported(t->ids);
        });
  }

  void Push(const httplib::Request& req, httplib::Response& res,
            const httplib::ContentReader& reader) {
    std::string body;
    const size_t max = format::MaxOutbox();
    reader([&](const char* p, size_t n) {
      if (body.size() + n > max) return false;
      body.append(p, n);
      return true;
    });
    if (!BodyMatches(req, body))
      return Refuse(res, format::Refusal::kWrongBody, "the body is not the one signed");
    outboxes.fetch_add(1, std::memory_order_relaxed);
    OutboxImport done;
    std::string hint;
    Status st = ImportOutboxBytes(cfg, instance.pk, store, body, &done, &hint);
    if (!st.ok()) {
      res.status = st.Is(Status::Code::kExists) ? 409 : 422;
      res.set_content("error: " + st.message() + "\nhint: " + hint + "\n",
                      "text/plain; charset=utf-8");
      return;
    }
    res.set_content(done.Report(cfg.ack_grace_days), "text/plain; charset=utf-8");
  }
};

Api::Api(const Config& cfg, const crypto::SigningKey& instance, storage::Store* store)
    : impl_(new Impl(cfg, instance, store)) {}

Api::~Api() = default;

Status Api::Bind(std::string* url) {
  Impl& m = *impl_;
  const std::string& where = m.cfg.api_listen;
  if (where.empty()) return Status::InvalidArgument("config.toml sets no api_listen");
  const bool unix_socket = where.rfind("unix:", 0) == 0;
  if (unix_socket) {
    m.http.reset(new httplib::Server());
    m.http->set_address_family(AF_UNIX);
  } else {
    m.http.reset(new httplib::SSLServer(m.cfg.tls_cert.c_str(), m.cfg.tls_key.c_str()));
    if (!m.http->is_valid()) return Status::InvalidArgument("cannot load the TLS certificate or key");
  }
  httplib::Server& s = *m.http;
  // httplib sizes its pool when it starts listening, counting processors
  // (in /sys), which a confined process cannot do: size it now, the same.
  const size_t workers = CPPHTTPLIB_THREAD_POOL_COUNT;
  s.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  s.set_read_timeout(m.cfg.read_timeout, 0);
  s.set_write_timeout(m.cfg.write_timeout, 0);
  s.set_payload_max_length(format::MaxOutbox());
  s.set_pre_routing_handler(
      [&m](const httplib::Request& req, httplib::Response& res) { return m.Check(req, res); });
  s.Get("/v1/bundle",
        [&m](const httplib::Request& req, httplib::Response& res) { m.Fetch(req, res); });
  s.Post("/v1/outbox", [&m](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) { m.Push(req, res, reader); });
  if (unix_socket) {
    const std::string path = where.substr(5);
    ::unlink(path.c_str());
    // Only tor's group (or the operator) may connect: 0660.
    const mode_t old = ::umask(0117);
    const bool ok = s.bind_to_port(path, 80);
    ::umask(old);
    if (!ok) return Status::IOError("cannot listen on " + where);
    // As the site's socket: its times would say when the API last started.
    storage::SetDayTimes(path);
    *url = where;
    return Status::OK();
  }
  const size_t colon = where.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("api_listen must be host:port or unix:/path");
  const std::string host = where.substr(0, colon);
  const int port = std::atoi(where.c_str() + colon + 1);
  const int bound = port == 0 ? s.bind_to_any_port(host) : (s.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return Status::IOError("cannot listen on " + where);
  *url = "https://" + host + ":" + std::to_string(bound) + "/";
  return Status::OK();
}

Status Api::Run() {
  return impl_->http->listen_after_bind() ? Status::OK()
                                          : Status::IOError("the reviewer API stopped listening");
}

void Api::Stop() {
  if (impl_->http) impl_->http->stop();
}

std::string Api::Report() const {
  const Impl& m = *impl_;
  uint64_t total = 0;
  std::string reasons;
  for (size_t r = 1; r < kRefusals; r++) {
    const uint64_t n = m.refused[r].load(std::memory_order_relaxed);
    total += n;
    reasons += std::string(reasons.empty() ? "" : ", ") + kRefusalNames[r] + " " + Rounded(n);
  }
  return "requests " + Rounded(m.requests.load()) + ", bundles " + Rounded(m.bundles.load()) +
         ", outboxes " + Rounded(m.outboxes.load()) + ", refused " + Rounded(total) + " (" +
         reasons + ")";
}

}  // namespace server
}  // namespace sealdrop
