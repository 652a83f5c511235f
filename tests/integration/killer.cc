// A preloaded library for kill tests: SEALDROP_KILL_AT=N makes the process
// SIGKILL itself just before its N-th sync, link, rename or unlink. Run with
// N = 1, 2, ... until the program finishes on its own, and it has been
// killed between every two steps it makes durable: every LMDB commit ends
// with a sync (MDB_NOMETASYNC syncs the data pages before the meta page),
// and a file is published by a link or rename after its sync. Killing
// between the writes inside one step would test LMDB, not sealdrop. Nothing
// of sealdrop links this; tests preload it.
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>

namespace {

std::atomic<long> calls{0};

void Step() {
  static const long kill_at = [] {
    const char* e = getenv("SEALDROP_KILL_AT");
    return e ? atol(e) : 0L;
  }();
  if (kill_at > 0 && ++calls >= kill_at) raise(SIGKILL);
}

template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

#define PASS(ret, name, params, args)                      \
  extern "C" ret name params {                             \
    Step();                                                \
    static auto real = Next<ret(*) params>(#name);         \
    return real args;                                      \
  }

PASS(int, fsync, (int fd), (fd))
PASS(int, fdatasync, (int fd), (fd))
PASS(int, msync, (void* a, size_t n, int f), (a, n, f))
PASS(int, link, (const char* a, const char* b), (a, b))
PASS(int, linkat, (int d1, const char* a, int d2, const char* b, int f), (d1, a, d2, b, f))
PASS(int, rename, (const char* a, const char* b), (a, b))
PASS(int, renameat, (int d1, const char* a, int d2, const char* b), (d1, a, d2, b))
PASS(int, renameat2, (int d1, const char* a, int d2, const char* b, unsigned f), (d1, a, d2, b, f))
PASS(int, unlink, (const char* a), (a))
