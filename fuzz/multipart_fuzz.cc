// multipart_fuzz: server/multipart.{h,cc}, the streaming multipart/form-data
// parser that reads the source's request body.
//
// Input: first line = boundary (at most 256 bytes), the rest = body.
// The boundary line is also given to ParseBoundary, alone and as
// "multipart/form-data; boundary=<line>". The body is parsed twice: fed in
// pieces whose sizes come from the input bytes, and in one piece. Oracles
// besides the sanitizers: no data before a part header; a parser that
// failed stays failed; and if the piecewise parse did not fail, the one-piece
// parse (whose limits are never stricter) must not fail either and must
// yield exactly the same parts, bodies and end state.
#include <cstring>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "server/multipart.h"

using sealdrop::server::MultipartParser;
using sealdrop::server::ParseBoundary;
using sealdrop::server::PartHeader;

namespace {

struct Parsed {
  std::vector<std::string> headers;  // one per part, fields joined
  std::vector<std::string> bodies;
  bool failed = false;
  bool done = false;
  std::string error;
};

std::string Describe(const PartHeader& h) {
  std::string s(h.name.data(), h.name.size());
  s += '\0';
  s.append(h.filename.data(), h.filename.size());
  s += '\0';
  s += h.has_filename ? '1' : '0';
  s += '\0';
  s.append(h.content_type.data(), h.content_type.size());
  return s;
}

Parsed Run(const std::string& boundary, const uint8_t* body, size_t n, bool pieces) {
  Parsed out;
  MultipartParser p(boundary);
  MultipartParser::Handler h;
  h.part = [&](const PartHeader& ph) {
    out.headers.push_back(Describe(ph));
    out.bodies.emplace_back();
    return true;
  };
  h.data = [&](const char* d, size_t len) {
    FUZZ_CHECK(!out.bodies.empty(), "body bytes before any part header");
    FUZZ_CHECK(len > 0 || d != nullptr);
    out.bodies.back().append(d, len);
    return true;
  };
  size_t pos = 0;
  while (pos < n) {
    const size_t k = pieces ? sealdrop::fuzz::PieceSize(body + pos, n - pos) : n;
    if (!p.Feed(reinterpret_cast<const char*>(body + pos), k, h)) {
      out.failed = true;
      out.error = p.error();
      FUZZ_CHECK(!out.error.empty(), "a failed parse without an error message");
      // A dead parser stays dead.
      FUZZ_CHECK(!p.Feed("\r\n", 2, h), "Feed succeeded after a failure");
      FUZZ_CHECK(!p.done(), "done() after a failure");
      break;
    }
    pos += k;
  }
  if (!out.failed) {
    out.done = p.done();
    // Bytes after the closing delimiter are ignored.
    if (out.done) FUZZ_CHECK(p.Feed("--x\r\n", 5, h) && p.done(), "epilogue not ignored");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string line;
  const uint8_t* body = nullptr;
  size_t body_size = 0;
  sealdrop::fuzz::SplitFirstLine(data, size, 256, &line, &body, &body_size);

  std::string b1, b2;
  const bool ok1 = ParseBoundary(line, &b1).ok();
  const bool ok2 = ParseBoundary("multipart/form-data; boundary=" + line, &b2).ok();
  for (const std::string* b : {ok1 ? &b1 : nullptr, ok2 ? &b2 : nullptr}) {
    if (b == nullptr) continue;
    FUZZ_CHECK(!b->empty() && b->size() <= 70, "ParseBoundary accepted a bad boundary");
    FUZZ_CHECK(b->find_first_of("\r\n\"") == std::string::npos, "boundary with CR, LF or quote");
  }
  // Production only builds a parser from a boundary ParseBoundary accepted;
  // failing that the raw line is used, as the parser must not care.
  const std::string boundary = ok1 ? b1 : ok2 ? b2 : line;

  Parsed pieces = Run(boundary, body, body_size, true);
  Parsed whole = Run(boundary, body, body_size, false);
  if (!pieces.failed) {
    FUZZ_CHECK(!whole.failed, "parse in one piece failed where the piecewise one did not: " +
                                  whole.error);
    FUZZ_CHECK(pieces.headers == whole.headers, "part headers depend on how the body is split");
    FUZZ_CHECK(pieces.bodies == whole.bodies, "part bodies depend on how the body is split");
    FUZZ_CHECK(pieces.done == whole.done, "end state depends on how the body is split");
  }
  return 0;
}
