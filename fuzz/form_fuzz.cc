// form_fuzz: the whole upload path without HTTP: server::Form (multipart
// parsing, limits, server::Upload sealing) through a server::Writer (its
// writer thread) into a real storage::Store in a scratch directory.
//
// Input: first line = boundary (at most 256 bytes), the rest = body, fed to
// Form::Feed in pieces whose sizes come from the input bytes.
//
// Oracles besides the sanitizers, after every input (the Form, and so its
// Upload, destroyed): Store::Check reports no problem and no pending upload;
// the store holds one more submission exactly when Finish returned OK; and a
// committed submission opens with the recipient's key: its manifest decodes,
// lists the receipt's files, and every file decrypts to its size with zero
// padding.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "format/format.h"
#include "fuzz/fuzz_util.h"
#include "server/server.h"
#include "storage/storage.h"

namespace sealdrop {
namespace {

constexpr uint32_t kDay = 20000;
constexpr uint64_t kQuota = 32u << 20;  // the writer fallocates quota + 64 MiB
// Committed submissions before the store is thrown away and made anew,
// so that Check stays cheap and the quota is never reached.
constexpr int kResetAfter = 64;

struct World {
  crypto::RecipientKey key;
  server::Config cfg;
  std::string dir;  // the store directory
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<server::Writer> writer;
  int committed = 0;  // submissions in the store
};

void OpenStore(World* w) {
  storage::Options opt;
  opt.role = storage::Role::kServer;
  opt.quota = kQuota;
  Status st = storage::Store::Open(w->dir, opt, &w->store);
  if (!st.ok()) fuzz::Die("cannot open the store", st.ToString());
  w->writer = std::make_unique<server::Writer>(w->store.get(), 4u << 20);
  w->committed = 0;
}

void ResetStore(World* w) {
  w->writer.reset();
  w->store.reset();
  fuzz::RemoveTree(w->dir);
  OpenStore(w);
}

World& TheWorld() {
  static World* w = [] {
    fuzz::InitOnce();
    auto* x = new World();
    if (!crypto::GenerateRecipientKey(1, &x->key).ok()) fuzz::Die("GenerateRecipientKey");
    x->cfg.dir = fuzz::ScratchDir();
    x->cfg.listen = "unix:" + x->cfg.dir + "/sock";
    // Below libFuzzer's default -max_len (4096), so the limit is reachable.
    x->cfg.max_upload = 3000;
    x->cfg.max_files = 8;
    x->cfg.store_quota = kQuota;
    server::Recipient r;
    r.name = "fuzz";
    r.key = x->key.pub;
    x->cfg.recipients.push_back(r);
    x->dir = x->cfg.store_dir();
    OpenStore(x);
    return x;
  }();
  return *w;
}

crypto::Id CryptoId(const storage::Id& id) {
  crypto::Id c;
  std::memcpy(c.data(), id.data(), c.size());
  return c;
}

// Decrypts item `item`; returns its plaintext with the padding checked and
// removed (size bytes kept).
std::string DecryptItem(storage::Store* store, const storage::SubmissionRec& rec, uint32_t item,
                        const crypto::Secret& ck, uint64_t size) {
  const storage::ItemRec& it = rec.items[item];
  FUZZ_CHECK(size <= it.padded, "item larger than its padded size");
  crypto::StreamReader reader;
  crypto::StreamHeader hdr;
  std::memcpy(hdr.data(), it.header.data(), hdr.size());
  FUZZ_CHECK(rec.version == 3 && storage::StreamVersion(rec) == crypto::kStreamV2,
             "the server wrote another record or stream version");
  FUZZ_CHECK(reader.Init(ck, CryptoId(rec.id), item, hdr, crypto::kStreamV2).ok(),
             "StreamReader.Init");
  static std::vector<uint8_t> plain;  // reused: a fresh 256 KiB per item costs page faults
  plain.resize(rec.chunk_size);
  std::string out;
  uint64_t pos = 0;
  Status st = store->ReadItem(rec, item, [&](uint32_t index, const uint8_t* p, size_t n) {
    size_t m = 0;
    FUZZ_CHECK(n <= rec.chunk_size + crypto::ChunkOverhead(crypto::kStreamV2), "chunk too large");
    Status rs = reader.Read(index, index + 1 == it.chunks, p, n, plain.data(), &m);
    FUZZ_CHECK(rs.ok(), "a committed chunk does not decrypt: " + rs.ToString());
    for (size_t i = 0; i < m; i++) {
      if (pos + i < size) out += char(plain[i]);
      else FUZZ_CHECK(plain[i] == 0, "padding is not zero");
    }
    pos += m;
    return Status::OK();
  });
  FUZZ_CHECK(st.ok(), "ReadItem: " + st.ToString());
  FUZZ_CHECK(pos == it.padded, "item length disagrees with its record");
  FUZZ_CHECK(it.padded == crypto::PaddedSize(size), "item padded to the wrong size");
  return out;
}

void VerifyCommitted(World& w, const server::Receipt& receipt) {
  // Every earlier submission was marked exported once verified, so the only
  // unexported one is the new one.
  std::vector<storage::Id> ids;
  Status st = w.store->Unexported(&ids);
  FUZZ_CHECK(st.ok(), st.ToString());
  FUZZ_CHECK(ids.size() == 1, "unexported count " + std::to_string(ids.size()));
  const storage::Id id = ids[0];
  storage::SubmissionRec rec;
  st = w.store->Get(id, &rec);
  FUZZ_CHECK(st.ok(), "Get: " + st.ToString());
  FUZZ_CHECK(rec.day == kDay && rec.keys.size() == 1 && !rec.items.empty());
  std::vector<crypto::SealedKey> sealed(1);
  sealed[0].key_id = rec.keys[0].key_id;
  sealed[0].alg = rec.keys[0].alg;
  sealed[0].box = rec.keys[0].box;
  crypto::Secret ck;
  st = crypto::OpenContentKey(sealed, w.key, &ck);
  FUZZ_CHECK(st.ok(), "content key does not open: " + st.ToString());
  // The manifest: item 0, decrypted whole (padding zeros are part of it).
  std::string m = DecryptItem(w.store.get(), rec, 0, ck, rec.items[0].padded);
  format::Manifest man;
  st = format::DecodeManifest(reinterpret_cast<const uint8_t*>(m.data()), m.size(), &man);
  FUZZ_CHECK(st.ok(), "manifest does not decode: " + st.ToString());
  FUZZ_CHECK(man.files.size() == receipt.file_sizes.size(), "manifest and receipt disagree");
  FUZZ_CHECK(rec.items.size() == man.files.size() + 1, "record and manifest disagree");
  uint64_t total = 0;
  for (size_t i = 0; i < man.files.size(); i++) {
    const format::FileEntry& f = man.files[i];
    FUZZ_CHECK(f.size == receipt.file_sizes[i], "file size differs from the receipt");
    FUZZ_CHECK(f.name.size() <= format::kMaxName && f.type.size() <= format::kMaxName);
    total += f.size;
    std::string body = DecryptItem(w.store.get(), rec, f.item, ck, f.size);
    FUZZ_CHECK(body.size() == f.size);
  }
  FUZZ_CHECK(total <= w.cfg.max_upload, "more file bytes than max_upload were kept");
  FUZZ_CHECK(man.files.size() <= w.cfg.max_files, "more files than max_files were kept");
  st = w.store->MarkExported(ids);
  FUZZ_CHECK(st.ok(), "MarkExported: " + st.ToString());
}

}  // namespace
}  // namespace sealdrop

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sealdrop;
  World& w = TheWorld();
  uint64_t used = 0;
  if (w.committed >= kResetAfter || !w.store->Used(&used).ok() || used > kQuota / 2)
    ResetStore(&w);

  std::string line;
  const uint8_t* body = nullptr;
  size_t body_size = 0;
  fuzz::SplitFirstLine(data, size, 256, &line, &body, &body_size);

  bool committed = false;
  server::Receipt receipt;
  {
    server::Form form(w.cfg, w.writer.get(), kDay);
    if (form.Begin("multipart/form-data; boundary=" + line).ok()) {
      size_t pos = 0;
      bool fed = true;
      while (pos < body_size) {
        const size_t k = fuzz::PieceSize(body + pos, body_size - pos);
        if (!form.Feed(reinterpret_cast<const char*>(body + pos), k)) {
          fed = false;
          FUZZ_CHECK(!form.error().ok(), "Feed stopped without an error");
          break;
        }
        pos += k;
      }
      Status fin = form.Finish(&receipt);
      if (!fed) FUZZ_CHECK(!fin.ok(), "Finish succeeded after Feed failed");
      committed = fin.ok();
    }
  }  // the Form and its Upload are gone; once the writer has removed what
     // an aborted upload wrote, nothing unfinished may remain
  w.writer->Settle();

  storage::Store::Report after;
  Status st = w.store->Check(&after);
  FUZZ_CHECK(st.ok(), st.ToString());
  if (!after.problems.empty()) fuzz::Die("store problems", after.problems[0]);
  FUZZ_CHECK(after.pending == 0, "an unfinished upload was left pending");
  FUZZ_CHECK(after.submissions == uint64_t(w.committed) + (committed ? 1 : 0),
             "submission count changed wrongly");
  if (committed) {
    VerifyCommitted(w, receipt);
    w.committed++;
  }
  return 0;
}
