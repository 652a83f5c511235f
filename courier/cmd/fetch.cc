// sealdrop-courier fetch: downloads a bundle of new submissions (or, with
// --resend, of every one the server holds unacknowledged) into a new file,
// whole or not at all.
#include <unistd.h>

#include <cstdio>

#include "courier/cmd/cmd.h"

namespace sealdrop {
namespace courier {
namespace cmd {
namespace {

constexpr int kResumes = 5;

struct Args {
  Remote remote;
  std::string out;
  bool resend = false;
};

int Run(const Args& a) {
  Endpoint at;
  crypto::SigningKey key;
  if (int rc = Prepare(a.remote, &at, &key)) return rc;
  // Streamed into a file beside the target, which takes the name only when
  // whole: a broken transfer leaves no bundle that looks complete.
  std::string tmp;
  int fd = -1;
  Status wrote = cli::OpenTemp(a.out, 0600, &fd, &tmp);
  if (!wrote.ok()) return Fail(wrote);
  uint64_t bytes = 0;
  auto append = [&](const char* p, size_t n) {
    wrote = cli::WriteAll(fd, p, n, tmp);
    if (wrote.ok()) bytes += n;
    return wrote.ok();
  };
  Answer ans;
  Status st = Send(at, key, "GET", a.resend ? "/v1/bundle?resend=1" : "/v1/bundle", "", append,
                   &ans);
  // A connection that broke part way: ask for the rest of the same bundle.
  const std::string transfer = ans.transfer;
  for (int attempt = 1; attempt <= kResumes && !st.ok() && wrote.ok() && ans.status == 200 &&
                        !transfer.empty();
       attempt++) {
    std::fprintf(stderr, "%s: the download broke off after %llu bytes (%s); resuming\n", kTool,
                 static_cast<unsigned long long>(bytes), st.message().c_str());
    ::sleep(unsigned(attempt));
    st = Send(at, key, "GET",
              "/v1/bundle?transfer=" + transfer + "&from=" + std::to_string(bytes), "", append,
              &ans);
  }
  if (st.ok() && !wrote.ok()) st = wrote;
  if (st.ok() && ans.status == 200 && ::fsync(fd) != 0) st = Status::IOError("cannot sync " + tmp);
  ::close(fd);
  if (st.ok() && ans.status == 200) st = cli::PublishNew(tmp, a.out);
  else ::unlink(tmp.c_str());
  if (!st.ok()) return Fail(st, "nothing was kept; fetch again (with --resend if the server "
                                "counted those as exported)");
  if (ans.status == 204) {
    std::printf("nothing new to fetch\n");
    return 0;
  }
  if (ans.status != 200) return Refused(ans);
  std::printf("fetched %llu bytes into %s\n", static_cast<unsigned long long>(bytes),
              a.out.c_str());
  return 0;
}

}  // namespace

Command AddFetch(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("fetch", "download a signed bundle of new submissions");
  a->remote.Add(c);
  c->add_option("--out", a->out, "bundle file to create (never overwritten)")->required();
  c->add_flag("--resend", a->resend,
              "every submission the server holds that no reviewer acknowledged, for a bundle "
              "that was lost");
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace courier
}  // namespace sealdrop
