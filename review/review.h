// sealdrop-review internals. This binary links no HTTP, TLS or socket code:
// it runs on the air-gapped laptop and cannot talk to a network.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <array>
#include <functional>
#include <string>

#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"
#include "format/format.h"
#include "stats/stats.h"
#include "storage/storage.h"

namespace sealdrop {
namespace review {

// Turns a source-supplied file name into one safe to create in a directory:
// no path separators, no control or bidirectional-override characters, no
// leading dots or dashes, valid UTF-8, at most 200 bytes. Never empty.
std::string SafeName(const std::string& name);

// Splits a file name into its stem and its extension (with the dot; at most
// 16 bytes, else none), so that "name (2).ext" and "name.original.ext" can
// be made beside it.
void SplitName(const std::string& name, std::string* stem, std::string* ext);

// Makes untrusted text safe to print on a terminal: control characters
// (but newline and tab), bidirectional overrides and invalid UTF-8 become '_'.
std::string Printable(const std::string& text);

// crypto::NormaliseFingerprint, as the review tool's commands call it.
using crypto::NormaliseFingerprint;

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

// crypto::ReadPassphrase, as the review tool's commands call it.
using crypto::ReadPassphrase;

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


// --- Safe extraction (scrub.cc) ----------------------------------------------
// What an extracted file really is and what in it is risky, and a copy of it
// without metadata. Hostile files are parsed only by Debian's tools, each in
// its own process that holds no key: file(1) (libmagic), qpdf and mat2.

// One run of a tool: its exit status (-1 if killed or not started), whether
// it overran its time, and the start of its standard error.
struct ToolRun {
  int exit = -1;
  bool timed_out = false;
  std::string err;
};

// Runs argv[0] (found on PATH) with argv, its standard input /dev/null, a
// minimal environment (with TMPDIR=tmpdir if given) and no other
// descriptor; `read_out` reads its standard output (a FILE*); the tool and
// what it started are killed after `timeout` seconds. Fails only when the
// tool cannot be started (NotFound: it is not installed).
Status RunTool(const std::vector<std::string>& argv, int timeout,
               const std::function<void(FILE*)>& read_out, ToolRun* run,
               const std::string& tmpdir = "");

struct Inspection {
  std::string mime;                // libmagic's MIME type of the content
  std::vector<std::string> risks;  // "an executable", "Office macros", "JavaScript", ...
};

// Asks file(1) for the type of `path`, then looks for what makes it risky to
// open: executables and scripts; Office macros (a `vbaProject.bin` member of
// an Office Open XML zip, or a `_VBA_PROJECT` stream in an OLE document);
// JavaScript, launch actions and embedded files in PDFs, from qpdf's JSON.
Status Inspect(const std::string& path, Inspection* out);

// The risks in a PDF from qpdf's JSON (version 2) on `in`; a PDF qpdf cannot
// read is a risk of its own, which the caller adds.
Status PdfRisks(FILE* in, std::vector<std::string>* risks);

// Whether `path` holds one of `needles` as bytes (read in blocks, nothing
// parsed).
Status Contains(const std::string& path, const std::vector<std::string>& needles, bool* found);

// The fields of `mat2 --show`'s output, "key: value" (inside an archive,
// "member: key: value"), values made printable.
std::vector<std::string> Mat2Fields(const std::string& show);

struct Scrubbed {
  bool done = false;                 // a clean copy replaced the file
  std::string why_not;               // when not done
  std::vector<std::string> removed;  // the fields mat2 showed before and not after
  std::string original;              // the original's name, when kept
};

// Runs mat2 on `name` in directory `dir` as a file of type `mime` (mat2 goes
// by the name's extension, so the copy it reads is named from the type, not
// from what the source called it). On success the clean copy takes `name`,
// and the original is kept beside it as "<stem>.original<ext>" if asked,
// else deleted. Nothing else in `dir` is replaced; work happens in a private
// subdirectory that is removed at the end.
Status Scrub(const std::string& dir, const std::string& name, const std::string& mime,
             bool keep_original, Scrubbed* out);

// --- Cases: what `stats` counts (cases.cc) -----------------------------------
// One submission as the vault's index knows it.
struct Facts {
  uint32_t day = 0;
  bool has_source = false;
  std::array<uint8_t, 16> source{};  // format::IndexEntry::source
  std::string country, kind, detention, outcome;  // empty: not answered, not set
};
// A source counts once: its case takes the day of its first submission, and
// for each answer and the outcome the newest submission that has one, since
// a source who writes again tells what changed. Submissions without a reply
// key are a case each. In order of first day.
std::vector<stats::Case> CountOnce(const std::vector<Facts>& all);

}  // namespace review
}  // namespace sealdrop
