// The sandbox (server/sandbox.cc): a confined process still does what
// serving does, and dies by SIGSYS at execve, a fork, a new socket or
// executable memory; opening a file fails. Each case confines a child of the
// test runner, never the runner itself. In a build without the filter
// (SEALDROP_SECCOMP=OFF) the cases only warn.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "server/server.h"

using namespace sealdrop;
using namespace sealdrop::server;

namespace {

// Runs `body` in a child after Confine; its wait status. The child exits 0
// if body returns true, 1 if false, 2 if Confine failed.
int Confined(const std::function<bool()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!Confine().ok()) ::_exit(2);
    ::_exit(body() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool KilledBySigsys(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }

bool ExitedWith(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

}  // namespace

TEST_CASE("SandboxConfinedProcessStillAllocatesThreadsWritesAndSyncs", "[sandbox]") {
  if (!kSandboxBuilt) {
    WARN("built without the seccomp filter (SEALDROP_SECCOMP=OFF)");
    return;
  }
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const int status = Confined([&] {
    // malloc large and small, a thread, randomness, a write, the time.
    std::string big(4u << 20, 'x');
    bool ok = big.size() == (4u << 20);
    std::thread t([&] { ok = ok && std::string(1000, 'y').size() == 1000; });
    t.join();
    uint8_t r[32];
    ok = ok && ::getrandom(r, sizeof r, 0) == ssize_t(sizeof r);
    ok = ok && ::write(fds[1], "ok", 2) == 2;
    timespec ts;
    return ok && ::clock_gettime(CLOCK_REALTIME, &ts) == 0;
  });
  char buf[2] = {};
  CHECK(ExitedWith(status, 0));
  CHECK(::read(fds[0], buf, 2) == 2);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("SandboxExecveKills", "[sandbox]") {
  if (!kSandboxBuilt) return;
  const int status = Confined([] {
    char arg0[] = "/bin/true";
    char* argv[] = {arg0, nullptr};
    ::execve(arg0, argv, environ);
    return true;
  });
  CHECK(KilledBySigsys(status));
}

TEST_CASE("SandboxForkKills", "[sandbox]") {
  if (!kSandboxBuilt) return;
  const int status = Confined([] {
    pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    return true;
  });
  CHECK(KilledBySigsys(status));
}

TEST_CASE("SandboxNewSocketKills", "[sandbox]") {
  if (!kSandboxBuilt) return;
  CHECK(KilledBySigsys(Confined([] { return ::socket(AF_UNIX, SOCK_STREAM, 0) >= 0; })));
}

TEST_CASE("SandboxExecutableMemoryKills", "[sandbox]") {
  if (!kSandboxBuilt) return;
  CHECK(KilledBySigsys(Confined([] {
    return ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
           MAP_FAILED;
  })));
  CHECK(KilledBySigsys(Confined([] {
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return ::mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0;
  })));
}

TEST_CASE("SandboxOpeningAFileFailsWithEacces", "[sandbox]") {
  if (!kSandboxBuilt) return;
  const int status = Confined([] {
    int fd = ::open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    return fd < 0 && errno == EACCES;
  });
  CHECK(ExitedWith(status, 0));
}

TEST_CASE("SandboxStoppedAndContinuedSleepGoesOn", "[sandbox]") {
  // The kernel resumes a sleep that a stop interrupted with restart_syscall.
  if (!kSandboxBuilt) return;
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!Confine().ok()) ::_exit(2);
    timespec ts{1, 0};
    ::clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
    ::_exit(0);
  }
  ::usleep(300 * 1000);
  ::kill(pid, SIGSTOP);
  ::usleep(100 * 1000);
  ::kill(pid, SIGCONT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(ExitedWith(status, 0));
}
