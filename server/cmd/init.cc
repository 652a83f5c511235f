// sealdrop-server init: a new instance directory with its configuration,
// instance signing key and empty store.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <toml++/toml.h>

#include "server/cmd/cmd.h"

namespace sealdrop {
namespace server {
namespace cmd {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  return s;
}

struct Args {
  std::string dir;
  std::vector<std::string> recipients;
  std::string listen = "127.0.0.1:8443";
  std::string cert = "tls/cert.pem";
  std::string key = "tls/key.pem";
  std::string max_upload = "2GiB";
  std::string name, description;
  uint32_t codename_ops = crypto::CodenameParams().opslimit;
  std::string codename_memory = "256KiB";
};

// The configuration file, written by toml++ so that no value can break out
// of its quotes. LoadConfig reads it back before anything is created.
Status ConfigText(const Args& a, std::string* out) {
  toml::table t;
  t.insert("listen", a.listen);
  if (a.listen.rfind("unix:", 0) != 0) {
    t.insert("tls_cert", a.cert);
    t.insert("tls_key", a.key);
  }
  t.insert("max_upload", a.max_upload);
  t.insert("max_files", 100);
  t.insert("store_quota", "16GiB");
  t.insert("threads", 16);
  t.insert("connections", 256);
  t.insert("header_timeout", 20);
  t.insert("read_timeout", 30);
  t.insert("write_timeout", 30);
  t.insert("min_rate", 256);
  toml::array recipients;
  for (const std::string& r : a.recipients) {
    std::string text = r;
    if (r.rfind("sdpk1:", 0) != 0) SD_RETURN_IF_ERROR(cli::ReadFile(r, &text));
    text = Trim(text);
    crypto::PublicKey pub;
    SD_RETURN_IF_ERROR(crypto::ParsePublicKey(text, &pub));
    toml::table rec;
    rec.insert("name", crypto::ToHex(pub.id.data(), pub.id.size()));
    rec.insert("key", text);
    // keygen writes the signing key's public half beside the .pub file.
    const std::string ext = ".pub";
    if (r.size() > ext.size() && r.compare(r.size() - ext.size(), ext.size(), ext) == 0) {
      std::string signing;
      if (cli::ReadFile(r.substr(0, r.size() - ext.size()) + ".sign.pub", &signing, 256).ok()) {
        signing = Trim(signing);
        crypto::SignPublic pk;
        SD_RETURN_IF_ERROR(crypto::ParseSigningPublic(signing, &pk));
        rec.insert("signing", signing);
      }
    }
    recipients.push_back(std::move(rec));
  }
  t.insert("recipient", std::move(recipients));
  if (!a.name.empty()) {
    toml::table en;
    en.insert("name", a.name);
    if (!a.description.empty()) en.insert("description", a.description);
    toml::table site;
    site.insert("en", std::move(en));
    t.insert("site", std::move(site));
  }
  std::ostringstream s;
  s << "# sealdrop instance configuration: see docs/OPERATIONS.md\n" << t << "\n";
  *out = s.str();
  return Status::OK();
}

int Run(const Args& a) {
  if (a.recipients.empty())
    return Fail(Status::InvalidArgument("init needs at least one --recipient"),
                "pass the .pub file that sealdrop-review keygen wrote");
  uint64_t size;
  Status st = ParseSize(a.max_upload, &size);
  if (!st.ok()) return Fail(st, "sizes look like 2GiB or 500MiB");
  uint64_t memory = 0;
  st = ParseSize(a.codename_memory, &memory);
  if (!st.ok() || memory / 1024 > crypto::kMaxMemlimitKib || memory < 8192)
    return Fail(Status::InvalidArgument("--codename-memory must be from 8KiB to 4GiB"));
  if (a.codename_ops < 1 || a.codename_ops > crypto::kMaxOpslimit)
    return Fail(Status::InvalidArgument("--codename-ops must be from 1 to 16"));
  std::string text;
  st = ConfigText(a, &text);
  if (!st.ok()) return Fail(st, "--recipient takes a .pub file or an sdpk1: key");
  if (::mkdir(a.dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Fail(Status::IOError("cannot create " + a.dir + ": " + std::strerror(errno)));
  ::chmod(a.dir.c_str(), 0700);
  st = cli::WriteNewFile(a.dir + "/config.toml", text, 0600);
  if (!st.ok()) return Fail(st, "is there an instance there already?");
  Config cfg;
  cfg.dir = a.dir;
  crypto::CodenameParams cost;
  cost.opslimit = a.codename_ops;
  cost.memlimit_kib = uint32_t(memory / 1024);
  st = WriteCodenameParams(&cfg, cost);
  if (!st.ok()) return Fail(st);
  crypto::SigningKey ik;
  crypto::GenerateSigningKey(&ik);
  st = cli::WriteNewFile(a.dir + "/instance.key", crypto::FormatInstanceKey(ik), 0600);
  if (!st.ok()) return Fail(st);
  std::unique_ptr<storage::Store> store;
  storage::Options o;
  st = storage::Store::Open(a.dir + "/store", o, &store);
  if (!st.ok()) return Fail(st);
  for (const char* name : {"/config.toml", "/instance.key", "/codename.params", ""})
    storage::SetDayTimes(a.dir + name);
  std::printf("initialised %s\ninstance key %s\n", a.dir.c_str(),
              crypto::ToHex(ik.pk.data(), 32).c_str());
  return 0;
}

}  // namespace

Command AddInit(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("init", "create an instance directory");
  c->add_option("dir", a->dir, "instance directory")->required();
  c->add_option("--recipient", a->recipients, "reviewer public key (.pub file, whose .sign.pub beside it is taken too, or sdpk1:...)")
      ->required();
  c->add_option("--listen", a->listen, "host:port for HTTPS, or unix:/path for plain HTTP")
      ->capture_default_str();
  c->add_option("--tls-cert", a->cert, "certificate (PEM), relative to dir")->capture_default_str();
  c->add_option("--tls-key", a->key, "private key (PEM, mode 600), relative to dir")
      ->capture_default_str();
  c->add_option("--max-upload", a->max_upload, "file bytes per submission")->capture_default_str();
  c->add_option("--name", a->name, "whom sources are writing to, as the site shows it ([site.en])");
  c->add_option("--description", a->description, "a short description of the team, for the site");
  c->add_option("--codename-ops", a->codename_ops,
                "Argon2id passes per codename derivation; fixed for the instance's life")
      ->capture_default_str();
  c->add_option("--codename-memory", a->codename_memory,
                "Argon2id memory per codename derivation; fixed for the instance's life")
      ->capture_default_str();
  return {c, [a] { return Run(*a); }};
}

}  // namespace cmd
}  // namespace server
}  // namespace sealdrop
