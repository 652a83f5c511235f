// The sandbox: a seccomp filter over the serving processes (server.h, "The
// sandbox"). SECURITY.md says what it allows and what it kills.
#include "server/server.h"

#if SEALDROP_SECCOMP
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <initializer_list>
#include <thread>
#endif

namespace sealdrop {
namespace server {

#if !SEALDROP_SECCOMP

const bool kSandboxBuilt = false;

Status Confine() { return Status::OK(); }

#else

const bool kSandboxBuilt = true;

namespace {

// The calls serving makes, by what they are for. Found by running the whole
// test suite against the filter (uploads, log-ins, replies, the API's fetch
// and push, SIGUSR1, SIGTERM, deletion at a change of day); calls whose
// arguments are checked come after, in Confine.
struct Group {
  const char* what;
  std::initializer_list<int> calls;
};

const Group kGroups[] = {
    {"memory: malloc, LMDB's pages, fiber stacks; mlock keeps secrets out of swap; realloc "
     "moves a large block with mremap (LMDB's list of freed pages, deleting a large submission)",
     {SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(mlock),
      SCMP_SYS(munlock)}},
    {"threads: locks, their start (glibc sets a handler at the first) and their end",
     {SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(rt_sigaction),
      SCMP_SYS(exit), SCMP_SYS(exit_group)}},
    {"signals: SIGTERM and SIGUSR1 taken by one thread, swapcontext's mask, raise()",
     {SCMP_SYS(rt_sigtimedwait), SCMP_SYS(rt_sigprocmask), SCMP_SYS(getpid), SCMP_SYS(gettid)}},
    {"time: clock_gettime where the clock has no vDSO; a sleep that a stop (SIGSTOP, a "
     "debugger, a frozen cgroup) interrupted is resumed by the kernel with restart_syscall",
     {SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(restart_syscall)}},
    {"randomness: session ids, codenames, keys, TLS",
     {SCMP_SYS(getrandom)}},
    {"connections, on the listener bound before the filter",
     {SCMP_SYS(accept4), SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
      SCMP_SYS(shutdown), SCMP_SYS(close), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
      SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(fcntl), SCMP_SYS(poll),
      SCMP_SYS(epoll_wait), SCMP_SYS(epoll_ctl)}},
    {"the store (LMDB), on files opened before the filter: pages written with lseek and "
     "writev, the meta page with pwrite, syncs, room reserved, the file times kept to the day",
     {SCMP_SYS(lseek), SCMP_SYS(writev), SCMP_SYS(pwrite64), SCMP_SYS(fdatasync),
      SCMP_SYS(newfstatat), SCMP_SYS(fstatfs), SCMP_SYS(fallocate), SCMP_SYS(fadvise64),
      SCMP_SYS(utimensat)}},
};

Status Failed(const char* what, int rc) {
  return Status::IOError(std::string("seccomp: cannot ") + what + ": " + std::strerror(-rc));
}

}  // namespace

Status Confine() {
  // What glibc would do lazily, opening a file, is done now: it reads the
  // time zone at the first conversion of a time (gmtime_r too, at the first
  // change of day), and counts the processors (in /sys) the first time
  // threads contend for more malloc arenas than it has, unless the limit is
  // set: set it to its default, eight per processor.
  ::tzset();
  const unsigned cpus = std::thread::hardware_concurrency();
  ::mallopt(M_ARENA_MAX, int(8 * (cpus ? cpus : 1)));

  // Killed, never refused: a call outside the list means the process is
  // doing what serving never does.
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr) return Status::IOError("seccomp: cannot make a filter");
  struct Release {
    scmp_filter_ctx ctx;
    ~Release() { seccomp_release(ctx); }
  } release{ctx};
  // Every thread, those running now and those started later; no gaining
  // privileges through exec (killed anyway); another ABI's calls kill too.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc != 0) return Failed("set the filter's attributes", rc);
  for (const Group& g : kGroups)
    for (int call : g.calls)
      if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, call, 0)) != 0)
        return Failed((std::string("allow the calls for ") + g.what).c_str(), rc);

  const auto rule = [ctx](uint32_t action, int call, std::initializer_list<scmp_arg_cmp> args) {
    return seccomp_rule_add_array(ctx, action, call, unsigned(args.size()), args.begin());
  };
  // Memory, never executable: no code is loaded after start-up.
  rc = rule(SCMP_ACT_ALLOW, SCMP_SYS(mmap), {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
  if (rc == 0) rc = rule(SCMP_ACT_ALLOW, SCMP_SYS(mprotect), {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
  // Threads (the API's pool, serve's workers and signal thread), never a
  // process and never a namespace. clone3 passes its flags in memory, which
  // a filter cannot read: it fails with ENOSYS, and glibc then makes the
  // thread with clone, whose flags are checked here.
  const uint64_t kCloneMask = CLONE_THREAD | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                              CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
  if (rc == 0)
    rc = rule(SCMP_ACT_ALLOW, SCMP_SYS(clone), {SCMP_A0(SCMP_CMP_MASKED_EQ, kCloneMask, CLONE_THREAD)});
  if (rc == 0) rc = rule(SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), {});
  // Signals to this process only: a thread wakes the one taking signals,
  // and abort() on a broken invariant.
  const uint64_t self = uint64_t(::getpid());
  if (rc == 0) rc = rule(SCMP_ACT_ALLOW, SCMP_SYS(kill), {SCMP_A0(SCMP_CMP_EQ, self, 0)});
  if (rc == 0) rc = rule(SCMP_ACT_ALLOW, SCMP_SYS(tgkill), {SCMP_A0(SCMP_CMP_EQ, self, 0)});
  // Opening a file fails (EACCES) rather than kills: serving opens none, but
  // glibc reads a file or two lazily and does without them (malloc reads
  // /proc/sys/vm/overcommit_memory when a thread's heap first shrinks).
  // Nothing can be opened either way.
  if (rc == 0) rc = rule(SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), {});
  if (rc != 0) return Failed("add a rule", rc);

  rc = seccomp_load(ctx);
  if (rc != 0) return Failed("load the filter", rc);
  return Status::OK();
}

#endif

}  // namespace server
}  // namespace sealdrop
