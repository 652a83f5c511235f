// config_fuzz: server::LoadConfig (server/config.cc over toml++), on the
// input written to <scratch>/config.toml. The file is the operator's, but
// it must still fail closed with a Status, never crash or throw.
// toml++ is compiled into this target header-only (fuzz/CMakeLists.txt) so
// that its parser is instrumented too.
//
// Oracles besides the sanitizers: a config that loads has a recipient,
// max_upload <= store_quota and absolute TLS paths when it listens on TCP;
// and ParseSize, run on the input's first line, either refuses a size or
// returns exactly digits * unit (no silent wrap-around).
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <string>

#include "fuzz/fuzz_util.h"
#include "server/server.h"

using namespace sealdrop;

namespace {

void WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  // A new file each time: ext4 flushes a truncated-and-rewritten file on
  // close (auto_da_alloc), which would make every run wait for the disk.
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fuzz::Die("cannot write", path);
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::write(fd, data + off, size - off);
    if (n <= 0) fuzz::Die("cannot write", path);
    off += size_t(n);
  }
  ::close(fd);
}

void CheckParseSize(const std::string& text) {
  uint64_t got = 0;
  if (!server::ParseSize(text, &got).ok()) return;
  // What the accepted text means: leading digits times the unit.
  unsigned __int128 v = 0;
  size_t i = 0;
  const unsigned __int128 kBig = (unsigned __int128)1 << 70;  // beyond anything accepted
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    v = v * 10 + unsigned(text[i++] - '0');
    if (v > kBig) v = kBig;
  }
  size_t u = text.find_first_not_of(' ', i);
  const std::string unit = u == std::string::npos ? "" : text.substr(u);
  int shift = unit == "KiB" ? 10 : unit == "MiB" ? 20 : unit == "GiB" ? 30 : unit == "TiB" ? 40 : 0;
  const unsigned __int128 want = v << shift;
  FUZZ_CHECK(want == got, "ParseSize(\"" + text + "\") = " + std::to_string(got) +
                              ", not the size written (wrapped around 2^64)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InitOnce();
  const std::string& dir = fuzz::ScratchDir();
  WriteFile(dir + "/config.toml", data, size);

  server::Config cfg;
  Status st = server::LoadConfig(dir, &cfg);
  if (st.ok()) {
    FUZZ_CHECK(!cfg.recipients.empty(), "a config without recipients loaded");
    FUZZ_CHECK(cfg.max_upload <= cfg.store_quota, "max_upload > store_quota loaded");
    if (!cfg.unix_socket())
      FUZZ_CHECK(!cfg.tls_cert.empty() && cfg.tls_cert[0] == '/' && !cfg.tls_key.empty() &&
                     cfg.tls_key[0] == '/',
                 "TLS paths not absolute");
  } else {
    FUZZ_CHECK(!st.message().empty(), "an error without a message");
  }

  std::string line;
  const uint8_t* rest = nullptr;
  size_t rest_size = 0;
  fuzz::SplitFirstLine(data, size, 64, &line, &rest, &rest_size);
  CheckParseSize(line);
  return 0;
}
