// OpenSSL's ChaCha20-Poly1305 for sealing version-2 chunks on the server
// (crypto.h, SealChunkOpenssl). It produces the same bytes as libsodium's,
// which the unit tests check, and which sealdrop-review uses to open them.
#include <openssl/evp.h>

#include <cstring>

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

namespace {

class OpensslBlake2b final : public Digest {
 public:
  explicit OpensslBlake2b(EVP_MD_CTX* ctx) : ctx_(ctx) {}
  ~OpensslBlake2b() override { EVP_MD_CTX_free(ctx_); }
  void Update(const uint8_t* p, size_t n) override { ok_ = ok_ && EVP_DigestUpdate(ctx_, p, n) == 1; }
  void Final(uint8_t out[kSize]) override {
    unsigned int len = 0;
    ok_ = ok_ && EVP_DigestFinal_ex(ctx_, out, &len) == 1 && len == kSize;
    // A failure must not pass for a digest: the signature over it would
    // then fail to verify, which the reader reports.
    if (!ok_) std::memset(out, 0, kSize);
  }

 private:
  EVP_MD_CTX* ctx_;
  bool ok_ = true;
};

}  // namespace

std::unique_ptr<Digest> NewOpensslBlake2b() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "BLAKE2B-512", nullptr);
  if (md == nullptr) return nullptr;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return nullptr;
  if (EVP_DigestInit_ex2(ctx, md, nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return nullptr;
  }
  return std::make_unique<OpensslBlake2b>(ctx);
}

}  // namespace crypto
}  // namespace sealdrop
