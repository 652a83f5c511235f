#!/usr/bin/env bash
# sealdrop benchmark: one command builds, measures and reports.
#
#   bench/run.sh
#
# Builds the project into build-bench/ (Release) and the bench's baseline
# programs (bench/CMakeLists.txt, a standalone project) into bench/out/build/,
# then measures, BENCH_RUNS times each, interleaved:
#   - a 1 GiB upload over HTTPS to a fresh sealdrop-server (sealed, committed),
#     sent as multipart/form-data by curl -F; the server's peak RSS;
#   - the same bytes to tls_sink, a bare cpp-httplib SSLServer that discards
#     them: as multipart (curl -F) and as a raw body (curl -T, POST);
#   - gpg --encrypt of the same bytes, default compression and --compress-algo none;
#   - sealdrop-server export, sealdrop-review import and sealdrop-review extract
#     of that submission, beside cp + fsync (and dd bs=4M + fsync) of the same bytes;
#   - the server's peak RSS for 32 concurrent 64 MiB uploads (curl -F in parallel);
#   - 2 KiB submissions (two recipients) on 2 and on 8 parallel keep-alive
#     connections for 10 s (small.py) over HTTPS and, for comparison, on 2 over a
#     Unix socket (the tor deployment);
#   - once, after the runs: scale. An instance is filled with 1,000 and with
#     100,000 small sealed submissions by bench/populate (the server's Form +
#     Writer, no HTTP), spread over 365 days, exported and imported into a vault;
#     then 5 times each: 100 new submissions + timed `sealdrop-server export`,
#     and timed `sealdrop-review list --vault V` (newest 100) and
#     `extract --all-new` of all of them after one unlock; plus the Argon2id
#     key unlock, timed as `extract` of one 2 KiB submission;
#   - single-core ceilings of secretstream, AES-256-GCM and memcpy (crypto_speed);
#   - the statistics: stats::Build over BENCH_STATS_CASES cases, 5 times, then
#     its text, CSV and SVG (stats_speed, bench/stats_speed.cc);
#   - once, after the runs: answers. A vault of BENCH_SCALE_BIG submissions
#     with questionnaire answers (fill_vault), then `sealdrop-review list --key`
#     once (building the sealed index) and BENCH_SCALE_REPS times each `list
#     --key`, `stats` and the unlock alone (bench/answers.py);
#   - a questionnaire step page rendered (step_render): every step of the
#     shipped questionnaire in every site language, empty and fully answered
#     with every field marked wrong, 200 times each; no HTTP;
#   - the courier's round trip, on a fresh instance whose reviewer API
#     (`sealdrop-server api`, api_listen on loopback TLS, ack_grace_days = 0)
#     lists a bench courier: after an untimed upload of the same bytes, timed
#     `sealdrop-courier fetch`, a second fetch that finds nothing new (the
#     transport key's unlock, the handshake), `sealdrop-review import`,
#     `sealdrop-review outbox` (the acknowledgement), `sealdrop-courier push`,
#     and the deletion: a restart of `serve`, which deletes acknowledged
#     submissions before it listens, with the store's sealed bytes and LMDB
#     pages in use before and after, and for comparison a restart with
#     nothing to delete. The baseline: a plain HTTPS download of data.bin
#     from tls_sink (GET /file, Content-Length) by curl --cacert into a file,
#     then fsync, with data.bin dropped from the page cache first, as the
#     store is. Peak RSS of the API server (VmHWM) and of the courier
#     (/usr/bin/time), also for a fetch of the BENCH_CONC_MIB file on an
#     instance of its own, to show that neither grows with the size.
# Prints a table (medians) and writes bench/out/results.{json,md} and
# docs/performance.svg (bench/out/performance.svg when BENCH_ONLY picks some
# sections). Big intermediates are deleted at the end.
#
# Knobs (environment): BENCH_RUNS=3, BENCH_SIZE_MIB=1024, BENCH_SMALL_SECONDS=10,
# BENCH_CONC=32, BENCH_CONC_MIB=64, BENCH_SCALE_SMALL=1000, BENCH_SCALE_BIG=100000,
# BENCH_SCALE_REPS=5, BENCH_STATS_CASES=100000,
# BENCH_ONLY= (all; else a comma-separated list of the sections to run:
#   upload (1 GiB, concurrent, tls_sink uploads), gpg, files (export, import,
#   extract, cp, dd), crypto, step, small, scale, courier, stats, answers; BENCH_ONLY=courier runs
#   just the courier's round trip and its baseline),
# BENCH_KEEP_DATA=0 (1 keeps bench/out/data.bin for the next run),
# SEALDROP_HTTPLIB_DIR=<root>/.deps/cpp-httplib.
set -euo pipefail
export LC_ALL=C

bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
out=$bench/out
work=$out/work
logs=$out/logs
RUNS=${BENCH_RUNS:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
SMALL_SECONDS=${BENCH_SMALL_SECONDS:-10}
KEEP_DATA=${BENCH_KEEP_DATA:-0}
CONC=${BENCH_CONC:-32}
CONC_MIB=${BENCH_CONC_MIB:-64}
SCALE_SMALL=${BENCH_SCALE_SMALL:-1000}
SCALE_BIG=${BENCH_SCALE_BIG:-100000}
SCALE_REPS=${BENCH_SCALE_REPS:-5}
STATS_CASES=${BENCH_STATS_CASES:-100000}
ONLY=${BENCH_ONLY:-}
HTTPLIB_DIR=${SEALDROP_HTTPLIB_DIR:-$root/.deps/cpp-httplib}
PY=/usr/bin/python3
BYTES=$((SIZE_MIB * 1024 * 1024))
data=$out/data.bin
raw=$out/raw.jsonl

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# want SECTION: whether BENCH_ONLY lets SECTION run.
SECTIONS=",upload,gpg,files,crypto,step,small,scale,courier,stats,answers,"
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
for sec in ${ONLY//,/ }; do
  [[ $SECTIONS == *",$sec,"* ]] || die "BENCH_ONLY: no section '$sec' (sections:${SECTIONS//,/ })"
done

# --- processes we start, stopped on any exit ----------------------------------------
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  [ -d "$work/gnupg" ] && gpgconf --homedir "$work/gnupg" --kill gpg-agent 2>/dev/null || true
  rm -rf "$work"
  rm -f "${data_small:-}"
  if [ "$KEEP_DATA" != 1 ]; then rm -f "$data"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------
for t in cmake curl openssl awk cmp; do
  command -v "$t" >/dev/null || die "$t is missing (deploy/install-deps.sh --test installs it)"
done
[ -x "$PY" ] || die "$PY is missing"
if want courier; then
  for t in mdb_stat /usr/bin/time; do
    command -v "$t" >/dev/null || die "$t is missing (deploy/install-deps.sh --test installs it)"
  done
fi
if want gpg && ! command -v gpg >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    say "installing gnupg for the gpg baseline"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnupg >/dev/null
  else
    die "gpg is missing: apt-get install gnupg"
  fi
fi
[ "$(printf '%s' "$EPOCHREALTIME" | tr -d '0-9')" = "." ] || die "bash 5 (EPOCHREALTIME) is needed"

rm -rf "$logs"
mkdir -p "$out" "$logs"
rm -rf "$work"
mkdir -p "$work"
chmod 700 "$work"
: > "$raw"

# --- build ---------------------------------------------------------------------------
build_step() {  # name, command...: runs it, shows the log's tail on failure
  local name=$1
  shift
  if ! "$@" >"$logs/$name.log" 2>&1; then
    tail -n 30 "$logs/$name.log" >&2
    die "$name failed (log: $logs/$name.log)"
  fi
}
say "building sealdrop (Release) in build-bench/"
build_step cmake-sealdrop cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release \
  -DSEALDROP_TESTS=OFF -DSEALDROP_HTTPLIB_DIR="$HTTPLIB_DIR"
build_step build-sealdrop cmake --build "$root/build-bench" -j2 --target sealdrop-server sealdrop-review \
  sealdrop-courier sealdrop_stats
# The header the project was configured with, so tls_sink gets the same one.
HTTPLIB_DIR=$(sed -n 's/^SEALDROP_HTTPLIB_DIR:[A-Z]*=//p' "$root/build-bench/CMakeCache.txt")
[ -f "$HTTPLIB_DIR/httplib.h" ] || die "no httplib.h in '$HTTPLIB_DIR' (build-bench/CMakeCache.txt)"
say "building bench baselines (tls_sink, crypto_speed, stats_speed) in bench/out/build/ against $HTTPLIB_DIR"
build_step cmake-bench cmake -S "$bench" -B "$out/build" -DCMAKE_BUILD_TYPE=Release \
  -DHTTPLIB_DIR="$HTTPLIB_DIR" -DSEALDROP_BUILD_DIR="$root/build-bench"
build_step build-bench cmake --build "$out/build" -j2
SERVER=$root/build-bench/server/sealdrop-server
REVIEW=$root/build-bench/review/sealdrop-review
COURIER=$root/build-bench/courier/sealdrop-courier
SINK=$out/build/tls_sink
CRYPTO_SPEED=$out/build/crypto_speed
POPULATE=$out/build/populate
STATS_SPEED=$out/build/stats_speed
FILL_VAULT=$out/build/fill_vault
STEP_RENDER=$out/build/step_render
for b in "$SERVER" "$REVIEW" "$COURIER" "$SINK" "$CRYPTO_SPEED" "$POPULATE" "$STATS_SPEED" "$FILL_VAULT" "$STEP_RENDER"; do [ -x "$b" ] || die "$b was not built"; done

# --- helpers -------------------------------------------------------------------------
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }

# settle: writes back whatever earlier steps left dirty (the 1 GiB input just
# created, a bundle, a vault), so that the kernel's writeback of it is never
# charged to the next timed step. Called before every timed step that reads or
# writes the data, before its clock starts.
settle() { sync; }

# timed VAR cmd...: runs cmd, puts its wall-clock seconds in VAR.
timed() {
  local __var=$1 __t0 __t1
  shift
  __t0=$EPOCHREALTIME
  "$@"
  __t1=$EPOCHREALTIME
  printf -v "$__var" '%s' "$(diff_s "$__t0" "$__t1")"
}

# rec NAME RUN SECONDS BYTES [EXTRA_JSON_MEMBERS]: one raw measurement.
rec() {
  local extra=${5:-}
  printf '{"name":"%s","run":%s,"seconds":%s,"bytes":%s%s}\n' "$1" "$2" "$3" "$4" \
    "${extra:+,$extra}" >> "$raw"
}

# start_listener LOG cmd... [PATTERN]: starts a server in the background and
# waits for its "listening on https://127.0.0.1:PORT/" line (or PATTERN, a
# last argument starting with "listening"). Sets SRV_PID and SRV_PORT.
start_listener() {
  local log=$1 i line pattern='listening on https://127\.0\.0\.1:[0-9]*/'
  shift
  if [[ "${*: -1}" == listening* ]]; then
    pattern=${*: -1}
    set -- "${@:1:$#-1}"
  fi
  : > "$log"  # here, not in the child: the child's redirection happens later
  "$@" 2>>"$log" &
  SRV_PID=$!
  pids+=("$SRV_PID")
  for i in $(seq 1 200); do
    line=$(grep -o "$pattern" "$log" || true)
    if [ -n "$line" ]; then
      SRV_PORT=${line##*:}
      SRV_PORT=${SRV_PORT%/}
      return 0
    fi
    kill -0 "$SRV_PID" 2>/dev/null || { cat "$log" >&2; die "$1 exited before listening"; }
    sleep 0.05
  done
  cat "$log" >&2
  die "$1 did not start listening"
}

stop_listener() {
  kill -TERM "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" 2>/dev/null || true
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$SRV_PID" ] || keep+=("$p"); done
  pids=("${keep[@]+"${keep[@]}"}")
}

# form_auth PORT: every POST to sealdrop-server carries a form cookie and the
# token bound to it (?csrf=); the server refuses one without them. Chooses a
# cookie, reads its token from GET / of the server on PORT, and sets
# FORM_COOKIE (the Cookie header's value) and FORM_TOKEN. Not timed.
form_auth() {
  local page
  FORM_COOKIE="__Host-sd-form=$(openssl rand -hex 32)"
  page=$(curl -sSk --max-time 30 -H "Cookie: $FORM_COOKIE" "https://127.0.0.1:$1/") ||
    die "GET / for a form token failed"
  [[ $page =~ csrf=([0-9a-f]{64}) ]] || die "GET / gave no form token"
  FORM_TOKEN=${BASH_REMATCH[1]}
}

hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
# CPU seconds (user + system) a process has used so far.
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# upload NAME RUN URL EXPECT CURL_ARGS...: one timed curl upload to the running
# listener; records wall time, the listener's peak RSS and CPU, curl's CPU.
upload() {
  local name=$1 run=$2 url=$3 expect=$4
  shift 4
  local body=$work/response.$name hdr code t up cu
  local rc=0
  settle
  hdr=$(/usr/bin/time -f '%U %S' -o "$work/curl.time" \
        curl -sSk --max-time 600 -o "$body" -w '%{http_code} %{time_total} %{size_upload}' \
        "$@" "$url" 2>"$logs/curl-$name-$run.log") || rc=$?
  if [ "$rc" != 0 ]; then
    cat "$logs/curl-$name-$run.log" >&2
    die "$name: curl failed (exit $rc)"
  fi
  read -r code t up <<<"$hdr"
  [ "$code" = 200 ] && grep -q "$expect" "$body" ||
    { head -c 2000 "$body" >&2; die "$name: unexpected response (HTTP $code)"; }
  cu=$(awk '{ printf "%.2f", $1 + $2 }' "$work/curl.time")
  rec "$name" "$run" "$t" "$BYTES" \
    "\"upload_bytes\":$up,\"rss_kb\":$(hwm_kb "$SRV_PID"),\"server_cpu_s\":$(cpu_s "$SRV_PID"),\"client_cpu_s\":$cu"
  say "  $name: $(awk -v b="$BYTES" -v s="$t" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'), peak RSS $(hwm_kb "$SRV_PID") kB"
}

# small NAME CONNECTIONS small.py-args...: 2 KiB submissions for SMALL_SECONDS
# on CONNECTIONS keep-alive connections to the running server; records the rate.
small() {
  local name=$1 conns=$2 res rc=0
  shift 2
  settle
  res=$("$PY" "$bench/small.py" "$@" --seconds "$SMALL_SECONDS" --connections "$conns" \
        --message-bytes 2048) || rc=$?
  [ "$rc" = 0 ] || { printf '%s\n' "$res" >&2; die "$name: small.py failed"; }
  "$PY" - "$raw" "$name" "$run" "$(hwm_kb "$SRV_PID")" "$(cpu_s "$SRV_PID")" "$res" "$conns" <<'PY'
import json, sys
path, name, run, rss, cpu, res = sys.argv[1:7]
r = json.loads(res)
r.update(name=name, run=int(run), rss_kb=int(rss), server_cpu_s=float(cpu),
         connections=int(sys.argv[7]))
open(path, "a").write(json.dumps(r) + "\n")
PY
  say "  $name ($conns connections): $(printf '%s' "$res" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print(r["per_second"], "submissions/s,", r["errors"], "errors")')"
}

# concurrent RUN: CONC parallel curl -F uploads of the CONC_MIB MiB file to a
# fresh server; records wall time and the server's peak RSS (VmHWM).
concurrent() {
  local run=$1 i p rc=0 t0 t1 code
  local cbytes=$((CONC * CONC_MIB * 1024 * 1024))
  new_instance "$work/conc"
  start_listener "$logs/server-conc-$run.log" "$SERVER" serve "$work/conc"
  local cp=()
  form_auth "$SRV_PORT"
  settle
  t0=$EPOCHREALTIME
  for i in $(seq 1 "$CONC"); do
    curl -sSk --max-time 900 -o "$work/conc.$i" -w '%{http_code}' -H "Cookie: $FORM_COOKIE" \
      -F "files=@$data_small" "https://127.0.0.1:$SRV_PORT/submit?csrf=$FORM_TOKEN" \
      >"$work/conc.$i.code" 2>>"$logs/curl-conc-$run.log" &
    cp+=($!)
  done
  for p in "${cp[@]}"; do wait "$p" || rc=1; done
  t1=$EPOCHREALTIME
  [ "$rc" = 0 ] || { cat "$logs/curl-conc-$run.log" >&2; die "concurrent: a curl failed"; }
  for i in $(seq 1 "$CONC"); do
    code=$(cat "$work/conc.$i.code")
    [ "$code" = 200 ] && grep -q Received "$work/conc.$i" ||
      { head -c 2000 "$work/conc.$i" >&2; die "concurrent upload $i: HTTP $code"; }
  done
  rec concurrent "$run" "$(diff_s "$t0" "$t1")" "$cbytes" \
    "\"uploads\":$CONC,\"rss_kb\":$(hwm_kb "$SRV_PID"),\"server_cpu_s\":$(cpu_s "$SRV_PID")"
  say "  concurrent $CONC x $CONC_MIB MiB: $(diff_s "$t0" "$t1") s, peak RSS $(hwm_kb "$SRV_PID") kB"
  stop_listener
  rm -rf "$work/conc" "$work"/conc.*
}

# scale N: an instance with N small submissions (populate, over 365 days),
# exported and imported into a vault; then SCALE_REPS times: 100 new
# submissions and a timed export; SCALE_REPS timed `list --vault` (newest 100).
scale() {
  local n=$1
  local d=$work/scale-$n v=$work/vault-$n res r t
  new_instance "$d"
  res=$("$POPULATE" "$d" "$n" --threads 32 --days 365) || die "populate $n failed"
  printf '%s' "$res" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); r.update(name="populate", n=int(sys.argv[1]), run=1); print(json.dumps(r))' "$n" >> "$raw"
  say "  populate $n: $res"
  settle
  timed t "$SERVER" export "$d" --out "$work/scale.sdb" >>"$logs/scale-export.log" 2>&1
  rec scale_export_all 1 "$t" "$(stat -c %s "$work/scale.sdb")" "\"n\":$n"
  settle
  timed t "$REVIEW" import "$work/scale.sdb" --vault "$v" --key "$work/k1" \
    --passphrase-file "$work/pass" --trust-new-instance >>"$logs/scale-import.log" 2>&1
  rec scale_import 1 "$t" 0 "\"n\":$n"
  say "  export of all $n, import: $t s"
  rm -f "$work/scale.sdb"
  for r in $(seq 1 "$SCALE_REPS"); do
    "$POPULATE" "$d" 100 --threads 32 --days 1 >/dev/null || die "populate 100 failed"
    settle
    timed t "$SERVER" export "$d" --out "$work/scale.sdb" >"$work/scale-export.out" 2>&1
    grep -q "exported 100 submissions" "$work/scale-export.out" ||
      { cat "$work/scale-export.out" >&2; die "export of 100 new did not export 100"; }
    rec scale_export "$r" "$t" 0 "\"n\":$n"
    rm -f "$work/scale.sdb"
  done
  for r in $(seq 1 "$SCALE_REPS"); do
    settle
    timed t "$REVIEW" list --vault "$v" >"$work/list.out" 2>"$work/list.err"
    [ "$(grep -c '^[0-9a-f]\{32\} ' "$work/list.out")" = 100 ] ||
      { head "$work/list.out" >&2; die "list did not show 100"; }
    rec scale_list "$r" "$t" 0 "\"n\":$n"
  done
  say "  scale $n: export of 100 new and list timed $SCALE_REPS times each"
  # After one unlock, every submission out: extract --all-new of all n.
  settle
  timed t "$REVIEW" extract --all-new --vault "$v" --key "$work/k1" \
    --passphrase-file "$work/pass" --out "$work/all-new" >"$logs/all-new-$n.log" 2>&1
  grep -q "extracted $n new submissions" "$logs/all-new-$n.log" ||
    { tail -3 "$logs/all-new-$n.log" >&2; die "extract --all-new did not extract $n"; }
  rec scale_all_new 1 "$t" 0 "\"n\":$n"
  say "  extract --all-new of $n (one unlock): $t s"
  rm -rf "$work/all-new"
  if [ "$n" = "$SCALE_SMALL" ]; then
    # The Argon2id key unlock: extract of one 2 KiB submission, SCALE_REPS times.
    local id
    id=$("$REVIEW" list --vault "$v" --json --limit 1 2>/dev/null |
         "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    for r in $(seq 1 "$SCALE_REPS"); do
      settle
      timed t "$REVIEW" extract "$id" --vault "$v" --key "$work/k1" \
        --passphrase-file "$work/pass" --out "$work/unlock-$r" >>"$logs/unlock.log" 2>&1
      rec unlock "$r" "$t" 0
      rm -rf "$work/unlock-$r"
    done
  fi
  rm -rf "$d" "$v"
}

# --- the courier's round trip -----------------------------------------------------------

# courier_instance DIR: a fresh instance (new_instance) whose reviewer API
# listens on loopback TLS for the bench courier and which deletes what an
# outbox acknowledged at its next start (ack_grace_days = 0). Sets FP to its
# instance key.
courier_instance() {
  local d=$1
  new_instance "$d"
  # Top-level keys go before the first table.
  { printf 'api_listen = "127.0.0.1:0"\nack_grace_days = 0\n'
    cat "$d/config.toml"
    printf '\n[[courier]]\nname = "bench"\nkey = "%s"\n' "$(cat "$work/courier.key.pub")"
  } > "$d/config.toml.new"
  chmod 600 "$d/config.toml.new"
  mv "$d/config.toml.new" "$d/config.toml"
  FP=$("$SERVER" check "$d" 2>>"$logs/check.log" | sed -n 's/^instance key \([0-9a-f]\{64\}\)$/\1/p')
  [ -n "$FP" ] || die "sealdrop-server check $d printed no instance key"
}

# courier_upload DIR FILE: FILE into DIR's store as one submission, through
# serve and curl -F as in the upload row. Not timed.
courier_upload() {
  start_listener "$logs/server-courier-$run.log" "$SERVER" serve "$1"
  form_auth "$SRV_PORT"
  curl -sSk --max-time 600 -o "$work/response.courier" -w '%{http_code}' \
    -H "Cookie: $FORM_COOKIE" -F "files=@$2" "https://127.0.0.1:$SRV_PORT/submit?csrf=$FORM_TOKEN" \
    >"$work/courier.code" 2>>"$logs/curl-courier-$run.log" || die "courier: the upload failed"
  [ "$(cat "$work/courier.code")" = 200 ] && grep -q Received "$work/response.courier" ||
    die "courier: the upload was refused"
  stop_listener
}

# courier_cmd NAME ARGS...: sealdrop-courier ARGS, signed with the bench
# courier's key for instance FP and trusting the bench certificate. Sets CT
# to its wall-clock seconds, CCPU to its CPU seconds and CRSS to its peak RSS
# in kB (/usr/bin/time). Its output is in $logs/NAME-RUN.log.
courier_cmd() {
  local name=$1 rc=0 t0 t1
  shift
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%U %S %M' -o "$work/courier.time" "$COURIER" "$@" \
    --instance-fingerprint "$FP" --key "$work/courier.key" --passphrase-file "$work/pass" \
    --ca "$work/cert.pem" >"$logs/$name-$run.log" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  [ "$rc" = 0 ] || { cat "$logs/$name-$run.log" >&2; die "$name: sealdrop-courier exited $rc"; }
  CT=$(diff_s "$t0" "$t1")
  read -r CCPU CRSS < <(tail -n 1 "$work/courier.time" | awk '{ printf "%.2f %d\n", $1 + $2, $3 }')
}

# uncache FILE: writes FILE back and drops it from the page cache, so that
# the next read comes from the disk, as the API's reads of the store do (the
# server lets go of the cache of what it stored).
uncache() {
  sync "$1"
  "$PY" -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$1"
}

# store_usage DIR: "SEALED IN_USE FILE": the sealed bytes `check` counts, the
# bytes of the LMDB pages in use (pages up to the high-water mark minus free
# ones: mdb_stat) and the size of the data file, which LMDB never shrinks.
store_usage() {
  local sealed
  sealed=$("$SERVER" check "$1" 2>>"$logs/check.log" | sed -n 's/^sealed bytes: \([0-9]*\)$/\1/p')
  [ -n "$sealed" ] || die "sealdrop-server check $1 printed no sealed bytes"
  mdb_stat -ef "$1/store" | awk -v sealed="$sealed" -v file="$(stat -c %s "$1/store/data.mdb")" '
    /Page size:/ { ps = $3 } /Number of pages used:/ { used = $5 } /Free pages:/ { free = $3 }
    END { printf "%s %d %s\n", sealed, (used - free) * ps, file }'
}

# serve_start VAR DIR LOG: starts serve on DIR, puts the seconds until it
# listens in VAR (polled every 2 ms), and stops it. serve deletes what is due
# (here what an outbox acknowledged) and sweeps its chunks before it listens.
serve_start() {
  local __var=$1 d=$2 log=$3 t0 t1 i lines=()
  : > "$log"
  t0=$EPOCHREALTIME
  "$SERVER" serve "$d" 2>>"$log" &
  SRV_PID=$!
  pids+=("$SRV_PID")
  for i in $(seq 1 30000); do
    mapfile -t lines < "$log"
    [[ "${lines[*]-}" == *"listening on"* ]] && break
    kill -0 "$SRV_PID" 2>/dev/null || { cat "$log" >&2; die "serve exited before listening"; }
    sleep 0.002
  done
  t1=$EPOCHREALTIME
  [[ "${lines[*]-}" == *"listening on"* ]] || { cat "$log" >&2; die "serve did not start listening"; }
  stop_listener
  printf -v "$__var" '%s' "$(diff_s "$t0" "$t1")"
}

# courier_small: memory only. The CONC_MIB file on an instance of its own,
# fetched once; records the API's and the courier's peak RSS, to set beside
# those for the large file.
courier_small() {
  local d=$work/courier-small
  courier_instance "$d"
  courier_upload "$d" "$data_small"
  start_listener "$logs/api-small-$run.log" "$SERVER" api "$d"
  settle
  courier_cmd courier-fetch-small fetch "https://127.0.0.1:$SRV_PORT" --out "$work/small.sdb"
  rec courier_fetch_small "$run" "$CT" "$(stat -c %s "$data_small")" \
    "\"bundle_bytes\":$(stat -c %s "$work/small.sdb"),\"rss_kb\":$(hwm_kb "$SRV_PID"),\"server_cpu_s\":$(cpu_s "$SRV_PID"),\"client_cpu_s\":$CCPU,\"client_rss_kb\":$CRSS"
  say "  courier fetch of $CONC_MIB MiB: API peak RSS $(hwm_kb "$SRV_PID") kB, courier $CRSS kB"
  stop_listener
  rm -rf "$d" "$work/small.sdb"
}

# courier_round: the baseline download, then fetch, fetch of nothing new,
# import, outbox, push and the deletion, each timed, on a fresh instance
# holding the BENCH_SIZE_MIB file.
courier_round() {
  local d=$work/courier api t t0 t1 cu crss before after
  courier_instance "$d"
  courier_upload "$d" "$data"

  # The baseline, next to the fetch in time: tls_sink sends data.bin, from the
  # disk, and curl writes it to a file, which is then synced as fetch syncs.
  uncache "$data"
  start_listener "$logs/sink-get-$run.log" "$SINK" "$work/cert.pem" "$work/key.pem" "$data"
  settle
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%U %S %M' -o "$work/curl.time" sh -c \
    'curl -sS --max-time 600 --cacert "$1" -o "$2" "$3" && sync "$2"' sh \
    "$work/cert.pem" "$work/download.bin" "https://127.0.0.1:$SRV_PORT/file" \
    2>"$logs/curl-download-$run.log" || { cat "$logs/curl-download-$run.log" >&2; die "https download failed"; }
  t1=$EPOCHREALTIME
  t=$(diff_s "$t0" "$t1")
  read -r cu crss < <(tail -n 1 "$work/curl.time" | awk '{ printf "%.2f %d\n", $1 + $2, $3 }')
  cmp -s "$data" "$work/download.bin" || die "the https download differs from data.bin"
  rec https_download "$run" "$t" "$BYTES" \
    "\"rss_kb\":$(hwm_kb "$SRV_PID"),\"server_cpu_s\":$(cpu_s "$SRV_PID"),\"client_cpu_s\":$cu,\"client_rss_kb\":$crss"
  say "  https download: $(awk -v b="$BYTES" -v s="$t" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
  stop_listener
  rm -f "$work/download.bin"

  start_listener "$logs/api-$run.log" "$SERVER" api "$d"
  api="https://127.0.0.1:$SRV_PORT"
  settle
  courier_cmd courier-fetch fetch "$api" --out "$work/courier.sdb"
  grep -q "^fetched [0-9]* bytes" "$logs/courier-fetch-$run.log" || die "fetch fetched nothing"
  rec courier_fetch "$run" "$CT" "$BYTES" \
    "\"bundle_bytes\":$(stat -c %s "$work/courier.sdb"),\"rss_kb\":$(hwm_kb "$SRV_PID"),\"server_cpu_s\":$(cpu_s "$SRV_PID"),\"client_cpu_s\":$CCPU,\"client_rss_kb\":$CRSS"
  say "  courier fetch: $(awk -v b="$BYTES" -v s="$CT" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'), API peak RSS $(hwm_kb "$SRV_PID") kB, courier $CRSS kB"
  # Nothing new: the transport key's unlock, the handshake, process start.
  courier_cmd courier-fetch-empty fetch "$api" --out "$work/none.sdb"
  grep -q "nothing new" "$logs/courier-fetch-empty-$run.log" || die "a second fetch found more"
  rec courier_fetch_empty "$run" "$CT" 0 "\"client_cpu_s\":$CCPU,\"client_rss_kb\":$CRSS"

  settle
  timed t "$REVIEW" import "$work/courier.sdb" --vault "$work/cvault" --key "$work/k1" \
    --passphrase-file "$work/pass" --instance-fingerprint "$FP" >>"$logs/courier-import.log" 2>&1
  rec courier_import "$run" "$t" "$BYTES"
  rm -f "$work/courier.sdb"
  settle
  timed t "$REVIEW" outbox --vault "$work/cvault" --signing-key "$work/k1.sign" \
    --passphrase-file "$work/pass" --out "$work/ack.sdo" >>"$logs/courier-outbox.log" 2>&1
  rec courier_outbox "$run" "$t" 0 "\"outbox_bytes\":$(stat -c %s "$work/ack.sdo")"
  settle
  courier_cmd courier-push push "$api" "$work/ack.sdo"
  grep -q " 1 acknowledgements" "$logs/courier-push-$run.log" ||
    { cat "$logs/courier-push-$run.log" >&2; die "push did not import 1 acknowledgement"; }
  rec courier_push "$run" "$CT" 0 "\"client_cpu_s\":$CCPU,\"client_rss_kb\":$CRSS"
  stop_listener

  # The deletion: serve's start, then the same start with nothing to delete.
  before=$(store_usage "$d")
  settle
  serve_start t "$d" "$logs/server-delete-$run.log"
  grep -q "deleted 1 submissions the reviewers acknowledged" "$logs/server-delete-$run.log" ||
    { cat "$logs/server-delete-$run.log" >&2; die "serve deleted nothing"; }
  after=$(store_usage "$d")
  rec courier_delete "$run" "$t" 0 "$(printf '%s %s' "$before" "$after" | awk '{
    printf "\"sealed_before\":%s,\"in_use_before\":%s,\"file_before\":%s,\"sealed_after\":%s,\"in_use_after\":%s,\"file_after\":%s", $1, $2, $3, $4, $5, $6 }')"
  say "  deletion at serve start: $t s; sealed bytes $(cut -d' ' -f1 <<<"$before") -> $(cut -d' ' -f1 <<<"$after")"
  settle
  serve_start t "$d" "$logs/server-restart-$run.log"
  rec serve_start "$run" "$t" 0
  rm -rf "$d" "$work/cvault" "$work/ack.sdo"
}

# --- inputs: data, keys, certificate --------------------------------------------------
if [ ! -f "$data" ] || [ "$(stat -c %s "$data")" != "$BYTES" ]; then
  say "creating $SIZE_MIB MiB of random data in bench/out/data.bin"
  head -c "$BYTES" /dev/urandom > "$data.tmp"
  mv "$data.tmp" "$data"
fi

data_small=$out/data-conc.bin
head -c $((CONC_MIB * 1024 * 1024)) "$data" > "$data_small"

# The load average every 5 s for the whole run (the machine may be shared).
( while :; do printf '%s %s\n' "$EPOCHREALTIME" "$(cut -d' ' -f1-3 /proc/loadavg)"; sleep 5; done ) \
  > "$out/loadavg.txt" &
pids+=($!)

say "making keys and a TLS certificate"
printf 'sealdrop bench passphrase\n' > "$work/pass"
chmod 600 "$work/pass"
"$REVIEW" keygen --out "$work/k1" --passphrase-file "$work/pass" >"$logs/keygen.log" 2>&1
"$REVIEW" keygen --out "$work/k2" --passphrase-file "$work/pass" >>"$logs/keygen.log" 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>"$logs/openssl.log"
chmod 600 "$work/key.pem"

if want courier; then
  "$COURIER" keygen --out "$work/courier.key" --passphrase-file "$work/pass" \
    >"$logs/courier-keygen.log" 2>&1
fi

if want gpg; then
  gh=$work/gnupg
  mkdir -p "$gh"
  chmod 700 "$gh"
  gpg --batch --homedir "$gh" --passphrase '' --quick-gen-key bench@example.invalid \
    future-default default never >"$logs/gpg-keygen.log" 2>&1
  GPG=(gpg --batch --yes --trust-model always --homedir "$gh" --recipient bench@example.invalid)
fi

# new_instance DIR: a fresh instance with two recipients and the bench certificate.
new_instance() {
  rm -rf "$1"
  "$SERVER" init "$1" --recipient "$work/k1.pub" --recipient "$work/k2.pub" \
    --listen 127.0.0.1:0 >>"$logs/init.log" 2>&1
  mkdir -p "$1/tls"
  cp "$work/cert.pem" "$1/tls/cert.pem"
  cp "$work/key.pem" "$1/tls/key.pem"
  chmod 600 "$1/tls/key.pem"
}

# --- metadata --------------------------------------------------------------------------
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit+dirty"
fi
"$PY" - "$out/meta.json" <<PY
import json, os, platform, shutil, subprocess, sys, time
def cmd(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True).stdout.splitlines()[0].strip()
    except Exception:
        return "unknown"
cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
json.dump({
    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "nproc": int(cmd("nproc")),
    "cpu": cpu,
    "memory_gib": round(mem_kb / 1048576, 1),
    "kernel": platform.release(),
    "os": cmd("sh", "-c", ". /etc/os-release && echo \$PRETTY_NAME"),
    "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    "commit": "$commit",
    "httplib_dir": "$HTTPLIB_DIR",
    "httplib_sha256": __import__("hashlib").sha256(open("$HTTPLIB_DIR/httplib.h", "rb").read()).hexdigest(),
    "curl": cmd("curl", "--version"),
    "openssl": cmd("openssl", "version"),
    "gpg": cmd("gpg", "--version") if shutil.which("gpg") else "no gpg",
    "runs": $RUNS,
    "size_bytes": $BYTES,
    "small_seconds": $SMALL_SECONDS,
    "concurrent": $CONC,
    "concurrent_mib": $CONC_MIB,
    "scale_small": $SCALE_SMALL,
    "scale_big": $SCALE_BIG,
    "scale_reps": $SCALE_REPS,
    "only": "$ONLY",
}, open(sys.argv[1], "w"), indent=2)
PY

# --- measurements ---------------------------------------------------------------------
for run in $(seq 1 "$RUNS"); do
  say "run $run of $RUNS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  printf '{"name":"run_start","run":%s,"loadavg":[%s]}\n' "$run" \
    "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')" >> "$raw"

  # 1. sealdrop-server, fresh process (also the submission section 4 exports).
  if want upload || want files; then
    inst=$work/inst
    new_instance "$inst"
    start_listener "$logs/server-$run.log" "$SERVER" serve "$inst"
    form_auth "$SRV_PORT"
    upload sealdrop_upload "$run" "https://127.0.0.1:$SRV_PORT/submit?csrf=$FORM_TOKEN" "Received" \
      -H "Cookie: $FORM_COOKIE" -F "files=@$data"
    stop_listener
  fi

  if want upload; then
    # 1b. memory under concurrency: CONC parallel CONC_MIB MiB uploads.
    concurrent "$run"

    # 2. tls_sink: multipart, then raw (curl -T streams the file; --data-binary
    #    would first load it into memory, which curl refuses at 1 GiB).
    start_listener "$logs/sink-multipart-$run.log" "$SINK" "$work/cert.pem" "$work/key.pem"
    upload sink_multipart "$run" "https://127.0.0.1:$SRV_PORT/multipart" "Received $BYTES bytes in 1 files" \
      -F "files=@$data"
    stop_listener
    start_listener "$logs/sink-raw-$run.log" "$SINK" "$work/cert.pem" "$work/key.pem"
    upload sink_raw "$run" "https://127.0.0.1:$SRV_PORT/raw" "Received $BYTES bytes" \
      -T "$data" -X POST -H "Content-Type: application/octet-stream"
    stop_listener
  fi

  if want gpg; then
    # 3. gpg, as SecureDrop seals files; the fsync of its output is timed apart.
    for variant in default none; do
      args=()
      [ "$variant" = none ] && args=(--compress-algo none)
      settle
      timed t "${GPG[@]}" "${args[@]}" --output "$work/enc.gpg" --encrypt "$data"
      timed ts sync "$work/enc.gpg"
      rec "gpg_$variant" "$run" "$t" "$BYTES" "\"sync_s\":$ts,\"output_bytes\":$(stat -c %s "$work/enc.gpg")"
      say "  gpg_$variant: $(awk -v b="$BYTES" -v s="$t" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
      rm -f "$work/enc.gpg"
    done
  fi

  if want files; then
    # 4. export, import, extract; then cp + fsync and dd + fsync of the same bytes.
    settle
    timed t "$SERVER" export "$inst" --out "$work/bundle.sdb" >>"$logs/export.log" 2>&1
    rec export "$run" "$t" "$BYTES" "\"bundle_bytes\":$(stat -c %s "$work/bundle.sdb")"
    rm -rf "$inst"
    settle
    timed t "$REVIEW" import "$work/bundle.sdb" --vault "$work/vault" --key "$work/k1" \
      --passphrase-file "$work/pass" --trust-new-instance >>"$logs/import.log" 2>&1
    rec import "$run" "$t" "$BYTES"
    rm -f "$work/bundle.sdb"
    id=$("$REVIEW" list --vault "$work/vault" --json |
         "$PY" -c 'import json,sys; l=json.load(sys.stdin); assert len(l)==1, l; print(l[0]["id"])')
    settle
    timed t "$REVIEW" extract "$id" --vault "$work/vault" --key "$work/k1" \
      --passphrase-file "$work/pass" --out "$work/extract" >>"$logs/extract.log" 2>&1
    rec extract "$run" "$t" "$BYTES"
    say "  extract: $(awk -v b="$BYTES" -v s="$t" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
    cmp -s "$data" "$work/extract/data.bin" || die "extracted file differs from the upload"
    rm -rf "$work/extract" "$work/vault"
    settle
    timed t sh -c 'cp "$1" "$2" && sync "$2"' sh "$data" "$work/copy.bin"
    rec cp_sync "$run" "$t" "$BYTES"
    say "  cp+sync: $(awk -v b="$BYTES" -v s="$t" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
    rm -f "$work/copy.bin"
    # cp hands the copy to the kernel (copy_file_range); extract write()s from
    # user space, as dd does here.
    settle
    timed t dd if="$data" of="$work/copy.bin" bs=4M conv=fsync status=none
    rec dd_fsync "$run" "$t" "$BYTES"
    say "  dd+fsync: $(awk -v b="$BYTES" -v s="$t" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
    rm -f "$work/copy.bin"
  fi

  if want crypto; then
    # 5. single-core ceilings: secretstream, AES-GCM (TLS), memcpy; no I/O.
    speed=$("$CRYPTO_SPEED" "$SIZE_MIB") || die "crypto_speed failed"
    printf '%s\n' "$speed" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); r.update(name="crypto_speed", run=int(sys.argv[1])); print(json.dumps(r))' "$run" >> "$raw"
  fi

  if want stats; then
    # 5b. the statistics over many cases; no I/O.
    speed=$("$STATS_SPEED" "$STATS_CASES" 5) || die "stats_speed failed"
    printf '%s\n' "$speed" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); r.update(name="stats_speed", run=int(sys.argv[1])); print(json.dumps(r))' "$run" >> "$raw"
    say "  stats over $STATS_CASES cases: $("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["build_s_median"])' "$speed") s"
  fi

  if want step; then
    # 5c. a questionnaire step page, rendered as the server renders it.
    steps=$("$STEP_RENDER" "$root/intake/questionnaires/red-notice.toml" 200) || die "step_render failed"
    printf '%s\n' "$steps" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); r.update(name="step_render", run=int(sys.argv[1])); print(json.dumps(r))' "$run" >> "$raw"
    say "  step page: $steps"
  fi

  if want small; then
    # 6. small submissions, fresh instance and process.
    new_instance "$work/small"
    start_listener "$logs/server-small-$run.log" "$SERVER" serve "$work/small"
    small small 2 --port "$SRV_PORT" --cafile "$work/cert.pem"
    stop_listener
    rm -rf "$work/small"
    new_instance "$work/small"
    start_listener "$logs/server-small8-$run.log" "$SERVER" serve "$work/small"
    small small8 8 --port "$SRV_PORT" --cafile "$work/cert.pem"
    stop_listener
    rm -rf "$work/small"

    # 7. the same over a Unix socket (plain HTTP): the deployment behind tor.
    rm -rf "$work/small-unix"
    "$SERVER" init "$work/small-unix" --recipient "$work/k1.pub" --recipient "$work/k2.pub" \
      --listen "unix:$work/http.sock" >>"$logs/init.log" 2>&1
    start_listener "$logs/server-small-unix-$run.log" "$SERVER" serve "$work/small-unix" \
      'listening on http+unix://'
    small small_unix 2 --unix "$work/http.sock"
    stop_listener
    rm -rf "$work/small-unix"
  fi

  # 8. the courier's round trip, and a plain HTTPS download of the same bytes.
  if want courier; then
    courier_small
    courier_round
  fi
done

# --- scale (once; each command timed SCALE_REPS times) ---------------------------------
if want scale; then
  say "scale: $SCALE_SMALL vs $SCALE_BIG stored submissions (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  scale "$SCALE_SMALL"
  scale "$SCALE_BIG"
fi

# --- answers (once): list --key and stats over SCALE_BIG answered submissions ----------
if want answers; then
  say "answers: $SCALE_BIG submissions with questionnaire answers"
  res=$("$PY" "$bench/answers.py" --review "$REVIEW" --fill-vault "$FILL_VAULT" \
        --questionnaire "$root/intake/questionnaires/red-notice.toml" --n "$SCALE_BIG" \
        --reps "$SCALE_REPS") || die "answers.py failed"
  printf '%s' "$res" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); r.update(name="answers", run=1); print(json.dumps(r))' >> "$raw"
  say "  answers: $res"
fi
printf '{"name":"run_end","run":0,"loadavg":[%s]}\n' "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')" >> "$raw"
"$PY" - "$out/loadavg.txt" "$raw" <<'PY'
import json, sys
ones = [float(l.split()[1]) for l in open(sys.argv[1]) if len(l.split()) == 4]
if ones:
    open(sys.argv[2], "a").write(json.dumps({"name": "loadavg_samples", "run": 0,
        "n": len(ones), "mean": round(sum(ones) / len(ones), 2), "max": max(ones),
        "min": min(ones)}) + "\n")
PY

# --- report ----------------------------------------------------------------------------
# The chart in docs/ is of full runs only; a run of some sections draws its own.
svg=$root/docs/performance.svg
[ -z "$ONLY" ] || svg=$out/performance.svg
"$PY" "$bench/report.py" --raw "$raw" --meta "$out/meta.json" --json "$out/results.json" \
  --md "$out/results.md" --svg "$svg"
say "wrote bench/out/results.json, bench/out/results.md and ${svg#"$root/"}"
