// sealdrop-review: the air-gapped reviewer's tool, as a table of subcommands
// (keygen, rotate, import, list, show, extract, reply, outbox, triage, shell,
// instances, questionnaire, stats). Each
// lives in review/cmd/.
// Exit status: 0 success, 1 authentication failed (wrong passphrase, altered
// bundle or ciphertext, untrusted or unexpected instance), 2 usage or I/O error.
#include <vector>

#include "review/cmd/cmd.h"

using namespace sealdrop;
using namespace sealdrop::review;

int main(int argc, char** argv) {
  if (!cli::Start(cmd::kTool)) return 2;
  CLI::App app{"sealdrop-review: the reviewer's air-gapped tool"};
  app.require_subcommand(1);
  const std::vector<cmd::Command> commands = {
      cmd::AddKeygen(app),
      cmd::AddRotate(app),
      cmd::AddImport(app),
      cmd::AddList(app),
      cmd::AddShow(app),
      cmd::AddExtract(app),
      cmd::AddReply(app),
      cmd::AddOutbox(app),
      cmd::AddTriage(app),
      cmd::AddShell(app),
      cmd::AddInstances(app),
      cmd::AddQuestionnaire(app),
      cmd::AddStats(app),
  };
  return cli::Run(cmd::kTool, app, commands, argc, argv);
}
