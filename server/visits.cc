// Sources who come back: the codename a first submission gives, its
// confirmation, logging in with it, the conversation page and logging out;
// and the cookies and form tokens that tie a browser to its session.
#include <sodium.h>

#include <cstring>

#include "server/front.h"

namespace sealdrop {
namespace server {
namespace {

// Cookies: HttpOnly, SameSite=Strict, Path=/; over HTTPS also Secure with
// the __Host- prefix (an onion's plain HTTP cannot carry Secure cookies in
// every browser, and its address already binds them to one origin).
std::string CookieName(const Site& site, const char* base) {
  return (site.tls ? "__Host-" : "") + std::string(base);
}

std::string CookieAttributes(const Site& site) {
  return std::string("; Path=/; HttpOnly; SameSite=Strict") + (site.tls ? "; Secure" : "");
}

// The value of cookie `name`, or "" (also for a malformed one).
std::string GetCookie(const httplib::Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    size_t start = header.find_first_not_of(' ', pos);
    if (start < end && header.compare(start, name.size(), name) == 0 &&
        start + name.size() < end && header[start + name.size()] == '=') {
      std::string value = header.substr(start + name.size() + 1, end - start - name.size() - 1);
      // Ours are 64 hex digits.
      if (value.size() == 64 && value.find_first_not_of("0123456789abcdef") == std::string::npos)
        return value;
      return "";
    }
    pos = end + 1;
  }
  return "";
}

void SetCookie(const Site& site, httplib::Response& res, const char* base, const std::string& value) {
  res.set_header("Set-Cookie", CookieName(site, base) + "=" + value + CookieAttributes(site));
}

void ClearCookie(const Site& site, httplib::Response& res, const char* base) {
  res.set_header("Set-Cookie", CookieName(site, base) + "=; Max-Age=0" + CookieAttributes(site));
}

std::string SessionCookie(const Site& site, const httplib::Request& req) {
  return GetCookie(req, CookieName(site, "sd-session"));
}

std::string RandomHex32() {
  uint8_t raw[32];
  crypto::RandomBytes(raw, sizeof raw);
  return crypto::ToHex(raw, sizeof raw);
}

std::string Redirect(const httplib::Request& req, const char* path) {
  return std::string(path) + "?lang=" + Language(req).code();
}

// Sends `page` with secrets[i] written where the i-th `mark` stands: the
// secrets go from guarded memory straight into the response body, whose room
// is reserved first so that no copy is left behind by a reallocation; the
// route table's logger wipes every body once it is sent (routes.cc).
template <class S>
void SendWithSecrets(httplib::Response& res, const std::string& page, const char* mark,
                     const std::vector<const S*>& secrets) {
  const size_t mark_len = std::strlen(mark);
  size_t room = page.size();
  for (const S* s : secrets) room += s->size();
  std::string body;
  body.reserve(room);
  size_t pos = 0;
  for (const S* s : secrets) {
    const size_t at = page.find(mark, pos);
    if (at == std::string::npos) break;
    body.append(page, pos, at - pos);
    body.append(reinterpret_cast<const char*>(s->data()), s->size());
    pos = at + mark_len;
  }
  body.append(page, pos, std::string::npos);
  res.set_content(std::move(body), kHtml);
}

void SendWithCodename(httplib::Response& res, const std::string& page, const crypto::Secret& codename) {
  SendWithSecrets<crypto::Secret>(res, page, kCodenameMark, {&codename});
}

// A reply's text as HTML, escaped into locked memory that is wiped when freed.
crypto::WipedString EscapedText(const crypto::Secret& text) {
  crypto::WipedString out;
  out.reserve(text.size() + text.size() / 8 + 16);
  AppendHtmlEscaped(&out, reinterpret_cast<const char*>(text.data()), text.size());
  return out;
}

// Reads a small urlencoded body (Hygiene bounded it) into guarded memory.
bool ReadSmallBody(const httplib::ContentReader& reader, crypto::Secret* body, size_t* len) {
  *body = crypto::Secret(8192);
  *len = 0;
  bool over = false;
  bool ok = reader([&](const char* d, size_t n) {
    if (*len + n > body->size()) {
      over = true;
      return false;
    }
    std::memcpy(body->data() + *len, d, n);
    *len += n;
    return true;
  });
  return ok && !over;
}

// Word i (0-based) of a codename: its offset and length.
bool WordAt(const crypto::Secret& codename, size_t i, size_t* off, size_t* len) {
  size_t start = 0, word = 0;
  for (size_t p = 0; p <= codename.size(); p++) {
    if (p == codename.size() || codename.data()[p] == ' ') {
      if (word == i) {
        *off = start;
        *len = p - start;
        return true;
      }
      word++;
      start = p + 1;
    }
  }
  return false;
}

bool SameWord(const crypto::Secret& codename, size_t i, const crypto::Secret& typed) {
  size_t off = 0, len = 0;
  if (!WordAt(codename, i, &off, &len)) return false;
  crypto::Secret t = crypto::NormalizeCodename(typed.data(), typed.size());
  return t.size() == len && crypto::Equal(t.data(), codename.data() + off, len);
}

void HandleLogin(Site& site, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader) {
  crypto::Secret body, typed;
  size_t len = 0;
  if (!ReadSmallBody(reader, &body, &len)) return Refuse(req, res, 400, "malformed_request");
  if (!FormField(body.data(), len, "codename", &typed)) typed = crypto::Secret(0);
  crypto::Secret codename = crypto::NormalizeCodename(typed.data(), typed.size());
  // The server keeps no record of who holds a codename (docs/INSTANCES.md):
  // seven words of the list log in, and the replies are those filed under
  // the reply key they derive, none for a phrase nobody was given. The
  // check names a mistyped word by its place, never by echoing it.
  size_t bad = 0;
  if (!crypto::CheckCodenameWords(codename, &bad).ok()) {
    if (bad == 0) return Refuse(req, res, 400, "codename_words");
    return Refuse(req, res, 400, "not_a_word", {{"number", std::to_string(bad)}});
  }
  crypto::SourceKeys keys;
  Status st = site.gate.Derive(codename, site.cfg.codename, &keys);
  if (st.Is(Status::Code::kFull)) return Refuse(req, res, 503, "busy");
  if (!st.ok()) return Refuse(req, res, 500, "server");
  // A new id at every log-in: an id planted in the browser before (session
  // fixation) never becomes a logged-in one.
  std::string old = SessionCookie(site, req);
  if (!old.empty()) site.sessions.Close(old);
  std::string id;
  st = site.sessions.Open(std::move(keys), crypto::Secret(), &id);
  if (!st.ok()) return Refuse(req, res, 503, "busy");
  SetCookie(site, res, "sd-session", id);
  SendConversation(site, req, res, id);
}

void HandleConfirm(Site& site, const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader) {
  crypto::Secret body, w1, w2;
  size_t len = 0;
  if (!ReadSmallBody(reader, &body, &len)) return Refuse(req, res, 400, "malformed_request");
  if (!FormField(body.data(), len, "w1", &w1)) w1 = crypto::Secret(0);
  if (!FormField(body.data(), len, "w2", &w2)) w2 = crypto::Secret(0);
  const std::string id = LiveSession(site, req);
  if (id.empty()) return Refuse(req, res, 403, "login_needed");
  site.sessions.With(id, [&](Sessions::Session& s) {
    if (!s.codename.empty() && SameWord(s.codename, s.ask[0], w1) &&
        SameWord(s.codename, s.ask[1], w2))
      s.codename = crypto::Secret();  // wiped: nothing will show it again
  });
  CodenameAsk ask;
  crypto::Secret words;
  if (!PendingCodename(site, id, &ask, &words)) return SendConversation(site, req, res, id);
  ask.wrong = true;
  SendWithCodename(res, CodenamePage(Language(req), site.sessions.Token("s:" + id), ask), words);
}

}  // namespace

bool PendingCodename(Site& site, const std::string& id, CodenameAsk* ask, crypto::Secret* words) {
  bool pending = false;
  site.sessions.With(id, [&](Sessions::Session& s) {
    if (s.codename.empty()) return;
    pending = true;
    if (ask != nullptr) ask->ask[0] = s.ask[0], ask->ask[1] = s.ask[1];
    if (words != nullptr) {
      *words = crypto::Secret(s.codename.size());
      std::memcpy(words->data(), s.codename.data(), s.codename.size());
    }
  });
  return pending;
}

void SendConversation(Site& site, const httplib::Request& req, httplib::Response& res,
                      const std::string& id, bool deleted) {
  // The session's keys, copied into guarded memory for as long as the page
  // takes to build.
  crypto::SourceKeys keys;
  bool found = site.sessions.With(id, [&](Sessions::Session& s) {
    keys.pk = s.keys.pk;
    keys.sk = crypto::Secret(s.keys.sk.size());
    std::memcpy(keys.sk.data(), s.keys.sk.data(), s.keys.sk.size());
  });
  if (!found) return Refuse(req, res, 403, "login_needed");
  std::vector<OpenedReply> replies;
  if (!ReadReplies(site.cfg, site.store, keys, &replies).ok())
    return Refuse(req, res, 500, "server");
  std::vector<crypto::WipedString> texts;
  texts.reserve(replies.size());
  std::vector<const crypto::WipedString*> shown;
  for (const OpenedReply& r : replies) {
    if (!r.readable) continue;
    texts.push_back(EscapedText(r.text));
    shown.push_back(&texts.back());
  }
  const std::string page = InboxPage(site.cfg, Language(req), site.sessions.Token("s:" + id),
                                     replies, deleted);
  SendWithSecrets<crypto::WipedString>(res, page, kReplyMark, shown);
  for (auto& t : texts) crypto::WipeString(&t);
}

namespace {

void HandleDeleteReply(Site& site, const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader) {
  crypto::Secret body, hex;
  size_t len = 0;
  if (!ReadSmallBody(reader, &body, &len)) return Refuse(req, res, 400, "malformed_request");
  const std::string id = LiveSession(site, req);
  if (id.empty()) return Refuse(req, res, 403, "login_needed");
  if (PendingCodename(site, id, nullptr, nullptr)) return res.set_redirect(Redirect(req, "/codename"), 303);
  std::vector<uint8_t> raw;
  storage::Id reply{};
  if (!FormField(body.data(), len, "id", &hex) ||
      !crypto::FromHex(std::string(reinterpret_cast<const char*>(hex.data()), hex.size()), &raw) ||
      raw.size() != reply.size())
    return Refuse(req, res, 400, "malformed_request");
  std::copy(raw.begin(), raw.end(), reply.begin());
  storage::Key32 source{};
  site.sessions.With(id, [&](Sessions::Session& s) { source = s.keys.pk; });
  // Only under the session's own reply key: no source can delete another's.
  // One already gone (a second click) is no error.
  Status st = site.store->DeleteReply(source, reply);
  if (!st.ok() && !st.Is(Status::Code::kNotFound)) return Refuse(req, res, 500, "server");
  SendConversation(site, req, res, id, true);
}

}  // namespace

std::string LiveSession(Site& site, const httplib::Request& req) {
  std::string id = SessionCookie(site, req);
  if (id.empty() || !site.sessions.With(id, [](Sessions::Session&) {})) return "";
  return id;
}

bool SessionGone(Site& site, const httplib::Request& req) {
  std::string id = SessionCookie(site, req);
  return !id.empty() && !site.sessions.With(id, [](Sessions::Session&) {});
}

bool FormTokenOk(Site& site, const httplib::Request& req) {
  const std::string token = req.get_param_value("csrf");
  if (token.empty()) return false;
  const std::string session = SessionCookie(site, req);
  if (!session.empty() && site.sessions.CheckToken("s:" + session, token)) return true;
  const std::string form = GetCookie(req, CookieName(site, "sd-form"));
  return !form.empty() && site.sessions.CheckToken("f:" + form, token);
}

std::string FormToken(Site& site, const httplib::Request& req, httplib::Response& res) {
  std::string form = GetCookie(req, CookieName(site, "sd-form"));
  if (form.empty()) {
    form = RandomHex32();
    SetCookie(site, res, "sd-form", form);
  }
  return site.sessions.Token("f:" + form);
}

Status IdentifySender(Site& site, const httplib::Request& req, Sender* out) {
  const std::string id = SessionCookie(site, req);
  if (!id.empty()) {
    // One look: a session that ended since Hygiene checked it is refused
    // here too, never taken for a new source.
    bool found = site.sessions.With(id, [&](Sessions::Session& s) { out->source.reply_key = s.keys.pk; });
    if (!found) return Status::NotFound("session ended");
    out->session = id;
    return Status::OK();
  }
  out->codename = crypto::NewCodename();
  SD_RETURN_IF_ERROR(site.gate.Derive(out->codename, site.cfg.codename, &out->keys));
  out->source.reply_key = out->keys.pk;
  out->fresh = true;
  return Status::OK();
}

void AnswerUpload(Site& site, const httplib::Request& req, httplib::Response& res, Sender* sender,
                  const Receipt& receipt) {
  const Catalog& c = Language(req);
  if (!sender->fresh) {
    CodenameAsk ask;
    crypto::Secret words;
    const std::string token = site.sessions.Token("s:" + sender->session);
    // Sent again before confirming: the codename is still to be saved.
    if (PendingCodename(site, sender->session, &ask, &words))
      return SendWithCodename(res, ReceiptPage(receipt, c, token, &ask), words);
    return res.set_content(ReceiptPage(receipt, c, token, nullptr, true), kHtml);
  }
  // A guarded copy for the page; the session keeps its own until confirmed.
  crypto::Secret words(sender->codename.size());
  std::memcpy(words.data(), sender->codename.data(), sender->codename.size());
  std::string id;
  Status st = site.sessions.Open(std::move(sender->keys), std::move(sender->codename), &id);
  CodenameAsk ask;
  if (st.ok()) {
    PendingCodename(site, id, &ask, nullptr);
    SetCookie(site, res, "sd-session", id);
  }
  // Without a session (too many at once) the codename is still shown: it is
  // the source's, and works at the next log-in.
  SendWithCodename(res, ReceiptPage(receipt, c, st.ok() ? site.sessions.Token("s:" + id) : "", &ask),
                   words);
}

void AddVisits(Router& svr, Site& site) {
  svr.Post("/login", [&site](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) { HandleLogin(site, req, res, reader); });
  svr.Post("/confirm", [&site](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) {
    HandleConfirm(site, req, res, reader);
  });
  svr.Get("/codename", [&site](const httplib::Request& req, httplib::Response& res) {
    const std::string id = LiveSession(site, req);
    CodenameAsk ask;
    crypto::Secret words;
    if (id.empty() || !PendingCodename(site, id, &ask, &words))
      return res.set_redirect(Redirect(req, id.empty() ? "/" : "/inbox"), 303);
    SendWithCodename(res, CodenamePage(Language(req), site.sessions.Token("s:" + id), ask), words);
  });
  svr.Get("/inbox", [&site](const httplib::Request& req, httplib::Response& res) {
    const std::string id = LiveSession(site, req);
    if (id.empty()) return res.set_redirect(Redirect(req, "/"), 303);
    if (PendingCodename(site, id, nullptr, nullptr))
      return res.set_redirect(Redirect(req, "/codename"), 303);
    SendConversation(site, req, res, id);
  });
  svr.Post("/reply/delete", [&site](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) {
    HandleDeleteReply(site, req, res, reader);
  });
  svr.Post("/logout", [&site](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader) {
    reader([](const char*, size_t) { return true; });
    const std::string id = SessionCookie(site, req);
    if (!id.empty()) site.sessions.Close(id);
    ClearCookie(site, res, "sd-session");
    res.set_content(LoggedOutPage(Language(req)), kHtml);
  });
}

}  // namespace server
}  // namespace sealdrop
