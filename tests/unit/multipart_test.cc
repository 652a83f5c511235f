#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "server/multipart.h"

using namespace sealdrop;
using namespace sealdrop::server;

namespace {

struct Part {
  PartHeader h;
  std::string body;
};

// Feeds `body` in pieces of `step` bytes; returns whether parsing succeeded
// and ended at the closing delimiter.
bool Parse(const std::string& boundary, const std::string& body, size_t step,
           std::vector<Part>* parts, std::string* error = nullptr) {
  MultipartParser p(boundary);
  MultipartParser::Handler h;
  h.part = [&](const PartHeader& ph) {
    parts->push_back({ph, ""});
    return true;
  };
  h.data = [&](const char* d, size_t n) {
    REQUIRE(!parts->empty());
    parts->back().body.append(d, n);
    return true;
  };
  for (size_t i = 0; i < body.size(); i += step)
    if (!p.Feed(body.data() + i, std::min(step, body.size() - i), h)) {
      if (error) *error = p.error();
      return false;
    }
  return p.done();
}

const std::string kB = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

std::string Browserish() {
  return "--" + kB + "\r\n"
         "Content-Disposition: form-data; name=\"message\"\r\n\r\n"
         "hello\r\nworld --" + kB.substr(0, 10) + "\r\n"
         "--" + kB + "\r\n"
         "Content-Disposition: form-data; name=\"files\"; filename=\"a %22q%22.txt\"\r\n"
         "Content-Type: text/plain\r\n\r\n"
         "file one\r\n\r\n"
         "--" + kB + "\r\n"
         "Content-Disposition: form-data; name=\"files\"; filename=\"\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n"
         "\r\n--" + kB + "--\r\n";
}

}  // namespace

TEST_CASE("BrowserFormParsesAtEverySplit", "[multipart]") {
  for (size_t step : {size_t(1), size_t(2), size_t(3), size_t(7), size_t(64), size_t(100000)}) {
    std::vector<Part> parts;
    REQUIRE(Parse(kB, Browserish(), step, &parts));
    REQUIRE(parts.size() == 3);
    REQUIRE(parts[0].h.name == "message");
    REQUIRE_FALSE(parts[0].h.has_filename);
    REQUIRE(parts[0].body == "hello\r\nworld --" + kB.substr(0, 10));
    REQUIRE(parts[1].h.filename == "a \"q\".txt");
    REQUIRE(parts[1].h.content_type == "text/plain");
    REQUIRE(parts[1].body == "file one\r\n");
    REQUIRE(parts[2].h.has_filename);
    REQUIRE(parts[2].h.filename.empty());
    REQUIRE(parts[2].body.empty());
  }
}

// Cut in three at every pair of places: whatever is carried over between
// calls, a delimiter that begins in it, or spans it, or lies in the next
// input whole, is found, and no body byte is lost or repeated.
TEST_CASE("DelimiterAcrossAnyTwoCutsIsFound", "[multipart]") {
  const std::string body = Browserish();
  for (size_t a = 0; a <= body.size(); a++) {
    for (size_t b = a; b <= body.size(); b++) {
      MultipartParser p(kB);
      std::vector<Part> parts;
      MultipartParser::Handler h;
      h.part = [&](const PartHeader& ph) {
        parts.push_back({ph, ""});
        return true;
      };
      h.data = [&](const char* d, size_t n) {
        parts.back().body.append(d, n);
        return true;
      };
      REQUIRE(p.Feed(body.data(), a, h));
      REQUIRE(p.Feed(body.data() + a, b - a, h));
      REQUIRE(p.Feed(body.data() + b, body.size() - b, h));
      REQUIRE(p.done());
      REQUIRE(parts.size() == 3);
      REQUIRE(parts[0].body == "hello\r\nworld --" + kB.substr(0, 10));
      REQUIRE(parts[1].body == "file one\r\n");
      REQUIRE(parts[2].body.empty());
    }
  }
}

TEST_CASE("BodyThatAlmostMatchesTheDelimiterIsKept", "[multipart]") {
  std::string tricky = "\r\n--" + kB.substr(0, kB.size() - 1) + "X\r\n-\r\n--";
  std::string body = "--" + kB + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x\"\r\n\r\n" +
                     tricky + "\r\n--" + kB + "--";
  for (size_t step : {size_t(1), size_t(5), size_t(43), size_t(50), size_t(4096)}) {
    std::vector<Part> parts;
    REQUIRE(Parse(kB, body, step, &parts));
    REQUIRE(parts.size() == 1);
    REQUIRE(parts[0].body == tricky);
  }
}

TEST_CASE("Rfc8187FilenameWinsAndNonUtf8CharsetRefused", "[multipart]") {
  std::string body = "--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"plain.txt\"; "
                     "filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt\r\n\r\nx\r\n--b--";
  std::vector<Part> parts;
  REQUIRE(Parse("b", body, 3, &parts));
  REQUIRE(parts[0].h.filename == "отчёт.txt");
  std::string bad = "--b\r\nContent-Disposition: form-data; name=\"files\"; filename*=latin1''x\r\n\r\nx\r\n--b--";
  parts.clear();
  REQUIRE_FALSE(Parse("b", bad, 3, &parts));
}

TEST_CASE("MissingClosingDelimiterIsNotDone", "[multipart]") {
  std::string body = "--b\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi\r\n--b\r\n";
  std::vector<Part> parts;
  REQUIRE_FALSE(Parse("b", body, 1, &parts));
  parts.clear();
  REQUIRE_FALSE(Parse("b", "", 1, &parts));
}

TEST_CASE("MalformedPartsRefused", "[multipart]") {
  const char* bodies[] = {
      "--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nx\r\n--b--",   // not form-data
      "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",                       // no disposition
      "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",                 // no name
      "--b\r\nContent-Disposition: form-data; name=\"x\r\n\r\nx\r\n--b--",       // open quote
      "--b\r\nbroken header line\r\n\r\nx\r\n--b--",                             // no colon
      ("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n"
       "Content-Disposition: form-data; name=\"b\"\r\n\r\nx\r\n--b--"),            // two dispositions
      "--bX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--",    // garbage after boundary
  };
  for (const char* b : bodies) {
    std::vector<Part> parts;
    std::string err;
    INFO(b);
    REQUIRE_FALSE(Parse("b", b, 2, &parts, &err));
  }
}

TEST_CASE("EndlessHeadersOrPreambleRefusedWithBoundedMemory", "[multipart]") {
  std::string body = "--b\r\nX-Long: " + std::string(MultipartParser::kMaxHeaderBytes + 10, 'a');
  std::vector<Part> parts;
  std::string err;
  REQUIRE_FALSE(Parse("b", body, 1000, &parts, &err));
  REQUIRE(err == "part headers too long");
  parts.clear();
  REQUIRE_FALSE(Parse("b", std::string(100000, 'x'), 1000, &parts, &err));
  REQUIRE(err == "no multipart boundary found");
}

TEST_CASE("HandlerStopEndsParsing", "[multipart]") {
  MultipartParser p("b");
  MultipartParser::Handler h;
  h.part = [](const PartHeader&) { return true; };
  h.data = [](const char*, size_t) { return false; };
  std::string body = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n" + std::string(1000, 'x');
  REQUIRE_FALSE(p.Feed(body.data(), body.size(), h));
  REQUIRE_FALSE(p.Feed("more", 4, h));
}

TEST_CASE("BoundaryParsing", "[multipart]") {
  std::string b;
  REQUIRE(ParseBoundary("multipart/form-data; boundary=" + kB, &b).ok());
  REQUIRE(b == kB);
  REQUIRE(ParseBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b'c\"", &b).ok());
  REQUIRE(b == "a b'c");
  REQUIRE_FALSE(ParseBoundary("multipart/form-data", &b).ok());
  REQUIRE_FALSE(ParseBoundary("multipart/form-data; boundary=", &b).ok());
  REQUIRE_FALSE(ParseBoundary("multipart/form-data; boundary=" + std::string(71, 'a'), &b).ok());
  REQUIRE_FALSE(ParseBoundary("multipart/form-data; boundary=a\r\nb", &b).ok());
  REQUIRE_FALSE(ParseBoundary("application/x-www-form-urlencoded", &b).ok());
  REQUIRE_FALSE(ParseBoundary("multipart/mixed; boundary=abc", &b).ok());
}
