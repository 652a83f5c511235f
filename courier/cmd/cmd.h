// sealdrop-courier's subcommands, one file each, behind the table in
// courier/main.cc. What fetch and push share is here.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "base/cli.h"
#include "courier/courier.h"

namespace sealdrop {
namespace courier {
namespace cmd {

constexpr const char* kTool = "sealdrop-courier";

using cli::Command;

Command AddKeygen(CLI::App& app);  // keygen.cc
Command AddFetch(CLI::App& app);   // fetch.cc
Command AddPush(CLI::App& app);    // push.cc

inline int Fail(const Status& st, const std::string& hint = "") {
  return cli::Fail(kTool, st, hint);
}

// The flags of every command that talks to the server.
struct Remote {
  std::string server, fingerprint, key, passfile, ca, proxy;
  void Add(CLI::App* c) {
    c->add_option("server", server, "the reviewer API: https://host:port or unix:/path")
        ->required();
    c->add_option("--instance-fingerprint", fingerprint,
                  "the instance key that sealdrop-server init or check printed")
        ->required();
    c->add_option("--key", key, "the courier's transport key file (sealdrop-courier keygen)")
        ->required();
    c->add_option("--passphrase-file", passfile, "read the key's passphrase from this file");
    c->add_option("--ca", ca, "PEM certificate(s) to trust for https (default: the system's)");
    c->add_option("--proxy", proxy, "host:port of an HTTP CONNECT proxy, such as tor's "
                                    "HTTPTunnelPort, for an onion address");
  }
};

// Unlocks the transport key and reads the fingerprint into *at. 0, or the
// exit status after saying what is wrong.
int Prepare(const Remote& r, Endpoint* at, crypto::SigningKey* key);

// The exit status and message for an answer other than the one hoped for.
int Refused(const Answer& a);

}  // namespace cmd
}  // namespace courier
}  // namespace sealdrop
