// sealdrop-courier internals: the signed HTTP client its commands share.
// The courier holds an Ed25519 transport key and nothing that opens a
// submission: it links no X25519, content-key or stream-opening code (a test
// checks its symbols), and no store.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "crypto/crypto.h"
#include "format/format.h"

namespace sealdrop {
namespace courier {

// Where the reviewer API is and how to reach it.
struct Endpoint {
  std::string url;    // https://host:port or unix:/path
  std::string ca;     // PEM file of the certificate(s) to trust (https); empty: the system's
  std::string proxy;  // host:port of an HTTP CONNECT proxy (tor's HTTPTunnelPort); empty: none
  crypto::SignPublic instance{};  // the instance the requests are signed for
};

// One signed request's outcome: the HTTP status (0 if none came) and, unless
// it was 200 and streamed to the caller, the start of the answer's text.
struct Answer {
  int status = 0;
  std::string text;
  std::string transfer;  // Sealdrop-Transfer: names a download to resume
};

// Sends `method target` with `body`, signed with `key` (docs/FORMAT.md
// "Signed request"). A 200 answer's body goes to `sink` as it arrives (null:
// into Answer::text). IOError when no answer came.
Status Send(const Endpoint& at, const crypto::SigningKey& key, const std::string& method,
            const std::string& target, const std::string& body,
            const std::function<bool(const char*, size_t)>& sink, Answer* out);

}  // namespace courier
}  // namespace sealdrop
