// sealdrop-server serve: the source site, until SIGINT or SIGTERM.
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "server/cmd/cmd.h"

namespace sealdrop {
namespace server {
namespace cmd {
namespace {

// Holds an exclusive lock on the instance for the life of the process, so two
// servers never share (and sweep) one store.
Status LockInstance(const Config& cfg, int* fd_out) {
  std::string path = cfg.dir + "/serve.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::InvalidArgument("another sealdrop-server is serving " + cfg.dir);
  }
  // Made at the first start: its times and its directory's would say when.
  storage::SetDayTimes(path);
  storage::SetDayTimes(cfg.dir);
  *fd_out = fd;
  return Status::OK();
}

int Run(const std::string& dir) {
  // Not dumpable and no core dumps since cli::Start: sources' plaintext
  // passes through this process's memory.
  Config cfg;
  Status st = LoadConfig(dir, &cfg);
  if (!st.ok()) return Fail(st, "sealdrop-server init <dir> --recipient <key.pub> makes one");
  st = CheckServable(cfg, !cfg.unix_socket());
  if (!st.ok()) return Fail(st);
  if (!cfg.has_codename) {
    // An instance from before codenames: give it its parameters once.
    st = WriteCodenameParams(&cfg, crypto::CodenameParams());
    if (!st.ok()) return Fail(st);
    std::fprintf(stderr, "%s: wrote %s\n", kTool, cfg.codename_params().c_str());
  }
  {
    // Only the public half stays: outboxes and replies name the instance by it.
    crypto::SigningKey key;
    st = LoadInstanceKey(cfg, &key);
    if (!st.ok()) return Fail(st);
    cfg.instance = key.pk;
  }
  int lock = -1;
  st = LockInstance(cfg, &lock);
  if (!st.ok()) return Fail(st);
  std::unique_ptr<storage::Store> store;
  st = storage::Store::Open(cfg.store_dir(), StoreOptions(cfg), &store);
  if (!st.ok()) return Fail(st);
  uint64_t swept = 0;
  st = store->Sweep(&swept);
  if (!st.ok()) return Fail(st, "run sealdrop-server check");
  if (swept) std::fprintf(stderr, "%s: removed %llu unfinished uploads\n", kTool,
                          static_cast<unsigned long long>(swept));
  // Stores written before the server kept no record of sources still hold
  // them (docs/INSTANCES.md): they go at the first start.
  uint64_t old_sources = 0;
  st = store->DropSources(&old_sources);
  if (!st.ok()) return Fail(st, "run sealdrop-server check");
  if (old_sources) std::fprintf(stderr, "%s: deleted the source records an older version kept\n", kTool);
  st = ExpireOldReplies(cfg, store.get());
  if (!st.ok()) return Fail(st, "run sealdrop-server check");
  Deleted deleted;
  st = DeleteDue(cfg, store.get(), storage::Today(), &deleted);
  if (st.ok() && !deleted.empty()) st = store->Sweep(&swept);
  if (!st.ok()) return Fail(st, "run sealdrop-server check");
  ReportDeleted(cfg, deleted);
  // SIGINT and SIGTERM (a clean stop) and SIGUSR1 (the counts) are taken by
  // one thread in Serve; block them before any thread starts, so that every
  // thread inherits it.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // LMDB allocates each chunk's pages (about 256 KiB) on the heap and frees a
  // transaction's worth (2 MiB) at once. glibc's default thresholds give that
  // memory back to the kernel after every transaction, so each one faulted
  // in fresh pages again: keep up to 4 MiB free per arena instead. Blocks of
  // 1 MiB and more (uploads' ciphertext batches) are mapped on their own and
  // go back when freed, so 32 concurrent uploads do not leave their batches
  // in every thread's heap.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  // Queued writes stay under 4 MiB, whatever the number of uploads: two
  // transactions' worth (server/writer.cc), so receiving overlaps writing.
  Writer writer(store.get(), 4u << 20);
  // Start-up is done once the listener is bound: from then on the process
  // makes only the calls serving needs (server.h, Confine).
  st = Serve(cfg, &writer, store.get(), Confine);
  if (!st.ok()) return Fail(st);
  return 0;
}

}  // namespace

Command AddServe(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("serve", "serve the source site");
  c->add_option("dir", *dir, "instance directory")->required();
  return {c, [dir] { return Run(*dir); }};
}

}  // namespace cmd
}  // namespace server
}  // namespace sealdrop
