// sealdrop-server api: the reviewer API for couriers, until SIGINT or
// SIGTERM. A process of its own, beside serve, on its own listener: a fault
// in one leaves the other running, and each sits behind its own onion
// service.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "server/cmd/cmd.h"

namespace sealdrop {
namespace server {
namespace cmd {
namespace {

int Run(const std::string& dir) {
  Config cfg;
  Status st = LoadConfig(dir, &cfg);
  if (!st.ok()) return Fail(st);
  if (cfg.api_listen.empty())
    return Fail(Status::InvalidArgument("config.toml sets no api_listen"),
                "add api_listen = \"unix:/run/sealdrop-api/api.sock\" (or host:port for HTTPS) and a "
                "[[courier]] with the key sealdrop-courier keygen printed");
  if (cfg.couriers.empty())
    return Fail(Status::InvalidArgument("config.toml lists no [[courier]]: nobody could use the API"),
                "add a [[courier]] with name and key (sdsig1:..., from sealdrop-courier keygen)");
  st = CheckServable(cfg, cfg.api_listen.rfind("unix:", 0) != 0);
  if (!st.ok()) return Fail(st);
  crypto::SigningKey instance;
  st = LoadInstanceKey(cfg, &instance);
  if (!st.ok()) return Fail(st);
  std::unique_ptr<storage::Store> store;
  storage::Options opt = StoreOptions(cfg);
  opt.read_ahead = true;  // bundles read every chunk front to back
  st = storage::Store::Open(cfg.store_dir(), opt, &store);
  if (!st.ok()) return Fail(st);

  // A courier that goes away mid-answer must not take the process with it.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  Api api(cfg, instance, store.get());
  std::string url;
  st = api.Bind(&url);
  const bool unix_socket = cfg.api_listen.rfind("unix:", 0) == 0;
  if (st.ok()) {
    std::vector<std::string> sockets;
    if (unix_socket) sockets.push_back(cfg.api_listen.substr(5));
    st = DropPrivileges(cfg, sockets);
    if (!st.ok() && unix_socket) ::unlink(sockets[0].c_str());
  }
  if (!st.ok()) return Fail(st);
  // Start-up is done: from here on only the calls serving needs (Confine).
  st = Confine();
  if (!st.ok()) return Fail(st);
  std::thread waiter([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGUSR1) {
        std::fprintf(stderr, "%s api: so far: %s\n", kTool, api.Report().c_str());
        std::fflush(stderr);
        continue;
      }
      api.Stop();
      return;
    }
  });
  std::fprintf(stderr, "%s api: %zu couriers; listening on %s\n", kTool, cfg.couriers.size(),
               url.c_str());
  std::fflush(stderr);
  st = api.Run();
  ::kill(::getpid(), SIGTERM);  // wakes the waiter if Run ended on its own
  waiter.join();
  // The socket stays: a confined process unlinks nothing, and the next start
  // (or systemd, with the runtime directory) removes it.
  std::fprintf(stderr, "%s api: %s\n%s api: stopped\n", kTool, api.Report().c_str(), kTool);
  if (!st.ok()) return Fail(st);
  return 0;
}

}  // namespace

Command AddApi(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("api", "serve the reviewer API for couriers (api_listen)");
  c->add_option("dir", *dir, "instance directory")->required();
  return {c, [dir] { return Run(*dir); }};
}

}  // namespace cmd
}  // namespace server
}  // namespace sealdrop
