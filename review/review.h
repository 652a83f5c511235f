// sealdrop-review internals. This binary links no HTTP, TLS or socket code:
// it runs on the air-gapped laptop and cannot talk to a network.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"
#include "format/format.h"
#include "storage/storage.h"

namespace sealdrop {
namespace review {

// Turns a source-supplied file name into one safe to create in a directory:
// no path separators, no control or bidirectional-override characters, no
// leading dots or dashes, valid UTF-8, at most 200 bytes. Never empty.
std::string SafeName(const std::string& name);

// Makes untrusted text safe to print on a terminal: control characters
// (but newline and tab), bidirectional overrides and invalid UTF-8 become '_'.
std::string Printable(const std::string& text);

// Turns an instance fingerprint as a person types or pastes it (the 64
// hexadecimal digits of the instance key that `sealdrop-server init` prints,
// in either case, with spaces or colons between digits) into 64 lowercase hex
// digits in *out. InvalidArgument for anything else, such as a shortened key:
// a prefix would be easier to match by a key made to look alike.
Status NormaliseFingerprint(const std::string& text, std::string* out);

// The EU whistleblowing directive's deadlines: an acknowledgement within 7
// days of receipt, feedback within 3 months (91 days) of the acknowledgement
// or of those 7 days. The first reply acknowledges; a later reply, or
// closing the case, is the feedback.
struct Deadlines {
  uint32_t ack_due = 0, feedback_due = 0;  // days
  bool acknowledged = false, fed_back = false;
  bool ack_overdue = false, feedback_overdue = false;
};
Deadlines DeadlinesOf(const storage::SubmissionRec& rec, const format::Triage& t,
                      const std::vector<storage::QueuedReply>& replies, uint32_t today);

// A progress line on standard error for long imports and extractions, shown
// only when standard error is a terminal, at most five times a second, and
// erased when done: output meant for scripts stays as it is.
class Progress {
 public:
  // `bytes`: the amounts are bytes, shown in MiB; otherwise counts. With
  // `show` false it stays silent (a command whose own lines show progress).
  Progress(std::string what, uint64_t total, bool bytes, bool show = true);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void Update(uint64_t done);
  void Done();

 private:
  std::string Amount(uint64_t n) const;
  std::string what_;
  uint64_t total_;
  bool bytes_, on_, shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

// Reads a passphrase from `file` (first line) or, if file is empty, from the
// terminal with echo off. `confirm` asks twice.
Status ReadPassphrase(const std::string& file, const char* prompt, bool confirm,
                      crypto::Secret* out);

// Writes the plaintext of one extracted file, past the page cache where the
// file system allows, so that the final fsync finds little left to do and no
// copy of the plaintext stays behind in memory:
// - with O_DIRECT while the writes are whole 4 KiB blocks from aligned memory
//   (guarded buffers of whole pages are): no copy at all;
// - through the page cache from the first write that cannot be direct (the
//   unaligned tail, a file system without direct I/O, or try_direct false) to
//   the end of the file: writeback starts every 8 MiB, and each window, once
//   on disk, is dropped from the cache. A writeback error is reported by the
//   Write that waits for it (a later fsync would not report it again).
// Not thread-safe; the caller still fsyncs the file.
class PlainWriter {
 public:
  explicit PlainWriter(int fd, bool try_direct = true);
  PlainWriter(const PlainWriter&) = delete;
  PlainWriter& operator=(const PlainWriter&) = delete;
  Status Write(const uint8_t* p, size_t n);
  bool direct() const { return direct_; }

 private:
  // 4 KiB covers the logical block size of common disks and file systems.
  static constexpr size_t kBlock = 4096;
  static constexpr uint64_t kWindow = 8u << 20;
  int fd_;
  bool direct_ = false;
  uint64_t off_ = 0;    // bytes written
  uint64_t start_ = 0;  // buffered: the window being filled starts here
  uint64_t prev_ = 0;   // buffered: the window being written back starts here
};

}  // namespace review
}  // namespace sealdrop
