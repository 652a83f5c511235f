// The submission site's routes: request hygiene in front of every handler,
// the form and the upload, the stylesheet, and the answers to what is refused.
#include <chrono>

#include "server/front.h"

namespace sealdrop {
namespace server {

const Catalog& Language(const httplib::Request& req) {
  return PickCatalog(req.get_param_value("lang"), req.get_header_value("Accept-Language"));
}

void Refuse(const httplib::Request& req, httplib::Response& res, int status,
            std::string_view message, const Vars& vars) {
  res.status = status;
  res.set_content(ErrorPage(status, Language(req), message, vars), kHtml);
  // The unread rest of the body must never be parsed as a request.
  res.set_header("Connection", "close");
}

bool ReadForm(const Config& cfg, const httplib::Request& req,
              const httplib::ContentReader& reader,
              const std::function<bool(const char*, size_t)>& feed, bool* too_slow) {
  // cpp-httplib would run its own multipart parser on a multipart body; we
  // want the raw bytes for ours. The Request object is not const where
  // httplib made it, so this write is well defined.
  auto& headers = const_cast<httplib::Request&>(req).headers;
  auto ct = headers.find("Content-Type");
  if (ct != headers.end()) ct->second = "application/octet-stream";
  using Clock = std::chrono::steady_clock;
  uint64_t total = 0;
  const Clock::time_point begin = Clock::now();
  *too_slow = false;
  return reader([&](const char* data, size_t n) {
    total += n;
    Stats().Received(n);
    if (cfg.min_rate > 0) {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - begin).count();
      if (secs > 60 && total < uint64_t(secs) * cfg.min_rate) {
        *too_slow = true;
        return false;
      }
    }
    return feed(data, n);
  });
}

namespace {

// The body of a small form (log-in, confirmation, deleting a reply,
// log-out): a codename and two words fit many times over.
constexpr uint64_t kMaxSmallForm = 8192;

// What a form carries on top of the file bytes that max_upload counts, so
// that a submission at every limit is not refused for its length alone. Per
// file, a delimiter line (a boundary is at most 70 bytes) and the part's
// headers: the name, which a browser escapes at worst to 3 bytes a byte
// ('"' as %22), the type, and the header text around them. The message is
// allowed twice over, so that a message too long is refused by its own check,
// whose page says so, rather than by this one. The rest covers the message's
// part headers, the closing delimiter and a preamble.
uint64_t FormOverhead(const Config& cfg) {
  constexpr uint64_t kPerFile = (2 + 2 + 70 + 2) + 256 + 3 * format::kMaxName + format::kMaxName;
  return format::kMaxMessage * 2 + uint64_t(cfg.max_files) * kPerFile + 65536;
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

}  // namespace

void RefuseFor(const httplib::Request& req, httplib::Response& res, const Status& st,
               const Config& cfg) {
  const Catalog& c = Language(req);
  switch (st.code()) {
    case Status::Code::kTooLarge:
      // A message too long, in bytes: a source who counted characters needs
      // to hear that the limit is not in characters.
      if (st.message() == kMessageTooLong)
        return Refuse(req, res, 413, "message_too_long", {{"bytes", c.Number(format::kMaxMessage)}});
      return Refuse(req, res, 413, "too_large",
                    {{"limit", c.Size(cfg.max_upload)}, {"count", std::to_string(cfg.max_files)}});
    case Status::Code::kFull:
      if (st.message() == storage::kOnlySmall)
        return Refuse(req, res, 507, "full_large", {{"limit", c.Size(kSmallFiles)}});
      return Refuse(req, res, 507, "full");
    case Status::Code::kInvalidArgument:
    case Status::Code::kCorruption:
      return Refuse(req, res, 400, "malformed_upload");
    default:
      return Refuse(req, res, HttpStatusFor(st), "server");
  }
}

namespace {

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
// in res) if the request must not go further. Every POST must carry its
// form's token: a page from elsewhere cannot make a source's browser send,
// log in or log out (Sessions::Token).
bool Hygiene(Site& site, const httplib::Request& req, httplib::Response& res) {
  const Config& cfg = site.cfg;
  if (req.has_header("Content-Encoding")) {
    Refuse(req, res, 415, "compressed");
    return true;
  }
  if (req.has_header("Transfer-Encoding")) {
    Refuse(req, res, 411, "no_length");
    return true;
  }
  uint64_t len = 0;
  bool has_len = req.has_header("Content-Length");
  if (has_len && !ParseLength(req.get_header_value("Content-Length"), &len)) {
    Refuse(req, res, 400, "malformed_request");
    return true;
  }
  if (req.method == "POST") {
    // A questionnaire's step may carry files: it has the upload's limits.
    const bool upload = req.path == "/submit" || req.path == "/answer";
    if (!upload && req.path != "/login" && req.path != "/confirm" && req.path != "/logout" &&
        req.path != "/reply/delete") {
      Refuse(req, res, 405, "not_allowed");
      return true;
    }
    if (!has_len) {
      Refuse(req, res, 411, "no_length");
      return true;
    }
    if (len > (upload ? cfg.max_upload + FormOverhead(cfg) : kMaxSmallForm)) {
      if (upload) RefuseFor(req, res, Status::TooLarge(""), cfg);
      else Refuse(req, res, 413, "malformed_request");
      return true;
    }
    if (!FormTokenOk(site, req)) {
      Refuse(req, res, 403, "expired");
      return true;
    }
    // A follow-up from a session that has ended must not become a first
    // submission under a new codename.
    if (SessionGone(site, req) && req.path != "/login") {
      Refuse(req, res, 403, "login_needed");
      return true;
    }
    return false;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    Refuse(req, res, 405, "not_allowed");
    return true;
  }
  if (len > 0) {
    Refuse(req, res, 400, "malformed_request");
    return true;
  }
  return false;
}

void HandleSubmit(Site& site, const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader) {
  const Config& cfg = site.cfg;
  Form form(cfg, site.writer, storage::Today());
  Status st = form.Begin(req.get_header_value("Content-Type"));
  if (st.Is(Status::Code::kInvalidArgument))
    return Refuse(req, res, 400, "not_a_form");
  if (!st.ok()) return RefuseFor(req, res, st, cfg);
  Sender sender;
  st = IdentifySender(site, req, &sender);
  if (st.Is(Status::Code::kFull)) return Refuse(req, res, 503, "busy");
  if (st.Is(Status::Code::kNotFound)) return Refuse(req, res, 403, "login_needed");
  if (!st.ok()) return Refuse(req, res, 500, "server");
  form.SetSource(sender.source);
  bool too_slow = false;
  bool ok = ReadForm(cfg, req, reader,
                     [&](const char* data, size_t n) { return form.Feed(data, n); }, &too_slow);
  if (!ok) {
    if (too_slow)
      return Refuse(req, res, 408, "too_slow");
    if (!form.error().ok() && !form.error().Is(Status::Code::kInvalidArgument))
      return RefuseFor(req, res, form.error(), cfg);
    if (res.status == 413) return RefuseFor(req, res, Status::TooLarge(""), cfg);
    return Refuse(req, res, 400, "interrupted");
  }
  if (form.error().ok() && form.empty())
    return Refuse(req, res, 400, "empty");
  Receipt receipt;
  st = form.Finish(&receipt);
  if (st.Is(Status::Code::kInvalidArgument))
    return Refuse(req, res, 400, "interrupted");
  if (!st.ok()) return RefuseFor(req, res, st, cfg);
  res.status = 200;
  AnswerUpload(site, req, res, &sender, receipt);
}

}  // namespace

Site::Site(const Config& c, Writer* w, storage::Store* s, bool tls_on)
    : cfg(c),
      writer(w),
      store(s),
      sessions(c.sessions, std::chrono::seconds(c.session_idle), std::chrono::seconds(c.session_lifetime)),
      // As many drafts as sessions, idle as long; 64 MiB of answers in all
      // (at most 1 MiB each, format::kMaxAnswers).
      drafts(c.sessions, size_t(64) << 20, std::chrono::seconds(c.session_idle)),
      gate(c.login_workers, c.login_queue, std::chrono::seconds(20)),
      tls(tls_on) {}

void Configure(Router& svr, Site& site) {
  const Config& cfg = site.cfg;
  const bool tls = site.tls;
  httplib::Headers h = {
      {"Content-Security-Policy",
       // The hash lets <noscript>'s one rule hide the JavaScript warning.
       "default-src 'none'; style-src 'self' " + NoScriptStyleHash() +
           "; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
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

  svr.set_payload_max_length(size_t(cfg.max_upload + FormOverhead(cfg)));

  svr.set_pre_routing_handler([&site](const httplib::Request& req, httplib::Response& res) {
    return Hygiene(site, req, res) ? httplib::Server::HandlerResponse::Handled
                                   : httplib::Server::HandlerResponse::Unhandled;
  });
  // curl and some proxies ask before sending a large body: refuse it before a
  // single byte of it is sent.
  svr.set_expect_100_continue_handler([&site](const httplib::Request& req, httplib::Response& res) {
    return Hygiene(site, req, res) ? res.status : 100;
  });

  svr.Get("/", [&site](const httplib::Request& req, httplib::Response& res) {
    // A source who is logged in goes on where they were.
    std::string session = LiveSession(site, req);
    if (!session.empty()) {
      if (PendingCodename(site, session, nullptr, nullptr))
        return res.set_redirect("/codename?lang=" + Language(req).code(), 303);
      return SendConversation(site, req, res, session);
    }
    if (site.cfg.questionnaire) return SendQuestionnaire(site, req, res);
    res.set_content(IndexPage(site.cfg, Language(req), FormToken(site, req, res)), kHtml);
  });
  svr.Get("/style.css", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(StyleSheet(), "text/css; charset=utf-8");
  });
  // Browsers ask for it on every visit; answer without counting a refusal.
  svr.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  svr.Post("/submit", [&site](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader) {
    HandleSubmit(site, req, res, reader);
  });
  AddVisits(svr, site);
  AddSteps(svr, site);

  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    res.set_content(ErrorPage(res.status, Language(req), res.status == 404 ? "no_page" : "refused"),
                    kHtml);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Never let an exception's text reach a source; the Upload's destructor has
  // already removed whatever it wrote.
  svr.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        Refuse(req, res, 500, "server");
      });
  // No line per request (server.h, Counters): only counts. httplib calls
  // this after every answer, refusals before routing included.
  svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    Stats().Answered(res.status, req.path == "/submit");
    // Called once the answer is written. A page may hold a new codename
    // (visits.cc) or tell what was sent: wipe it rather than leave it in
    // freed memory.
    crypto::WipeString(&const_cast<httplib::Response&>(res).body);
  });
}


}  // namespace server
}  // namespace sealdrop
