// crypto_speed: single-core ceilings for the stages of an upload and an
// extract, on this machine, without any I/O.
//
//   crypto_speed [MiB]      (default 1024)
//
// Prints one JSON object with MB/s (10^6 bytes per second) for:
//   chacha_seal_evp    OpenSSL's ChaCha20-Poly1305 over 256 KiB chunks with 20
//                      bytes of associated data and a context per chunk (as
//                      sealdrop-server seals stream version 2)
//   chacha_open_sodium libsodium's crypto_aead_chacha20poly1305_ietf opening
//                      them (as sealdrop-review extract does, per core)
//   secretstream_push  crypto_secretstream_xchacha20poly1305_push, 256 KiB
//                      chunks with 20 bytes of associated data (stream version 1)
//   secretstream_pull  the matching pull
//   aes256gcm_16k      AES-256-GCM over 16 KiB records via EVP (what a TLS 1.3
//                      server does with TLS_AES_256_GCM_SHA384, curl's default here)
//   memcpy             copying 256 KiB blocks out of a 64 MiB buffer
// Each figure processes MiB bytes, cycling over a 64 MiB source buffer so
// the data does not sit in cache.
#include <openssl/evp.h>
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr size_t kChunk = 256 * 1024;
constexpr size_t kRecord = 16 * 1024;
constexpr size_t kPool = 64u << 20;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double Rate(uint64_t bytes, double secs) { return double(bytes) / secs / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  uint64_t total = uint64_t(argc > 1 ? std::atoi(argv[1]) : 1024) << 20;
  if (total == 0 || sodium_init() < 0) {
    std::fprintf(stderr, "usage: crypto_speed [MiB]\n");
    return 2;
  }
  std::vector<uint8_t> pool(kPool), out(kPool + kPool / kChunk * 64);
  randombytes_buf(pool.data(), pool.size());
  const size_t per_pool = kPool / kChunk;
  const uint64_t chunks = total / kChunk;
  const size_t ab = crypto_secretstream_xchacha20poly1305_ABYTES;
  uint8_t ad[20] = {1, 2, 3};

  // --- secretstream push, keeping the ciphertext of the first pool pass ---------
  uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_keygen(key);
  crypto_secretstream_xchacha20poly1305_state st;
  crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
  std::vector<uint8_t> cbuf(kChunk + ab);
  std::vector<std::vector<uint8_t>> first;  // ciphertexts for the pull test
  double t0 = Now();
  for (uint64_t i = 0; i < chunks; i++) {
    const uint8_t* p = pool.data() + (i % per_pool) * kChunk;
    uint8_t* c = i < per_pool ? out.data() + i * (kChunk + ab) : cbuf.data();
    crypto_secretstream_xchacha20poly1305_push(&st, c, nullptr, p, kChunk, ad, sizeof ad, 0);
  }
  double push = Rate(chunks * kChunk, Now() - t0);

  // --- secretstream pull over the same stream's first pass, repeated ------------
  double pull_secs = 0;
  uint64_t pulled = 0;
  while (pulled < chunks) {
    crypto_secretstream_xchacha20poly1305_state rs;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&rs, header, key) != 0) return 1;
    t0 = Now();
    for (size_t i = 0; i < per_pool && pulled < chunks; i++, pulled++) {
      unsigned char tag;
      if (crypto_secretstream_xchacha20poly1305_pull(&rs, cbuf.data(), nullptr, &tag,
                                                     out.data() + i * (kChunk + ab), kChunk + ab,
                                                     ad, sizeof ad) != 0) {
        std::fprintf(stderr, "crypto_speed: pull failed\n");
        return 1;
      }
    }
    pull_secs += Now() - t0;
  }
  double pull = Rate(pulled * kChunk, pull_secs);

  // --- version 2: OpenSSL seals, libsodium opens ---------------------------------
  const size_t tb = crypto_aead_chacha20poly1305_ietf_ABYTES;
  EVP_CIPHER* chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  uint8_t ckey[32], nonce[12] = {0};
  randombytes_buf(ckey, sizeof ckey);
  t0 = Now();
  for (uint64_t i = 0; i < chunks; i++) {
    const uint8_t* p = pool.data() + (i % per_pool) * kChunk;
    uint8_t* c = i < per_pool ? out.data() + i * (kChunk + tb) : cbuf.data();
    std::memcpy(nonce + 4, &i, sizeof i);
    EVP_CIPHER_CTX* cc = EVP_CIPHER_CTX_new();
    int len = 0;
    if (chacha == nullptr || cc == nullptr ||
        EVP_EncryptInit_ex2(cc, chacha, ckey, nonce, nullptr) != 1 ||
        EVP_EncryptUpdate(cc, nullptr, &len, ad, sizeof ad) != 1 ||
        EVP_EncryptUpdate(cc, c, &len, p, int(kChunk)) != 1 ||
        EVP_EncryptFinal_ex(cc, c + kChunk, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_GET_TAG, int(tb), c + kChunk) != 1) {
      std::fprintf(stderr, "crypto_speed: EVP ChaCha20-Poly1305 failed\n");
      return 1;
    }
    EVP_CIPHER_CTX_free(cc);
  }
  double seal_evp = Rate(chunks * kChunk, Now() - t0);
  t0 = Now();
  for (uint64_t i = 0; i < chunks; i++) {
    size_t k = i % per_pool;
    uint64_t idx = k;
    std::memcpy(nonce + 4, &idx, sizeof idx);
    const uint8_t* c = out.data() + k * (kChunk + tb);
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(cbuf.data(), nullptr, c, kChunk,
                                                           c + kChunk, ad, sizeof ad, nonce,
                                                           ckey) != 0) {
      std::fprintf(stderr, "crypto_speed: a sealed chunk did not open\n");
      return 1;
    }
  }
  double open_sodium = Rate(chunks * kChunk, Now() - t0);
  EVP_CIPHER_free(chacha);

  // --- AES-256-GCM, 16 KiB records ---------------------------------------------
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  uint8_t akey[32], iv[12] = {0}, tagb[16];
  randombytes_buf(akey, sizeof akey);
  std::vector<uint8_t> rbuf(kRecord);
  const uint64_t records = total / kRecord, per_pool_r = kPool / kRecord;
  t0 = Now();
  for (uint64_t i = 0; i < records; i++) {
    std::memcpy(iv, &i, sizeof i);
    int len = 0;
    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, akey, iv);
    EVP_EncryptUpdate(ctx, rbuf.data(), &len, pool.data() + (i % per_pool_r) * kRecord, kRecord);
    EVP_EncryptFinal_ex(ctx, rbuf.data() + len, &len);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, sizeof tagb, tagb);
  }
  double gcm = Rate(records * kRecord, Now() - t0);
  EVP_CIPHER_CTX_free(ctx);

  // --- memcpy ----------------------------------------------------------------------
  t0 = Now();
  for (uint64_t i = 0; i < chunks; i++) {
    size_t k = i % per_pool;
    std::memcpy(out.data() + k * kChunk, pool.data() + k * kChunk, kChunk);
  }
  double mc = Rate(chunks * kChunk, Now() - t0);

  std::printf(
      "{\"bytes\":%llu,\"chacha_seal_evp\":%.1f,\"chacha_open_sodium\":%.1f,"
      "\"secretstream_push\":%.1f,\"secretstream_pull\":%.1f,"
      "\"aes256gcm_16k\":%.1f,\"memcpy\":%.1f,\"check\":%u}\n",
      static_cast<unsigned long long>(chunks * kChunk), seal_evp, open_sodium, push, pull, gcm,
      mc,
      unsigned(out[12345] ^ cbuf[7] ^ rbuf[3] ^ tagb[0]));
  return 0;
}
