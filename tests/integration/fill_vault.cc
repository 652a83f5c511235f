// fill_vault: writes sealed submissions straight into a vault, as an import
// would leave them, for the tests and the bench that need manifests the site
// does not write yet (questionnaire answers) or more of them than a bundle
// carries quickly.
//
//   fill_vault VAULT_DIR PUBLIC_KEY_FILE[,PUBLIC_KEY_FILE...] SPEC.json
//
// Every submission is sealed to each key given.
// SPEC is {"submissions": [{"day_offset": -3, "message": "...",
// "reply_key": "<64 hex>" or null, "answers": {"questionnaire": "red-notice",
// "hash": "<64 hex>", "list": [["detained", ["yes"]], ...]}}, ...],
// "repeat": 1}. Prints the ids written, one a line, in the spec's order.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crypto/crypto.h"
#include "format/format.h"
#include "storage/storage.h"

using namespace sealdrop;

namespace {

[[noreturn]] void Die(const std::string& what, const Status& st = Status::OK()) {
  std::fprintf(stderr, "fill_vault: %s %s\n", what.c_str(), st.ToString().c_str());
  std::exit(2);
}

template <size_t N>
std::array<uint8_t, N> Hex(const std::string& s) {
  std::vector<uint8_t> b;
  if (!crypto::FromHex(s, &b) || b.size() != N) Die("bad hex " + s);
  std::array<uint8_t, N> a{};
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) Die("usage: fill_vault VAULT_DIR PUBLIC_KEY_FILE[,...] SPEC.json");
  if (!crypto::Init().ok()) Die("libsodium");
  std::vector<crypto::PublicKey> pubs;
  Status st;
  std::stringstream files(argv[2]);
  for (std::string file; std::getline(files, file, ',');) {
    std::ifstream pf(file);
    std::stringstream ps;
    ps << pf.rdbuf();
    std::string pubtext = ps.str();
    while (!pubtext.empty() && (pubtext.back() == '\n' || pubtext.back() == ' '))
      pubtext.pop_back();
    pubs.emplace_back();
    st = crypto::ParsePublicKey(pubtext, &pubs.back());
    if (!st.ok()) Die("public key " + file, st);
  }
  std::ifstream sf(argv[3]);
  nlohmann::json spec = nlohmann::json::parse(sf);
  storage::Options o;
  o.role = storage::Role::kVault;
  std::unique_ptr<storage::Store> vault;
  st = storage::Store::Open(argv[1], o, &vault);
  if (!st.ok()) Die("vault", st);
  const uint32_t today = storage::Today();
  const int repeat = spec.value("repeat", 1);
  storage::WriteBatch batch;
  std::vector<std::vector<uint8_t>> keep;  // chunk bytes until the batch is written
  auto flush = [&] {
    if (batch.empty()) return;
    Status s = vault->Write(batch);
    if (!s.ok()) Die("write", s);
    batch = storage::WriteBatch();
    keep.clear();
  };
  for (int r = 0; r < repeat; r++)
    for (const auto& j : spec["submissions"]) {
      format::Answers a;
      if (j.contains("answers") && !j["answers"].is_null()) {
        a.questionnaire = j["answers"]["questionnaire"];
        a.hash = Hex<32>(j["answers"]["hash"]);
        for (const auto& x : j["answers"]["list"])
          a.list.push_back({x[0].get<std::string>(), x[1].get<std::vector<std::string>>()});
      }
      format::ReplyKey reply{};
      const bool has_reply = j.contains("reply_key") && !j["reply_key"].is_null();
      if (has_reply) reply = Hex<32>(j["reply_key"]);
      const std::string msg = j.value("message", "");
      crypto::Secret manifest;
      st =
          format::EncodeManifest(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), {},
                                 &manifest, has_reply ? &reply : nullptr, a.empty() ? nullptr : &a);
      if (!st.ok()) Die("manifest", st);
      storage::SubmissionRec rec;
      const crypto::Id id = crypto::RandomId();
      std::copy(id.begin(), id.end(), rec.id.begin());
      rec.day = uint32_t(int64_t(today) + j.value("day_offset", 0));
      rec.chunk_size = crypto::kChunkSize;
      crypto::Secret ck = crypto::NewContentKey();
      for (const crypto::PublicKey& pub : pubs) {
        crypto::SealedKey sk;
        st = crypto::SealContentKey(ck, pub, &sk);
        if (!st.ok()) Die("seal", st);
        rec.keys.push_back({sk.key_id, sk.alg, sk.box});
      }
      crypto::StreamWriter w;
      crypto::StreamHeader hdr;
      st = w.Init(ck, id, 0, &hdr);
      if (!st.ok()) Die("stream", st);
      std::vector<storage::ChunkWrite> chunks;
      auto sink = [&](const uint8_t* p, size_t n) {
        keep.emplace_back(p, p + n);
        chunks.push_back({0, uint32_t(chunks.size()), nullptr, n});
        return Status::OK();
      };
      st = w.Write(manifest.data(), manifest.size(), sink);
      if (st.ok()) st = w.Finish(sink);
      if (!st.ok()) Die("stream", st);
      // keep's vectors do not move their bytes when keep grows.
      for (size_t i = 0; i < chunks.size(); i++)
        chunks[i].data = keep[keep.size() - chunks.size() + i].data();
      storage::ItemRec item;
      std::copy(hdr.begin(), hdr.end(), item.header.begin());
      item.padded = w.padded();
      item.chunks = w.chunks();
      rec.items.push_back(item);
      batch.PutChunks(rec.id, chunks);
      batch.Commit(rec);
      std::printf("%s\n", crypto::ToHex(rec.id.data(), rec.id.size()).c_str());
      if (batch.commits() >= 2000) flush();
    }
  flush();
  return 0;
}
