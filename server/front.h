// The HTTP front's own header, for http.cc (connections), routes.cc (the
// submission site) and visits.cc (sources who come back): the only files that
// include cpp-httplib, the patched header from deploy/install-deps.sh, never
// /usr/include/httplib.h. Every one of them must see the same settings.
#pragma once

#define CPPHTTPLIB_OPENSSL_SUPPORT
// poll, not select: descriptors past FD_SETSIZE are ordinary here.
#define CPPHTTPLIB_USE_POLL
// Larger receive buffer than the default 16 KiB: fewer parser calls per byte.
#define CPPHTTPLIB_RECV_BUFSIZ size_t(64u * 1024u)
#include "httplib.h"

#include "server/server.h"

namespace sealdrop {
namespace server {

// httplib's request processing without its listener or threads.
class Router final : public httplib::Server {
 public:
  bool Serve(httplib::Stream& strm, bool close, bool& closed) {
    static const std::string kNone;
    return process_request(strm, kNone, 0, kNone, 0, close, closed, nullptr);
  }
};

constexpr const char* kHtml = "text/html; charset=utf-8";

// Everything the handlers share, for the life of Serve.
struct Site {
  Site(const Config& c, Writer* w, storage::Store* s, bool tls);
  const Config& cfg;
  Writer* writer;
  storage::Store* store;  // replies (Replies, DeleteReply)
  Sessions sessions;
  Drafts drafts;  // questionnaires part-way through
  KeyGate gate;
  const bool tls;
};

// Installs every route, the request hygiene and the common headers.
void Configure(Router& svr, Site& site);
// The routes of sources who come back (visits.cc): /login, /codename,
// /confirm, /inbox, /reply/delete, /logout.
void AddVisits(Router& svr, Site& site);

// The language of a request's pages: ?lang= from a link or a form's action,
// else Accept-Language.
const Catalog& Language(const httplib::Request& req);
// A refusal page; `message` is a key of the catalogs' [error] section. The
// connection closes after it: an unread body must never pass for a request.
void Refuse(const httplib::Request& req, httplib::Response& res, int status,
            std::string_view message, const Vars& vars = {});
// The refusal for a failed upload: too large, store full, malformed, ...
void RefuseFor(const httplib::Request& req, httplib::Response& res, const Status& st,
               const Config& cfg);

// --- The questionnaire (steps.cc) --------------------------------------------------
// GET and POST /answer: a step at a time, with the visitor's draft.
void AddSteps(Router& svr, Site& site);
// The index page with the step the visitor is on (the first for a new one).
void SendQuestionnaire(Site& site, const httplib::Request& req, httplib::Response& res);

// Hands a form's raw body to `feed` for our multipart parser (not
// httplib's), refusing a client slower than min_rate once the body is a
// minute old. False if `feed` stopped, the body ended early or *too_slow.
bool ReadForm(const Config& cfg, const httplib::Request& req,
              const httplib::ContentReader& reader,
              const std::function<bool(const char*, size_t)>& feed, bool* too_slow);

// --- Sessions over HTTP (visits.cc) ----------------------------------------------
// The live session the request's cookie names, or "".
std::string LiveSession(Site& site, const httplib::Request& req);
// Whether a POST carries the token its form was given (?csrf=): the one bound
// to its live session, or to the visitor's form cookie. Checked before any
// body is read.
bool FormTokenOk(Site& site, const httplib::Request& req);
// Whether session `id` still holds a codename its source has not confirmed
// saving; if so, the words to ask for and a guarded copy of it (either may
// be null).
bool PendingCodename(Site& site, const std::string& id, CodenameAsk* ask, crypto::Secret* words);
// The conversation page of session `id`, answered at once rather than by a
// redirect: over Tor every round trip costs seconds.
// With the replies the session's keys open; `deleted` says one was just
// deleted.
void SendConversation(Site& site, const httplib::Request& req, httplib::Response& res,
                      const std::string& id, bool deleted = false);
// True if the request names a session (a cookie) that is no longer live.
bool SessionGone(Site& site, const httplib::Request& req);
// The form cookie, set on the response if the request had none; its token.
std::string FormToken(Site& site, const httplib::Request& req, httplib::Response& res);

// Who sends an upload: the logged-in source, or a new source whose codename is
// made here. Runs before the body is read, since a new codename costs a
// derivation (KeyGate: a busy gate refuses the upload at once).
struct Sender {
  SourceRef source;
  std::string session;      // the live session, if logged in
  crypto::SourceKeys keys;  // a new source's
  crypto::Secret codename;  // a new source's
  bool fresh = false;
};
Status IdentifySender(Site& site, const httplib::Request& req, Sender* out);
// After the upload committed: a new source's session opens and the receipt
// shows the codename to keep; a logged-in source's links back to their
// conversation.
void AnswerUpload(Site& site, const httplib::Request& req, httplib::Response& res, Sender* sender,
                  const Receipt& receipt);

}  // namespace server
}  // namespace sealdrop
