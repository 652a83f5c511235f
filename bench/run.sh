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
#   - 2 KiB submissions on 2 parallel keep-alive connections for 10 s (small.py),
#     over HTTPS and, for comparison, over a Unix socket (the tor deployment);
#   - single-core ceilings of secretstream, AES-256-GCM and memcpy (crypto_speed).
# Prints a table (medians) and writes bench/out/results.{json,md} and
# docs/performance.svg. Big intermediates are deleted at the end.
#
# Knobs (environment): BENCH_RUNS=3, BENCH_SIZE_MIB=1024, BENCH_SMALL_SECONDS=10,
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
HTTPLIB_DIR=${SEALDROP_HTTPLIB_DIR:-$root/.deps/cpp-httplib}
PY=/usr/bin/python3
BYTES=$((SIZE_MIB * 1024 * 1024))
data=$out/data.bin
raw=$out/raw.jsonl

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# --- processes we start, stopped on any exit ----------------------------------------
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  [ -d "$work/gnupg" ] && gpgconf --homedir "$work/gnupg" --kill gpg-agent 2>/dev/null || true
  rm -rf "$work"
  if [ "$KEEP_DATA" != 1 ]; then rm -f "$data"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------
for t in cmake curl openssl awk cmp; do
  command -v "$t" >/dev/null || die "$t is missing (deploy/install-deps.sh --test installs it)"
done
[ -x "$PY" ] || die "$PY is missing"
if ! command -v gpg >/dev/null; then
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
build_step build-sealdrop cmake --build "$root/build-bench" -j2 --target sealdrop-server sealdrop-review
# The header the project was configured with, so tls_sink gets the same one.
HTTPLIB_DIR=$(sed -n 's/^SEALDROP_HTTPLIB_DIR:[A-Z]*=//p' "$root/build-bench/CMakeCache.txt")
[ -f "$HTTPLIB_DIR/httplib.h" ] || die "no httplib.h in '$HTTPLIB_DIR' (build-bench/CMakeCache.txt)"
say "building bench baselines (tls_sink, crypto_speed) in bench/out/build/ against $HTTPLIB_DIR"
build_step cmake-bench cmake -S "$bench" -B "$out/build" -DCMAKE_BUILD_TYPE=Release \
  -DHTTPLIB_DIR="$HTTPLIB_DIR"
build_step build-bench cmake --build "$out/build" -j2
SERVER=$root/build-bench/server/sealdrop-server
REVIEW=$root/build-bench/review/sealdrop-review
SINK=$out/build/tls_sink
CRYPTO_SPEED=$out/build/crypto_speed
for b in "$SERVER" "$REVIEW" "$SINK" "$CRYPTO_SPEED"; do [ -x "$b" ] || die "$b was not built"; done

# --- helpers -------------------------------------------------------------------------
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }

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

# small NAME small.py-args...: 2 KiB submissions for SMALL_SECONDS on 2
# keep-alive connections to the running server; records the rate.
small() {
  local name=$1 res rc=0
  shift
  res=$("$PY" "$bench/small.py" "$@" --seconds "$SMALL_SECONDS" --connections 2 \
        --message-bytes 2048) || rc=$?
  [ "$rc" = 0 ] || { printf '%s\n' "$res" >&2; die "$name: small.py failed"; }
  "$PY" - "$raw" "$name" "$run" "$(hwm_kb "$SRV_PID")" "$(cpu_s "$SRV_PID")" "$res" <<'PY'
import json, sys
path, name, run, rss, cpu, res = sys.argv[1:]
r = json.loads(res)
r.update(name=name, run=int(run), rss_kb=int(rss), server_cpu_s=float(cpu))
open(path, "a").write(json.dumps(r) + "\n")
PY
  say "  $name: $(printf '%s' "$res" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print(r["per_second"], "submissions/s,", r["errors"], "errors")')"
}

# --- inputs: data, keys, certificate --------------------------------------------------
if [ ! -f "$data" ] || [ "$(stat -c %s "$data")" != "$BYTES" ]; then
  say "creating $SIZE_MIB MiB of random data in bench/out/data.bin"
  head -c "$BYTES" /dev/urandom > "$data.tmp"
  mv "$data.tmp" "$data"
fi

say "making keys and a TLS certificate"
printf 'sealdrop bench passphrase\n' > "$work/pass"
chmod 600 "$work/pass"
"$REVIEW" keygen --out "$work/k1" --passphrase-file "$work/pass" >"$logs/keygen.log" 2>&1
"$REVIEW" keygen --out "$work/k2" --passphrase-file "$work/pass" >>"$logs/keygen.log" 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>"$logs/openssl.log"
chmod 600 "$work/key.pem"

gh=$work/gnupg
mkdir -p "$gh"
chmod 700 "$gh"
gpg --batch --homedir "$gh" --passphrase '' --quick-gen-key bench@example.invalid \
  future-default default never >"$logs/gpg-keygen.log" 2>&1
GPG=(gpg --batch --yes --trust-model always --homedir "$gh" --recipient bench@example.invalid)

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
import json, os, platform, subprocess, sys, time
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
    "gpg": cmd("gpg", "--version"),
    "runs": $RUNS,
    "size_bytes": $BYTES,
    "small_seconds": $SMALL_SECONDS,
}, open(sys.argv[1], "w"), indent=2)
PY

# --- measurements ---------------------------------------------------------------------
for run in $(seq 1 "$RUNS"); do
  say "run $run of $RUNS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  printf '{"name":"run_start","run":%s,"loadavg":[%s]}\n' "$run" \
    "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')" >> "$raw"
  inst=$work/inst
  new_instance "$inst"

  # 1. sealdrop-server, fresh process.
  start_listener "$logs/server-$run.log" "$SERVER" serve "$inst"
  upload sealdrop_upload "$run" "https://127.0.0.1:$SRV_PORT/submit" "Received" \
    -F "files=@$data"
  stop_listener

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

  # 3. gpg, as SecureDrop seals files; the fsync of its output is timed apart.
  for variant in default none; do
    args=()
    [ "$variant" = none ] && args=(--compress-algo none)
    timed t "${GPG[@]}" "${args[@]}" --output "$work/enc.gpg" --encrypt "$data"
    timed ts sync "$work/enc.gpg"
    rec "gpg_$variant" "$run" "$t" "$BYTES" "\"sync_s\":$ts,\"output_bytes\":$(stat -c %s "$work/enc.gpg")"
    say "  gpg_$variant: $(awk -v b="$BYTES" -v s="$t" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
    rm -f "$work/enc.gpg"
  done

  # 4. export, import, extract; then cp + fsync and dd + fsync of the same bytes.
  timed t "$SERVER" export "$inst" --out "$work/bundle.sdb" >>"$logs/export.log" 2>&1
  rec export "$run" "$t" "$BYTES" "\"bundle_bytes\":$(stat -c %s "$work/bundle.sdb")"
  rm -rf "$inst"
  timed t "$REVIEW" import "$work/bundle.sdb" --vault "$work/vault" --key "$work/k1" \
    --passphrase-file "$work/pass" --trust-new-instance >>"$logs/import.log" 2>&1
  rec import "$run" "$t" "$BYTES"
  rm -f "$work/bundle.sdb"
  id=$("$REVIEW" list --vault "$work/vault" --json |
       "$PY" -c 'import json,sys; l=json.load(sys.stdin); assert len(l)==1, l; print(l[0]["id"])')
  timed t "$REVIEW" extract "$id" --vault "$work/vault" --key "$work/k1" \
    --passphrase-file "$work/pass" --out "$work/extract" >>"$logs/extract.log" 2>&1
  rec extract "$run" "$t" "$BYTES"
  say "  extract: $(awk -v b="$BYTES" -v s="$t" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
  cmp -s "$data" "$work/extract/data.bin" || die "extracted file differs from the upload"
  rm -rf "$work/extract" "$work/vault"
  timed t sh -c 'cp "$1" "$2" && sync "$2"' sh "$data" "$work/copy.bin"
  rec cp_sync "$run" "$t" "$BYTES"
  say "  cp+sync: $(awk -v b="$BYTES" -v s="$t" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
  rm -f "$work/copy.bin"
  # cp hands the copy to the kernel (copy_file_range); extract write()s from
  # user space, as dd does here.
  timed t dd if="$data" of="$work/copy.bin" bs=4M conv=fsync status=none
  rec dd_fsync "$run" "$t" "$BYTES"
  say "  dd+fsync: $(awk -v b="$BYTES" -v s="$t" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
  rm -f "$work/copy.bin"

  # 5. single-core ceilings: secretstream, AES-GCM (TLS), memcpy; no I/O.
  speed=$("$CRYPTO_SPEED" "$SIZE_MIB") || die "crypto_speed failed"
  printf '%s\n' "$speed" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); r.update(name="crypto_speed", run=int(sys.argv[1])); print(json.dumps(r))' "$run" >> "$raw"

  # 6. small submissions, fresh instance and process.
  new_instance "$work/small"
  start_listener "$logs/server-small-$run.log" "$SERVER" serve "$work/small"
  small small --port "$SRV_PORT" --cafile "$work/cert.pem"
  stop_listener
  rm -rf "$work/small"

  # 7. the same over a Unix socket (plain HTTP): the deployment behind tor.
  rm -rf "$work/small-unix"
  "$SERVER" init "$work/small-unix" --recipient "$work/k1.pub" --recipient "$work/k2.pub" \
    --listen "unix:$work/http.sock" >>"$logs/init.log" 2>&1
  start_listener "$logs/server-small-unix-$run.log" "$SERVER" serve "$work/small-unix" \
    'listening on http+unix://'
  small small_unix --unix "$work/http.sock"
  stop_listener
  rm -rf "$work/small-unix"
done

# --- report ----------------------------------------------------------------------------
"$PY" "$bench/report.py" --raw "$raw" --meta "$out/meta.json" --json "$out/results.json" \
  --md "$out/results.md" --svg "$root/docs/performance.svg"
say "wrote bench/out/results.json, bench/out/results.md and docs/performance.svg"
