// One error type for every module: errors travel as values, never as
// exceptions across module boundaries. An OK status costs nothing.
#pragma once

#include <string>
#include <utility>

namespace sealdrop {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kCorruption,       // stored or received bytes are malformed
    kInvalidArgument,  // the caller (or a user) asked for something impossible
    kIOError,
    kAuthFailed,       // a MAC, signature or passphrase did not verify
    kFull,             // the store's map or a quota is exhausted
    kTooLarge,         // an input exceeds a configured limit
    kVersion,          // a format version this build does not know
    kExists,
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status InvalidArgument(std::string m) {
    return Status(Code::kInvalidArgument, std::move(m));
  }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
  static Status AuthFailed(std::string m) { return Status(Code::kAuthFailed, std::move(m)); }
  static Status Full(std::string m) { return Status(Code::kFull, std::move(m)); }
  static Status TooLarge(std::string m) { return Status(Code::kTooLarge, std::move(m)); }
  static Status Version(std::string m) { return Status(Code::kVersion, std::move(m)); }
  static Status Exists(std::string m) { return Status(Code::kExists, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  bool Is(Code c) const { return code_ == c; }

  std::string ToString() const {
    if (ok()) return "OK";
    static const char* const kNames[] = {"OK",          "not found",     "corruption",
                                         "invalid argument", "I/O error", "authentication failed",
                                         "full",        "too large",     "unsupported version",
                                         "exists"};
    return std::string(kNames[static_cast<int>(code_)]) + ": " + msg_;
  }

 private:
  Status(Code c, std::string m) : code_(c), msg_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string msg_;
};

// Returns early from the enclosing function when `expr` is not OK.
#define SD_RETURN_IF_ERROR(expr)           \
  do {                                     \
    ::sealdrop::Status _sd_s = (expr);     \
    if (!_sd_s.ok()) return _sd_s;         \
  } while (0)

}  // namespace sealdrop
