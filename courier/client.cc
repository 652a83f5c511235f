// The courier's HTTP client: every request signed, over TLS (checked against
// --ca) or a Unix socket, optionally through tor's HTTP CONNECT port.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_USE_POLL
#include "httplib.h"

#include <ctime>

#include "courier/courier.h"

namespace sealdrop {
namespace courier {
namespace {

constexpr size_t kMaxText = 64 * 1024;

std::unique_ptr<httplib::Client> Connect(const Endpoint& at, Status* st) {
  std::unique_ptr<httplib::Client> cli;
  if (at.url.rfind("unix:", 0) == 0) {
    cli.reset(new httplib::Client(at.url.substr(5)));
    cli->set_address_family(AF_UNIX);
  } else if (at.url.rfind("https://", 0) == 0) {
    cli.reset(new httplib::Client(at.url));
    if (!cli->is_valid()) {
      *st = Status::InvalidArgument("cannot use the address " + at.url);
      return nullptr;
    }
    if (!at.ca.empty()) cli->set_ca_cert_path(at.ca.c_str());
    cli->enable_server_certificate_verification(true);
  } else {
    *st = Status::InvalidArgument("the server must be https://host:port or unix:/path, not " +
                                  at.url);
    return nullptr;
  }
  if (!at.proxy.empty()) {
    const size_t colon = at.proxy.rfind(':');
    if (colon == std::string::npos) {
      *st = Status::InvalidArgument("--proxy must be host:port");
      return nullptr;
    }
    cli->set_proxy(at.proxy.substr(0, colon), std::atoi(at.proxy.c_str() + colon + 1));
  }
  cli->set_connection_timeout(60, 0);
  cli->set_read_timeout(300, 0);
  cli->set_write_timeout(300, 0);
  *st = Status::OK();
  return cli;
}

}  // namespace

Status Send(const Endpoint& at, const crypto::SigningKey& key, const std::string& method,
            const std::string& target, const std::string& body,
            const std::function<bool(const char*, size_t)>& sink, Answer* out) {
  *out = Answer{};
  Status st;
  std::unique_ptr<httplib::Client> cli = Connect(at, &st);
  if (!cli) return st;
  format::RequestHead h;
  h.method = method;
  h.target = target;
  h.instance = at.instance;
  h.length = body.size();
  crypto::Hash256(reinterpret_cast<const uint8_t*>(body.data()), body.size(), h.body.data());
  h.time = uint64_t(::time(nullptr));
  crypto::RandomBytes(h.nonce.data(), h.nonce.size());
  format::SignRequest(key, &h);
  httplib::Headers headers;
  for (const auto& kv : format::RequestHeaders(h)) headers.emplace(kv.first, kv.second);

  auto keep_text = [out](const char* p, size_t n) {
    if (out->text.size() < kMaxText) out->text.append(p, std::min(n, kMaxText - out->text.size()));
    return true;
  };
  httplib::Result r;
  if (method == "GET") {
    r = cli->Get(
        target, headers,
        [out](const httplib::Response& res) {
          out->status = res.status;
          out->transfer = res.get_header_value("Sealdrop-Transfer");
          return true;
        },
        [&](const char* p, size_t n) {
          return out->status == 200 && sink ? sink(p, n) : keep_text(p, n);
        });
    // A bodiless answer (204) may skip the handler above.
    if (r) out->status = r->status;
  } else {
    r = cli->Post(target, headers, body, "application/octet-stream");
    if (r) {
      out->status = r->status;
      keep_text(r->body.data(), r->body.size());
    }
  }
  if (!r) {
    if (out->status == 200) return Status::IOError("the transfer broke off: " + httplib::to_string(r.error()));
    return Status::IOError("no answer from " + at.url + ": " + httplib::to_string(r.error()));
  }
  return Status::OK();
}

}  // namespace courier
}  // namespace sealdrop
