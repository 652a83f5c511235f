// The vault's index records, sealed under a key each reviewer derives from
// their own keyring (FORMAT.md "Index record"; crypto.h says why).
#include <sodium.h>

#include <cstring>

#include "crypto/crypto.h"

namespace sealdrop {
namespace crypto {
namespace {

constexpr char kKeyContext[] = "sealdrop-index-key-1";
constexpr char kIdContext[] = "sealdrop-index-id-1";
constexpr char kAdContext[] = "sealdrop-index-1";
constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

std::vector<uint8_t> IndexAd(const IndexId& iid, const Id& id) {
  const size_t c = sizeof(kAdContext) - 1;
  std::vector<uint8_t> ad(c + iid.size() + id.size());
  std::memcpy(ad.data(), kAdContext, c);
  std::memcpy(ad.data() + c, iid.data(), iid.size());
  std::memcpy(ad.data() + c + iid.size(), id.data(), id.size());
  return ad;
}

}  // namespace

Status DeriveIndexKey(const Keyring& ring, Secret* key, IndexId* id) {
  if (ring.keys.empty() || ring.keys.front().sk.size() != 32)
    return Status::InvalidArgument("no key to derive the index key from");
  const Secret& sk = ring.keys.front().sk;
  Secret k(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  crypto_generichash(k.data(), k.size(), reinterpret_cast<const uint8_t*>(kKeyContext),
                     sizeof(kKeyContext) - 1, sk.data(), sk.size());
  crypto_generichash(id->data(), id->size(), reinterpret_cast<const uint8_t*>(kIdContext),
                     sizeof(kIdContext) - 1, k.data(), k.size());
  *key = std::move(k);
  return Status::OK();
}

Status SealIndex(const Secret& key, const IndexId& iid, const Id& id, const uint8_t* plain,
                 size_t n, std::vector<uint8_t>* sealed) {
  if (key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    return Status::InvalidArgument("no index key");
  if (n > kMaxIndex) return Status::TooLarge("an index record is too long");
  const std::vector<uint8_t> ad = IndexAd(iid, id);
  sealed->assign(kNonce + n + kTag, 0);
  RandomBytes(sealed->data(), kNonce);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed->data() + kNonce, &len, plain, n, ad.data(),
                                             ad.size(), nullptr, sealed->data(), key.data());
  return Status::OK();
}

Status OpenIndex(const Secret& key, const IndexId& iid, const Id& id, const uint8_t* sealed,
                 size_t n, Secret* plain) {
  if (key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    return Status::InvalidArgument("no index key");
  if (n < kNonce + kTag || n - kNonce - kTag > kMaxIndex)
    return Status::Corruption("a sealed index record has an impossible length");
  const std::vector<uint8_t> ad = IndexAd(iid, id);
  Secret out(n - kNonce - kTag);
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &len, nullptr, sealed + kNonce,
                                                 n - kNonce, ad.data(), ad.size(), sealed,
                                                 key.data()) != 0)
    return Status::AuthFailed("an index record does not open with your index key");
  *plain = std::move(out);
  return Status::OK();
}

}  // namespace crypto
}  // namespace sealdrop
