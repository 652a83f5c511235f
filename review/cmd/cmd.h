// sealdrop-review's subcommands, one file each, behind the table in
// review/main.cc. Each Add* declares its subcommand's flags on `app` and
// returns what runs it once the command line is parsed. What several of them
// share to reach the vault's contents is in vault.cc.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/cli.h"
#include "format/format.h"
#include "intake/intake.h"
#include "review/review.h"

namespace sealdrop {
namespace review {
namespace cmd {

constexpr const char* kTool = "sealdrop-review";

using cli::Command;

Command AddKeygen(CLI::App& app);   // keygen.cc
Command AddImport(CLI::App& app);   // import.cc
Command AddList(CLI::App& app);     // list.cc
Command AddShow(CLI::App& app);     // show.cc
Command AddExtract(CLI::App& app);  // extract.cc
Command AddReply(CLI::App& app);    // reply.cc
Command AddOutbox(CLI::App& app);   // outbox.cc
Command AddShell(CLI::App& app);    // shell.cc
Command AddTriage(CLI::App& app);   // triage.cc
Command AddRotate(CLI::App& app);   // rotate.cc
Command AddInstances(CLI::App& app);  // instances.cc
Command AddQuestionnaire(CLI::App& app);  // questionnaire.cc
Command AddStats(CLI::App& app);  // stats.cc

inline int Fail(const Status& st, const std::string& hint = "") {
  return cli::Fail(kTool, st, hint);
}

// vault.cc

// Opens a keyring, or a key file as a keyring of one; the passphrase stays
// in *passphrase if given (to seal the keyring again).
Status UnlockKey(const std::string& keyfile, const std::string& passfile, crypto::Keyring* ring,
                 crypto::Secret* passphrase = nullptr);
// The ids (hex) of a keyring's keys.
std::vector<std::string> RingIds(const crypto::Keyring& ring);

// Opens a signing key file; its passphrase and epoch go to the pointers given.
Status UnlockSigningKey(const std::string& keyfile, const std::string& passfile,
                        crypto::SigningKey* key, crypto::Secret* passphrase = nullptr,
                        uint32_t* epoch = nullptr);

Status OpenVault(const std::string& dir, bool create, std::unique_ptr<storage::Store>* out);
// The instances (64 hex digits each) the vault trusts, in the order pinned.
Status TrustedInstances(storage::Store* vault, std::vector<std::string>* out);

std::string IdHex(const storage::Id& id);

std::vector<crypto::SealedKey> SealedKeys(const storage::SubmissionRec& rec);
// The ids (hex) of the recipient keys a submission is sealed to: who can read it.
std::vector<std::string> KeyIds(const storage::SubmissionRec& rec);

// Opens the stream of an item whose first `size` bytes are the file's.
Status InitReader(const storage::SubmissionRec& rec, uint32_t item, const crypto::Secret& ck,
                  uint64_t size, crypto::StreamReader* reader);

// Opens chunk `index` (ciphertext p, n) of `item` into `plain`, which holds
// rec.chunk_size bytes, and checks that whatever lies past the item's first
// `size` bytes is zero padding; *keep gets how many of the chunk's bytes are
// the item's. For version 2, safe from several threads at once.
Status OpenChunk(crypto::StreamReader* reader, const storage::SubmissionRec& rec, uint32_t item,
                 uint64_t size, uint32_t index, const uint8_t* p, size_t n, uint8_t* plain,
                 size_t* keep);

// The vault and the reviewer's key, unlocked once for every submission a
// command reads (the unlock costs half a second).
struct Reading {
  std::string dir;
  std::unique_ptr<storage::Store> vault;
  std::shared_ptr<const crypto::Keyring> key;
  std::vector<storage::SubmissionRec> recs;  // the submissions asked for, in order
};

// Opens the vault, finds every id (each a unique prefix of at least 6 hex
// digits) before asking for the passphrase, then unlocks the key, or takes
// the one `shell` holds for that key file. Returns 0, or the exit status
// after reporting the error.
int BeginReading(const std::vector<std::string>& ids, const std::string& vault_dir,
                 const std::string& keyfile, const std::string& passfile, Reading* r);

// A submission found, its content key unsealed and its manifest read.
struct Opened {
  storage::Store* vault = nullptr;  // the Reading's
  storage::SubmissionRec rec;
  crypto::KeyId key_id{};  // of the key that opened it
  crypto::Secret ck;
  format::Manifest m;
};

// Unseals a submission's content key with the ring and reads its manifest.
Status ReadManifest(storage::Store* vault, const storage::SubmissionRec& rec,
                    const crypto::Keyring& ring, crypto::Secret* ck, format::Manifest* m);

// Opens r.recs[i]. Returns 0, or the exit status after reporting the error.
int OpenSubmission(Reading& r, size_t i, Opened* o);

// triage.cc: the team's notes on a submission, and its deadlines.
// A submission without a record is new, unstarred, with no notes.
Status LoadTriage(storage::Store* vault, const storage::SubmissionRec& rec,
                  const crypto::Secret& ck, format::Triage* t);
// The sealed record SaveTriage stores, for a caller that stores many at once.
Status SealTriageOf(const storage::SubmissionRec& rec, const crypto::Secret& ck,
                    const format::Triage& t, std::vector<uint8_t>* sealed);
Status SaveTriage(storage::Store* vault, const storage::SubmissionRec& rec,
                  const crypto::Secret& ck, const format::Triage& t);

// questionnaire.cc: the definitions answers are read against.
// Country codes and English names from Debian's iso-codes; empty without it.
const std::vector<std::string>& CountryCodes();
const std::map<std::string, std::string>& CountryNames();
// The definition filed under `hash_hex` (64 hex digits), parsed; NotFound if
// the vault has none.
Status LoadQuestionnaire(storage::Store* vault, const std::string& hash_hex,
                         intake::Questionnaire* out);
// Definitions by hash, each parsed once per command.
class Questionnaires {
 public:
  // *out is null when the vault has no definition of that hash.
  Status Find(storage::Store* vault, const std::array<uint8_t, 32>& hash,
              const intake::Questionnaire** out);

 private:
  std::map<std::string, std::unique_ptr<intake::Questionnaire>> cache_;
};
// The hint for answers whose questionnaire the vault lacks.
std::string AddQuestionnaireHint(const std::string& vault_dir);

// index.cc: the vault's sealed index (FORMAT.md "Index record").
struct Indexed {
  storage::Id id{};
  format::IndexEntry e;
};
// Every submission sealed to the ring, as the reviewer's index knows it, in
// id order. Entries missing, unreadable or stale (the triage record changed,
// or the questionnaire of its answers has been added since) are rebuilt
// from the submissions and stored first. *others gets how many submissions
// are sealed to other keys only.
Status ReadIndex(storage::Store* vault, const crypto::Keyring& ring, Questionnaires* qs,
                 std::vector<Indexed>* out, uint64_t* others);
// Builds the entries of these submissions (those sealed to the ring): at
// import, and after their triage changed.
Status Reindex(storage::Store* vault, const crypto::Keyring& ring,
               const std::vector<storage::SubmissionRec>& recs, Questionnaires* qs);
// The answers of an entry, by field id.
intake::Values AnswersOf(const format::IndexEntry& e);

// shell.cc: while it runs, the key it unlocked serves every command given
// the same key file; null lets it go.
void HoldKey(const std::string& keyfile, std::shared_ptr<const crypto::Keyring> key);
std::shared_ptr<const crypto::Keyring> HeldKey(const std::string& keyfile);

}  // namespace cmd
}  // namespace review
}  // namespace sealdrop
