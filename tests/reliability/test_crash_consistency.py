#!/usr/bin/python3
"""Crash consistency under load: ROUNDS rounds against one instance directory.

Each round starts the server (its start-up sweep removes what the previous
kill left unfinished), runs `check` (exit 0, "unfinished uploads: 0", ok),
launches concurrent uploads (FILE_UPLOADS curl processes with one file of a
random size from 0 to 8 MiB (10% empty, 20% under 256 KiB), sent at 24 MB/s,
plus MSG_UPLOADS message-only ones), SIGKILLs the server after a random
0-300 ms and records which uploads got a 200 "Received" page: those are
confirmed (so is a 200
whose page the kill cut short: the server answers 200 only after the commit
is on disk).

Every VERIFY_EVERY rounds and at the end: export, import into one vault,
extract every new submission and prove that
  - every confirmed submission is present, message and files byte-identical;
  - every submission present equals one that some client sent in full (a
    submission may be committed without its client seeing the 200 before the
    kill; it must still be complete and intact), and none appears twice;
  - check's "submissions:" equals the number exported so far.
Each message carries a unique marker; each file starts with it.

SEALDROP_SEED=N repeats a run's random choices; SEALDROP_CRASH_ROUNDS=N
changes the number of rounds (at least 100 for the real test).
"""
import os
import random
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean (CTest runs from it)
import relcommon  # noqa: E402
from relcommon import check, harness  # noqa: E402

ROUNDS = int(os.environ.get("SEALDROP_CRASH_ROUNDS", "150"))
VERIFY_EVERY = 20
FILE_UPLOADS = 4
MSG_UPLOADS = 2
MAX_FILE = 8 << 20
SMALL_FILE = 256 << 10
MAX_KILL_DELAY = 0.300
CLIENT_RATE = "24M"  # curl --limit-rate for file uploads
TIME_BUDGET = 300  # seconds: fail rather than run on for ever


def file_size(rng):
    r = rng.random()
    if r < 0.1:
        return 0
    if r < 0.3:
        return rng.randint(1, SMALL_FILE)
    return rng.randint(SMALL_FILE, MAX_FILE)


def test(h):
    seed = int(os.environ.get("SEALDROP_SEED", str(int(time.time() * 1000) % 1000000007)))
    rng = random.Random(seed)
    relcommon.private_binaries(h)
    h.note("seed (SEALDROP_SEED)", seed)
    # Hundreds of extracts: a key that unlocks in milliseconds (relcommon.VectorReviewer).
    rv = relcommon.VectorReviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    src = h.path("src")
    os.makedirs(src)
    blob = os.urandom(MAX_FILE)

    sent = {}  # marker -> relcommon.Sent
    verifier = relcommon.VaultVerifier(h, rv, inst, sent)
    kills = 0
    swept_total = 0
    restarts_sweeping = 0
    confirmed = 0
    statuses = {}
    kill_delays = []
    restart_secs = []
    verified_confirmed = 0

    def start(tag):
        t0 = time.monotonic()
        srv = inst.server("crash").start()
        restart_secs.append(time.monotonic() - t0)
        return srv

    def verify(label):
        nonlocal verified_confirmed
        t0 = time.monotonic()
        n = verifier.export_import()
        extracted = verifier.verify_new()
        missing = verifier.missing_confirmed()
        check(not missing, "%s: %d confirmed submissions are missing from the vault, e.g. %s" %
              (label, len(missing), ", ".join("%s (sent %s)" % (s.marker, s.message)
                                               for s in missing[:5])))
        c = relcommon.run_check(h, inst)
        check(c["submissions"] == verifier.exported_total,
              "%s: check counts %d submissions, %d were exported in all" %
              (label, c["submissions"], verifier.exported_total))
        verified_confirmed = sum(1 for s in sent.values() if s.confirmed and s.found_id)
        h.step("%s: exported %d, extracted %d new (%d in the vault), confirmed and verified %d, "
               "committed without a confirmation %d (%.1fs)" %
               (label, n, extracted, len(verifier.done_ids), verified_confirmed,
                sum(1 for s in sent.values() if s.found_id and not s.confirmed),
                time.monotonic() - t0))

    t_begin = time.monotonic()
    h.step("%d rounds: %d file uploads + %d message-only uploads each, SIGKILL after 0-%d ms" %
           (ROUNDS, FILE_UPLOADS, MSG_UPLOADS, MAX_KILL_DELAY * 1000))
    srv = start("first")
    relcommon.check_clean(h, inst, "after the first start")
    for rnd in range(1, ROUNDS + 1):
        check(time.monotonic() - t_begin < TIME_BUDGET,
              "the crash test ran over its %ds budget at round %d" % (TIME_BUDGET, rnd))
        # Prepare every payload first, so the uploads start together.
        plan = []
        for u in range(FILE_UPLOADS + MSG_UPLOADS):
            marker = relcommon.new_marker()
            message = "crash round %d upload %d marker %s" % (rnd, u, marker)
            files = {}
            paths = []
            if u < FILE_UPLOADS:
                name = "r%03d-u%d-%s.bin" % (rnd, u, marker[:8])
                path = os.path.join(src, name)
                files[name] = relcommon.write_payload(path, marker, file_size(rng), blob)
                paths.append((path, name))
            plan.append((relcommon.Sent(marker, message, files), paths))
        ups = []
        for s, paths in plan:
            sent[s.marker] = s
            # Files at a client's pace (24 MB/s: an 8 MiB file takes ~350 ms),
            # so that the kill often lands in the middle of uploads.
            extra = ["--limit-rate", CLIENT_RATE] if paths else []
            ups.append((s, relcommon.Upload(h, srv.url, s.message, paths, max_time=30,
                                            extra=extra)))
        delay = rng.uniform(0, MAX_KILL_DELAY)
        kill_delays.append(delay)
        time.sleep(delay)
        srv.kill()
        kills += 1
        for s, up in ups:
            up.finish()
            s.status = up.status
            # The 200 is sent only after the commit is on disk, so a 200 whose
            # page the kill cut short (curl exits non-zero) confirms it too.
            s.confirmed = up.status == 200
            confirmed += s.confirmed
            key = up.status if up.status != 200 or up.received else "200 (page cut short)"
            statuses[key] = statuses.get(key, 0) + 1
            check(up.status in (0, 200),
                  "round %d: a well-formed upload got HTTP %d before the kill:\n%s" %
                  (rnd, up.status, up.body.decode("utf-8", "replace")[:1000]))
            check(up.status != 200 or up.received or up.rc != 0,
                  "round %d: HTTP 200 and curl exit 0 without a 'Received' page:\n%s" %
                  (rnd, up.body.decode("utf-8", "replace")[:1000]))
        for name in os.listdir(src):
            os.unlink(os.path.join(src, name))

        srv = start("round %d" % rnd)
        m = re.search(r"removed (\d+) unfinished uploads", srv.log())
        if m:
            swept_total += int(m.group(1))
            restarts_sweeping += 1
        relcommon.check_clean(h, inst, "after restart %d (the sweep)" % rnd)
        if rnd % VERIFY_EVERY == 0 or rnd == ROUNDS:
            verify("round %d" % rnd)

    h.step("stop (SIGTERM), final check")
    rc = srv.stop()
    clean_stop = rc == 0 and "sealdrop-server: stopped" in srv.log()
    check(clean_stop, "SIGTERM did not stop the server cleanly (exit status %s):\n%s" %
          (rc, srv.log()[-2000:]))
    final = relcommon.check_clean(h, inst, "after the final SIGTERM")
    check(final["submissions"] == verifier.exported_total == len(verifier.done_ids),
          "final: check %d, exported %d, vault %d submissions" %
          (final["submissions"], verifier.exported_total, len(verifier.done_ids)))

    committed_unconfirmed = sum(1 for s in sent.values() if s.found_id and not s.confirmed)
    sent_files = [s for s in sent.values() if s.files]
    h.note("rounds / SIGKILLs", "%d / %d" % (ROUNDS, kills))
    h.note("uploads started", "%d (%d with a file, %d message-only)" %
           (len(sent), len(sent_files), len(sent) - len(sent_files)))
    h.note("confirmed (HTTP 200) and verified byte-identical", "%d of %d confirmed" %
           (verified_confirmed, confirmed))
    h.note("confirmed uploads with a file", "%d (largest %.1f MiB)" % (
        sum(1 for s in sent_files if s.confirmed),
        max([sz for s in sent_files if s.confirmed for sz, _ in s.files.values()] or [0]) /
        (1 << 20)))
    h.note("committed without the client seeing the 200 (complete, intact)",
           committed_unconfirmed)
    h.note("uploads lost to the kill (not committed, not confirmed)",
           sum(1 for s in sent.values() if not s.found_id))
    h.note("HTTP statuses seen by clients", ", ".join(
        "%s: %d" % ("none (killed)" if k == 0 else k, v)
        for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))))
    h.note("restarts that swept / unfinished uploads swept", "%d / %d" %
           (restarts_sweeping, swept_total))
    h.note("kill delay", "%.0f-%.0f ms" % (min(kill_delays) * 1000, max(kill_delays) * 1000))
    h.note("restart to listening (with sweep)", "median %.3fs, max %.3fs" %
           (sorted(restart_secs)[len(restart_secs) // 2], max(restart_secs)))
    h.note("submissions extracted and matched", len(verifier.done_ids))
    h.note("check after the final SIGTERM", "exit 0, ok, unfinished 0, %d submissions (a "
           "clean stop)" % final["submissions"])


if __name__ == "__main__":
    harness.Harness("crash_consistency", __doc__).main(test)
