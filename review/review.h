// sealdrop-review internals. This binary links no HTTP, TLS or socket code:
// it runs on the air-gapped laptop and cannot talk to a network.
#pragma once

#include <string>

#include "common/status.h"
#include "crypto/crypto.h"

namespace sealdrop {
namespace review {

// Turns a source-supplied file name into one safe to create in a directory:
// no path separators, no control or bidirectional-override characters, no
// leading dots or dashes, valid UTF-8, at most 200 bytes. Never empty.
std::string SafeName(const std::string& name);

// Makes untrusted text safe to print on a terminal: control characters
// (but newline and tab), bidirectional overrides and invalid UTF-8 become '_'.
std::string Printable(const std::string& text);

// Reads a passphrase from `file` (first line) or, if file is empty, from the
// terminal with echo off. `confirm` asks twice.
Status ReadPassphrase(const std::string& file, const char* prompt, bool confirm,
                      crypto::Secret* out);

}  // namespace review
}  // namespace sealdrop
