// The source pages: plain HTML forms, no JavaScript, nothing loaded from
// elsewhere. They must work in Tor Browser at its "Safest" level. The text is
// in the catalogs and the markup in the templates (server/site/); this file
// only fills them.
#include <sodium.h>

#include <algorithm>

#include "server/server.h"

namespace sealdrop {
namespace server {
namespace {

// The message box's maxlength. Browsers count it in UTF-16 code units, and
// without JavaScript the page cannot count bytes, so it must hold for the
// worst case: a code unit is at most 3 bytes of UTF-8 (U+0800 to U+FFFF; a
// surrogate pair is 4 bytes for 2 units), and a newline, 1 unit, is sent as
// CRLF, 2 bytes. A box that let more through would have the server refuse
// the message only after the whole upload, which can take long over Tor.
constexpr size_t kMaxUtf8PerUnit = 3;
constexpr size_t kMessageMaxLength = format::kMaxMessage / kMaxUtf8PerUnit;

const std::string* Get(const Vars& vars, std::string_view name) {
  for (const auto& kv : vars)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

uint64_t Count(const Vars& vars, std::string_view name) {
  const std::string* v = Get(vars, name);
  return v == nullptr ? 0 : std::strtoull(v->c_str(), nullptr, 10);
}

// The language menu: every language in its own name; the page's own is not a
// link. A link, not a cookie, carries the choice.
std::string Languages(const Catalog& current) {
  std::string out;
  for (const Catalog& c : Catalogs()) {
    std::string name = HtmlEscape(c.name());
    std::string attrs = " lang=\"" + c.code() + "\" dir=\"" + (c.rtl() ? "rtl" : "ltr") + "\"";
    if (&c == &current)
      out += "<span" + attrs + " aria-current=\"page\">" + name + "</span>\n";
    else
      out += "<a href=\"/?lang=" + c.code() + "\" hreflang=\"" + c.code() + "\"" + attrs + ">" + name + "</a>\n";
  }
  return out;
}

// An operator's text: paragraphs at blank lines, escaped.
std::string Paragraphs(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) end = text.size();
    std::string para = text.substr(pos, end - pos);
    para.erase(0, para.find_first_not_of(" \n\t"));
    para.erase(para.find_last_not_of(" \n\t") + 1);
    if (!para.empty()) out += "<p dir=\"auto\">" + HtmlEscape(para) + "</p>\n";
    pos = end + 2;
  }
  return out;
}

std::string Page(const Catalog& c, const std::string& title, const std::string& body) {
  Vars vars = {{"lang", c.code()},
               {"dir", c.rtl() ? "rtl" : "ltr"},
               {"title", title},
               {"noscript_style", NoScriptStyle()},
               {"languages", Languages(c)},
               {"body", body}};
  std::string page = Fill(SiteText("templates/layout.html"), c, vars);
  // The body may show what a source typed (a questionnaire's step).
  crypto::WipeString(&vars.back().second);
  return page;
}

}  // namespace

namespace {

// Room for `more` bytes in *out, its old buffer wiped if it must move.
void Room(std::string* out, size_t more) {
  if (out->size() + more <= out->capacity()) return;
  std::string bigger;
  bigger.reserve(std::max(out->capacity() * 2, out->size() + more));
  bigger.append(*out);
  crypto::WipeString(out);
  out->swap(bigger);
}

}  // namespace

void AppendWiping(std::string* out, std::string_view s) {
  Room(out, s.size());
  out->append(s);
}

// Fill grows its page with AppendWiping, and escapes into room made first:
// a page may show what a source typed (a questionnaire's step), and no copy
// of it may be left in freed memory.
std::string Fill(std::string_view tmpl, const Catalog& c, const Vars& vars) {
  std::string out;
  out.reserve(tmpl.size() * 2);
  auto escaped = [&out](const std::string& v) {
    Room(&out, 6 * v.size());  // '&quot;' is the longest an escaped byte gets
    AppendHtmlEscaped(&out, v.data(), v.size());
  };
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) {
      AppendWiping(&out, tmpl.substr(pos));
      break;
    }
    AppendWiping(&out, tmpl.substr(pos, open - pos));
    bool raw = tmpl.compare(open, 3, "{{{") == 0;
    size_t close = tmpl.find(raw ? "}}}" : "}}", open);
    if (close == std::string_view::npos) {
      AppendWiping(&out, tmpl.substr(open));
      break;
    }
    size_t inner = open + (raw ? 3 : 2);
    std::string_view tag = tmpl.substr(inner, close - inner);
    pos = close + (raw ? 3 : 2);
    if (raw) {
      if (const std::string* v = Get(vars, tag)) AppendWiping(&out, *v);
    } else if (tag.rfind("t:", 0) == 0) {
      escaped(c.Text(tag.substr(2), vars));
    } else if (tag.rfind("n:", 0) == 0) {
      size_t colon = tag.find(':', 2);
      std::string_view key = tag.substr(2, colon - 2);
      std::string_view var = colon == std::string_view::npos ? "" : tag.substr(colon + 1);
      escaped(c.Plural(key, Count(vars, var), vars));
    } else if (tag.rfind("?", 0) == 0) {
      std::string end = "{{/" + std::string(tag.substr(1)) + "}}";
      size_t stop = tmpl.find(end, pos);
      if (stop == std::string_view::npos) stop = tmpl.size();
      const std::string* v = Get(vars, tag.substr(1));
      if (v != nullptr && !v->empty()) {
        std::string section = Fill(tmpl.substr(pos, stop - pos), c, vars);
        AppendWiping(&out, section);
        crypto::WipeString(&section);
      }
      pos = std::min(tmpl.size(), stop + end.size());
    } else if (const std::string* v = Get(vars, tag)) {
      escaped(*v);
    }
  }
  return out;
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  AppendHtmlEscaped(&out, s.data(), s.size());
  return out;
}

const char kCodenameMark[] = "\x01codename\x01";
const char kReplyMark[] = "\x01reply\x01";

namespace {

// What the two message forms (the first and a follow-up) share: their
// fields (templates/fields.html) and the limits they state.
Vars FormVars(const Config& cfg, const Catalog& c, const std::string& csrf, int rows) {
  Vars vars = {{"lang", c.code()},
               {"csrf", csrf},
               {"rows", std::to_string(rows)},
               {"maxlength", std::to_string(kMessageMaxLength)},
               {"bytes", c.Number(format::kMaxMessage)},
               {"chars", c.Number(kMessageMaxLength / 1000 * 1000)},
               {"limit", c.Size(cfg.max_upload)},
               {"max_files", std::to_string(cfg.max_files)}};
  vars.emplace_back("fields", Fill(SiteText("templates/fields.html"), c, vars));
  return vars;
}

void AddAbout(const Config& cfg, const Catalog& c, Vars* vars) {
  if (const Config::About* about = cfg.AboutFor(c.code())) {
    vars->emplace_back("name", about->name);
    vars->emplace_back("description", Paragraphs(about->description));
    vars->emplace_back("policy", Paragraphs(about->policy));
  }
}

std::string CodenameBlock(const Catalog& c, const std::string& csrf, const CodenameAsk& ask) {
  const std::string first = std::to_string(ask.ask[0] + 1), second = std::to_string(ask.ask[1] + 1);
  return Fill(SiteText("templates/codename.html"), c,
              {{"lang", c.code()},
               {"csrf", csrf},
               {"codename", kCodenameMark},
               {"wrong", ask.wrong ? "1" : ""},
               {"first", first},
               {"second", second},
               {"word_first", c.Text("codename.word", {{"number", first}})},
               {"word_second", c.Text("codename.word", {{"number", second}})}});
}

}  // namespace

std::string IndexPage(const Config& cfg, const Catalog& c, const std::string& csrf,
                      const std::string& step) {
  Vars vars = FormVars(cfg, c, csrf, 10);
  AddAbout(cfg, c, &vars);
  vars.emplace_back("message_form", step.empty() ? "1" : "");
  vars.emplace_back("step", step);
  std::string body = Fill(SiteText("templates/index.html"), c, vars);
  std::string page = Page(c, c.Text("index.title"), body);
  // A questionnaire's step shows what the source typed: no copy of it stays
  // behind in freed memory.
  if (!step.empty()) {
    crypto::WipeString(&body);
    crypto::WipeString(&vars.back().second);
  }
  return page;
}

std::string CodenamePage(const Catalog& c, const std::string& csrf, const CodenameAsk& ask) {
  return Page(c, c.Text("codename.title"), CodenameBlock(c, csrf, ask));
}

std::string InboxPage(const Config& cfg, const Catalog& c, const std::string& csrf,
                      const std::vector<OpenedReply>& replies, bool deleted) {
  Vars vars = FormVars(cfg, c, csrf, 8);
  AddAbout(cfg, c, &vars);
  std::string list;
  for (const OpenedReply& r : replies)
    list += Fill(SiteText("templates/reply.html"), c,
                 {{"lang", c.code()},
                  {"csrf", csrf},
                  {"day", storage::DayName(r.day)},
                  {"id", crypto::ToHex(r.id.data(), r.id.size())},
                  {"readable", r.readable ? "1" : ""},
                  {"unreadable", r.readable ? "" : "1"},
                  {"text", kReplyMark}});
  vars.emplace_back("replies", list);
  vars.emplace_back("no_replies", replies.empty() ? "1" : "");
  vars.emplace_back("deleted", deleted ? "1" : "");
  vars.emplace_back("reply_days", std::to_string(cfg.reply_days));
  vars.emplace_back("idle_minutes", std::to_string(cfg.session_idle / 60));
  vars.emplace_back("questionnaire", cfg.questionnaire ? "1" : "");
  return Page(c, c.Text("inbox.title"), Fill(SiteText("templates/inbox.html"), c, vars));
}

std::string LoggedOutPage(const Catalog& c) {
  return Page(c, c.Text("logout.title"), Fill(SiteText("templates/loggedout.html"), c, {{"lang", c.code()}}));
}

std::string ReceiptPage(const Receipt& r, const Catalog& c, const std::string& csrf,
                        const CodenameAsk* ask, bool logged_in) {
  std::string files;
  for (size_t i = 0; i < r.file_sizes.size(); i++)
    files += "<li>" +
             HtmlEscape(c.Text("receipt.file", {{"number", std::to_string(i + 1)},
                                                {"size", c.Size(r.file_sizes[i])}})) +
             "</li>\n";
  Vars vars = {{"lang", c.code()},
               {"message_chars", std::to_string(r.message_chars)},
               {"answers", r.answers ? c.Number(r.answers) : ""},
               // A questionnaire has no message box: no line for one.
               {"message", r.answers ? "" : "1"},
               {"file_count", std::to_string(r.file_sizes.size())},
               {"file_list", files},
               {"codename_block", ask != nullptr ? CodenameBlock(c, csrf, *ask) : ""},
               {"logged_in", logged_in && ask == nullptr ? "1" : ""},
               {"anonymous", !logged_in && ask == nullptr ? "1" : ""}};
  return Page(c, c.Text("receipt.title"), Fill(SiteText("templates/receipt.html"), c, vars));
}

std::string ErrorPage(int status, const Catalog& c, std::string_view message, const Vars& vars) {
  Vars all = vars;
  all.emplace_back("lang", c.code());
  all.emplace_back("status", std::to_string(status));
  all.emplace_back("message", c.Text("error." + std::string(message), vars));
  return Page(c, c.Text("error.title"), Fill(SiteText("templates/error.html"), c, all));
}

const std::string& StyleSheet() {
  static const std::string css(SiteText("templates/style.css"));
  return css;
}

const std::string& NoScriptStyle() {
  static const std::string rule = ".js-on{display:none}";
  return rule;
}

const std::string& NoScriptStyleHash() {
  static const std::string hash = [] {
    unsigned char h[crypto_hash_sha256_BYTES];
    const std::string& rule = NoScriptStyle();
    crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(rule.data()), rule.size());
    char b64[sodium_base64_ENCODED_LEN(sizeof h, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
    return "'sha256-" + std::string(b64) + "'";
  }();
  return hash;
}

}  // namespace server
}  // namespace sealdrop
