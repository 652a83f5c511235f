// Replies: sealing a message from the team to a source's reply key, and
// opening it with the keys the source's codename derives (FORMAT.md
// "Replies").
#include <sodium.h>

#include <cstring>

#include "crypto/crypto.h"

namespace sealdrop {
namespace crypto {
namespace {

constexpr uint8_t kReplyMagic[4] = {'S', 'D', 'R', 'P'};
constexpr uint8_t kReplyVersion = 1;
constexpr char kSignedLabel[16] = {'s', 'e', 'a', 'l', 'd', 'r', 'o', 'p',
                                   '-', 'r', 'e', 'p', 'l', 'y', '-', '1'};

}  // namespace

size_t MaxSealedReply() {
  return size_t(PaddedSize(kReplyHead + kMaxReply)) + crypto_box_SEALBYTES;
}

Status SealReply(const uint8_t* msg, size_t n, const uint8_t to[kPublicKeySize],
                 std::vector<uint8_t>* sealed) {
  if (n > kMaxReply)
    return Status::TooLarge("a reply holds at most " + std::to_string(kMaxReply) + " bytes");
  const size_t padded = size_t(PaddedSize(kReplyHead + n));
  Secret plain(padded);
  std::memset(plain.data(), 0, padded);
  std::memcpy(plain.data(), kReplyMagic, 4);
  plain.data()[4] = kReplyVersion;
  plain.data()[5] = uint8_t(n), plain.data()[6] = uint8_t(n >> 8);
  plain.data()[7] = uint8_t(n >> 16), plain.data()[8] = uint8_t(n >> 24);
  if (n > 0) std::memcpy(plain.data() + kReplyHead, msg, n);
  sealed->assign(padded + crypto_box_SEALBYTES, 0);
  if (crypto_box_seal(sealed->data(), plain.data(), padded, to) != 0)
    return Status::InvalidArgument("cannot seal to that reply key");
  return Status::OK();
}

Status OpenReply(const uint8_t* sealed, size_t n, const SourceKeys& keys, Secret* message) {
  if (n < crypto_box_SEALBYTES + kMinPadded || n > MaxSealedReply())
    return Status::Corruption("a sealed reply has an impossible length");
  if (keys.sk.size() != crypto_box_SECRETKEYBYTES)
    return Status::InvalidArgument("no secret key to open the reply with");
  const size_t padded = n - crypto_box_SEALBYTES;
  Secret plain(padded);
  if (crypto_box_seal_open(plain.data(), sealed, n, keys.pk.data(), keys.sk.data()) != 0)
    return Status::AuthFailed("the reply does not open with this source's key");
  const uint8_t* p = plain.data();
  if (std::memcmp(p, kReplyMagic, 4) != 0) return Status::Corruption("not a reply (bad magic)");
  if (p[4] != kReplyVersion)
    return Status::Version("reply version " + std::to_string(p[4]) + " is not supported");
  const size_t len = size_t(p[5]) | size_t(p[6]) << 8 | size_t(p[7]) << 16 | size_t(p[8]) << 24;
  // The padding is exactly what SealReply adds, all zero: nothing else can
  // hide in it.
  if (len > kMaxReply || PaddedSize(kReplyHead + len) != padded)
    return Status::Corruption("a reply's length disagrees with its padding");
  for (size_t i = kReplyHead + len; i < padded; i++)
    if (p[i] != 0) return Status::Corruption("a reply's padding is not zero");
  *message = Secret(len);
  if (len > 0) std::memcpy(message->data(), p + kReplyHead, len);
  return Status::OK();
}

std::vector<uint8_t> ReplySignedBytes(const SignPublic& instance, const Id& id,
                                      const uint8_t source[kPublicKeySize],
                                      const uint8_t* sealed, size_t n) {
  std::vector<uint8_t> m(sizeof kSignedLabel + instance.size() + id.size() + kPublicKeySize + n);
  uint8_t* p = m.data();
  std::memcpy(p, kSignedLabel, sizeof kSignedLabel), p += sizeof kSignedLabel;
  std::memcpy(p, instance.data(), instance.size()), p += instance.size();
  std::memcpy(p, id.data(), id.size()), p += id.size();
  std::memcpy(p, source, kPublicKeySize), p += kPublicKeySize;
  if (n > 0) std::memcpy(p, sealed, n);
  return m;
}

}  // namespace crypto
}  // namespace sealdrop
