// manifest_fuzz: format::DecodeManifest, which the reviewer runs on the
// decrypted item 0 of every submission (format/format.cc). The plaintext is
// written by the server, but its fields come from the source's browser.
// Oracle besides the sanitizers: a manifest that decodes (version 1, 2 or 3)
// encodes again with EncodeManifest, with its reply key and answers
// (FORMAT.md: names and types at most 1024 bytes, at most 4096 files, message
// at most 1 MiB, answers within their limits, so a conforming manifest always
// re-encodes), and that encoding decodes to an equal manifest.
#include <string>

#include "format/format.h"
#include "fuzz/fuzz_util.h"

using namespace sealdrop;

namespace {

bool Same(const format::Manifest& a, const format::Manifest& b) {
  if (a.message != b.message || a.files.size() != b.files.size()) return false;
  if (a.has_reply_key != b.has_reply_key || a.reply_key != b.reply_key) return false;
  const auto &p = a.answers, &q = b.answers;
  if (p.hash != q.hash || p.questionnaire != q.questionnaire || p.list.size() != q.list.size())
    return false;
  for (size_t i = 0; i < p.list.size(); i++)
    if (p.list[i].field != q.list[i].field || p.list[i].values != q.list[i].values) return false;
  for (size_t i = 0; i < a.files.size(); i++) {
    const auto &x = a.files[i], &y = b.files[i];
    if (x.item != y.item || x.name != y.name || x.type != y.type || x.size != y.size) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InitOnce();
  format::Manifest m;
  if (!format::DecodeManifest(data, size, &m).ok()) return 0;
  FUZZ_CHECK(m.message.size() <= format::kMaxMessage && m.files.size() <= format::kMaxFiles);
  crypto::Secret enc;
  Status st = format::EncodeManifest(reinterpret_cast<const uint8_t*>(m.message.data()),
                                     m.message.size(), m.files, &enc,
                                     m.has_reply_key ? &m.reply_key : nullptr, &m.answers);
  FUZZ_CHECK(st.ok(), "DecodeManifest accepted a manifest EncodeManifest refuses: " + st.ToString());
  // Version 1 has no reply key fields; they are written as version 2.
  const size_t grows = data[4] == 1 ? 1 + crypto::kPublicKeySize : 0;
  FUZZ_CHECK(enc.size() <= size + grows, "re-encoding is longer than the input");
  format::Manifest back;
  st = format::DecodeManifest(enc.data(), enc.size(), &back);
  FUZZ_CHECK(st.ok(), "re-encoded manifest does not decode: " + st.ToString());
  FUZZ_CHECK(Same(m, back), "manifest does not round-trip");
  return 0;
}
