// A streaming multipart/form-data parser (RFC 7578 over RFC 2046), our own
// so that its limits are ours, it never buffers a part's body, and it can be
// fuzzed on its own (fuzz/multipart_fuzz.cc).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "base/status.h"
#include "crypto/crypto.h"

namespace sealdrop {
namespace server {

// Extracts the boundary from a Content-Type value. InvalidArgument if the
// type is not multipart/form-data or the boundary is missing or malformed.
Status ParseBoundary(const std::string& content_type, std::string* boundary);

// A source's file name and type are plaintext of a submission: they are
// kept in strings that wipe their memory (crypto::WipingAllocator).
struct PartHeader {
  crypto::WipedString name;          // form field name
  crypto::WipedString filename;      // empty for plain fields
  bool has_filename = false;         // filename="" (no file chosen) still counts
  crypto::WipedString content_type;
  ~PartHeader() {
    crypto::WipeString(&filename);
    crypto::WipeString(&content_type);
  }
};

class MultipartParser {
 public:
  static constexpr size_t kMaxHeaderBytes = 16 * 1024;  // all headers of one part

  struct Handler {
    // A new part begins. Return false to stop.
    std::function<bool(const PartHeader&)> part;
    // Body bytes of the current part, in order. Return false to stop.
    std::function<bool(const char* p, size_t n)> data;
  };

  explicit MultipartParser(const std::string& boundary);
  ~MultipartParser();  // wipes what it still holds
  MultipartParser(const MultipartParser&) = delete;
  MultipartParser& operator=(const MultipartParser&) = delete;

  // Feeds the next bytes of the body. Returns false on malformed input (see
  // error()) or when a handler stopped; the parser is then dead.
  bool Feed(const char* p, size_t n, const Handler& h);
  // True if the body ended properly: the closing delimiter was seen.
  bool done() const { return state_ == State::kEpilogue; }
  const std::string& error() const { return error_; }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kEpilogue, kFailed };
  bool Fail(const char* why);
  const char* Find(const char* p, size_t n) const;  // the delimiter, or nullptr
  bool ParseHeaders(const crypto::WipedString& block, PartHeader* out);

  crypto::WipedString delim_;   // "\r\n--" + boundary
  crypto::WipedString buf_;     // bytes not yet consumed (bounded)
  crypto::WipedString window_;  // carried bytes and the start of the next input
  State state_ = State::kPreamble;
  std::string error_;
};

}  // namespace server
}  // namespace sealdrop
