// populate: puts N small, real sealed submissions into a (stopped) instance's
// store, the way sealdrop-server does, only without HTTP/TLS: each of T
// threads runs a server::Form (the server's own multipart parser + Upload
// sealing to every configured recipient) over a prebuilt 2 KiB form body,
// all through one server::Writer, so commits from the threads share
// transactions and syncs (group commit), as in the server.
//
//   populate INSTANCE_DIR COUNT [--threads 8] [--days 1] [--message-bytes 2048]
//
// --days D spreads the submissions over the D days up to today (the day
// stamp the by-day index uses), oldest first, so the newest are today's.
// Prints one JSON line: {"count":N,"seconds":S,"per_second":R}.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server/server.h"
#include "storage/storage.h"

using namespace sealdrop;

namespace {
const char kBoundary[] = "----WebKitFormBoundarySealdropPopulate1";

std::string FormBody(size_t message_bytes, unsigned seed) {
  static const char alphabet[] =
      "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789.,\n";
  std::mt19937 rng(seed);
  std::string msg(message_bytes, ' ');
  for (auto& c : msg) c = alphabet[rng() % (sizeof(alphabet) - 1)];
  std::string b = kBoundary;
  return "--" + b + "\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n" + msg +
         "\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n\r\n--" +
         b + "--\r\n";
}

[[noreturn]] void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "populate: %s: %s\n", what.c_str(), st.ToString().c_str());
  std::exit(1);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: populate INSTANCE_DIR COUNT [--threads T] [--days D] "
                 "[--message-bytes B]\n");
    return 2;
  }
  std::string dir = argv[1];
  const uint64_t count = std::strtoull(argv[2], nullptr, 10);
  unsigned threads = 8, days = 1;
  size_t message_bytes = 2048;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--threads") threads = unsigned(std::atoi(argv[i + 1]));
    else if (a == "--days") days = unsigned(std::atoi(argv[i + 1]));
    else if (a == "--message-bytes") message_bytes = size_t(std::atol(argv[i + 1]));
    else {
      std::fprintf(stderr, "populate: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (threads == 0) threads = 1;
  if (days == 0) days = 1;

  server::Config cfg;
  Status st = server::LoadConfig(dir, &cfg);
  if (!st.ok()) Die("loading " + dir, st);
  storage::Options o;
  o.role = storage::Role::kServer;
  o.quota = cfg.store_quota;
  std::unique_ptr<storage::Store> store;
  st = storage::Store::Open(cfg.store_dir(), o, &store);
  if (!st.ok()) Die("opening the store", st);
  uint64_t swept = 0;
  st = store->Sweep(&swept);
  if (!st.ok()) Die("sweeping the store", st);

  const uint32_t today = uint32_t(::time(nullptr) / 86400);
  const std::string ct = std::string("multipart/form-data; boundary=") + kBoundary;
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  const auto t0 = std::chrono::steady_clock::now();
  {
    server::Writer writer(store.get(), 6u << 20);  // as sealdrop-server serve
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const std::string body = FormBody(message_bytes, 1234 + t);
        for (;;) {
          const uint64_t i = next.fetch_add(1);
          if (i >= count || failed.load()) return;
          // Oldest first: submission i belongs to day today - (days-1) + i*days/count.
          const uint32_t day = today - (days - 1) + uint32_t(i * days / count);
          server::Form form(cfg, &writer, day);
          Status s = form.Begin(ct);
          if (s.ok() && !form.Feed(body.data(), body.size())) s = form.error();
          server::Receipt r;
          if (s.ok()) s = form.Finish(&r);
          if (!s.ok()) {
            if (!failed.exchange(true)) Die("submission " + std::to_string(i), s);
            return;
          }
        }
      });
    }
    for (auto& th : pool) th.join();
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"count\":%llu,\"seconds\":%.3f,\"per_second\":%.0f}\n",
              static_cast<unsigned long long>(count), secs, count / secs);
  return 0;
}
