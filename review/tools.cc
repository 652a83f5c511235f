// Running Debian's inspection tools on extracted files, each in a process of
// its own: a hostile file that exploits a parser gets that process, which
// holds no key and sees no descriptor of ours.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "review/review.h"

namespace sealdrop {
namespace review {
namespace {

constexpr size_t kMaxErr = 64 * 1024;

class Actions {
 public:
  Actions() { posix_spawn_file_actions_init(&fa_); }
  ~Actions() { posix_spawn_file_actions_destroy(&fa_); }
  posix_spawn_file_actions_t* get() { return &fa_; }

 private:
  posix_spawn_file_actions_t fa_;
};

class Attrs {
 public:
  Attrs() { posix_spawnattr_init(&at_); }
  ~Attrs() { posix_spawnattr_destroy(&at_); }
  posix_spawnattr_t* get() { return &at_; }

 private:
  posix_spawnattr_t at_;
};

}  // namespace

Status RunTool(const std::vector<std::string>& argv, int timeout,
               const std::function<void(FILE*)>& read_out, ToolRun* run,
               const std::string& tmpdir) {
  *run = ToolRun{};
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Status::IOError("pipe: " + std::string(strerror(errno)));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return Status::IOError("pipe: " + std::string(strerror(errno)));
  }
  Actions fa;
  posix_spawn_file_actions_addopen(fa.get(), 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(fa.get(), out[1], 1);
  posix_spawn_file_actions_adddup2(fa.get(), err[1], 2);
  // Whatever a library left open without close-on-exec stays ours.
  posix_spawn_file_actions_addclosefrom_np(fa.get(), 3);
  Attrs at;
  sigset_t none, dfl;
  sigemptyset(&none);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  sigaddset(&dfl, SIGINT);
  sigaddset(&dfl, SIGTERM);
  posix_spawnattr_setsigmask(at.get(), &none);
  posix_spawnattr_setsigdefault(at.get(), &dfl);
  // A group of its own, so that a timeout kills what the tool started too.
  posix_spawnattr_setpgroup(at.get(), 0);
  posix_spawnattr_setflags(at.get(),
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Nothing of the reviewer's environment: no HOME, no display, no proxy.
  std::string path = "PATH=/usr/bin:/bin", lang = "LC_ALL=C.UTF-8", tmp = "TMPDIR=" + tmpdir;
  std::vector<char*> env = {path.data(), lang.data()};
  if (!tmpdir.empty()) env.push_back(tmp.data());
  env.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], fa.get(), at.get(), args.data(), env.data());
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    const std::string why = argv[0] + ": " + std::strerror(rc);
    return rc == ENOENT ? Status::NotFound(why) : Status::IOError(why);
  }

  std::mutex mu;
  std::condition_variable cv;
  bool ended = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> l(mu);
    if (!cv.wait_for(l, std::chrono::seconds(timeout), [&] { return ended; })) {
      run->timed_out = true;
      ::kill(-pid, SIGKILL);  // not yet reaped (see below), so still this child's group
    }
  });
  std::thread errors([&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(err[0], buf, sizeof buf)) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      if (run->err.size() < kMaxErr) run->err.append(buf, std::min(size_t(n), kMaxErr - run->err.size()));
    }
    ::close(err[0]);
  });
  FILE* f = ::fdopen(out[0], "r");
  if (f != nullptr) {
    read_out(f);
    char buf[4096];
    while (std::fread(buf, 1, sizeof buf, f) > 0) {
    }
    std::fclose(f);
  } else {
    ::close(out[0]);
  }
  errors.join();
  // Wait without reaping, so that the watchdog cannot kill a reused pid.
  siginfo_t info{};
  while (::waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  {
    std::lock_guard<std::mutex> l(mu);
    ended = true;
  }
  cv.notify_all();
  watchdog.join();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run->exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return Status::OK();
}

}  // namespace review
}  // namespace sealdrop
