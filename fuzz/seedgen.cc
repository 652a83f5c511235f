// fuzz_seedgen <out-dir> [docs/FORMAT.md]: writes seed inputs for every fuzz target into
// <out-dir>/<target>/, made by the product's own code (Form + Store for
// uploads, BundleWriter as `sealdrop-server export` uses it, SealKeyFile as
// `sealdrop-review keygen` does, EncodeSubmission, EncodeManifest, SealReply,
// WriteOutbox as `sealdrop-review outbox` uses it, EncodeReply, SignRequest and
// RequestHeaders as the courier sends a request). Keys are
// fixed seeds except the random ids and content keys of uploads. Given
// FORMAT.md, its test vectors become seeds too.
// fuzz/corpus/ was made with it; run it again only to refresh the corpus.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include "format/format.h"
#include "fuzz/fuzz_util.h"
#include "server/server.h"
#include "storage/storage.h"

using namespace sealdrop;

namespace {

std::string g_out;

void Put(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::string dir = g_out + "/" + target;
  ::mkdir(g_out.c_str(), 0755);
  ::mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
    fuzz::Die("cannot write", path);
  std::fclose(f);
}

void Must(const Status& st, const char* what) {
  if (!st.ok()) fuzz::Die(what, st.ToString());
}

// --- multipart bodies, as browsers send them ------------------------------------
const std::string kChrome = "----WebKitFormBoundaryq4nX1EeW3WcDBE7x";
const std::string kFirefox = "---------------------------27092369811424213543434413196";

std::string Part(const std::string& b, const std::string& disposition, const std::string& type,
                 const std::string& body) {
  std::string s = "--" + b + "\r\nContent-Disposition: form-data; " + disposition + "\r\n";
  if (!type.empty()) s += "Content-Type: " + type + "\r\n";
  return s + "\r\n" + body + "\r\n";
}
std::string End(const std::string& b) { return "--" + b + "--\r\n"; }

struct Body {
  std::string name, boundary, body;
};

std::vector<Body> Bodies() {
  std::vector<Body> v;
  const std::string& c = kChrome;
  // What the page's form sends with a message and one file (Chrome).
  v.push_back({"chrome-message-and-file", c,
               Part(c, "name=\"message\"", "", "The minutes of 3 May are attached.\r\nPage 4.") +
                   Part(c, "name=\"files\"; filename=\"minutes.txt\"", "text/plain",
                        "MINUTES\n1. budget\n2. \"other\" business\n") +
                   End(c)});
  // Message only; the browser still sends the empty file input.
  v.push_back({"chrome-message-only", c,
               Part(c, "name=\"message\"", "", "Ask about invoice 1178. Привет — merhaba.") +
                   Part(c, "name=\"files\"; filename=\"\"", "application/octet-stream", "") +
                   End(c)});
  // Two files, one binary, no message (Firefox).
  const std::string& f = kFirefox;
  std::string bin;
  for (int i = 0; i < 300; i++) bin += char((i * 37) & 0xff);
  v.push_back({"firefox-two-files", f,
               Part(f, "name=\"message\"", "", "") +
                   Part(f, "name=\"files\"; filename=\"scan 1.pdf\"", "application/pdf",
                        "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n") +
                   Part(f, "name=\"files\"; filename=\"data.bin\"", "application/octet-stream", bin) +
                   End(f)});
  // Escaped and RFC 8187 file names, a body that nearly holds the delimiter,
  // a preamble and an epilogue.
  v.push_back({"names-and-near-delimiters", "simple-boundary",
               "preamble to be ignored\r\n" +
                   Part("simple-boundary",
                        "name=\"files\"; filename=\"a %22quoted%22 %0D%0A name.txt\"", "text/plain",
                        "\r\n--simple-boundar\r\n-simple-boundary\n--simple-boundary") +
                   Part("simple-boundary",
                        "name=\"files\"; filename=\"plain.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt",
                        "text/plain; charset=utf-8", "été") +
                   "--simple-boundary  \t\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n"
                   "padding after the delimiter\r\n" +
                   End("simple-boundary") + "epilogue, ignored\r\n"});
  // Headers in another case and order, an unknown header, a quoted boundary.
  v.push_back({"odd-headers", "\"b o:u=n(d)\"",
               "--b o:u=n(d)\r\ncontent-type: text/plain\r\nX-Whatever: 1\r\n"
               "content-disposition: form-data;name=message\r\n\r\nhi\r\n" +
                   End("b o:u=n(d)")});
  // More files than the server's limit (8 in form_fuzz).
  std::string many;
  for (int i = 0; i < 9; i++)
    many += Part("m", "name=\"files\"; filename=\"f" + std::to_string(i) + "\"", "text/plain",
                 std::string(size_t(i), 'x'));
  v.push_back({"nine-files", "m", many + End("m")});
  // Malformed ones: unterminated, unexpected field, headers without a name.
  v.push_back({"truncated", c, Part(c, "name=\"message\"", "", "no end")});
  v.push_back({"unexpected-field", c, Part(c, "name=\"subject\"", "", "x") + End(c)});
  v.push_back({"no-name", c, "--" + c + "\r\nContent-Disposition: form-data\r\n\r\nx\r\n" + End(c)});
  return v;
}

// --- uploads into a store, and what is made from them -----------------------------
struct Made {
  std::vector<storage::SubmissionRec> recs;
  std::vector<std::string> manifests;  // decrypted item 0, padding included
};

void Upload(const server::Config& cfg, server::Writer* writer, const Body& b) {
  server::Form form(cfg, writer, 20414);
  Must(form.Begin("multipart/form-data; boundary=" + b.boundary), "Form.Begin");
  if (!form.Feed(b.body.data(), b.body.size())) fuzz::Die("Feed", form.error().ToString());
  server::Receipt r;
  Must(form.Finish(&r), "Finish");
}

std::string Bundle(const crypto::SigningKey& ik, storage::Store* store,
                   const std::vector<storage::Id>& ids,
                   const std::vector<storage::Id>& deleted = {}) {
  std::string out;
  format::BundleWriter w(ik, 20415, [&](const uint8_t* p, size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
    return Status::OK();
  });
  Must(w.Begin(!deleted.empty()), "bundle Begin");
  for (const auto& id : deleted) Must(w.AddDeleted(id), "AddDeleted");
  for (const auto& id : ids) {
    storage::SubmissionRec rec;
    Must(store->Get(id, &rec), "Get");
    Must(w.AddSubmission(rec), "AddSubmission");
    for (uint32_t item = 0; item < rec.items.size(); item++)
      Must(store->ReadItem(rec, item, [&](uint32_t index, const uint8_t* p, size_t n) {
             return w.AddChunk(rec.id, item, index, p, n);
           }),
           "ReadItem");
  }
  Must(w.Finish(), "bundle Finish");
  return out;
}

std::string DecryptManifest(storage::Store* store, const storage::SubmissionRec& rec,
                            const crypto::RecipientKey& key) {
  std::vector<crypto::SealedKey> sealed(1);
  sealed[0].key_id = rec.keys[0].key_id;
  sealed[0].alg = rec.keys[0].alg;
  sealed[0].box = rec.keys[0].box;
  crypto::Secret ck;
  Must(crypto::OpenContentKey(sealed, key, &ck), "OpenContentKey");
  crypto::StreamReader r;
  crypto::StreamHeader hdr;
  std::memcpy(hdr.data(), rec.items[0].header.data(), hdr.size());
  crypto::Id id;
  std::memcpy(id.data(), rec.id.data(), id.size());
  Must(r.Init(ck, id, 0, hdr, storage::StreamVersion(rec)), "StreamReader.Init");
  std::string out;
  std::vector<uint8_t> plain(rec.chunk_size);
  Must(store->ReadItem(rec, 0, [&](uint32_t index, const uint8_t* p, size_t n) {
         size_t m = 0;
         SD_RETURN_IF_ERROR(r.Read(index, index + 1 == rec.items[0].chunks, p, n, plain.data(), &m));
         out.append(reinterpret_cast<const char*>(plain.data()), m);
         return Status::OK();
       }),
       "decrypt manifest");
  return out;
}

// --- signed requests: request_fuzz ------------------------------------------------
// request_fuzz reads a request head as text (request line, header lines, an
// empty line), then control bytes of its own.
std::string RequestText(const std::string& method, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& eol = "\r\n", const std::string& control = "") {
  std::string s = method + " " + target + eol;
  for (const auto& kv : headers) s += kv.first + ": " + kv.second + eol;
  return s + eol + control;
}

// The `signed-request` vector as sent: its body is one part of an upload.
std::string VectorRequest(const std::map<std::string, std::string>& v) {
  for (const char* k : {"method", "target", "instance", "range", "body", "time", "nonce", "key",
                        "body-hash", "expect"})
    if (v.count(k) == 0) fuzz::Die("FORMAT.md's signed-request vector has no", k);
  const std::string length = std::to_string(v.at("body").size() / 2);
  return RequestText(v.at("method"), v.at("target"),
                     {{"Sealdrop-Key", v.at("key")},
                      {"Sealdrop-Instance", v.at("instance")},
                      {"Sealdrop-Length", length},
                      {"Sealdrop-Body", v.at("body-hash")},
                      {"Sealdrop-Time", v.at("time")},
                      {"Sealdrop-Nonce", v.at("nonce")},
                      {"Sealdrop-Signature", v.at("expect")},
                      {"Content-Range", v.at("range")},
                      {"Content-Length", length}});
}

// Requests signed by `courier` (request_fuzz's fixed key, RFC 8032's first
// seed) as the courier sends them, and a few the server must refuse.
void RequestSeeds(const crypto::SigningKey& courier) {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  auto sign = [&courier](const std::string& method, const std::string& target,
                         const std::string& body, const std::string& range, uint64_t time) {
    format::RequestHead h;
    h.method = method;
    h.target = target;
    for (size_t i = 0; i < h.instance.size(); i++) h.instance[i] = uint8_t(0x60 + i);
    h.length = body.size();
    h.range = range;
    crypto::Hash256(reinterpret_cast<const uint8_t*>(body.data()), body.size(), h.body.data());
    h.time = time;
    for (size_t i = 0; i < h.nonce.size(); i++) h.nonce[i] = uint8_t(time + i);
    format::SignRequest(courier, &h);
    return h;
  };
  auto with = [](const format::RequestHead& h, const Headers& extra) {
    Headers hs = format::RequestHeaders(h);
    hs.insert(hs.end(), extra.begin(), extra.end());
    return hs;
  };
  // Control bytes: which signed byte to change, then a nonce sequence.
  std::string control;
  for (int i = 0; i < 48; i++) control.push_back(char(uint8_t(i * 29 + 3)));
  const uint64_t now = 1796083200;

  // A download of the latest bundle: no body, no Content-Length.
  format::RequestHead get = sign("GET", "/v1/bundle?since=20414", "", "", now);
  Put("request_fuzz", "get-no-body",
      RequestText(get.method, get.target,
                  with(get, {{"Host", "reviewer.example"}, {"User-Agent", "sealdrop-courier"}}),
                  "\r\n", control));
  // The rest of a download, from a Range header.
  format::RequestHead resume = sign("GET", "/v1/bundle?since=20414", "", "bytes=1024-", now + 1);
  Put("request_fuzz", "get-range",
      RequestText(resume.method, resume.target, with(resume, {{"Range", "bytes=1024-"}})));
  // The first part of an upload, from a Content-Range header.
  const std::string body = "an outbox, in 17 ";
  const std::string part = body.substr(0, 9);
  format::RequestHead put = sign("PUT", "/v1/outbox?part=1", part, "bytes 0-8/17", now + 2);
  Put("request_fuzz", "put-content-range",
      RequestText(put.method, put.target,
                  with(put, {{"Content-Range", "bytes 0-8/17"}, {"Content-Length", "9"}})));
  // The same names in lower case, as HTTP/2 carries them, and LF alone.
  Headers lower = with(put, {{"content-range", "bytes 0-8/17"}, {"content-length", "9"}});
  for (auto& kv : lower)
    for (char& c : kv.first) c = char(std::tolower(static_cast<unsigned char>(c)));
  Put("request_fuzz", "put-lower-case", RequestText(put.method, put.target, lower, "\n"));
  // Content-Length other than the signed length.
  format::RequestHead post = sign("POST", "/v1/outbox", body, "", now + 3);
  Put("request_fuzz", "wrong-content-length",
      RequestText(post.method, post.target, with(post, {{"Content-Length", "18"}})));
  // A signed length with leading zeros, which FORMAT.md refuses (one spelling).
  Headers zeros = with(post, {{"Content-Length", "17"}});
  for (auto& kv : zeros)
    if (kv.first == "Sealdrop-Length") kv.second = "0017";
  Put("request_fuzz", "length-leading-zeros", RequestText(post.method, post.target, zeros));
  // Unsigned: what a browser or a scanner sends.
  Put("request_fuzz", "unsigned",
      RequestText("GET", "/v1/bundle", {{"Host", "reviewer.example"}, {"Accept", "*/*"}}));
  // Malformed: a nonce in upper case.
  Headers upper = with(get, {});
  for (auto& kv : upper)
    if (kv.first == "Sealdrop-Nonce")
      for (char& c : kv.second) c = char(std::toupper(static_cast<unsigned char>(c)));
  Put("request_fuzz", "upper-case-nonce", RequestText(get.method, get.target, upper));
}

// "vector: <name>" ... "expect: <value>" pairs of FORMAT.md's test vectors.
void VectorSeeds(const std::string& path) {
  std::ifstream in(path);
  if (!in) fuzz::Die("cannot read", path);
  const std::pair<const char*, const char*> kWant[] = {{"key-file", "keyfile_fuzz"},
                                                       {"public-key", "keyfile_fuzz"},
                                                       {"keyring", "keyring_fuzz"},
                                                       {"manifest", "manifest_fuzz"},
                                                       {"submission-record", "record_fuzz"},
                                                       {"submission-record-v2", "record_fuzz"},
                                                       {"submission-record-v3", "record_fuzz"},
                                                       {"bundle", "bundle_fuzz"},
                                                       {"bundle-deleted", "bundle_fuzz"},
                                                       {"outbox", "outbox_fuzz"},
                                                       {"outbox-deletions", "outbox_fuzz"}};
  std::string line, vec;
  std::map<std::string, std::string> request;  // the `signed-request` vector's fields
  while (std::getline(in, line)) {
    if (line.rfind("vector: ", 0) == 0) vec = line.substr(8);
    // `signed-request`: its fields as the request head the courier sends
    // (request_fuzz), written once its signature (`expect`) is read.
    if (vec == "signed-request") {
      const size_t colon = line.find(": ");
      if (colon != std::string::npos) request[line.substr(0, colon)] = line.substr(colon + 2);
      if (line.rfind("expect: ", 0) == 0)
        Put("request_fuzz", "format-md-signed-request", VectorRequest(request));
    }
    // `reply`: the sealed reply (to reply_fuzz's key, mode 0) and its text (mode 3).
    if (vec == "reply" && line.rfind("sealed: ", 0) == 0) {
      std::vector<uint8_t> bin;
      if (!crypto::FromHex(line.substr(8), &bin)) fuzz::Die("bad hex in FORMAT.md vector", vec);
      Put("reply_fuzz", "format-md-reply-sealed", std::string(1, '\0') + std::string(bin.begin(), bin.end()));
    }
    if (vec == "reply" && line.rfind("expect: ", 0) == 0)
      Put("reply_fuzz", "format-md-reply-message", "\x03" + line.substr(8));
    if (line.rfind("expect: ", 0) != 0) continue;
    const std::string value = line.substr(8);
    for (const auto& w : kWant) {
      if (vec != w.first) continue;
      std::vector<uint8_t> bin;
      if (vec == "public-key") Put(w.second, "format-md-" + vec, value);
      else if (crypto::FromHex(value, &bin))
        Put(w.second, "format-md-" + vec, std::string(bin.begin(), bin.end()));
      else fuzz::Die("bad hex in FORMAT.md vector", vec);
    }
  }
}

// --- replies: outbox_fuzz, reply_fuzz and the reply records of record_fuzz -------
// The source's reply key is RFC 7748's Alice (reply_fuzz's fixed key); the
// outboxes are signed by `reviewer` (outbox_fuzz's fixed key, RFC 8032's
// first seed) for an instance whose key is RFC 8032's second seed.
std::string Bytes(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// Signs an outbox again (its last 64 bytes) after a change made here.
void ResignOutbox(const crypto::SigningKey& reviewer, std::string* out) {
  const size_t body = out->size() - crypto::kSignatureSize;
  crypto::Sign(reviewer, reinterpret_cast<const uint8_t*>(out->data()), body,
               reinterpret_cast<uint8_t*>(&(*out)[body]));
}

void ReplySeeds(const crypto::SigningKey& reviewer) {
  std::vector<uint8_t> alice, iseed2;
  crypto::FromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", &alice);
  crypto::FromHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", &iseed2);
  crypto::RecipientKey source;
  Must(crypto::RecipientKeyFromSecret(alice.data(), alice.size(), 0, &source), "source key");
  crypto::SigningKey instance;
  Must(crypto::SigningKeyFromSeed(iseed2.data(), &instance), "second instance key");

  const std::vector<std::string> texts = {
      "", "Thank you. Can you send page 5 as well?",
      "Спасибо — teşekkürler. We read all of it.\nPlease come back in a week."};
  std::vector<std::vector<uint8_t>> sealed(texts.size());
  for (size_t i = 0; i < texts.size(); i++) {
    const std::string& t = texts[i];
    const auto* m = reinterpret_cast<const uint8_t*>(t.data());
    Must(crypto::SealReply(m, t.size(), source.pub.pk.data(), &sealed[i]), "SealReply");
    const std::string n = std::to_string(i);
    // reply_fuzz: 0 sealed, 1 plaintext as SealReply pads it, 2 unpadded, 3 message.
    Put("reply_fuzz", "sealed-" + n, std::string(1, '\0') + Bytes(sealed[i]));
    std::string plain = "SDRP\x01";
    for (int b = 0; b < 4; b++) plain.push_back(char(uint8_t(t.size() >> (8 * b))));
    plain += t;
    Put("reply_fuzz", "plain-unpadded-" + n, "\x02" + plain);
    plain.resize(size_t(crypto::PaddedSize(plain.size())), '\0');
    Put("reply_fuzz", "plain-" + n, "\x01" + plain);
    Put("reply_fuzz", "message-" + n, "\x03" + t);
  }
  Put("reply_fuzz", "message-longest", std::string("\x03\xff\x00", 3) + texts[1]);
  Put("reply_fuzz", "message-one-too-long", std::string("\x03\xff\x01", 3) + texts[1]);

  // outbox_fuzz: outboxes of 0, 1 and 3 replies, numbers 1, 2 and 3; one of
  // a reply and two acknowledgements, one of three acknowledgements only;
  // and, changed here and signed again, one that holds a reply id twice, one
  // that acknowledges an id twice (WriteOutbox refuses both; ReadOutbox
  // must too) and one of version 1 (replies only, still read).
  format::OutboxInfo info;
  info.instance = instance.pk;
  std::vector<format::OutboxReply> replies;
  std::string out;
  for (size_t k : {0, 1, 3}) {
    replies.resize(k);
    for (size_t i = 0; i < k; i++) {
      for (int b = 0; b < 16; b++) replies[i].id[size_t(b)] = uint8_t(0x10 * (i + 1) + b);
      replies[i].source = source.pub.pk;
      replies[i].sealed = sealed[i];
    }
    info.sequence = k == 0 ? 1 : k == 1 ? 2 : 3;
    Must(format::WriteOutbox(reviewer, info, &replies, {}, &out), "WriteOutbox");
    Put("outbox_fuzz", "replies-" + std::to_string(k), out);
    if (k == 1) {
      // Version 1: no acknowledgement count before the signature.
      std::string v1 = out.substr(0, out.size() - crypto::kSignatureSize - 4);
      v1[8] = char(1);
      v1.append(crypto::kSignatureSize, '\0');
      ResignOutbox(reviewer, &v1);
      Put("outbox_fuzz", "replies-1-v1", v1);
    }
  }
  // Acknowledgements of records as the vault holds them: a submission
  // record (ids a0.., b0.., c0..) and its RecordHash.
  std::vector<format::OutboxAck> acks(3);
  for (size_t i = 0; i < acks.size(); i++) {
    storage::SubmissionRec rec;
    for (int b = 0; b < 16; b++) rec.id[size_t(b)] = uint8_t(0xa0 + 0x10 * i + b);
    rec.day = uint32_t(20414 + i);
    rec.chunk_size = uint32_t(crypto::kChunkSize);
    rec.version = 2;  // the seeds predate version 3; their hashes stay as they were
    rec.keys.resize(1);
    rec.keys[0].box.assign(80, 0);
    rec.items.resize(1);
    rec.items[0].padded = 256, rec.items[0].chunks = 1;
    acks[i].id = rec.id;
    acks[i].hash = format::RecordHash(rec);
  }
  std::vector<format::OutboxReply> one(replies.begin() + 1, replies.begin() + 2);
  info.sequence = 5;
  Must(format::WriteOutbox(reviewer, info, &one, {acks[0], acks[1]}, &out), "WriteOutbox");
  Put("outbox_fuzz", "reply-and-2-acks", out);
  std::vector<format::OutboxReply> none;
  info.sequence = 6;
  Must(format::WriteOutbox(reviewer, info, &none, acks, &out), "WriteOutbox");
  Put("outbox_fuzz", "acks-3", out);
  // Version 3: forwarding the deletion of two replies, with a reply and an
  // acknowledgement.
  info.sequence = 7;
  std::vector<format::OutboxReply> with = one;
  Must(format::WriteOutbox(reviewer, info, &with, {acks[2]}, &out,
                           {replies[0].id, replies[2].id}),
       "WriteOutbox");
  Put("outbox_fuzz", "reply-ack-2-deletions", out);
  // The second acknowledgement's id made the first's.
  const size_t second = format::kOutboxHeaderSize + 4 + format::kOutboxAckSize;
  std::memcpy(&out[second], acks[0].id.data(), acks[0].id.size());
  ResignOutbox(reviewer, &out);
  Put("outbox_fuzz", "repeated-ack-id", out);
  // The second reply's id made the first's, its own signature made again.
  std::vector<format::OutboxReply> twice(2);
  twice[0] = replies[0];
  twice[1] = replies[1];
  info.sequence = 4;
  Must(format::WriteOutbox(reviewer, info, &twice, {}, &out), "WriteOutbox");
  const size_t at = format::kOutboxHeaderSize + format::kOutboxEntryHead + twice[0].sealed.size() +
                    crypto::kSignatureSize;
  twice[1].id = twice[0].id;
  std::memcpy(&out[at], twice[1].id.data(), twice[1].id.size());
  const std::vector<uint8_t> m = crypto::ReplySignedBytes(
      info.instance, twice[1].id, twice[1].source.data(), twice[1].sealed.data(), twice[1].sealed.size());
  crypto::Sign(reviewer, m.data(), m.size(),
               reinterpret_cast<uint8_t*>(&out[at + format::kOutboxEntryHead + twice[1].sealed.size()]));
  ResignOutbox(reviewer, &out);
  Put("outbox_fuzz", "repeated-id", out);
  // The round-trip pass: anything that does not start with the magic.
  std::string rt;
  for (int i = 0; i < 400; i++) rt.push_back(char(uint8_t(i * 73 + 11)));
  Put("outbox_fuzz", "roundtrip-bytes", rt);
  Put("outbox_fuzz", "roundtrip-texts", texts[2] + texts[1] + texts[2]);

  // record_fuzz: a reply as import-outbox stores it, and queued replies
  // as the vault keeps them before and after an outbox carries them.
  for (size_t i = 0; i < replies.size(); i++) {
    storage::ReplyRec rec;
    rec.source = replies[i].source;
    rec.id = replies[i].id;
    rec.day = 20415;
    rec.signer = reviewer.pk;
    rec.sig = replies[i].sig;
    rec.sealed = replies[i].sealed;
    Put("record_fuzz", "reply-" + std::to_string(i), storage::EncodeReply(rec));
  }
  storage::QueuedReply q;
  q.id = replies[1].id;
  for (int b = 0; b < 16; b++) q.submission[size_t(b)] = uint8_t(0xa0 + b);
  q.source = source.pub.pk;
  q.day = 20414;
  q.sealed = sealed[1];
  Put("record_fuzz", "queued-reply-waiting", storage::EncodeQueuedReply(q));
  q.sent = {{instance.pk, 3}};
  Put("record_fuzz", "queued-reply-sent", storage::EncodeQueuedReply(q));
  storage::Key32 other = instance.pk;
  other[0] ^= 1;
  q.sent.push_back({other, 1});
  Put("record_fuzz", "queued-reply-sent-twice", storage::EncodeQueuedReply(q));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s <out-dir> [docs/FORMAT.md]\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  fuzz::InitOnce();
  if (argc == 3) VectorSeeds(argv[2]);

  // Fixed keys (the RFC 7748 and RFC 8032 test secrets, as in FORMAT.md).
  std::vector<uint8_t> rsec, iseed;
  crypto::FromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", &rsec);
  crypto::FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", &iseed);
  crypto::RecipientKey rk;
  Must(crypto::RecipientKeyFromSecret(rsec.data(), rsec.size(), 7, &rk), "recipient key");
  const crypto::SigningKey& ik = fuzz::TestSigningKey();

  // keyfile_fuzz.
  const crypto::Secret& x = fuzz::TestPassphrase();
  uint8_t salt[16], nonce[24];
  for (int i = 0; i < 16; i++) salt[i] = uint8_t(i);
  for (int i = 0; i < 24; i++) nonce[i] = uint8_t(0x10 + i);
  std::string kf;
  Must(crypto::SealKeyFileDeterministic(rk, x, crypto::KdfParams{1, 8}, salt, nonce, &kf), "key file");
  Put("keyfile_fuzz", "keyfile-cheap-kdf-passphrase-x", kf);
  Must(crypto::SealKeyFileDeterministic(rk, x, crypto::KdfParams{1, 64}, salt, nonce, &kf), "key file");
  Put("keyfile_fuzz", "keyfile-64k-kdf-passphrase-x", kf);
  Must(crypto::SealKeyFile(rk, x, crypto::KdfParams{}, &kf), "key file");  // as keygen does
  Put("keyfile_fuzz", "keyfile-keygen-moderate", kf);
  Put("keyfile_fuzz", "instance-key", crypto::FormatInstanceKey(ik));
  Put("keyfile_fuzz", "public-key", crypto::FormatPublicKey(rk.pub));
  Put("keyfile_fuzz", "public-key-newline", crypto::FormatPublicKey(rk.pub) + "\n");

  // keyring_fuzz: keyrings as `sealdrop-review rotate` writes them, but with
  // the cheap costs so that OpenKeyring runs (passphrase "x"). The secrets
  // are RFC 7748's Alice and Bob and the first instance seed; one keyring
  // holds 64 keys, the most there may be; in one the second entry names
  // algorithm 2, as a newer build's hybrid key would; and a key file is a
  // keyring of one.
  std::vector<uint8_t> bob;
  crypto::FromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", &bob);
  crypto::Keyring ring;
  ring.keys.resize(3);
  Must(crypto::RecipientKeyFromSecret(rsec.data(), rsec.size(), 7, &ring.keys[0]), "ring key 1");
  Must(crypto::RecipientKeyFromSecret(bob.data(), bob.size(), 8, &ring.keys[1]), "ring key 2");
  Must(crypto::RecipientKeyFromSecret(iseed.data(), iseed.size(), 20, &ring.keys[2]), "ring key 3");
  std::string kr;
  Must(crypto::SealKeyringDeterministic(ring, x, crypto::KdfParams{1, 8}, salt, nonce, &kr),
       "keyring");
  Put("keyring_fuzz", "keyring-3-keys-cheap-kdf-passphrase-x", kr);
  kr[16 + 48] = char(2);  // FORMAT.md "Keyring": entry 2's algorithm byte
  Put("keyring_fuzz", "keyring-3-keys-algorithm-2", kr);
  ring.keys.resize(1);
  Must(crypto::SealKeyringDeterministic(ring, x, crypto::KdfParams{1, 8}, salt, nonce, &kr),
       "keyring");
  Put("keyring_fuzz", "keyring-1-key-cheap-kdf-passphrase-x", kr);
  ring.keys.resize(crypto::kMaxKeyringKeys);
  for (size_t i = 1; i < ring.keys.size(); i++) {
    uint8_t sk[32];
    for (size_t b = 0; b < sizeof sk; b++) sk[b] = uint8_t(rsec[b] + i * (b + 1));
    Must(crypto::RecipientKeyFromSecret(sk, sizeof sk, uint32_t(7 + i), &ring.keys[i]), "ring key");
  }
  Must(crypto::SealKeyringDeterministic(ring, x, crypto::KdfParams{1, 8}, salt, nonce, &kr),
       "keyring");
  Put("keyring_fuzz", "keyring-64-keys-cheap-kdf-passphrase-x", kr);
  Must(crypto::SealKeyFileDeterministic(rk, x, crypto::KdfParams{1, 8}, salt, nonce, &kf),
       "key file");
  Put("keyring_fuzz", "keyfile-cheap-kdf-passphrase-x", kf);

  // record_fuzz, manifest_fuzz and bundle_fuzz from real uploads.
  const std::string store_dir = fuzz::ScratchDir() + "/store";
  std::unique_ptr<storage::Store> store;
  storage::Options opt;
  opt.quota = 64u << 20;
  Must(storage::Store::Open(store_dir, opt, &store), "Store::Open");
  server::Config cfg;
  cfg.dir = fuzz::ScratchDir();
  cfg.listen = "unix:/nonexistent";
  cfg.max_upload = 1u << 20;
  cfg.max_files = 8;
  cfg.recipients.push_back({"seed", rk.pub});
  const std::vector<Body> bodies = Bodies();
  for (const auto& b : bodies) {
    Put("multipart_fuzz", b.name, b.boundary + "\n" + b.body);
    Put("form_fuzz", b.name, b.boundary + "\n" + b.body);
  }
  Put("multipart_fuzz", "content-type-line",
      "multipart/form-data; boundary=" + kChrome + "\n" + bodies[0].body);
  {
    server::Writer writer(store.get(), 4u << 20);
    for (size_t i = 0; i < 4; i++) Upload(cfg, &writer, bodies[i]);
  }
  std::vector<storage::Id> ids;
  Must(store->Unexported(&ids), "Unexported");
  for (size_t i = 0; i < ids.size(); i++) {
    storage::SubmissionRec rec;
    Must(store->Get(ids[i], &rec), "Get");
    Put("record_fuzz", "upload-" + std::to_string(i), storage::EncodeSubmission(rec));
    Put("manifest_fuzz", "upload-padded-" + std::to_string(i), DecryptManifest(store.get(), rec, rk));
  }
  // A record with several recipients and a long item, not from an upload.
  storage::SubmissionRec big;
  for (int i = 0; i < 16; i++) big.id[size_t(i)] = uint8_t(0xa0 + i);
  big.day = 20414;
  big.chunk_size = uint32_t(crypto::kChunkSize);
  big.keys.resize(3);
  for (auto& k : big.keys) k.box.assign(80, 0);
  // A newer algorithm's entry, longer than X25519's, kept by this build.
  big.keys[2].alg = 2;
  big.keys[2].box.assign(1120, 0x2a);
  big.items.resize(2);
  big.items[0].padded = 256, big.items[0].chunks = 1;
  big.items[1].padded = 2214592512u, big.items[1].chunks = 8448;
  Put("record_fuzz", "three-keys-2GiB-item", storage::EncodeSubmission(big));

  std::vector<format::FileEntry> files = {{1, "отчёт.pdf", "application/pdf", 1234567},
                                          {2, "", "", 0},
                                          {3, "../../etc/passwd", "text/plain", 42}};
  const std::string msg = "Привет, sealdrop\nMerhaba";
  crypto::Secret m;
  Must(format::EncodeManifest(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), files, &m),
       "EncodeManifest");
  Put("manifest_fuzz", "three-files", std::string(reinterpret_cast<char*>(m.data()), m.size()));
  format::Answers answers;
  answers.questionnaire = "red-notice";
  answers.list = {{"role", {"targeted"}}, {"detained", {"yes"}}, {"contact", {"this_site", "lawyer"}}};
  format::ReplyKey reply{};
  reply.fill(0x40);
  Must(format::EncodeManifest(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), files, &m,
                              &reply, &answers),
       "EncodeManifest");
  Put("manifest_fuzz", "answers", std::string(reinterpret_cast<char*>(m.data()), m.size()));
  Must(format::EncodeManifest(nullptr, 0, {}, &m), "EncodeManifest");
  Put("manifest_fuzz", "empty", std::string(reinterpret_cast<char*>(m.data()), m.size()));

  Put("bundle_fuzz", "empty", Bundle(ik, store.get(), {}));
  Put("bundle_fuzz", "one-submission", Bundle(ik, store.get(), {ids[0]}));
  Put("bundle_fuzz", "four-submissions", Bundle(ik, store.get(), ids));
  // Version 2: two replies deleted by their sources there, then a submission.
  storage::Id gone1{}, gone2{};
  gone1.fill(0xc0);
  gone2.fill(0xd0);
  Put("bundle_fuzz", "deleted-and-one-submission", Bundle(ik, store.get(), {ids[0]}, {gone1, gone2}));
  store.reset();

  // config_fuzz.
  const std::string pk = crypto::FormatPublicKey(rk.pub);
  crypto::RecipientKey rk2;
  Must(crypto::RecipientKeyFromSecret(iseed.data(), iseed.size(), 1, &rk2), "second key");
  const std::string pk2 = crypto::FormatPublicKey(rk2.pub);
  Put("config_fuzz", "init-default",
      "# sealdrop instance configuration: see docs/OPERATIONS.md\n"
      "listen = \"127.0.0.1:8443\"\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\n"
      "max_upload = \"2GiB\"\nmax_files = 100\nstore_quota = \"16GiB\"\nthreads = 16\n"
      "connections = 256\nheader_timeout = 20\nread_timeout = 30\nwrite_timeout = 30\nmin_rate = 256\n\n"
      "[[recipient]]\nname = \"alice\"\nkey = \"" + pk + "\"\n");
  Put("config_fuzz", "unix-two-recipients",
      "listen = \"unix:/run/sealdrop/http.sock\"\nmax_upload = 1048576\n"
      "store_quota = \"512 MiB\"\n\n[[recipient]]\nname = \"alice\"\nkey = \"" + pk +
          "\"\n\n[[recipient]]\nkey = '" + pk2 + "'\n");
  Put("config_fuzz", "inline-tables",
      "listen = 'unix:/tmp/s'\nrecipient = [ { name = \"a\", key = \"" + pk +
          "\" }, { name = \"b\", key = \"" + pk2 + "\" } ]\nmax_files = 4000\n");
  Put("config_fuzz", "toml-types",
      "listen = \"unix:x\" # comment\nthreads = 0x10\nconnections = 1_000\nmin_rate = 0\n"
      "max_upload = \"1TiB\"\nstore_quota = \"2TiB\"\n\"tls_cert\" = \"\"\"\nmulti\nline\"\"\"\n"
      "[[recipient]]\nkey = \"" + pk + "\"\nextra = 2024-01-02T03:04:05Z\nlist = [1.5, inf, nan, true]\n");
  Put("config_fuzz", "size-line", "20GiB\n");
  Put("config_fuzz", "size-line-plain", "1048576 B\nlisten = \"unix:x\"\n");

  ReplySeeds(ik);
  RequestSeeds(ik);
  return 0;
}
