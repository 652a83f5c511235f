// sealdrop-server check: verifies the instance and its store, repairing
// nothing.
#include <cstdio>

#include "server/cmd/cmd.h"

namespace sealdrop {
namespace server {
namespace cmd {
namespace {

// Whom sources are writing to, in every language of the site: a gap is not
// an error (the page falls back to English), but the operator should know.
std::vector<std::string> SiteWarnings(const Config& cfg) {
  if (!cfg.site.count("en"))
    return {"no [site.en] name: the source pages do not say whom sources are writing to "
            "(docs/OPERATIONS.md, \"What sources see\")"};
  std::vector<std::string> out;
  for (const Catalog& c : Catalogs())
    if (!cfg.site.count(c.code()))
      out.push_back("no [site." + c.code() + "]: the " + c.name() +
                    " pages show the English name, description and policy");
  return out;
}

// The questionnaire's texts missing in a language of the site: those
// sources read the English text.
std::vector<std::string> QuestionnaireWarnings(const Config& cfg) {
  std::vector<std::string> out;
  if (!cfg.questionnaire) return out;
  std::vector<std::string> codes;
  for (const Catalog& c : Catalogs()) codes.push_back(c.code());
  for (const std::string& gap : intake::MissingTranslations(*cfg.questionnaire, codes))
    out.push_back("questionnaire " + cfg.questionnaire_path + ": " + gap +
                  " (sources reading that language see the English text)");
  return out;
}

int Run(const std::string& dir) {
  Config cfg;
  Status st = LoadConfig(dir, &cfg);
  if (!st.ok()) return Fail(st);
  std::vector<std::string> problems;
  for (const std::string& w : SiteWarnings(cfg)) std::printf("warning: %s\n", w.c_str());
  if (cfg.questionnaire)
    std::printf("questionnaire %s: %s, %zu steps\n", cfg.questionnaire->id.c_str(),
                cfg.questionnaire_path.c_str(), cfg.questionnaire->steps.size());
  for (const std::string& w : QuestionnaireWarnings(cfg)) std::printf("warning: %s\n", w.c_str());
  if (!cfg.has_codename)
    std::printf("warning: no %s: the next serve writes it\n", cfg.codename_params().c_str());
  st = CheckServable(cfg, !cfg.unix_socket() ||
                              (!cfg.api_listen.empty() && cfg.api_listen.rfind("unix:", 0) != 0));
  if (!st.ok()) problems.push_back(st.message());
  // Whom new submissions are sealed to, by the key ids that keygen and the
  // reviewers' show print.
  for (const Recipient& r : cfg.recipients)
    std::printf("recipient %s: key %s%s\n", r.name.empty() ? "(no name)" : r.name.c_str(),
                crypto::ToHex(r.key.id.data(), r.key.id.size()).c_str(),
                r.has_signing ? ", signs replies" : "");
  if (!cfg.api_listen.empty())
    std::printf("reviewer API on %s for %zu couriers\n", cfg.api_listen.c_str(), cfg.couriers.size());
  for (const Courier& c : cfg.couriers)
    std::printf("courier %s: key %s\n", c.name.empty() ? "(no name)" : c.name.c_str(),
                crypto::FormatSigningPublic(c.key).c_str());
  // The reviewers check bundles against it (import --instance-fingerprint).
  crypto::SigningKey key;
  st = LoadInstanceKey(cfg, &key);
  if (st.ok())
    std::printf("instance key %s\n", crypto::ToHex(key.pk.data(), key.pk.size()).c_str());
  else
    problems.push_back(st.message());
  std::unique_ptr<storage::Store> store;
  st = storage::Store::Open(cfg.store_dir(), StoreOptions(cfg), &store);
  if (!st.ok()) return Fail(st);
  storage::Store::Report r;
  st = store->Check(&r);
  if (!st.ok()) return Fail(st);
  problems.insert(problems.end(), r.problems.begin(), r.problems.end());
  std::printf("submissions: %llu\nreplies: %llu\nchunks: %llu\n"
              "sealed bytes: %llu\n"
              "unfinished uploads: %llu%s\n",
              static_cast<unsigned long long>(r.submissions),
              static_cast<unsigned long long>(r.replies),
              static_cast<unsigned long long>(r.chunks),
              static_cast<unsigned long long>(r.bytes),
              static_cast<unsigned long long>(r.pending),
              r.pending ? " (in progress, or removed at the next start)" : "");
  if (r.deleted > 0)
    std::printf("replies their sources deleted, named in every bundle until they would have "
                "expired: %llu\n",
                static_cast<unsigned long long>(r.deleted));
  if (r.old_sources > 0)
    std::printf("source records kept by an older version: %llu (deleted at the next start)\n",
                static_cast<unsigned long long>(r.old_sources));
  std::printf("%s\n", StoreFill(store.get(), cfg).c_str());
  // Without expire_days nothing leaves the server: every submission waits.
  if (cfg.expire_days > 0)
    std::printf("exported submissions are deleted %u days after the day they were received\n",
                cfg.expire_days);
  const uint32_t today = storage::Today();
  AckSummary acks;
  st = SummariseAcks(cfg, store.get(), &acks);
  if (!st.ok()) return Fail(st);
  if (acks.waiting > 0)
    std::printf("acknowledged by the reviewers: %llu, the first deleted %s (ack_grace_days = %u)\n",
                static_cast<unsigned long long>(acks.waiting),
                acks.next_day <= today ? "at the next start or change of day"
                                       : ("on " + storage::DayName(acks.next_day)).c_str(),
                cfg.ack_grace_days);
  if (acks.unlisted > 0)
    std::printf("acknowledged by a signing key no longer in config.toml: %llu, kept\n",
                static_cast<unsigned long long>(acks.unlisted));
  std::vector<storage::Store::DayCount> days;
  st = store->ByDay(&days);
  if (!st.ok()) return Fail(st);
  if (!days.empty()) std::printf("held, by day received:\n");
  for (const auto& d : days) {
    std::string age = d.day >= today ? "today" : std::to_string(today - d.day) + " days";
    std::string waiting = d.unexported ? ", " + std::to_string(d.unexported) + " not exported" : "";
    std::printf("  %s: %llu%s (%s)\n", storage::DayName(d.day).c_str(),
                static_cast<unsigned long long>(d.held), waiting.c_str(), age.c_str());
  }
  for (const auto& p : problems) std::printf("problem: %s\n", p.c_str());
  if (!problems.empty()) {
    std::fprintf(stderr, "%s: error: %zu problems found\n", kTool, problems.size());
    return 1;
  }
  std::printf("ok\n");
  return 0;
}

}  // namespace

Command AddCheck(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("check", "verify the store and say what is wrong");
  c->add_option("dir", *dir, "instance directory")->required();
  return {c, [dir] { return Run(*dir); }};
}

}  // namespace cmd
}  // namespace server
}  // namespace sealdrop
