// keyfile_fuzz: the key parsers of crypto/crypto.cc, on the same input:
//   PeekKeyFile and OpenKeyFile (reviewer key file; passphrase "x"),
//   ParseInstanceKey (server instance key),
//   ParsePublicKey (the sdpk1:<epoch>:<base64url> text),
//   ParseCodenameParams (sdcn1:...) and NormalizeCodename (a typed codename).
// OpenKeyFile runs Argon2id with the parameters the file names (bounded by
// the product to opslimit <= 16, memlimit <= 4 GiB): far too slow here, so it
// is only called when the file asks for opslimit 1 and memlimit <= 64 KiB.
// Oracles besides the sanitizers: whatever parses re-encodes to itself
// (key file via SealKeyFileDeterministic with the file's salt and nonce;
// instance key via FormatInstanceKey; public key via FormatPublicKey;
// codename parameters via FormatCodenameParams); a normalized codename is
// its own normal form, no longer than the input, with no space at its ends
// or twice in a row and no ASCII capital.
#include <algorithm>
#include <cstring>
#include <string>

#include "crypto/crypto.h"
#include "fuzz/fuzz_util.h"

using namespace sealdrop;

namespace {

uint32_t U32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InitOnce();
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  crypto::PublicKey peeked;
  if (crypto::PeekKeyFile(bytes, &peeked).ok()) {
    FUZZ_CHECK(size == 152, "PeekKeyFile accepted a file of the wrong length");
    FUZZ_CHECK(peeked.id == crypto::ComputeKeyId(peeked.pk.data(), peeked.pk.size()));
    const uint32_t ops = U32(data + 56), mem_kib = U32(data + 60);
    if (ops == 1 && mem_kib <= 64) {
      crypto::RecipientKey key;
      if (crypto::OpenKeyFile(bytes, fuzz::TestPassphrase(), &key).ok()) {
        FUZZ_CHECK(key.sk.size() == 32, "opened key has no secret half");
        FUZZ_CHECK(key.pub.pk == peeked.pk && key.pub.epoch == peeked.epoch &&
                       key.pub.id == peeked.id,
                   "OpenKeyFile and PeekKeyFile disagree");
        std::string again;
        Status st = crypto::SealKeyFileDeterministic(key, fuzz::TestPassphrase(), crypto::KdfParams{ops, mem_kib},
                                                     data + 64, data + 80, &again);
        FUZZ_CHECK(st.ok(), st.ToString());
        FUZZ_CHECK(again == bytes, "an opened key file does not re-seal to itself");
      }
    }
  }

  crypto::SigningKey sk;
  if (crypto::ParseInstanceKey(bytes, &sk).ok())
    FUZZ_CHECK(crypto::FormatInstanceKey(sk) == bytes, "instance key does not re-encode to itself");

  crypto::PublicKey pub;
  if (crypto::ParsePublicKey(bytes, &pub).ok()) {
    FUZZ_CHECK(pub.id == crypto::ComputeKeyId(pub.pk.data(), pub.pk.size()));
    const std::string text = crypto::FormatPublicKey(pub);
    crypto::PublicKey back;
    Status st = crypto::ParsePublicKey(text, &back);
    FUZZ_CHECK(st.ok(), "FormatPublicKey output does not parse: " + text);
    FUZZ_CHECK(back.pk == pub.pk && back.epoch == pub.epoch && back.id == pub.id,
               "public key does not round-trip: " + text);
  }

  crypto::CodenameParams params;
  if (crypto::ParseCodenameParams(bytes, &params).ok()) {
    crypto::CodenameParams back;
    FUZZ_CHECK(crypto::ParseCodenameParams(crypto::FormatCodenameParams(params), &back).ok());
    FUZZ_CHECK(back.opslimit == params.opslimit && back.memlimit_kib == params.memlimit_kib &&
                   back.salt == params.salt,
               "codename parameters do not round-trip");
  }

  crypto::Secret c = crypto::NormalizeCodename(data, size);
  const std::string norm(reinterpret_cast<const char*>(c.data()), c.size());
  FUZZ_CHECK(norm.size() <= std::min(size, crypto::kMaxCodenameInput));
  FUZZ_CHECK(norm.empty() || (norm.front() != ' ' && norm.back() != ' '), "space at an end");
  FUZZ_CHECK(norm.find("  ") == std::string::npos, "two spaces in a row");
  for (char ch : norm) FUZZ_CHECK(!(ch >= 'A' && ch <= 'Z'), "a capital left");
  crypto::Secret again = crypto::NormalizeCodename(c.data(), c.size());
  FUZZ_CHECK(again.size() == c.size() && std::memcmp(again.data(), c.data(), c.size()) == 0,
             "NormalizeCodename is not idempotent");
  return 0;
}
