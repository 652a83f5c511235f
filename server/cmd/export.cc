// sealdrop-server export: a signed bundle of the sealed submissions not yet
// exported (or, with --resend, of every one the server still holds), for the
// air-gapped vault.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "server/cmd/cmd.h"

namespace sealdrop {
namespace server {
namespace cmd {
namespace {

struct Args {
  std::string dir;
  std::string out;
  bool resend = false;
};

int Run(const Args& a) {
  const std::string& dir = a.dir;
  const std::string& out = a.out;
  Config cfg;
  Status st = LoadConfig(dir, &cfg);
  if (!st.ok()) return Fail(st);
  crypto::SigningKey key;
  st = LoadInstanceKey(cfg, &key);
  if (!st.ok()) return Fail(st);
  std::unique_ptr<storage::Store> store;
  storage::Options opt = StoreOptions(cfg);
  // Export reads every chunk once, front to back: let the kernel read ahead.
  opt.read_ahead = true;
  st = storage::Store::Open(cfg.store_dir(), opt, &store);
  if (!st.ok()) return Fail(st);
  std::vector<storage::Id> ids, deleted;
  st = BundleIds(store.get(), a.resend, &ids, &deleted);
  if (!st.ok()) return Fail(st);

  struct stat sb;
  if (::lstat(out.c_str(), &sb) == 0)
    return Fail(Status::Exists(out + " already exists"), "choose a new --out file");
  std::string tmp = out + ".partial";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return Fail(Status::IOError("cannot create " + tmp + ": " + std::strerror(errno)),
                "remove a stale .partial file from an interrupted export");
  std::vector<uint8_t> wbuf;
  wbuf.reserve(1 << 20);
  auto flush = [&]() -> Status {
    SD_RETURN_IF_ERROR(cli::WriteAll(fd, wbuf.data(), wbuf.size(), tmp));
    wbuf.clear();
    return Status::OK();
  };
  uint64_t bytes = 0;
  st = WriteBundle(store.get(), key, ids, deleted, storage::Today(),
                   [&](const uint8_t* p, size_t n) -> Status {
                     wbuf.insert(wbuf.end(), p, p + n);
                     return wbuf.size() >= (1 << 20) ? flush() : Status::OK();
                   },
                   &bytes);
  if (st.ok()) st = flush();
  if (st.ok() && ::fsync(fd) != 0) st = Status::IOError("cannot sync " + tmp);
  ::close(fd);
  if (st.ok() && ::link(tmp.c_str(), out.c_str()) != 0)
    st = Status::IOError("cannot create " + out + ": " + std::strerror(errno));
  ::unlink(tmp.c_str());
  if (!st.ok()) return Fail(st);
  // The bundle says its day inside; its file times need say no more.
  storage::SetDayTimes(out);
  // Only now that the bundle is on disk are the submissions marked exported.
  st = store->MarkExported(ids);
  if (!st.ok()) return Fail(st, "the bundle is complete; the next export will repeat these");
  std::printf("exported %zu submissions (%llu bytes sealed) to %s\n", ids.size(),
              static_cast<unsigned long long>(bytes), out.c_str());
  if (!deleted.empty())
    std::printf("with %zu replies sources deleted here, for the other instances\n",
                deleted.size());
  return 0;
}

}  // namespace

Command AddExport(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c =
      app.add_subcommand("export", "write a signed bundle of everything not yet exported");
  c->add_option("dir", a->dir, "instance directory")->required();
  c->add_option("--out", a->out, "bundle file to create (never overwritten)")->required();
  c->add_flag("--resend", a->resend,
              "also what was exported before: every submission the server holds that no "
              "reviewer acknowledged, for a bundle that was lost or damaged");
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace server
}  // namespace sealdrop
