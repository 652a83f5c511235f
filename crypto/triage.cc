// The team's notes on a submission, sealed in the vault under a key derived
// from the submission's content key (FORMAT.md "Triage record").
#include <sodium.h>

#include <cstring>

#include "crypto/crypto.h"

namespace sealdrop {
namespace crypto {
namespace {

constexpr char kTriageContext[] = "sealdrop-triage-1";
constexpr size_t kContextLen = sizeof(kTriageContext) - 1;

// BLAKE2b-256 keyed with the content key, over the context string.
Secret TriageKey(const Secret& content_key) {
  Secret k(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  crypto_generichash(k.data(), k.size(), reinterpret_cast<const uint8_t*>(kTriageContext),
                     kContextLen, content_key.data(), content_key.size());
  return k;
}

// The context string and the submission's id: a record moved to another
// submission does not open.
std::vector<uint8_t> TriageAd(const Id& id) {
  std::vector<uint8_t> ad(kContextLen + id.size());
  std::memcpy(ad.data(), kTriageContext, kContextLen);
  std::memcpy(ad.data() + kContextLen, id.data(), id.size());
  return ad;
}

}  // namespace

Status SealTriage(const Secret& content_key, const Id& id, const uint8_t* plain, size_t n,
                  std::vector<uint8_t>* sealed) {
  if (content_key.size() != kContentKeySize) return Status::InvalidArgument("no content key");
  if (n > kMaxTriage) return Status::TooLarge("the notes are too long");
  const Secret key = TriageKey(content_key);
  const std::vector<uint8_t> ad = TriageAd(id);
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  sealed->assign(kNonce + n + crypto_aead_xchacha20poly1305_ietf_ABYTES, 0);
  RandomBytes(sealed->data(), kNonce);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed->data() + kNonce, &len, plain, n, ad.data(),
                                             ad.size(), nullptr, sealed->data(), key.data());
  return Status::OK();
}

Status OpenTriage(const Secret& content_key, const Id& id, const uint8_t* sealed, size_t n,
                  Secret* plain) {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (content_key.size() != kContentKeySize) return Status::InvalidArgument("no content key");
  if (n < kNonce + kTag || n - kNonce - kTag > kMaxTriage)
    return Status::Corruption("a sealed triage record has an impossible length");
  const Secret key = TriageKey(content_key);
  const std::vector<uint8_t> ad = TriageAd(id);
  Secret out(n - kNonce - kTag);
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &len, nullptr, sealed + kNonce,
                                                 n - kNonce, ad.data(), ad.size(), sealed,
                                                 key.data()) != 0)
    return Status::AuthFailed("the triage record does not open with this submission's key");
  *plain = std::move(out);
  return Status::OK();
}

}  // namespace crypto
}  // namespace sealdrop
