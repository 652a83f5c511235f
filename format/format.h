// Formats that both the server and the review tool read or write: the
// manifest sealed inside every submission, and the bundle that carries sealed
// submissions from the server to the air-gapped vault. Specified in
// docs/FORMAT.md ("Manifest", "Bundle").
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

namespace sealdrop {
namespace format {

// --- Manifest: item 0 of every submission ---------------------------------------
struct FileEntry {
  uint32_t item = 0;     // stream item holding the body (1..)
  std::string name;      // as the source's browser sent it; untrusted
  std::string type;      // as the browser sent it; untrusted
  uint64_t size = 0;     // plaintext bytes before padding
};

// The source's reply address: the X25519 public key derived from their
// codename (crypto::DeriveSourceKeys). Inside the sealed manifest only, so
// which submissions share a source is the reviewers' knowledge.
using ReplyKey = std::array<uint8_t, crypto::kPublicKeySize>;

// A source's answers to the questionnaire the site asked (intake/), by field
// id. Values are UTF-8: a choice's id, "yes"/"no", a country code,
// YYYY-MM-DD, the text typed; for a file field, the item numbers of its
// files in decimal. A field asked and left empty has no entry.
struct Answer {
  std::string field;
  std::vector<std::string> values;  // 1 or more; several only for `choices` and files
};
struct Answers {
  std::array<uint8_t, 32> hash{};  // BLAKE2b-256 of the questionnaire's definition
  std::string questionnaire;       // its id
  std::vector<Answer> list;        // in the order asked
  bool empty() const { return questionnaire.empty(); }
};

struct Manifest {
  std::string message;   // UTF-8, as typed by the source
  std::vector<FileEntry> files;
  bool has_reply_key = false;  // false: sent without a codename (or version 1)
  ReplyKey reply_key{};
  Answers answers;  // empty: no questionnaire was asked (versions 1 and 2)
};

// The limits of each field. The server never writes more and the reviewer
// refuses more, so anything the server accepts, the reviewer can open.
constexpr size_t kMaxMessage = 1u << 20;  // bytes of UTF-8
constexpr size_t kMaxName = 1024;         // bytes, for the name and for the type
constexpr size_t kMaxFiles = 4096;
static_assert(kMaxMessage <= UINT32_MAX && kMaxFiles <= UINT32_MAX && kMaxName <= UINT16_MAX,
              "a limit does not fit its length field");
// Answers: ids as the questionnaire's (intake/), at most 32 bytes; at most
// 200 answers of at most 64 values; the encoded answers at most 1 MiB.
constexpr size_t kMaxAnswerId = 32;
constexpr size_t kMaxAnswerCount = 200;
constexpr size_t kMaxAnswerValues = 64;
constexpr size_t kMaxAnswers = 1u << 20;

// Fixed bytes of the encoding: magic, version, message length, file count and
// the reply key's tag and key; and per file: item, name length, type length
// and size.
constexpr size_t kManifestHead = 4 + 1 + 4 + 4 + 1 + crypto::kPublicKeySize;
constexpr size_t kManifestFileHead = 4 + 2 + 2 + 8;
// The largest manifest EncodeManifest writes: every field at its limit
// (10,551,343 bytes; docs/FORMAT.md "Manifest"): the answers' tag and their
// encoding after the version 2 fields.
constexpr size_t kMaxManifest =
    kManifestHead + kMaxMessage + kMaxFiles * (kManifestFileHead + 2 * kMaxName) + 1 + kMaxAnswers;

// The largest manifest item as the stream stores it, padded
// (crypto::PaddedSize of kMaxManifest). The reviewer refuses a manifest item
// larger than this before allocating for it; Padmé never shrinks as the
// length grows, so every manifest the server writes passes.
uint64_t MaxPaddedManifest();

// Encodes into guarded memory, since the manifest is plaintext: version 3
// with `answers` (not empty), else version 2. `reply` is the source's reply
// address, or null.
Status EncodeManifest(const uint8_t* message, size_t message_len,
                      const std::vector<FileEntry>& files, crypto::Secret* out,
                      const ReplyKey* reply = nullptr, const Answers* answers = nullptr);
// Reads versions 1, 2 and 3.
Status DecodeManifest(const uint8_t* p, size_t n, Manifest* out);

// The answers alone (FORMAT.md "Answers"), into guarded memory: as the
// manifest carries them, and as the site holds a source's answers between
// steps. TooLarge past a limit, InvalidArgument for an empty id or value list.
Status EncodeAnswers(const Answers& a, crypto::Secret* out);
// Reads answers from the start of [p, p+n) and sets *used to their length.
Status DecodeAnswers(const uint8_t* p, size_t n, Answers* out, size_t* used);

// --- Bundle ----------------------------------------------------------------------
using Sink = std::function<Status(const uint8_t* p, size_t n)>;
// Reads up to n bytes; *got = 0 only at end of input.
using Source = std::function<Status(uint8_t* p, size_t n, size_t* got)>;

class BundleWriter {
 public:
  // The key, and `digest` if given, must outlive the writer. `digest`
  // replaces libsodium's BLAKE2b-512 with another implementation of it.
  // Begin() writes the header.
  BundleWriter(const crypto::SigningKey& key, uint32_t day, Sink sink,
               crypto::Digest* digest = nullptr);
  // Version 2 when `deletions` (AddDeleted may then be called), else 1.
  Status Begin(bool deletions = false);
  Status AddSubmission(const storage::SubmissionRec& rec);
  // A reply a source deleted on this instance (DELETED record), so that the
  // vault can have the other instances delete it too (docs/INSTANCES.md).
  Status AddDeleted(const storage::Id& id);
  Status AddChunk(const storage::Id& id, uint32_t item, uint32_t index, const uint8_t* p,
                  size_t n);
  // Writes the signed END record.
  Status Finish();
  uint64_t bytes() const { return bytes_; }

 private:
  Status Put(const uint8_t* p, size_t n);
  Status Record(uint8_t type, const uint8_t* a, size_t an, const uint8_t* b, size_t bn);
  const crypto::SigningKey& key_;
  uint32_t day_;
  Sink sink_;
  crypto::Hasher own_;
  crypto::Digest* hash_;
  uint64_t subs_ = 0, chunks_ = 0, bytes_ = 0, deleted_ = 0;
  bool deletions_ = false;
};

struct BundleHandler {
  std::function<Status(const storage::SubmissionRec&)> submission;
  std::function<Status(const storage::Id&, uint32_t item, uint32_t index, const uint8_t* p,
                       size_t n)>
      chunk;
  // A DELETED record (version 2): the id of a reply a source deleted there.
  std::function<Status(const storage::Id&)> deleted;
};

struct BundleInfo {
  std::array<uint8_t, crypto::kSignPublicSize> instance{};  // signer
  uint32_t day = 0;
  uint64_t submissions = 0;
  uint64_t chunks = 0;
  uint64_t deleted = 0;
  uint8_t version = 0;  // 1, or 2 (may carry DELETED records)
};

constexpr size_t kBundleHeaderSize = 48;
// The most DELETED records one bundle carries; a server with more sends the
// rest in its next bundles.
constexpr size_t kMaxBundleDeleted = 100000;

// Parses a bundle's header (the first kBundleHeaderSize bytes): the instance
// it names as its signer and its day, so that a caller can judge the
// instance before it stores anything. The header's word only: ReadBundle's
// check of the signature over the whole bundle proves it. Errors as
// ReadBundle's for a bad header.
Status ReadBundleHeader(const uint8_t* hdr, size_t n, BundleInfo* info);

// Parses a whole bundle, calling `h` for each record as it arrives, and checks
// the signature at the end. Until ReadBundle returns OK nothing it handed out
// may be trusted or made visible: the caller stages and commits afterwards.
// Returns AuthFailed for a bad signature, Corruption for malformed bytes,
// Version for a newer format.
Status ReadBundle(const Source& src, const BundleHandler& h, BundleInfo* info);

// --- Outbox: replies and acknowledgements from the vault to one instance -------
// (FORMAT.md "Outbox")
struct OutboxReply {
  storage::Id id{};
  ReplyKey source{};                // the reply key it is sealed to
  std::vector<uint8_t> sealed;      // crypto::SealReply
  std::array<uint8_t, crypto::kSignatureSize> sig{};  // over crypto::ReplySignedBytes
};

// "The vault holds this submission": its id and the hash of its record.
using RecordDigest = std::array<uint8_t, crypto::kHashSize>;
struct OutboxAck {
  storage::Id id{};
  RecordDigest hash{};  // RecordHash of the record the vault imported
};
// BLAKE2b-256 of the submission record as stored and as a bundle carries it.
RecordDigest RecordHash(const storage::SubmissionRec& rec);

struct OutboxInfo {
  crypto::SignPublic instance{};  // the instance it is meant for
  crypto::SignPublic signer{};    // the reviewer's signing key
  uint64_t sequence = 0;          // 1, 2, ... per signer and instance
  uint32_t count = 0;             // replies
  uint8_t version = 0;            // as read: 1 (replies only), 2, or 3 (with deletions)
};

constexpr size_t kOutboxHeaderSize = 8 + 1 + 32 + 32 + 8 + 4;
constexpr size_t kOutboxEntryHead = 16 + 32 + 4;
constexpr size_t kOutboxAckSize = 16 + crypto::kHashSize;
constexpr size_t kMaxOutboxReplies = 1000;
constexpr size_t kMaxOutboxAcks = 100000;
constexpr size_t kMaxOutboxDeleted = 100000;
// The longest outbox: every reply at its longest, every acknowledgement and
// every deletion (about 75 MB).
size_t MaxOutbox();

// Signs each reply for info.instance and the whole outbox with `key`
// (info.signer and info.count are taken from the key and the replies).
// Writes version 3 when it forwards `deleted` (ids of replies a source
// deleted on another instance), else version 2.
Status WriteOutbox(const crypto::SigningKey& key, const OutboxInfo& info,
                   std::vector<OutboxReply>* replies, const std::vector<OutboxAck>& acks,
                   std::string* out, const std::vector<storage::Id>& deleted = {});
// The header's word only: who signed, for which instance, which number; so
// that a caller can name what is wrong before reading on. ReadOutbox proves it.
Status ReadOutboxHeader(const uint8_t* p, size_t n, OutboxInfo* info);
// Parses a whole outbox and checks its signature and every reply's with the
// signer its header names (whether that signer is trusted is the caller's
// judgement). AuthFailed for a bad or missing signature, Corruption for
// malformed bytes, Version for a newer format. A version 1 outbox has no
// acknowledgements; only version 3 has deletions (`deleted` may be null).
Status ReadOutbox(const uint8_t* p, size_t n, OutboxInfo* info, std::vector<OutboxReply>* out,
                  std::vector<OutboxAck>* acks, std::vector<storage::Id>* deleted = nullptr);

// --- Triage: the team's notes on a submission (FORMAT.md "Triage record") --------
// Kept in the vault only, sealed with crypto::SealTriage.
enum class CaseStatus : uint8_t { kNew = 0, kInProgress = 1, kClosed = 2 };
const char* StatusName(CaseStatus s);  // "new", "in-progress", "closed"
bool ParseStatusName(const std::string& name, CaseStatus* out);

struct Note {
  uint32_t day = 0;  // storage::Today() when it was written
  std::string text;
};

struct Triage {
  CaseStatus status = CaseStatus::kNew;
  bool starred = false;
  uint32_t extracted = 0;  // the day it was first extracted; 0: never (extract --all-new)
  std::string assignee;  // free text: a name the team uses
  std::string outcome;   // free text
  std::vector<Note> notes;
};

constexpr size_t kMaxAssignee = 256;
constexpr size_t kMaxOutcome = 4096;
constexpr size_t kMaxNote = 64u << 10;
constexpr size_t kMaxNotes = 1000;

// Into guarded memory, padded (crypto::PaddedSize). TooLarge past a limit.
Status EncodeTriage(const Triage& t, crypto::Secret* out);
// Corruption for malformed bytes, Version for a newer record.
Status DecodeTriage(const uint8_t* p, size_t n, Triage* out);

// --- Index: what the vault learned of a submission (FORMAT.md "Index record") ---
// Kept in the vault only, one per reviewer and submission, sealed with
// crypto::SealIndex; rebuilt from the submission when missing or stale.
struct IndexEntry {
  uint32_t day = 0;
  bool has_source = false;
  std::array<uint8_t, 16> source{};  // BLAKE2b-128 of the reply key: one per source
  bool answered = false;             // the manifest carries answers
  bool read = false;                 // built with their questionnaire at hand
  std::array<uint8_t, 32> questionnaire{};
  // The nonce of the sealed triage record it was built from (zero: none): a
  // record resealed by anyone, with any key, has another.
  std::array<uint8_t, 24> triage{};
  std::string outcome;
  // Only the answers the questionnaire's urgency rules and stats read.
  std::vector<Answer> answers;
};

constexpr size_t kMaxIndexAnswers = 32;
constexpr size_t kMaxIndexValue = 256;

// Into guarded memory, padded (crypto::PaddedSize). TooLarge past a limit.
Status EncodeIndex(const IndexEntry& e, crypto::Secret* out);
// Corruption for malformed bytes, Version for a newer record.
Status DecodeIndex(const uint8_t* p, size_t n, IndexEntry* out);
// BLAKE2b-128 of a reply key, as IndexEntry::source.
std::array<uint8_t, 16> SourceOf(const ReplyKey& k);

// --- Signed requests: the courier to the reviewer API ------------------------------
// (FORMAT.md "Signed request"). The head carries everything signed; the
// server verifies it before reading any body, then the body against its hash.
constexpr uint64_t kRequestSkew = 300;  // seconds a request's time may differ from the server's
constexpr size_t kNonceSize = 16;
using Nonce = std::array<uint8_t, kNonceSize>;
using Digest = std::array<uint8_t, crypto::kHashSize>;

struct RequestHead {
  std::string method;            // "GET", "POST", ...
  std::string target;            // path and query, exactly as on the request line
  crypto::SignPublic key{};      // the courier's transport key (Ed25519)
  crypto::SignPublic instance{}; // the instance key of the server it is meant for
  uint64_t length = 0;           // Content-Length; 0 without a body
  std::string range;             // the Range or Content-Range value, or empty
  Digest body{};                 // BLAKE2b-256 of the body (of the range sent), or of nothing
  uint64_t time = 0;             // Unix seconds when signed
  Nonce nonce{};
  std::array<uint8_t, crypto::kSignatureSize> sig{};
};

// Why a request was refused, for the server's counters; kNone when accepted.
enum class Refusal {
  kNone,
  kUnsigned,       // no Sealdrop-Signature header
  kMalformed,      // a signed header missing or not in its form
  kUnknownKey,     // the transport key is not listed
  kWrongInstance,  // signed for another instance
  kStale,          // time outside the window
  kBadSignature,
  kReplayed,       // nonce seen before, or signed before the server started
  kWrongLength,    // Content-Length differs from the signed length
  kWrongBody,      // the body does not hash to the signed digest
};

// The bytes the signature covers.
std::string CanonicalRequest(const RequestHead& h);
// Sets h->key and h->sig; the caller fills the rest (RandomBytes for the nonce).
void SignRequest(const crypto::SigningKey& key, RequestHead* h);
// The Sealdrop-* header lines (name, value) that carry a signed head.
std::vector<std::pair<std::string, std::string>> RequestHeaders(const RequestHead& h);
// Reads a head from the request line, its Content-Length (or none) and a
// header lookup (returns false when the header is absent). InvalidArgument,
// with *why set, when a header is missing or malformed.
Status ParseRequestHead(const std::string& method, const std::string& target,
                        const std::string* content_length,
                        const std::function<bool(const std::string&, std::string*)>& header,
                        RequestHead* out, Refusal* why);
// Checks a parsed head: meant for `instance`, signed by one of `keys`, with a
// time within kRequestSkew of `now` and not before `since` (the server's
// start: what was signed earlier may have been seen by a process that
// forgot it), and a valid signature. The nonce is the caller's (a cache of
// those seen since `since`). AuthFailed, with *why set, if not.
Status VerifyRequest(const RequestHead& h, const crypto::SignPublic& instance,
                     const std::vector<crypto::SignPublic>& keys, uint64_t now, uint64_t since,
                     Refusal* why);


// The nonces of the requests accepted since the server started, each kept
// while its time is inside the window, so a replay within it is refused
// (VerifyRequest's `since` refuses anything older). Thread-safe; bounded:
// when full, Admit refuses until old entries leave.
class NonceCache {
 public:
  explicit NonceCache(size_t max = 100000) : max_(max) {}
  // True, and remembered, when `n` is new; false when seen, or when full.
  bool Admit(const Nonce& n, uint64_t time, uint64_t now);
  size_t size();

 private:
  std::mutex mu_;
  std::map<Nonce, uint64_t> seen_;
  std::multimap<uint64_t, Nonce> by_time_;
  size_t max_;
};

}  // namespace format
}  // namespace sealdrop
