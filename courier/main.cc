// sealdrop-courier: carries bundles from the server's reviewer API and
// outboxes to it, on a networked workstation, with signed requests. It holds
// a transport key only and can open nothing it carries.
// Exit status: 0 success, 1 refused as not a listed courier (or a wrong
// passphrase), 2 usage, I/O or transfer error.
#include <csignal>
#include <vector>

#include "courier/cmd/cmd.h"

using namespace sealdrop;
using namespace sealdrop::courier;

int main(int argc, char** argv) {
  if (!cli::Start(cmd::kTool)) return 2;
  // A server that goes away is an error to report, not a signal to die of.
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"sealdrop-courier: carries bundles and outboxes over the reviewer API"};
  app.require_subcommand(1);
  const std::vector<cmd::Command> commands = {
      cmd::AddKeygen(app),
      cmd::AddFetch(app),
      cmd::AddPush(app),
  };
  return cli::Run(cmd::kTool, app, commands, argc, argv);
}
