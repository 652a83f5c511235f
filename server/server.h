// sealdrop-server internals: configuration, the sealing upload, the pages and
// the HTTP front. Only http.cc includes cpp-httplib.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/embedded.h"
#include "format/format.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "intake/intake.h"
#include "storage/storage.h"

namespace sealdrop {
namespace server {

// --- Configuration (instance-dir/config.toml; see docs/OPERATIONS.md) ----------
struct Recipient {
  std::string name;
  crypto::PublicKey key;
  // The reviewer's signing key: outboxes of replies signed with it are
  // imported. Optional: a reviewer without one reads but cannot reply.
  bool has_signing = false;
  crypto::SignPublic signing{};
  // Signing keys this reviewer used before a rotation (`retired_signing`):
  // the replies and acknowledgements they signed still count, but outboxes
  // signed with them are no longer imported.
  std::vector<crypto::SignPublic> retired{};
};

// A courier: a networked workstation that carries bundles and outboxes over
// the reviewer API with requests signed by its transport key. It can open
// nothing; removing it from the config locks it out.
struct Courier {
  std::string name;
  crypto::SignPublic key{};
};

struct Config {
  std::string dir;         // the instance directory (absolute)
  std::string listen = "127.0.0.1:8443";  // host:port (HTTPS) or unix:/path (HTTP)
  std::string tls_cert;    // absolute after loading
  std::string tls_key;
  uint64_t max_upload = uint64_t(2) << 30;  // file bytes per submission
  uint32_t max_files = 100;
  uint64_t store_quota = uint64_t(16) << 30;
  uint32_t threads = 16;         // workers that run connections (fibers)
  uint32_t connections = 256;    // open at once; more wait in the listen backlog
  uint32_t header_timeout = 20;  // seconds for the TLS handshake and a request head
  uint32_t read_timeout = 30;    // seconds a read may wait for the next byte
  uint32_t write_timeout = 30;
  uint32_t min_rate = 256;      // bytes/second an upload must average after 60 s
  uint32_t sessions = 1000;          // sources logged in at once
  uint32_t session_idle = 1800;      // seconds a session lives without a request
  uint32_t session_lifetime = 14400; // seconds a session lives at most
  uint32_t login_workers = 2;        // codenames derived at once (Argon2id)
  uint32_t login_queue = 8;          // waiting for a derivation; more are told to retry
  uint32_t reply_days = 30;          // replies are deleted this many days after they arrive
  uint32_t store_reserve = 5;        // percent of store_quota kept for messages and small files
  uint32_t expire_days = 0;          // exported submissions are deleted after this many days; 0 never
  uint32_t ack_grace_days = 7;       // acknowledged submissions are deleted this many days later
  // codename.params (FORMAT.md "Codenames"); absent in an instance made
  // before codenames, until serve writes it.
  crypto::CodenameParams codename;
  bool has_codename = false;
  std::vector<Recipient> recipients;
  // The reviewer API (sealdrop-server api): where it listens, as `listen`;
  // empty: no API. And the couriers it answers.
  std::string api_listen;
  std::vector<Courier> couriers;
  // Started as root, serve and api become this user (and group, else the
  // user's own) once their sockets and store are open. Empty: stay as started.
  std::string user, group;
  // The instance's public signing key (instance.key), which outboxes name;
  // set by serve, which reads the key.
  crypto::SignPublic instance{};
  // Whom sources are writing to, per site language ([site.en], [site.ru], ...).
  struct About {
    std::string name, description, policy;
  };
  std::map<std::string, About> site;
  // The questionnaire the site asks (`questionnaire`; docs/QUESTIONNAIRE.md),
  // read and checked at start-up; null: the site shows its message form.
  std::string questionnaire_path;
  std::shared_ptr<const intake::Questionnaire> questionnaire;
  // With a questionnaire: ISO 3166-1 (iso-codes), for its country fields,
  // and their codes sorted.
  std::vector<intake::Country> countries;
  std::vector<std::string> country_codes;
  // Their names by site language, where iso-codes translates them
  // (LoadCountryNames): language -> code -> name.
  std::map<std::string, std::map<std::string, std::string>> country_names;
  // The country list as the step pages show it, as <option>s chosen or not,
  // filled once per language (steppage.cc): 249 fills of a template at every
  // page would be most of its time. Made with the questionnaire; null: the
  // list is filled at every page.
  struct CountryOptions {
    struct List {
      std::vector<std::string> code, plain, chosen;
    };
    std::mutex mu;
    std::map<std::string, List> by_language;  // entries never change once made
  };
  std::shared_ptr<CountryOptions> country_options;

  // The site text for a language, else English's; null if neither is set.
  const About* AboutFor(const std::string& code) const {
    auto it = site.find(code);
    if (it == site.end()) it = site.find("en");
    return it == site.end() ? nullptr : &it->second;
  }
  // The recipient whose current signing key this is, or null: the only
  // keys whose outboxes are imported.
  const Recipient* Signer(const crypto::SignPublic& pk) const {
    for (const auto& r : recipients)
      if (r.has_signing && crypto::Equal(r.signing.data(), pk.data(), pk.size())) return &r;
    return nullptr;
  }
  // The recipient whose current or retired signing key this is, or null:
  // what they signed before a rotation still stands.
  const Recipient* Vouches(const crypto::SignPublic& pk) const {
    if (const Recipient* r = Signer(pk)) return r;
    for (const auto& r : recipients)
      for (const auto& old : r.retired)
        if (crypto::Equal(old.data(), pk.data(), pk.size())) return &r;
    return nullptr;
  }
  bool unix_socket() const { return listen.rfind("unix:", 0) == 0; }
  // The transport keys of the listed couriers.
  std::vector<crypto::SignPublic> courier_keys() const {
    std::vector<crypto::SignPublic> keys;
    for (const auto& c : couriers) keys.push_back(c.key);
    return keys;
  }
  std::string store_dir() const { return dir + "/store"; }
  std::string instance_key() const { return dir + "/instance.key"; }
  std::string codename_params() const { return dir + "/codename.params"; }
};

// Loads and checks dir/config.toml: unknown keys, missing recipients and
// unsafe permissions are errors (fail closed).
Status LoadConfig(const std::string& dir, Config* out);
// The same for `text`, as if it were dir's config.toml (absolute dir).
Status ParseConfig(const std::string& dir, const std::string& text, Config* out);
// Refuses an instance that is not safe to serve, naming the file or setting:
// an instance or TLS key (`tls`: the listener in use is HTTPS) readable by
// others, a config.toml or instance directory others may write.
Status CheckServable(const Config& c, bool tls);
// Started as root with `user` set: gives the Unix sockets at `sockets` to
// that user and group, then becomes them for good. Refuses a user that is
// root or does not own the instance directory. Not root: checks that the
// process is not running as someone other than `user`.
Status DropPrivileges(const Config& c, const std::vector<std::string>& sockets);
// Writes codename.params with a fresh salt (mode 0600) and loads it into cfg;
// Exists if there is one already.
Status WriteCodenameParams(Config* cfg, const crypto::CodenameParams& cost);
// Parses "2GiB", "512MiB", "100000".
Status ParseSize(const std::string& text, uint64_t* out);

// --- The store writer ------------------------------------------------------------
// Bytes whose resize leaves new bytes uninitialised: chunks are sealed
// straight into a batch, so zeroing the room first would only cost time.
template <class T>
struct NoInit : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = NoInit<U>;
  };
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using Bytes = std::vector<uint8_t, NoInit<uint8_t>>;

// One thread does every write to the store, so receiving and sealing (on the
// HTTP threads) overlap with writing and syncing, and writes from concurrent
// uploads share transactions and syncs (group commit). Memory stays bounded:
// producers wait while more than `budget` bytes are queued.
class Writer {
 public:
  // What an upload learns of its queued writes.
  struct Tracker {
    std::mutex mu;
    Status error;  // first failure of a queued write
  };

  Writer(storage::Store* store, size_t budget);
  ~Writer();  // finishes what is queued
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues chunk writes; `data` holds the bytes the ChunkWrites point into.
  // Returns at once unless the queue is over budget. Failures land in *t.
  // `small`: the upload so far is a message and at most kSmallFiles of
  // files, so its chunks may use the store's reserve.
  void PutChunks(const storage::Id& id, Bytes data, std::vector<storage::ChunkWrite> chunks,
                 bool small, std::shared_ptr<Tracker> t);
  // An empty buffer for the next batch, reused from written jobs when one is
  // free (fresh allocations cost page faults on every MiB).
  Bytes Buffer();

  // Queue and wait: durable on return when OK.
  Status Commit(const storage::SubmissionRec& rec);
  // Gives up an upload: never visible from now on. Returns once its earlier
  // writes are taken; its chunks are then removed in the background, a round
  // at a time with other writes or in pauses (storage::WriteBatch::Drop).
  Status Abort(const storage::Id& id);
  // Waits until everything queued is written and every aborted upload is
  // removed: for tests, and for callers that need the room back.
  void Settle();

 private:
  struct Job;
  Status Wait(std::unique_ptr<Job> job);
  void Enqueue(std::unique_ptr<Job> job);
  void Run();
  void AfterDropRound(const Status& st);
  void DrainDrops();

  storage::Store* store_;
  const size_t budget_;
  std::mutex mu_;
  std::condition_variable work_, room_, settled_;
  std::deque<std::unique_ptr<Job>> queue_;
  size_t queued_bytes_ = 0;
  bool stop_ = false;
  bool busy_ = false;    // a batch is being written
  size_t drops_ = 0;     // dropping_.size(), for Settle
  std::vector<Bytes> free_;  // at most kFreeBuffers
  // The writer thread's own: aborted uploads whose chunks are still being
  // removed, and whether the last round failed for want of room.
  std::deque<storage::Id> dropping_;
  bool drop_blocked_ = false;
  std::thread thread_;
};

// --- Sealing an upload ----------------------------------------------------------
struct Receipt {
  size_t message_chars = 0;   // UTF-8 code points
  size_t answers = 0;         // questionnaire answers sealed with it
  std::vector<uint64_t> file_sizes;
};

// Upload::AppendMessage's refusal of a message over format::kMaxMessage: the
// page for it states the limit in bytes (http.cc).
extern const char kMessageTooLong[];

// Uploads with at most this much in files (and any message) may use the
// store's reserve (Config::store_reserve), so that a text tip gets through
// when large uploads have filled the rest.
constexpr uint64_t kSmallFiles = uint64_t(1) << 20;

// The source a submission comes from: the reply key their codename derives,
// which the sealed manifest carries. The server files nothing under it
// (docs/INSTANCES.md, "no per-source state on the server").
struct SourceRef {
  format::ReplyKey reply_key{};
};

// One submission being received. Plaintext goes straight into secretstream;
// ciphertext goes to the store in small transactions. Destroying an Upload
// that was not committed removes everything it wrote.
class Upload {
 public:
  Upload(Writer* writer, const std::vector<Recipient>& to, uint32_t day);
  ~Upload();
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;

  Status Begin();
  Status AppendMessage(const uint8_t* p, size_t n);
  Status StartFile(std::string_view name, std::string_view type);
  Status Write(const uint8_t* p, size_t n);
  Status EndFile();
  // The source sending this: their reply key goes into the sealed manifest.
  void SetSource(const SourceRef& source) {
    source_ = source;
    has_source_ = true;
  }
  // The questionnaire's answers, sealed in the manifest (version 3).
  void SetAnswers(const format::Answers& answers);
  // Seals the manifest, writes the rest and commits. Nothing is visible
  // before this returns OK.
  Status Commit(Receipt* receipt);
  void Abort();
  // Between two requests of a questionnaire (Drafts): queues what is sealed
  // and gives back the batch's buffer, so that an upload waiting for its
  // source's next step holds no megabyte of memory. The next write takes a
  // new one.
  Status Park();
  // The item number of the file StartFile began last.
  uint32_t last_item() const { return files_.empty() ? 0 : files_.back().item; }
  uint64_t file_bytes() const { return file_bytes_; }

  size_t files() const { return files_.size(); }
  bool message_empty() const { return message_len_ == 0; }
  bool in_file() const { return in_file_; }

 private:
  Status Open(crypto::StreamWriter* w, uint32_t item, crypto::StreamHeader* header);
  uint8_t* Room(size_t n);
  Status OnChunk(uint32_t item, const uint8_t* p, size_t n);
  Status Flush();

  Writer* writer_;
  const std::vector<Recipient>& to_;
  std::shared_ptr<Writer::Tracker> tracker_;
  bool wrote_ = false;
  storage::SubmissionRec rec_;
  crypto::Id id_{};
  crypto::Secret ck_;
  crypto::Secret message_;
  size_t message_len_ = 0;
  // Names and types are the source's plaintext: their storage is wiped when
  // the vector grows, and the strings when the upload ends.
  std::vector<format::FileEntry, crypto::WipingAllocator<format::FileEntry>> files_;
  crypto::StreamWriter stream_;
  bool in_file_ = false;
  uint64_t file_bytes_ = 0;  // of every file so far: small uploads may use the reserve
  bool has_source_ = false;
  SourceRef source_;
  std::unique_ptr<format::Answers> answers_;
  bool begun_ = false;
  bool done_ = false;
  // Ciphertext waiting for the next write transaction, sealed in place.
  Bytes batch_;
  struct Pending {
    uint32_t item, index;
    size_t off, len;
  };
  std::vector<Pending> batch_chunks_;
};

// --- Receiving a form ------------------------------------------------------------
// One multipart/form-data submission (fields `message` and `files`) parsed
// and sealed into an Upload: everything of the upload path that does not
// depend on the HTTP library, so it can be fuzzed whole (fuzz/form_fuzz.cc).
class MultipartParser;
class Form {
 public:
  Form(const Config& cfg, Writer* writer, uint32_t day);
  ~Form();
  // InvalidArgument if `content_type` is not multipart/form-data with a
  // usable boundary; otherwise errors of Upload::Begin.
  Status Begin(const std::string& content_type);
  // Feeds body bytes in order. Returns false to stop reading; error() then
  // says why (limits, malformed body, storage).
  bool Feed(const char* p, size_t n);
  const Status& error() const { return err_; }
  // True if the form ended properly but carried neither message nor file.
  bool empty() const;
  // Checks the body ended properly and commits. Nothing is kept otherwise.
  Status Finish(Receipt* receipt);
  // Upload::SetSource.
  void SetSource(const SourceRef& source) { up_.SetSource(source); }

 private:
  enum class Part { kNone, kMessage, kFile, kEmpty };
  const Config& cfg_;
  Upload up_;
  std::unique_ptr<MultipartParser> parser_;
  Part part_ = Part::kNone;
  uint64_t file_bytes_ = 0;
  Status err_;
};

// --- The site's languages (server/site/catalog/, README.md there) --------------
// The files of server/site/, compiled in: "catalog/en.toml",
// "templates/index.html", ...
extern const EmbeddedFile kSiteFiles[];
extern const size_t kSiteFilesCount;
inline std::string_view SiteText(std::string_view name) {
  return FindEmbedded(kSiteFiles, kSiteFilesCount, name);
}
// The shipped questionnaires (intake/questionnaires/), compiled in:
// "red-notice.toml".
extern const EmbeddedFile kQuestionnaireFiles[];
extern const size_t kQuestionnaireFilesCount;

// Placeholder values for a message or a template: {name} -> value.
using Vars = std::vector<std::pair<std::string, std::string>>;

// One language's messages. Lookups of a key it lacks give the key itself, so
// a mistake shows on the page instead of crashing; the catalog test proves
// that no shipped page has one.
class Catalog {
 public:
  // Parses one catalog file; `name` is for messages.
  static Status Parse(std::string_view toml, const std::string& name, Catalog* out);

  const std::string& code() const { return code_; }  // "ru"
  const std::string& name() const { return name_; }  // "Русский"
  bool rtl() const { return rtl_; }

  // The message with its {placeholders} filled; not escaped. A plural
  // message takes its form from the var "count".
  std::string Text(std::string_view key, const Vars& vars = {}) const;
  // The plural message's form for n, with {count} set to n (grouped).
  std::string Plural(std::string_view key, uint64_t n, Vars vars = {}) const;
  // "1,048,576" in this language's way of writing numbers.
  std::string Number(uint64_t n) const;
  // "2.0 GiB", "512 bytes".
  std::string Size(uint64_t n) const;

  // For the catalog test.
  struct Message {
    std::string key;
    std::map<std::string, std::string> forms;  // "" for a plain message, else plural categories
  };
  const std::vector<Message>& messages() const { return messages_; }
  const std::vector<std::string>& plural() const { return plural_; }
  const std::map<std::string, std::pair<std::string, std::string>>& glossary() const {
    return glossary_;
  }

 private:
  const Message* Find(std::string_view key) const;
  std::string code_, name_, decimal_ = ".", group_ = ",";
  bool rtl_ = false;
  std::vector<std::string> plural_;
  std::vector<Message> messages_;  // sorted by key
  std::map<std::string, std::pair<std::string, std::string>> glossary_;  // term -> word, stem
};

// The CLDR plural category of integer n in a language ("one", "few", ...).
std::string PluralCategory(const std::string& code, uint64_t n);
// The categories a language's catalog must give every plural message.
std::vector<std::string> PluralCategories(const std::string& code);

// Every shipped catalog, English first; parsed once. A catalog that does not
// parse stops the process at start-up (the catalog test keeps that from
// shipping).
const std::vector<Catalog>& Catalogs();
// The site's catalog for a language code ("ru"); null if it has none.
const Catalog* FindCatalog(std::string_view code);
// The language for a request: `lang` (from a link or a form's action) if the
// site has it, else the first of Accept-Language's that it has, else English.
// Never a cookie: nothing links one visit to the next.
const Catalog& PickCatalog(std::string_view lang, std::string_view accept_language);

// --- Pages (templates in server/site/templates/) ----------------------------------
// A template filled: {{name}} an escaped value, {{{name}}} a value that is
// already HTML, {{t:key}} and {{n:key:var}} a message (plural on var), each
// filled with vars and escaped, and {{?name}}...{{/name}} kept only if name
// is set and not empty.
std::string Fill(std::string_view tmpl, const Catalog& c, const Vars& vars);
// Pages that show a new codename hold kCodenameMark where it goes: the
// codename itself is written from guarded memory as the page is sent
// (http.cc), and never sits in a string.
extern const char kCodenameMark[];
// The codename's box: the words, what they are for, and the form that asks
// for words ask[0] and ask[1] (0-based) back; `wrong` after a mismatch.
struct CodenameAsk {
  uint8_t ask[2] = {0, 0};
  bool wrong = false;
};
// `csrf` is the token the page's forms carry (Sessions::Token). `step`: with
// a questionnaire, the step to show (StepBlock) in place of the message form.
std::string IndexPage(const Config& cfg, const Catalog& c, const std::string& csrf,
                      const std::string& step = "");
// `ask`: the receipt of a first submission, which shows the new codename;
// `logged_in`: links back to the conversation rather than to a fresh form.
std::string ReceiptPage(const Receipt& r, const Catalog& c, const std::string& csrf = "",
                        const CodenameAsk* ask = nullptr, bool logged_in = false);
std::string CodenamePage(const Catalog& c, const std::string& csrf, const CodenameAsk& ask);
// A readable reply's text is not in the page: each holds kReplyMark where it
// goes, in order, and it is written from guarded memory as the page is sent.
extern const char kReplyMark[];
struct OpenedReply;
std::string InboxPage(const Config& cfg, const Catalog& c, const std::string& csrf,
                      const std::vector<OpenedReply>& replies = {}, bool deleted = false);
std::string LoggedOutPage(const Catalog& c);
// `message` is a catalog key of [error], `vars` its placeholders.
std::string ErrorPage(int status, const Catalog& c, std::string_view message, const Vars& vars = {});
const std::string& StyleSheet();
// What <noscript> holds: a style rule that hides the warning about
// JavaScript, and the CSP hash that lets it apply ('sha256-...').
const std::string& NoScriptStyle();
const std::string& NoScriptStyleHash();
std::string HtmlEscape(const std::string& s);
// Appends s to *out; when *out must grow, its old buffer is wiped before it
// is freed, so that a page showing what a source typed leaves no copy.
void AppendWiping(std::string* out, std::string_view s);
// Appends p[0..n) to *out with &, <, >, " and ' escaped for HTML: into any
// string type, so that a reply's text can be escaped into locked memory.
template <class S>
void AppendHtmlEscaped(S* out, const char* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    switch (p[i]) {
      case '&': *out += "&amp;"; break;
      case '<': *out += "&lt;"; break;
      case '>': *out += "&gt;"; break;
      case '"': *out += "&quot;"; break;
      case '\'': *out += "&#39;"; break;
      default: *out += p[i];
    }
  }
}

// --- Counters --------------------------------------------------------------------
// All the server tells of its traffic. journald stamps every line to the
// microsecond, so a line per request or per fault would be a record of when
// each source came: instead these counts are kept in memory and reported,
// rounded (Rounded), once a day at 00:00 UTC and when the operator sends
// SIGUSR1 (docs/OPERATIONS.md). Nothing else of a request is ever written.
class Counters {
 public:
  // Why a request was refused, from its HTTP status.
  enum Refusal { kMalformed, kNoPage, kNotAllowed, kTooSlow, kNoLength, kTooLarge, kEncoded,
                 kFull, kServerError, kOther, kRefusals };

  // After every answer: `status` is the response's, `submit` whether it was
  // the upload route.
  void Answered(int status, bool submit);
  // A submission sealed by the questionnaire's last step, whose answer
  // Answered cannot tell from a step page.
  void Sealed() { sealed_.fetch_add(1, std::memory_order_relaxed); }
  // Body bytes received on the upload route.
  void Received(uint64_t n) { bytes_.fetch_add(n, std::memory_order_relaxed); }
  // A fault that is not a request's answer: an exception that ended a
  // connection, accept() out of descriptors, no memory for a connection.
  void Fault() { faults_.fetch_add(1, std::memory_order_relaxed); }

  // One line, every count rounded: "requests ~1200, sealed ~40, refused
  // <10 (malformed <10, ...), received ~310 MiB, faults <10".
  std::string Report() const;
  void Reset();

  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t sealed() const { return sealed_.load(std::memory_order_relaxed); }
  uint64_t refused(Refusal r) const { return refused_[r].load(std::memory_order_relaxed); }
  uint64_t faults() const { return faults_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> requests_{0}, sealed_{0}, bytes_{0}, faults_{0};
  std::atomic<uint64_t> refused_[kRefusals] = {};
};

// The process's counters.
Counters& Stats();
// What a report shows of a count: "<10" below ten, otherwise "~" and the
// count rounded to tens, or to two significant figures from 1000 on ("~10",
// "~120", "~4700").
std::string Rounded(uint64_t n);
// How full the store is, for the daily line and check: "store 37% full,
// reserve 5%" (the last 5% of the quota takes only messages and small
// files). The store's file size tells as much to whoever holds the disk.
std::string StoreFill(storage::Store* store, const Config& cfg);

// --- Sources who come back: codenames and sessions -------------------------------
// Deriving a codename's keys costs Argon2id's memory and time, so at most
// login_workers run at once and login_queue more wait; past that, Busy. A
// flood of logins is answered "try again in a minute" instead of growing
// the process. A waiting login holds its connection's worker thread.
class KeyGate {
 public:
  KeyGate(uint32_t workers, uint32_t queue, std::chrono::seconds max_wait);
  // Full ("busy") when the gate is full or the wait runs out.
  Status Derive(const crypto::Secret& codename, const crypto::CodenameParams& p,
                crypto::SourceKeys* out);
  uint32_t peak_running() const { return peak_; }

 private:
  const uint32_t workers_, queue_;
  const std::chrono::seconds max_wait_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint32_t running_ = 0, waiting_ = 0, peak_ = 0;
};

// Logged-in sources, in memory only: nothing of a session is ever written.
// A session holds the source's keys (the reply secret key in guarded memory)
// and, until they confirm that they saved it, their new codename; both are
// wiped when it ends: log-out, idle or absolute expiry, or eviction.
class Sessions {
 public:
  using Clock = std::chrono::steady_clock;
  struct Session {
    crypto::SourceKeys keys;
    crypto::Secret codename;     // empty once confirmed
    uint8_t ask[2] = {0, 0};     // the words (0-based) to type back
    Clock::time_point born, seen;
  };

  Sessions(uint32_t max, std::chrono::seconds idle, std::chrono::seconds lifetime);

  // A new session under a fresh random id (64 hex digits) in *id. Full when
  // max sessions are live (after removing the expired ones). One source
  // (one codename) holds at most kPerSource sessions: a further one ends
  // the one of theirs seen least recently, so that logging in again and
  // again with one codename cannot fill the table and keep others out.
  static constexpr size_t kPerSource = 4;
  Status Open(crypto::SourceKeys keys, crypto::Secret codename, std::string* id);
  // Runs fn on the live session `id` under the lock and notes the visit;
  // false if there is none (unknown, expired: then it is removed).
  bool With(const std::string& id, const std::function<void(Session&)>& fn);
  void Close(const std::string& id);
  // Removes expired sessions; the server calls it now and then.
  void Expire();
  size_t live();

  // The CSRF token for a form bound to `who` ("s:" + session id, or "f:" +
  // the visitor's form cookie): a keyed hash under a key made at start-up.
  std::string Token(const std::string& who) const;
  bool CheckToken(const std::string& who, const std::string& token) const;

 private:
  using Key = std::array<uint8_t, 32>;
  // BLAKE2b-256 under key_ of label (with its NUL) then text.
  Key Keyed(const char* label, size_t label_size, const std::string& text) const;
  Key Index(const std::string& id) const;  // sessions are found by a hash of the id
  bool Expired(const Session& s, Clock::time_point now) const;
  void RemoveExpired(Clock::time_point now);  // mu_ held
  const uint32_t max_;
  const std::chrono::seconds idle_, lifetime_;
  crypto::Secret key_;  // for Index and Token
  std::mutex mu_;
  std::map<Key, std::unique_ptr<Session>> live_;
};

// --- A questionnaire part-way through (drafts.cc) --------------------------------
// What a source has answered so far, between the steps of the questionnaire,
// in memory only: never written, never logged. A draft belongs to a visitor
// (the form cookie of a new source, or the session of a logged-in one) and
// holds their answers encoded (format::EncodeAnswers) in guarded memory, the
// step they are on, and the files of earlier steps sealed into an Upload that
// is not committed: the chunks are on disk as ciphertext, invisible like an
// upload under way, removed when the draft ends unsent (expiry, eviction,
// shutdown) and by the start-up sweep after a crash.
class Drafts {
 public:
  using Clock = std::chrono::steady_clock;
  struct Draft {
    crypto::Secret answers;  // empty: nothing answered yet
    uint32_t step = 0;       // index into the questionnaire's steps
    std::unique_ptr<Upload> upload;
  };
  // At most `max_count` drafts holding at most `max_bytes` of answers in
  // all; a draft not used for `idle` ends.
  Drafts(size_t max_count, size_t max_bytes, std::chrono::seconds idle);
  ~Drafts();
  Drafts(const Drafts&) = delete;
  Drafts& operator=(const Drafts&) = delete;

  struct Entry;
  // One request's hold on a draft: no other request of the same visitor
  // reaches it until the hold ends.
  class Hold {
   public:
    Hold() = default;
    ~Hold();
    Hold(Hold&&) = delete;
    Draft& draft();
    // Replaces the answers (the old ones are wiped). Full, keeping the old
    // ones, if the table would hold more than max_bytes.
    Status SetAnswers(crypto::Secret answers);
    // Ends the draft now: sent, or given up.
    void Remove();

   private:
    friend class Drafts;
    Drafts* owner_ = nullptr;
    std::shared_ptr<Entry> entry_;
    std::string key_;
  };
  // Holds the draft of `who` (any string that names the visitor), made
  // empty if there is none and `create`. NotFound: none and not `create`.
  // Full: the table is full, or another request holds this draft now.
  Status Get(const std::string& who, bool create, Hold* out);
  // Ends the drafts idle too long; the server calls it now and then.
  void Expire();
  size_t live();
  size_t bytes();  // of answers, in all

 private:
  void Release(Hold* h);
  const size_t max_count_, max_bytes_;
  const std::chrono::seconds idle_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> live_;
  size_t bytes_ = 0;
};

// --- One step's form (stepform.cc) -----------------------------------------------
// The multipart/form-data body of a questionnaire step, parsed: its values
// by field, into memory, and its files streamed and sealed at once into the
// draft's upload, made by `upload` on the first file. Apart from the HTTP
// library so that it can be fuzzed (fuzz/answers_fuzz.cc feeds CheckStep).
// The form's own fields: which step it showed (kStepField) and which button
// was pressed (kActionField: "next" or "back").
constexpr const char* kStepField = "sd:step";
constexpr const char* kActionField = "sd:action";
class StepForm {
 public:
  // `files`: the ids of the step's file fields; a file part for any other
  // name is refused. `max_files` and `max_bytes` bound the files of the
  // whole upload, with those the draft holds already.
  StepForm(std::vector<std::string> file_fields, std::function<Status(Upload**)> upload,
           uint32_t max_files, uint64_t max_bytes);
  ~StepForm();
  Status Begin(const std::string& content_type);
  bool Feed(const char* p, size_t n);
  const Status& error() const { return err_; }
  // Checks the body ended properly and closes the last file.
  Status Finish();
  // What was typed (a value over kMaxAnswerBytes is cut one byte past it,
  // so that it still reads as too long), and the files: by field, their
  // item numbers. Empty values are left out.
  intake::Values& values() { return values_; }
  const std::string& step() const { return step_; }
  const std::string& action() const { return action_; }

 private:
  enum class Part { kNone, kValue, kFile, kEmpty, kStep, kAction };
  std::vector<std::string> file_fields_;
  std::function<Status(Upload**)> get_upload_;
  Upload* up_ = nullptr;
  const uint32_t max_files_;
  const uint64_t max_bytes_;
  std::unique_ptr<MultipartParser> parser_;
  Part part_ = Part::kNone;
  std::string name_;
  crypto::WipedString value_;
  uint64_t text_bytes_ = 0, file_bytes_ = 0;
  uint32_t files_ = 0;
  intake::Values values_;
  std::string step_, action_;
  Status err_;
  void EndValue();
};
// The values of a form wiped, before their strings are freed.
void WipeValues(intake::Values* values);

// --- Country names (countries.cc) ------------------------------------------------
// Where iso-codes keeps a language's names (%s: the language's code).
constexpr const char* kCountryNamesPath = "/usr/share/locale/%s/LC_MESSAGES/iso_3166-1.mo";
// The messages of a gettext catalog (.mo): English text -> translation.
// Corruption if it is not one or a table runs past its end.
Status ReadMo(const std::string& bytes, std::map<std::string, std::string>* out);
// Fills cfg->country_names for every site language but English from
// kCountryNamesPath; a language without its file keeps the English names.
void LoadCountryNames(Config* cfg);

// --- The step pages (steppage.cc) ------------------------------------------------
struct StepView {
  size_t step = 0;                        // index into the questionnaire's steps
  size_t number = 1;                      // among the steps shown so far
  const intake::Values* values = nullptr; // every answer typed, this step's included
  std::vector<intake::FieldError> errors;
  bool first = true, last = false;
};
// The form of one step, which the index page shows (IndexPage's `step`).
std::string StepBlock(const Config& cfg, const Catalog& c, const std::string& csrf, const StepView& v);

// --- Connections -----------------------------------------------------------------
// Every connection runs as a fiber: its own stack, run by one of a few worker
// threads only while it has work to do. A fiber that would block on its
// socket parks instead, and the poller thread resumes it when the socket is
// ready or its deadline passes. So an idle, slow or stalled client holds a
// stack and its buffers, never a thread (docs/RELIABILITY.md, floods).
class Fibers {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs one connection; the fiber owns fd (non-blocking) and closes it after.
  using Handler = std::function<void(int fd)>;

  // `threads` workers; at most `max_fibers` connections at once. When full,
  // new connections wait in the listen backlog and the connection in an idle
  // wait the longest is ended to make room.
  Fibers(uint32_t threads, uint32_t max_fibers);
  ~Fibers();
  Fibers(const Fibers&) = delete;
  Fibers& operator=(const Fibers&) = delete;

  // Accepts on listen_fd (non-blocking) until Stop(), then lets every fiber
  // end and returns.
  Status Run(int listen_fd, Handler handler);
  // From any thread or a signal-waiting thread: stop accepting; fibers parked
  // in an idle wait end at once, the others within `grace`.
  void Stop(std::chrono::seconds grace);

  // Inside a fiber only. Parks until the fiber's socket has `events`
  // (EPOLLIN, EPOLLOUT) or the deadline passes; false on the deadline. An
  // `idle` wait (no request under way) also ends when the server stops or
  // needs the room for a new connection.
  static bool Wait(uint32_t events, Clock::time_point deadline, bool idle = false);
  // True once Stop() was called.
  static bool Stopping();
  // errno, for fiber code: a fiber may resume on another thread, and the
  // compiler may keep the address of the first thread's errno across a wait.
  static int Errno();

  // Live fibers: for tests.
  uint32_t live() const;

  struct Worker;  // a worker thread's state (fibers.cc)

 private:
  struct Fiber;
  static void Entry();
  void WorkerMain();
  void Park(Fiber* f);
  void Finish(Fiber* f);
  void Accept();
  void PauseAccepting(Clock::time_point until);  // mu_ held
  void MakeReady(Fiber* f, bool timed_out);  // mu_ held
  void Kick();

  const uint32_t threads_, max_;
  int ep_ = -1, kick_ = -1, listen_ = -1;
  Handler handler_;
  mutable std::mutex mu_;
  std::condition_variable ready_cv_;
  std::deque<Fiber*> ready_;
  std::vector<Fiber*> slots_;
  std::vector<uint32_t> free_slots_;
  std::set<std::pair<Clock::time_point, Fiber*>> timers_;
  uint32_t live_ = 0;
  uint32_t seq_ = 0;  // wait generations, so a stale epoll event is recognised
  bool accepting_ = true;
  Clock::time_point resume_at_;  // when a paused listener is watched again
  bool quit_ = false;
  std::atomic<bool> stop_requested_{false};
  std::atomic<int64_t> grace_ms_{0};
  bool stopping_ = false;
  Clock::time_point stop_deadline_;
};

// --- HTTP ------------------------------------------------------------------------
// Serves until SIGINT or SIGTERM, which the caller must have blocked in every
// thread. Returns non-OK if it could not start. `ready`, if given, runs once
// the listener is bound, before any connection is served (serve confines the
// process there); a non-OK status from it stops Serve with that status.
Status Serve(const Config& cfg, Writer* writer, storage::Store* store,
             const std::function<Status()>& ready = nullptr);

// --- The sandbox (sandbox.cc) -------------------------------------------------------
// Confines the whole process, every thread running now and every one started
// later, to the system calls serving makes (SECURITY.md lists them and says
// why). serve and api call it once start-up is done: the configuration read,
// the keys loaded, the store open, the listener bound. From then on any other
// call (execve, a new process, ptrace, a new socket, executable memory, ...)
// kills the process with SIGSYS, and opening a file fails with EACCES. Sets
// no_new_privs.
// Returns non-OK, having confined nothing, if the kernel refuses the filter.
// REQUIRES: no file is opened and no socket made after it.
// A build configured with -DSEALDROP_SECCOMP=OFF (the sanitizer builds: their
// runtimes make calls serving does not) has no filter, and Confine does
// nothing and returns OK.
Status Confine();
// Whether this build has the filter (SEALDROP_SECCOMP).
extern const bool kSandboxBuilt;

// --- Small forms (urlencoded.cc) ---------------------------------------------------
// The decoded value of field `name` of an application/x-www-form-urlencoded
// body of `len` bytes, into guarded memory; false if absent. The first field
// of that name counts; '+' is a space; a '%' not followed by two hex digits
// stays as it is.
bool FormField(const uint8_t* body, size_t len, const char* name, crypto::Secret* out);

// --- Replies (replies.cc) -----------------------------------------------------------
// A reply as a logged-in source sees it: its text, opened with their keys,
// or unreadable (its signer is no reviewer's now, its signature fails or it
// does not open), which the page says instead.
struct OpenedReply {
  storage::Id id{};
  uint32_t day = 0;
  bool readable = false;
  crypto::Secret text;
};
// A page shows at most this many; a source deletes read ones.
constexpr size_t kMaxShownReplies = 100;
// The replies filed for the source whose keys these are, oldest first.
Status ReadReplies(const Config& cfg, storage::Store* store, const crypto::SourceKeys& keys,
                   std::vector<OpenedReply>* out);
// Deletes the replies that arrived reply_days ago or earlier.
Status ExpireOldReplies(const Config& cfg, storage::Store* store);

// --- Deleting submissions (server/expiry.cc, server/acks.cc) ---------------------
// Each function withdraws (storage::Store::Withdraw) and gives the ids, whose
// chunks the caller removes: Store::Sweep, or Writer::Abort while serving. On
// an error no id is given, since none was withdrawn.
Status WithdrawAll(storage::Store* store, std::vector<storage::Id>* ids);

// With expire_days set (the operator's choice; 0, the default, keeps
// everything): the submissions received expire_days days before `today` or
// earlier that were exported at least once. A submission never exported is
// kept whatever its age.
Status ExpireSubmissions(const Config& cfg, storage::Store* store, uint32_t today,
                         std::vector<storage::Id>* ids);

// Checks an outbox's acknowledgements against the records held: ids held
// with the same record hash go to *held, and *gone counts those no longer
// held. Corruption, naming the id, if a hash differs: the vault holds
// something other than what this server received, and nothing is taken.
Status MatchAcks(storage::Store* store, const std::vector<format::OutboxAck>& acks,
                 std::vector<storage::Id>* held, size_t* gone);

// The acknowledged submissions whose grace is over (acknowledged
// ack_grace_days before `today` or earlier) and whose acknowledging
// reviewer's signing key is still in the config: removing a reviewer cancels
// the deletions their outboxes asked for, while the grace lasts.
Status DeleteAcknowledged(const Config& cfg, storage::Store* store, uint32_t today,
                          std::vector<storage::Id>* ids);

// What check says of the acknowledgements held.
struct AckSummary {
  uint64_t waiting = 0;     // acknowledged, not yet deleted
  uint32_t next_day = 0;    // the first day one of them is deleted (if any is)
  uint64_t unlisted = 0;    // acknowledged by a key no longer in the config: kept
};
Status SummariseAcks(const Config& cfg, storage::Store* store, AckSummary* out);

// Both kinds of deletion, as start-up and each change of day run them; the
// first error, after trying both.
struct Deleted {
  std::vector<storage::Id> expired, acknowledged;
  bool empty() const { return expired.empty() && acknowledged.empty(); }
};
Status DeleteDue(const Config& cfg, storage::Store* store, uint32_t today, Deleted* out);
// One line (stderr) per kind that deleted anything.
void ReportDeleted(const Config& cfg, const Deleted& d);


// --- Transfers: bundles out, outboxes in (transfer.cc) -----------------------------
// For export, import-outbox and the reviewer API alike.

// The submissions a bundle takes: those never exported, or (resend) every
// one held that no reviewer has acknowledged; and *deleted, the replies
// sources deleted here (Store::DeletedReplies), which every bundle carries.
Status BundleIds(storage::Store* store, bool resend, std::vector<storage::Id>* ids,
                 std::vector<storage::Id>* deleted);
// Writes a signed bundle of `ids` and `deleted`, exported on `day`, to
// `sink`, piece by piece (memory stays flat); *sealed gets the sealed bytes
// it carries. The same ids, deletions and day give the same bytes (Ed25519
// signs deterministically), which is what lets a broken download resume.
Status WriteBundle(storage::Store* store, const crypto::SigningKey& key,
                   const std::vector<storage::Id>& ids, const std::vector<storage::Id>& deleted,
                   uint32_t day, const format::Sink& sink, uint64_t* sealed);

// What an imported outbox brought.
struct OutboxImport {
  uint64_t number = 0;
  std::string from;       // the signing reviewer's name
  size_t replies = 0, acks = 0;
  size_t gone = 0;        // acknowledged, but deleted already
  size_t held = 0;        // acknowledged, now waiting for deletion
  size_t deleted = 0;     // replies deleted as sources asked on another instance
  uint32_t delete_day = 0;
  std::string Report(uint32_t grace) const;  // the lines import-outbox prints
};
// Checks an outbox for this instance (signer listed, instance, number in
// order, signatures, record hashes) and stores its replies and
// acknowledgements, or nothing. On failure, *hint says what to do.
Status ImportOutboxBytes(const Config& cfg, const crypto::SignPublic& instance,
                         storage::Store* store, const std::string& bytes, OutboxImport* out,
                         std::string* hint);


// --- The reviewer API (api.cc; sealdrop-server api) -------------------------------
// Couriers fetch bundles (GET /v1/bundle, ?resend for every unacknowledged
// submission) and push outboxes (POST /v1/outbox) with signed requests,
// checked from the head before any body is read. Its own listener
// (api_listen), apart from the source site.
class Api {
 public:
  Api(const Config& cfg, const crypto::SigningKey& instance, storage::Store* store);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;
  // Listens on cfg.api_listen; *url says where (the port chosen for port 0).
  Status Bind(std::string* url);
  // Serves until Stop, from another thread.
  Status Run();
  void Stop();
  // The counts so far, each rounded: requests, bundles, outboxes, refusals by kind.
  std::string Report() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace server
}  // namespace sealdrop
