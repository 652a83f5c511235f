// What both command-line tools share: error reporting in the house manner
// ("tool: error: ..." then "tool: hint: ...") and their exit codes, and
// parsing with CLI11 without letting its exceptions escape.
#pragma once

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "common/status.h"
#include "crypto/crypto.h"

namespace sealdrop {
namespace cli {

// Every tool starts the same way: libsodium ready, and whatever it creates
// private to its user. False (after saying why) if it cannot run.
inline bool Start(const char* tool) {
  if (!crypto::Init().ok()) {
    std::fprintf(stderr, "%s: error: libsodium failed to initialise\n", tool);
    return false;
  }
  ::umask(077);
  return true;
}

// Exit status: 1 when authentication failed, 2 for usage or I/O errors.
inline int Fail(const char* tool, const Status& st, const std::string& hint = "") {
  std::fprintf(stderr, "%s: error: %s\n", tool, st.message().c_str());
  if (!hint.empty()) std::fprintf(stderr, "%s: hint: %s\n", tool, hint.c_str());
  return st.Is(Status::Code::kAuthFailed) ? 1 : 2;
}

// Returns -1 when parsing succeeded; otherwise the exit status to use
// (0 after --help).
inline int Parse(const char* tool, CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: error: %s\n%s: hint: see %s --help\n", tool, e.what(), tool, tool);
    return 2;
  }
  return -1;
}

}  // namespace cli
}  // namespace sealdrop
