// What both command-line tools share: start-up, error reporting in the house
// manner ("tool: error: ..." then "tool: hint: ...") and their exit codes,
// parsing with CLI11 without letting its exceptions escape, and small-file I/O.
#pragma once

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"

namespace sealdrop {
namespace cli {

// Every tool starts the same way: libsodium ready, whatever it creates
// private to its user, and its memory (keys, plaintext) out of reach of the
// user's other processes (no ptrace, no /proc/<pid>/mem: say, a file parser
// that `extract --scrub` runs, if exploited) and of core dumps. False (after
// saying why) if it cannot run.
inline bool Start(const char* tool) {
  if (!crypto::Init().ok()) {
    std::fprintf(stderr, "%s: error: libsodium failed to initialise\n", tool);
    return false;
  }
  ::umask(077);
  const rlimit none{0, 0};
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || ::setrlimit(RLIMIT_CORE, &none) != 0) {
    std::fprintf(stderr, "%s: error: cannot keep this process's memory private: %s\n", tool,
                 std::strerror(errno));
    return false;
  }
  return true;
}

// Exit status: 1 when authentication failed, 2 for usage or I/O errors.
inline int Fail(const char* tool, const Status& st, const std::string& hint = "") {
  std::fprintf(stderr, "%s: error: %s\n", tool, st.message().c_str());
  if (!hint.empty()) std::fprintf(stderr, "%s: hint: %s\n", tool, hint.c_str());
  return st.Is(Status::Code::kAuthFailed) ? 1 : 2;
}

// Returns -1 when parsing succeeded; otherwise the exit status to use
// (0 after --help).
inline int Parse(const char* tool, CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: error: %s\n%s: hint: see %s --help\n", tool, e.what(), tool, tool);
    return 2;
  }
  return -1;
}

// A subcommand as a tool's table of commands holds it (server/main.cc,
// review/main.cc): each file of the tool's cmd/ adds its own.
struct Command {
  CLI::App* app;            // the subcommand, to learn whether it was chosen
  std::function<int()> run;  // its exit status
};

// Parses the command line and runs the subcommand chosen; the exit status.
inline int Run(const char* tool, CLI::App& app, const std::vector<Command>& commands, int argc,
               char** argv) {
  if (int rc = Parse(tool, app, argc, argv); rc >= 0) return rc;
  for (const Command& c : commands)
    if (*c.app) return c.run();
  return 2;
}

// Reads a small file whole; TooLarge past `max` bytes. The file's access
// time stays as it was where the reader owns it (O_NOATIME): on a server it
// would otherwise tell when the instance was last started or exported.
inline Status ReadFile(const std::string& path, std::string* out, size_t max = 1 << 20) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  out->clear();
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
    out->append(buf, size_t(n));
    if (out->size() > max) {
      ::close(fd);
      return Status::TooLarge(path + " is too large");
    }
  }
  ::close(fd);
  if (n < 0) return Status::IOError("cannot read " + path);
  return Status::OK();
}

// Writes all n bytes to fd, through short writes and interruptions. `what`
// names the file in the error.
inline Status WriteAll(int fd, const void* data, size_t n, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::IOError("cannot write " + what + ": " + std::strerror(errno));
    p += w;
    n -= size_t(w);
  }
  return Status::OK();
}

// Creates a new `<path>.partial-XXXXXX` with `mode`, open for writing in
// *fd; its name in *tmp.
inline Status OpenTemp(const std::string& path, mode_t mode, int* fd, std::string* tmp) {
  *tmp = path + ".partial-XXXXXX";
  *fd = ::mkostemp(tmp->data(), O_CLOEXEC);
  if (*fd < 0) return Status::IOError("cannot create " + *tmp + ": " + std::strerror(errno));
  if (::fchmod(*fd, mode) != 0) {
    ::close(*fd);
    ::unlink(tmp->c_str());
    return Status::IOError("cannot set the mode of " + *tmp);
  }
  return Status::OK();
}

// Writes `data` to a new `<path>.partial-XXXXXX` with `mode`, synced; its
// name in *tmp.
inline Status WriteTemp(const std::string& path, const std::string& data, mode_t mode,
                        std::string* tmp) {
  int fd = -1;
  SD_RETURN_IF_ERROR(OpenTemp(path, mode, &fd, tmp));
  Status st = WriteAll(fd, data.data(), data.size(), *tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Status::IOError("cannot sync " + *tmp);
  if (::close(fd) != 0 && st.ok()) st = Status::IOError("cannot write " + *tmp);
  if (!st.ok()) ::unlink(tmp->c_str());
  return st;
}

// Syncs the directory holding `path`, so that a new name is on disk too.
inline void SyncParent(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

// Creates `path` with `mode`, refusing to replace anything, and syncs it. The
// bytes go to a temporary name beside it first: a file under `path` is always
// whole, and a crash leaves at most a `<path>.partial-XXXXXX`.
// Gives the synced temporary file `tmp` the name `path`, refusing to replace
// anything there, and syncs the directory; `tmp` is gone either way.
inline Status PublishNew(const std::string& tmp, const std::string& path) {
  // A rename that refuses to replace; USB sticks' FAT has no hard links but
  // supports this. Where the file system has no such rename, a hard link.
  Status st;
  bool moved = false;
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0)
    moved = true;
  else if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
    st = Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  else if (::link(tmp.c_str(), path.c_str()) != 0)
    st = Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  if (!moved) ::unlink(tmp.c_str());
  if (!st.ok()) return st;
  SyncParent(path);
  return Status::OK();
}

inline Status WriteNewFile(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp;
  SD_RETURN_IF_ERROR(WriteTemp(path, data, mode, &tmp));
  return PublishNew(tmp, path);
}

// Replaces `path` with `data` (mode `mode`) in one step: a crash leaves the
// old file or the new one, whole, and at most a `<path>.partial-XXXXXX`.
// For files that are meant to change (a keyring that grew, a configuration).
inline Status ReplaceFile(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp;
  SD_RETURN_IF_ERROR(WriteTemp(path, data, mode, &tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = Status::IOError("cannot replace " + path + ": " + std::strerror(errno));
    ::unlink(tmp.c_str());
    return st;
  }
  SyncParent(path);
  return Status::OK();
}

}  // namespace cli
}  // namespace sealdrop
