// sealdrop-server: the table of subcommands. Each lives in server/cmd/.
#include <vector>

#include "server/cmd/cmd.h"

using namespace sealdrop;
using namespace sealdrop::server;

int main(int argc, char** argv) {
  if (!cli::Start(cmd::kTool)) return 2;
  CLI::App app{"sealdrop-server: the online half of sealdrop"};
  app.require_subcommand(1);
  const std::vector<cmd::Command> commands = {
      cmd::AddInit(app),
      cmd::AddServe(app),
      cmd::AddExport(app),
      cmd::AddCheck(app),
      cmd::AddImportOutbox(app),
      cmd::AddSetKey(app),
      cmd::AddApi(app),
  };
  return cli::Run(cmd::kTool, app, commands, argc, argv);
}
