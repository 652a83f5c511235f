// The source pages: plain HTML forms, no JavaScript, nothing loaded from
// elsewhere. They must work in Tor Browser at its "Safest" level.
#include <cstdio>

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

std::string Page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"referrer\" content=\"no-referrer\">\n"
         "<title>" + HtmlEscape(title) + "</title>\n"
         "<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n<body>\n<main>\n" +
         body + "</main>\n</body>\n</html>\n";
}

std::string HumanSize(uint64_t n) {
  char buf[64];
  if (n < 1024) {
    std::snprintf(buf, sizeof(buf), "%llu bytes", static_cast<unsigned long long>(n));
  } else {
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = double(n) / 1024;
    int u = 0;
    while (v >= 1024 && u < 3) v /= 1024, u++;
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, units[u]);
  }
  return buf;
}

// "1,048,576": limits are read by people.
std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); i++) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string IndexPage(const Config& cfg) {
  std::string limit = HumanSize(cfg.max_upload);
  return Page(
      "Send documents securely",
      "<h1>Send documents securely</h1>\n"
      "<p>What you send here is encrypted on arrival to the keys of the people who will read it. "
      "This server cannot read it, and it does not record who you are or where you are "
      "connecting from.</p>\n"
      "<form method=\"post\" action=\"/submit\" enctype=\"multipart/form-data\" "
      "accept-charset=\"utf-8\">\n"
      "<label for=\"message\">Message</label>\n"
      "<textarea id=\"message\" name=\"message\" dir=\"auto\" rows=\"10\" maxlength=\"" +
          std::to_string(kMessageMaxLength) + "\" aria-describedby=\"message-limit\"></textarea>\n"
      "<p class=\"hint\" id=\"message-limit\">Up to 1 MiB (" + Grouped(format::kMaxMessage) +
          " bytes): about " + Grouped(kMessageMaxLength / 1000 * 1000) +
          " characters. Send longer text as a file.</p>\n"
      "<label for=\"files\">Files (up to " + HtmlEscape(limit) + " in all, at most " +
          std::to_string(cfg.max_files) + " files)</label>\n"
      "<input id=\"files\" name=\"files\" type=\"file\" multiple>\n"
      "<p class=\"hint\">To add files from several folders, send them in separate "
      "submissions.</p>\n"
      "<button type=\"submit\">Send</button>\n"
      "</form>\n"
      "<h2>Before you send</h2>\n<ul>\n"
      "<li>Use Tor Browser, and this page's onion address.</li>\n"
      "<li>Documents can carry hidden information about their author (names, dates, "
      "device details). Remove it if you can; the people who read your submission will "
      "clean files again before use.</li>\n"
      "<li>Large uploads over Tor are slow. Keep this page open until you see the "
      "confirmation.</li>\n</ul>\n");
}

std::string ReceiptPage(const Receipt& r) {
  std::string body =
      "<h1>Received</h1>\n<p class=\"ok\">Your submission was encrypted and stored. Only its "
      "intended readers can open it.</p>\n<ul>\n";
  body += "<li>Message: " + std::to_string(r.message_chars) + " characters</li>\n";
  body += "<li>Files: " + std::to_string(r.file_sizes.size()) + "</li>\n";
  for (size_t i = 0; i < r.file_sizes.size(); i++)
    body += "<li>File " + std::to_string(i + 1) + ": " + HumanSize(r.file_sizes[i]) + "</li>\n";
  body += "</ul>\n<p>You can close this page, or <a href=\"/\">send something else</a>.</p>\n";
  return Page("Received", body);
}

std::string ErrorPage(int status, const std::string& message) {
  return Page("Not sent",
              "<h1>Not sent</h1>\n<p class=\"error\">" + HtmlEscape(message) +
                  "</p>\n<p>Nothing from this attempt was kept. <a href=\"/\">Back to the "
                  "form</a>.</p>\n<p class=\"hint\">Error " + std::to_string(status) + "</p>\n");
}

const std::string& StyleSheet() {
  static const std::string css =
      "html{font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b1b;background:#fafafa}\n"
      "main{max-width:40rem;margin:2rem auto;padding:0 1rem}\n"
      "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}\n"
      "label{display:block;font-weight:600;margin-top:1rem}\n"
      "textarea,input[type=file]{display:block;width:100%;box-sizing:border-box;margin-top:.3rem}\n"
      "textarea{font:inherit;padding:.4rem}\n"
      "button{margin-top:1.2rem;font:inherit;padding:.5rem 1.5rem;cursor:pointer}\n"
      ".hint{color:#555;font-size:.9rem}.ok{color:#0a5d00}.error{color:#a00000;font-weight:600}\n";
  return css;
}

}  // namespace server
}  // namespace sealdrop
