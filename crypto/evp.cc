// OpenSSL's ChaCha20-Poly1305 for sealing version-2 chunks on the server
// (crypto.h, SealChunkOpenssl). It produces the same bytes as libsodium's,
// which the unit tests check, and which sealdrop-review uses to open them.
#include <openssl/evp.h>

#include "crypto/crypto.h"

namespace sealdrop {
namespace crypto {

bool SealChunkOpenssl(const uint8_t* key, const uint8_t* nonce, const uint8_t* ad, size_t ad_len,
                      const uint8_t* in, size_t n, uint8_t* out) {
  if (n > size_t(INT32_MAX) || ad_len > size_t(INT32_MAX)) return false;
  // A context per chunk: freeing it cleanses the key schedule at once, so
  // the item key lives outside guarded memory only for this call.
  // Fetched once: an implicit fetch on every call takes the provider lock.
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  if (cipher == nullptr) return false;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return false;
  int len = 0;
  bool ok = EVP_EncryptInit_ex2(ctx, cipher, key, nonce, nullptr) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &len, ad, int(ad_len)) == 1 &&
            EVP_EncryptUpdate(ctx, out, &len, in, int(n)) == 1 && size_t(len) == n &&
            EVP_EncryptFinal_ex(ctx, out + n, &len) == 1 && len == 0 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + n) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

}  // namespace crypto
}  // namespace sealdrop
