// sealdrop-review shell: one unlock for a working session. The key stays in
// guarded memory while commands are read from standard input, one per line,
// and is wiped at quit, at the end of input, or after --idle seconds without
// a line. Each line runs the subcommand of the same name (list, show,
// extract, reply, triage), with the shell's --vault and --key added.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "review/cmd/cmd.h"

namespace sealdrop {
namespace review {
namespace cmd {
namespace {

struct Args {
  std::string vault, key, passfile;
  unsigned idle = 900;
};

// No command needs a longer line.
constexpr size_t kMaxLine = 64u << 10;

std::string g_held_file;
std::shared_ptr<const crypto::Keyring> g_held;

// Splits a line into words: blanks separate, '...' and "..." group, and a
// backslash outside single quotes takes the next character as it is.
Status Words(const std::string& line, std::vector<std::string>* out) {
  out->clear();
  std::string w;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); i++) {
    char c = line[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size()) w += line[++i];
      else w += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      w += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      if (in_word) out->push_back(std::move(w));
      w.clear();
      in_word = false;
    } else {
      w += c;
      in_word = true;
    }
  }
  if (quote != 0) return Status::InvalidArgument("a quote is not closed");
  if (in_word) out->push_back(std::move(w));
  return Status::OK();
}

// Reads standard input a line at a time, waiting at most `idle` seconds for
// each.
class Lines {
 public:
  enum Got { kLine, kTooLong, kEnd, kIdle };
  Got Next(unsigned idle, std::string* line) {
    while (true) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        const bool dropped = dropping_;
        *line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        dropping_ = false;
        if (dropped) {
          line->clear();
          return kTooLong;
        }
        return kLine;
      }
      if (eof_) {
        if (buf_.empty() || dropping_) return kEnd;
        *line = std::move(buf_);
        buf_.clear();
        return kLine;
      }
      // A line past the limit is refused whole: what came so far is
      // dropped, and the rest up to its end when it arrives.
      if (buf_.size() > kMaxLine) {
        buf_.clear();
        dropping_ = true;
      }
      pollfd p{0, POLLIN, 0};
      int r = ::poll(&p, 1, int(idle) * 1000);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) return kIdle;
      char chunk[4096];
      ssize_t n = ::read(0, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      buf_.append(chunk, size_t(n));
    }
  }

 private:
  std::string buf_;
  bool eof_ = false;
  bool dropping_ = false;
};

void Help() {
  std::printf(
      "commands (each as the sealdrop-review subcommand, with this shell's --vault and --key):\n"
      "  list [--limit N | --all] [--status S] [--starred] [--assignee NAME] [--overdue]\n"
      "       [--from DAY] [--to DAY] [--json]\n"
      "  show <id>... [--json]\n"
      "  extract <id>... --out DIR, or extract --all-new --out DIR; [--scrub [--keep-original]]\n"
      "  reply <id> --message-file FILE\n"
      "  triage <id>... [--status S] [--star | --unstar] [--assign NAME | --unassign]\n"
      "         [--outcome TEXT] [--note TEXT | --note-file FILE] [--json]\n"
      "  help, quit (or the end of input)\n");
}

// Runs one line's command; its exit status, as the subcommand would give.
int RunLine(const Args& a, const std::vector<std::string>& words) {
  std::vector<std::string> argv = {kTool};
  argv.insert(argv.end(), words.begin(), words.end());
  argv.insert(argv.end(), {"--vault", a.vault, "--key", a.key});
  CLI::App app{"sealdrop-review shell"};
  app.require_subcommand(1);
  const std::vector<Command> commands = {AddList(app), AddShow(app), AddExtract(app),
                                         AddReply(app), AddTriage(app)};
  std::vector<char*> ptrs;
  for (auto& s : argv) ptrs.push_back(s.data());
  int rc = cli::Run(kTool, app, commands, int(ptrs.size()), ptrs.data());
  std::fflush(stdout);
  return rc;
}

int Run(const Args& a) {
  if (a.idle == 0 || a.idle > 86400)
    return Fail(Status::InvalidArgument("--idle must be from 1 to 86400 seconds"));
  std::unique_ptr<storage::Store> vault;
  Status st = OpenVault(a.vault, false, &vault);
  if (!st.ok())
    return Fail(st, "import a bundle first: sealdrop-review import <bundle> --vault <dir> --key <key>");
  vault.reset();  // each command opens it afresh, as on its own
  auto key = std::make_shared<crypto::Keyring>();
  st = UnlockKey(a.key, a.passfile, key.get());
  if (!st.ok()) return Fail(st);
  HoldKey(a.key, key);
  std::fprintf(stderr,
               "%s: key %s unlocked for this shell until quit, the end of input, or %u s "
               "without a command; type help for the commands\n",
               kTool, crypto::ToHex(key->current().pub.id.data(), key->current().pub.id.size()).c_str(),
               a.idle);
  key.reset();
  const bool tty = ::isatty(0) == 1;
  Lines lines;
  std::string line;
  std::vector<std::string> words;
  Lines::Got got = Lines::kEnd;
  while (true) {
    if (tty) std::fprintf(stderr, "sealdrop> ");
    got = lines.Next(a.idle, &line);
    if (got == Lines::kEnd || got == Lines::kIdle) break;
    if (got == Lines::kTooLong) {
      Fail(Status::InvalidArgument("the line is longer than 64 KiB"));
      continue;
    }
    st = Words(line, &words);
    if (!st.ok()) {
      Fail(st, "quote a name with spaces as \"a name\" or 'a name'");
      continue;
    }
    if (words.empty()) continue;
    const std::string& verb = words[0];
    if (verb == "quit" || verb == "exit") break;
    if (verb == "help") {
      Help();
    } else if (verb == "list" || verb == "show" || verb == "extract" || verb == "reply" ||
               verb == "triage") {
      RunLine(a, words);
    } else {
      Fail(Status::InvalidArgument("unknown command '" + verb + "'"), "help lists the commands");
    }
  }
  HoldKey("", nullptr);  // the last reference: the key is wiped here
  if (got == Lines::kIdle)
    std::fprintf(stderr, "%s: %u s without a command: the key is wiped; run shell again\n", kTool,
                 a.idle);
  return 0;
}

}  // namespace

void HoldKey(const std::string& keyfile, std::shared_ptr<const crypto::Keyring> key) {
  g_held_file = key ? keyfile : "";
  g_held = std::move(key);
}

std::shared_ptr<const crypto::Keyring> HeldKey(const std::string& keyfile) {
  return g_held && keyfile == g_held_file ? g_held : nullptr;
}

Command AddShell(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand(
      "shell",
      "unlock the key once and read commands (list, show, extract, reply, triage) from input");
  c->add_option("--vault", a->vault, "vault directory")->required();
  c->add_option("--key", a->key, "your secret key file")->required();
  c->add_option("--passphrase-file", a->passfile, "read the passphrase from this file");
  c->add_option("--idle", a->idle, "seconds without a command before the key is wiped")
      ->capture_default_str();
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
