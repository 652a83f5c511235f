// A preloaded library for the sandbox test (test_sandbox.py): on SIGUSR2 the
// process makes the system call SEALDROP_PROBE names, from inside, as code
// an attacker got to run would, once serving has begun and the filter is in
// place (server/sandbox.cc). Nothing of sealdrop links this; only the test
// preloads it, so no production path can reach it.
//
//   execve, fork, socket, exec-mmap, exec-mprotect, ptrace: calls the filter
//     must kill. Should one come back, the library says so on stderr and
//     exits 0, and the test sees an exit where it wants SIGSYS.
//   refused: calls the filter answers with an error instead: it opens
//     SEALDROP_PROBE_FILE and calls clone3, writes "probe: openat <result>,
//     clone3 <result>", and the process goes on serving.
//
// The calls are made by a thread of the library's own, started before main
// with every signal blocked, that waits for SIGUSR2 (which every other
// thread inherits blocked): in a signal handler, returning would itself be
// a call the filter kills (rt_sigreturn).
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

const char* probe = nullptr;

void Say(const char* text) { (void)!write(2, text, strlen(text)); }

void Survived(const char* what) {
  Say("probe: ");
  Say(what);
  Say(" was not killed\n");
  _exit(0);
}

const char* Result(long r) {
  if (r >= 0) return "succeeded";
  switch (errno) {
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EPERM: return "EPERM";
    default: return "failed";
  }
}

// Raw system calls: what the kernel is asked, not what a libc wrapper makes
// of it.
void Probe() {
  if (strcmp(probe, "execve") == 0) {
    char arg0[] = "/bin/true";
    char* argv[] = {arg0, nullptr};
    char* envp[] = {nullptr};
    syscall(SYS_execve, arg0, argv, envp);
    Survived("execve");
  } else if (strcmp(probe, "fork") == 0) {
    // clone as fork calls it: a new process, not a thread.
    long pid = syscall(SYS_clone, long(SIGCHLD), 0L, 0L, 0L, 0L);
    if (pid == 0) _exit(0);
    Survived("clone without CLONE_THREAD");
  } else if (strcmp(probe, "socket") == 0) {
    syscall(SYS_socket, long(AF_INET), long(SOCK_STREAM), 0L);
    Survived("socket");
  } else if (strcmp(probe, "exec-mmap") == 0) {
    syscall(SYS_mmap, 0L, 4096L, long(PROT_READ | PROT_EXEC), long(MAP_PRIVATE | MAP_ANONYMOUS),
            -1L, 0L);
    Survived("mmap with PROT_EXEC");
  } else if (strcmp(probe, "exec-mprotect") == 0) {
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    syscall(SYS_mprotect, page, 4096L, long(PROT_READ | PROT_EXEC));
    Survived("mprotect with PROT_EXEC");
  } else if (strcmp(probe, "ptrace") == 0) {
    syscall(SYS_ptrace, long(PTRACE_TRACEME), 0L, 0L, 0L);
    Survived("ptrace");
  } else if (strcmp(probe, "refused") == 0) {
    const char* file = getenv("SEALDROP_PROBE_FILE");
    long r = syscall(SYS_openat, long(AT_FDCWD), file ? file : "/etc/hostname", long(O_RDONLY), 0L);
    Say("probe: openat ");
    Say(Result(r));
    if (r >= 0) close(int(r));
    r = syscall(SYS_clone3, nullptr, 0L);
    Say(", clone3 ");
    Say(Result(r));
    Say("\n");
  }
}

void* Wait(void*) {
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  for (;;) {
    int sig = 0;
    if (sigwait(&usr2, &sig) == 0) Probe();
  }
  return nullptr;
}

__attribute__((constructor)) void Start() {
  probe = getenv("SEALDROP_PROBE");
  if (probe == nullptr) return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pthread_t t;
  pthread_create(&t, nullptr, Wait, nullptr);
  pthread_detach(t);
  sigaddset(&old, SIGUSR2);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace
