// sealdrop-server: init, serve, export, check.
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/cli.h"
#include "server/server.h"

namespace sealdrop {
namespace server {
Status CheckServable(const Config& c);
}  // namespace server
}  // namespace sealdrop

using namespace sealdrop;

namespace {

constexpr const char* kTool = "sealdrop-server";

int Fail(const Status& st, const std::string& hint = "") { return cli::Fail(kTool, st, hint); }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  return s;
}

storage::Options StoreOptions(const server::Config& cfg) {
  storage::Options o;
  o.role = storage::Role::kServer;
  o.quota = cfg.store_quota;
  o.cache_writes = false;
  return o;
}

std::string Hex(const uint8_t* p, size_t n) { return crypto::ToHex(p, n); }

// --- init ---------------------------------------------------------------------------
int Init(const std::string& dir, const std::vector<std::string>& recipients,
         const std::string& listen, const std::string& cert, const std::string& key,
         const std::string& max_upload) {
  if (recipients.empty())
    return Fail(Status::InvalidArgument("init needs at least one --recipient"),
                "pass the .pub file that sealdrop-review keygen wrote");
  std::string toml = "# sealdrop instance configuration: see docs/OPERATIONS.md\n";
  toml += "listen = \"" + listen + "\"\n";
  if (listen.rfind("unix:", 0) != 0) {
    toml += "tls_cert = \"" + cert + "\"\n";
    toml += "tls_key = \"" + key + "\"\n";
  }
  toml += "max_upload = \"" + max_upload + "\"\n";
  uint64_t tmp;
  Status st = server::ParseSize(max_upload, &tmp);
  if (!st.ok()) return Fail(st, "sizes look like 2GiB or 500MiB");
  toml += "max_files = 100\nstore_quota = \"16GiB\"\nthreads = 16\n";
  toml += "connections = 256\nheader_timeout = 20\nread_timeout = 30\nwrite_timeout = 30\nmin_rate = 256\n";
  for (const std::string& r : recipients) {
    std::string text = r;
    if (r.rfind("sdpk1:", 0) != 0) {
      st = cli::ReadFile(r, &text);
      if (!st.ok()) return Fail(st, "--recipient takes a .pub file or an sdpk1: key");
    }
    text = Trim(text);
    crypto::PublicKey pub;
    st = crypto::ParsePublicKey(text, &pub);
    if (!st.ok()) return Fail(st, "--recipient takes a .pub file or an sdpk1: key");
    toml += "\n[[recipient]]\nname = \"" + Hex(pub.id.data(), pub.id.size()) + "\"\nkey = \"" +
            text + "\"\n";
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Fail(Status::IOError("cannot create " + dir + ": " + std::strerror(errno)));
  ::chmod(dir.c_str(), 0700);
  st = cli::WriteNewFile(dir + "/config.toml", toml, 0600);
  if (!st.ok()) return Fail(st, "is there an instance there already?");
  crypto::SigningKey ik;
  crypto::GenerateSigningKey(&ik);
  st = cli::WriteNewFile(dir + "/instance.key", crypto::FormatInstanceKey(ik), 0600);
  if (!st.ok()) return Fail(st);
  std::unique_ptr<storage::Store> store;
  storage::Options o;
  st = storage::Store::Open(dir + "/store", o, &store);
  if (!st.ok()) return Fail(st);
  std::printf("initialised %s\ninstance key %s\n", dir.c_str(), Hex(ik.pk.data(), 32).c_str());
  return 0;
}

// Holds an exclusive lock on the instance for the life of the process, so two
// servers never share (and sweep) one store.
Status LockInstance(const server::Config& cfg, int* fd_out) {
  std::string path = cfg.dir + "/serve.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::InvalidArgument("another sealdrop-server is serving " + cfg.dir);
  }
  *fd_out = fd;
  return Status::OK();
}

int Serve(const std::string& dir) {
  server::Config cfg;
  Status st = server::LoadConfig(dir, &cfg);
  if (!st.ok()) return Fail(st, "sealdrop-server init <dir> --recipient <key.pub> makes one");
  st = server::CheckServable(cfg);
  if (!st.ok()) return Fail(st);
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
  // SIGINT and SIGTERM are taken by one thread in Serve (a clean stop);
  // block them before any thread starts, so that every thread inherits it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
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
  server::Writer writer(store.get(), 4u << 20);
  st = server::Serve(cfg, &writer);
  if (!st.ok()) return Fail(st);
  return 0;
}

// --- export --------------------------------------------------------------------------
int Export(const std::string& dir, const std::string& out) {
  // Export reads every chunk once, front to back: let the kernel read ahead.
  server::Config cfg;
  Status st = server::LoadConfig(dir, &cfg);
  if (!st.ok()) return Fail(st);
  std::string ikey;
  st = cli::ReadFile(cfg.instance_key(), &ikey);
  if (!st.ok()) return Fail(st);
  crypto::SigningKey key;
  st = crypto::ParseInstanceKey(ikey, &key);
  crypto::Wipe(ikey.data(), ikey.size());
  if (!st.ok()) return Fail(st);
  std::unique_ptr<storage::Store> store;
  storage::Options opt = StoreOptions(cfg);
  opt.read_ahead = true;
  st = storage::Store::Open(cfg.store_dir(), opt, &store);
  if (!st.ok()) return Fail(st);
  std::vector<storage::Id> ids;
  st = store->Unexported(&ids);
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
  format::BundleWriter w(key, uint32_t(::time(nullptr) / 86400),
                         [&](const uint8_t* p, size_t n) -> Status {
                           wbuf.insert(wbuf.end(), p, p + n);
                           return wbuf.size() >= (1 << 20) ? flush() : Status::OK();
                         });
  st = w.Begin();
  uint64_t bytes = 0;
  for (size_t i = 0; st.ok() && i < ids.size(); i++) {
    storage::SubmissionRec rec;
    st = store->Get(ids[i], &rec);
    if (!st.ok()) break;
    st = w.AddSubmission(rec);
    for (uint32_t item = 0; st.ok() && item < rec.items.size(); item++)
      st = store->ReadItem(rec, item, [&](uint32_t index, const uint8_t* p, size_t n) {
        return w.AddChunk(rec.id, item, index, p, n);
      });
    bytes += storage::StoredSize(rec);
  }
  if (st.ok()) st = w.Finish();
  if (st.ok()) st = flush();
  if (st.ok() && ::fsync(fd) != 0) st = Status::IOError("cannot sync " + tmp);
  ::close(fd);
  if (st.ok() && ::link(tmp.c_str(), out.c_str()) != 0)
    st = Status::IOError("cannot create " + out + ": " + std::strerror(errno));
  ::unlink(tmp.c_str());
  if (!st.ok()) return Fail(st);
  // Only now that the bundle is on disk are the submissions marked exported.
  st = store->MarkExported(ids);
  if (!st.ok()) return Fail(st, "the bundle is complete; the next export will repeat these");
  std::printf("exported %zu submissions (%llu bytes sealed) to %s\n", ids.size(),
              static_cast<unsigned long long>(bytes), out.c_str());
  return 0;
}

// --- check ----------------------------------------------------------------------------
int Check(const std::string& dir) {
  server::Config cfg;
  Status st = server::LoadConfig(dir, &cfg);
  if (!st.ok()) return Fail(st);
  std::vector<std::string> problems;
  st = server::CheckServable(cfg);
  if (!st.ok()) problems.push_back(st.message());
  std::unique_ptr<storage::Store> store;
  st = storage::Store::Open(cfg.store_dir(), StoreOptions(cfg), &store);
  if (!st.ok()) return Fail(st);
  storage::Store::Report r;
  st = store->Check(&r);
  if (!st.ok()) return Fail(st);
  problems.insert(problems.end(), r.problems.begin(), r.problems.end());
  std::printf("submissions: %llu\nchunks: %llu\nsealed bytes: %llu\nunfinished uploads: %llu%s\n",
              static_cast<unsigned long long>(r.submissions),
              static_cast<unsigned long long>(r.chunks),
              static_cast<unsigned long long>(r.bytes),
              static_cast<unsigned long long>(r.pending),
              r.pending ? " (in progress, or removed at the next start)" : "");
  for (const auto& p : problems) std::printf("problem: %s\n", p.c_str());
  if (!problems.empty()) {
    std::fprintf(stderr, "%s: error: %zu problems found\n", kTool, problems.size());
    return 1;
  }
  std::printf("ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (!cli::Start(kTool)) return 2;
  CLI::App app{"sealdrop-server: the online half of sealdrop"};
  app.require_subcommand(1);
  std::string dir, out, listen = "127.0.0.1:8443", cert = "tls/cert.pem", key = "tls/key.pem",
                   max_upload = "2GiB";
  std::vector<std::string> recipients;

  auto* init = app.add_subcommand("init", "create an instance directory");
  init->add_option("dir", dir, "instance directory")->required();
  init->add_option("--recipient", recipients, "reviewer public key (.pub file or sdpk1:...)")
      ->required();
  init->add_option("--listen", listen, "host:port for HTTPS, or unix:/path for plain HTTP")
      ->capture_default_str();
  init->add_option("--tls-cert", cert, "certificate (PEM), relative to dir")->capture_default_str();
  init->add_option("--tls-key", key, "private key (PEM, mode 600), relative to dir")
      ->capture_default_str();
  init->add_option("--max-upload", max_upload, "file bytes per submission")->capture_default_str();

  auto* serve = app.add_subcommand("serve", "serve the source site");
  serve->add_option("dir", dir, "instance directory")->required();

  auto* exp = app.add_subcommand("export", "write a signed bundle of everything not yet exported");
  exp->add_option("dir", dir, "instance directory")->required();
  exp->add_option("--out", out, "bundle file to create (never overwritten)")->required();

  auto* check = app.add_subcommand("check", "verify the store and say what is wrong");
  check->add_option("dir", dir, "instance directory")->required();

  if (int rc = cli::Parse(kTool, app, argc, argv); rc >= 0) return rc;
  if (*init) return Init(dir, recipients, listen, cert, key, max_upload);
  if (*serve) return Serve(dir);
  if (*exp) return Export(dir, out);
  if (*check) return Check(dir);
  return 2;
}
