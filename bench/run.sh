#!/usr/bin/env bash
# The gateway benchmark: kgb against nginx, HAProxy, an aiohttp gateway (the design kgb replaces) and LiteLLM's
# proxy (the gateway most teams would pick instead), all in one run, under the same load from the same upstream
# (kgb-mock-upstream). Writes bench/RESULTS.md and its charts (bench/*.png); the raw figures stay in bench/out/.
#
# Scenarios, in this order: (6) start-up time and idle memory; (1) small JSON exchanges and (2) SSE streams of
# 20 back-to-back deltas, from wrk, requests/s and proxy CPU per request / per event, medians of ROUNDS rounds
# with the systems alternating; (3) per-event latency at 100 and 1,000 concurrent streams (bench/event_latency.c);
# (5) a slow reader per system, all at once in the background, while (4) 10,000 slow streams are held through
# each system in turn (bench/hold_streams.c), and the kgb logger's throughput is measured (hey).
#
# Every proxy runs one worker pinned to CPU 1; load generators and the mock upstream run on CPU 0. Only
# 127.0.0.1 is loaded. Every process the script starts is stopped when it exits.
#
# Settings (environment): BENCH_BIN (use the kgb binaries in this folder and skip `swift build`), ROUNDS (3),
# DURATION (seconds of each timed wrk run, 3), CONCURRENCY (50), LATENCY_STREAMS ("100 1000"), LATENCY_ROUNDS (2),
# SCALE_STREAMS (10000), SLOW_BYTES (200000000), SLOW_RATE (bytes/s, 1000000), STARTS (5).
set -euo pipefail
cd "$(dirname "$0")/.."
BEGAN=$(date +%s)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3}
CONCURRENCY=${CONCURRENCY:-50}
LATENCY_STREAMS=${LATENCY_STREAMS:-"100 1000"}
LATENCY_ROUNDS=${LATENCY_ROUNDS:-2}
SCALE_STREAMS=${SCALE_STREAMS:-10000}
SLOW_BYTES=${SLOW_BYTES:-200000000}
SLOW_RATE=${SLOW_RATE:-1000000}
STARTS=${STARTS:-5}
PROXY_CPU=1 LOAD_CPU=0
OUT=bench/out
VENV=.build/bench-venv
mkdir -p "$OUT"
rm -f "$OUT"/*.tsv "$OUT"/*.txt "$OUT"/*.err "$OUT"/*.cfg "$OUT"/*.yaml "$OUT"/samples-* "$OUT"/*.jsonl "$OUT"/*.log

# --- What the bench needs, installed when missing (Debian packages; matplotlib, aiohttp, LiteLLM from PyPI) -
missing=()
for pair in haproxy:haproxy nginx:nginx-light hey:hey wrk:wrk gcc:gcc valgrind:valgrind taskset:util-linux; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair##*:}")
done
SYSTEM_PYTHON=/usr/bin/python3
[ -x $SYSTEM_PYTHON ] || SYSTEM_PYTHON=python3
$SYSTEM_PYTHON -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi
[ -x $VENV/bin/python ] || $SYSTEM_PYTHON -m venv $VENV
$VENV/bin/python -c 'import aiohttp, matplotlib' 2>/dev/null || $VENV/bin/pip install --quiet aiohttp matplotlib
PY=$VENV/bin/python
# LiteLLM's proxy in a venv of its own: it pins ~120 packages (aiohttp among them), which must not decide what the
# aiohttp gateway runs on. 1.108.7 is the newest release whose [proxy] extra pip can resolve here (from 1.109 on it
# asks for a litellm-proxy package that the index does not have). With it, the OpenTelemetry SDK its own
# proxy-runtime extra (and its container image) brings: without the SDK, every pass-through request retries an
# import of LiteLLM's OTel module that fails, which took a third of its CPU and halved its requests/s.
LITELLM_VENV=.build/bench-venv-litellm LITELLM_VERSION=1.108.7
[ -x $LITELLM_VENV/bin/python ] || $SYSTEM_PYTHON -m venv $LITELLM_VENV
$LITELLM_VENV/bin/python -c "import importlib.metadata as m, sys, opentelemetry.sdk; sys.exit(m.version('litellm') != '$LITELLM_VERSION' or not m.version('uvicorn'))" 2>/dev/null ||
  $LITELLM_VENV/bin/pip install --quiet "litellm[proxy]==$LITELLM_VERSION" opentelemetry-sdk==1.45.1
# It refuses to start without a master key (the bench's clients send none: its routes here are `auth: false`).
LITELLM_MASTER_KEY=sk-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
export LITELLM_MASTER_KEY

if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$BENCH_BIN
else
  swift build -c release >/dev/null
  BIN=.build/release
fi
for tool in event_latency hold_streams slow_reader; do gcc -O2 -Wall -o "$OUT/$tool" "bench/$tool.c"; done

# 10,000 streams need two descriptors each in the proxy. Raise the limit as far as this machine allows (the
# hard limit needs CAP_SYS_RESOURCE to go up); with a lower one, hold as many streams as fit and say so.
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
SCALE_ASKED=$SCALE_STREAMS
# (Leave 2,000 descriptors spare: with a limit of 20,000, nginx logged "worker_connections are not enough" and
# closed connections at 9,750 streams, and held 9,000 without complaint.)
if [ $(( (NOFILE - 2000) / 2 )) -lt "$SCALE_STREAMS" ]; then SCALE_STREAMS=$(( (NOFILE - 2000) / 2 / 50 * 50 )); fi

# --- Processes: every one started goes into pids and is stopped on exit ----------------------------------------
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "${NGINX_DIRS[@]}" "${STATIC_DIR:-}" "$OUT/bodies-slow-kgb"
}
NGINX_DIRS=()
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { for _ in $(seq 1200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }
cpu_us() { awk -v tick=$((1000000 / $(getconf CLK_TCK))) '{print ($14 + $15) * tick}' "/proc/$1/stat"; }
# Write one representative command line per scenario into the report's list of exact commands.
quoted() {  # the words, quoted for a shell where needed
  local word line=""
  for word in "$@"; do
    if [[ $word =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then line+="$word "; else line+="'${word//\'/\'\\\'\'}' "; fi
  done
  printf '%s' "${line% }"
}
note_command() { local label=$1; shift; printf '%s\t%s\n' "$label" "$(quoted "$@")" >> "$OUT/commands.tsv"; }
# A system that could not run (a round of) a scenario: the report says so, with the reason, in that table.
failed() { printf '%s\t%s\t%s\n' "$1" "$2" "$(printf '%s' "$3" | tr -s '\t\n ' ' ')" | tee -a "$OUT/failed.tsv" >&2; }

MOCK_PORT=19100 STATIC_PORT=19109
MOCK=127.0.0.1:$MOCK_PORT
taskset -c $LOAD_CPU "$BIN/kgb-mock-upstream" --listen $MOCK 2>"$OUT/mock.log" & pids+=($!)
# The small-JSON scenario's upstream: a static answer from nginx (see bench/static-upstream.conf.in for why).
STATIC_DIR=$(mktemp -d /tmp/kgb-bench-static.XXXX)
sed -e "s#@PORT@#$STATIC_PORT#; s#@DIR@#$STATIC_DIR#g" bench/static-upstream.conf.in > "$STATIC_DIR/nginx.conf"
taskset -c $LOAD_CPU nginx -c "$STATIC_DIR/nginx.conf" -e "$STATIC_DIR/error.log" & pids+=($!)
wait_port $MOCK_PORT; wait_port $STATIC_PORT
UPSTREAM=$MOCK  # where the proxies started next send their requests

# The systems: name, and the command that starts one listening on a port ($1), its log in $2.
SYSTEMS=(kgb kgb-nolog nginx haproxy aiohttp litellm)
start_command() {  # system port tag -> the command line, in the array CMD
  local system=$1 port=$2 tag=$3
  case $system in
    kgb) CMD=("$BIN/kgb" --listen 127.0.0.1:$port --upstream http://$UPSTREAM --log "jsonl:$OUT/kgb-$tag.jsonl")
         # The slow reader's answer is kept whole (issue 14's target: memory independent of the body, nothing cut);
         # the 200 MB body file it leaves is removed at exit.
         if [ "$tag" = slow-kgb ]; then CMD+=(--log-body-max 4294967296 --log-body-dir "$OUT/bodies-$tag"); fi ;;
    kgb-nolog) CMD=("$BIN/kgb" --listen 127.0.0.1:$port --upstream http://$UPSTREAM --log none) ;;
    nginx)
      local dir; dir=$(mktemp -d /tmp/kgb-bench-nginx.XXXX); NGINX_DIRS+=("$dir")
      sed -e "s#@PORT@#$port#; s#@UPSTREAM@#$UPSTREAM#; s#@DIR@#$dir#g; s#@NOFILE@#$NOFILE#g" bench/nginx.conf.in > "$dir/nginx.conf"
      CMD=(nginx -c "$dir/nginx.conf" -e "$dir/nginx-error.log") ;;
    haproxy)
      sed -e "s#@PORT@#$port#; s#@UPSTREAM@#$UPSTREAM#" bench/haproxy.cfg.in > "$OUT/haproxy-$tag.cfg"
      CMD=(haproxy -db -f "$OUT/haproxy-$tag.cfg") ;;
    aiohttp) CMD=("$PY" bench/aiohttp_gateway.py --listen 127.0.0.1:$port --upstream http://$UPSTREAM --log "$OUT/aiohttp-$tag.jsonl") ;;
    litellm)
      # LITELLM_LOCAL_MODEL_COST_MAP: the cost map shipped in the package, not one fetched at start-up. The
      # connector limits: upstream connections, by default at most 500 (per host), raised to the descriptor limit
      # as nginx's worker_connections is.
      sed -e "s#@UPSTREAM@#$UPSTREAM#g" bench/litellm.yaml.in > "$OUT/litellm-$tag.yaml"
      CMD=(env LITELLM_LOCAL_MODEL_COST_MAP=True AIOHTTP_CONNECTOR_LIMIT="$NOFILE" AIOHTTP_CONNECTOR_LIMIT_PER_HOST="$NOFILE"
           "$LITELLM_VENV/bin/litellm" --config "$OUT/litellm-$tag.yaml" --host 127.0.0.1 --port "$port" --num_workers 1) ;;
  esac
}
declare -A PORT PID PIDS
launch() {  # system port tag: starts it on the proxy core; PID[tag] is the process doing the work
  local system=$1 port=$2 tag=$3
  start_command "$system" "$port" "$tag"
  printf '%s\t%s\n' "$tag" "$(quoted taskset -c $PROXY_CPU "${CMD[@]}")" >> "$OUT/commands-start.tsv"
  taskset -c $PROXY_CPU "${CMD[@]}" >"$OUT/$tag.log" 2>&1 & pids+=($!)
  local pid=$!
  wait_port "$port"
  PORT[$tag]=$port PID[$tag]=$pid PIDS[$tag]=$pid
  if [ "$system" = nginx ]; then
    local worker=""
    for _ in $(seq 100); do worker=$(pgrep -P "$pid" | head -1) && [ -n "$worker" ] && break; sleep 0.02; done
    PID[$tag]=$worker PIDS[$tag]=$pid,$worker
  fi
}

stop() {  # tag: stops an instance started by launch, and waits for it
  local pid=${PIDS[$1]%%,*}
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

# --- 6. Start-up time and idle memory: each system started STARTS times on its own --------------------------
echo "bench: start-up"
for system in "${SYSTEMS[@]}"; do
  start_command "$system" 19130 startup
  CMD=(taskset -c $PROXY_CPU "${CMD[@]}")
  taskset -c $LOAD_CPU $SYSTEM_PYTHON bench/startup.py "$system" 19130 "$STARTS" -- "${CMD[@]}" >> "$OUT/startup.tsv" \
    2>"$OUT/startup-$system.err" || failed startup "$system" "$(tail -1 "$OUT/startup-$system.err")"
  if [ "$system" = kgb ]; then note_command startup taskset -c $LOAD_CPU $SYSTEM_PYTHON bench/startup.py "$system" 19130 "$STARTS" -- "${CMD[@]}"; fi
done
rm -f "$OUT/kgb-startup.jsonl" "$OUT/aiohttp-startup.jsonl"

# --- The proxies under test: one set in front of the mock upstream, and for the small JSON exchanges a set in
# front of the static upstream (json-*), stopped when that scenario is done -------------------------------------
port=19101
for system in "${SYSTEMS[@]}"; do launch "$system" $port "$system"; port=$((port + 1)); done
UPSTREAM=127.0.0.1:$STATIC_PORT
port=19121
for system in "${SYSTEMS[@]}"; do launch "$system" $port "json-$system"; port=$((port + 1)); done
UPSTREAM=$MOCK
PORT[direct]=$MOCK_PORT PORT[json-direct]=$STATIC_PORT

# --- 1 and 2. Throughput: wrk, DURATION seconds per system per round ----------------------------------------
# The model is one LiteLLM's cost map knows (so is every request of the bench's clients): LiteLLM prices each answer
# as it would in production; with an unknown model it logs a pricing error with a traceback per request instead.
JSON_BODY='{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'
SSE_BODY='{"model":"claude-haiku-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}'
to_us() { awk '{ v = $1; if (v ~ /us$/) print v + 0; else if (v ~ /ms$/) print (v + 0) * 1000; else print (v + 0) * 1000000 }'; }
printf 'scenario\tround\ttarget\treq_per_s\tp50_us\tp99_us\trequests\tcpu_us\tloop_us\n' > "$OUT/throughput.tsv"
throughput() {  # scenario round target instance body path
  local scenario=$1 round=$2 target=$3 body=$5 path=$6 pid=${PID[$4]:-} url="http://127.0.0.1:${PORT[$4]}$6"
  # --timeout 10s: with wrk's default of 2 s, LiteLLM's slowest answers (~2 s at 50 connections) would count as
  # socket errors instead of being measured; every other system answers in milliseconds.
  local wrk=(wrk -t1 -c"$CONCURRENCY" --timeout 10s --latency -s bench/post.lua)
  BENCH_BODY=$body taskset -c $LOAD_CPU "${wrk[@]}" -d1s "$url" >/dev/null  # warm-up
  local before=0 loop_before=0 cpu=- loop=- text="$OUT/wrk-$scenario-$target-$round.txt"
  if [ -n "$pid" ]; then before=$(cpu_us "$pid"); loop_before=$(cpu_us "$pid/task/$pid"); fi
  BENCH_BODY=$body taskset -c $LOAD_CPU "${wrk[@]}" -d"${DURATION}s" "$url" > "$text"
  local requests; requests=$(awk '/requests in/ {print $1}' "$text")
  if grep -qE 'Non-2xx|Socket errors' "$text" || [ "${requests:-0}" -eq 0 ]; then
    failed "$scenario" "$target" "round $round: $(grep -E 'requests in|Non-2xx|Socket errors' "$text")"
    return
  fi
  if [ -n "$pid" ]; then
    # One decimal: a small JSON exchange costs ~12-16 µs, where whole microseconds would hide a 5% difference.
    cpu=$(awk -v now="$(cpu_us "$pid")" -v before="$before" -v n="$requests" 'BEGIN { printf "%.1f", (now - before) / n }')
    # The event-loop thread alone (its TID is the PID), to separate it from kgb's logger thread.
    if [[ $target == kgb* ]]; then
      loop=$(awk -v now="$(cpu_us "$pid/task/$pid")" -v before="$loop_before" -v n="$requests" 'BEGIN { printf "%.1f", (now - before) / n }')
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$round" "$target" \
    "$(awk '/Requests\/sec/ {print $2}' "$text")" "$(awk '$1 == "50%" {print $2}' "$text" | to_us)" \
    "$(awk '$1 == "99%" {print $2}' "$text" | to_us)" "$requests" "$cpu" "$loop" | tee -a "$OUT/throughput.tsv"
}
for scenario in json sse; do
  echo "bench: $scenario"
  body=$JSON_BODY path=/v1/messages prefix=json-
  if [ $scenario = sse ]; then body=$SSE_BODY path="/v1/messages?events=20" prefix=; fi
  note_command "$scenario" env BENCH_BODY="$body" taskset -c $LOAD_CPU wrk -t1 -c"$CONCURRENCY" --timeout 10s --latency -s bench/post.lua -d"${DURATION}s" "http://127.0.0.1:${PORT[${prefix}kgb]}$path"
  for round in $(seq "$ROUNDS"); do
    for target in direct "${SYSTEMS[@]}"; do throughput $scenario "$round" "$target" "$prefix$target" "$body" "$path"; done
  done
  if [ $scenario = json ]; then
    for system in "${SYSTEMS[@]}"; do stop "json-$system"; done
    rm -f "$OUT/kgb-json-kgb.jsonl" "$OUT/aiohttp-json-aiohttp.jsonl"
  fi
done

# --- 3. Per-event latency: 20 deltas 50 ms apart per stream, at each LATENCY_STREAMS, LATENCY_ROUNDS rounds
# with the systems taking turns; the report pools each system's samples over the rounds ----------------------
echo "bench: latency"
printf 'streams\tround\ttarget\tp50_us\tp99_us\tmax_us\tevents\n' > "$OUT/latency.tsv"
for streams in $LATENCY_STREAMS; do
  note_command "latency $streams" taskset -c $LOAD_CPU "$OUT/event_latency" "${PORT[kgb]}" "$streams" 20 50 "$OUT/samples-$streams-kgb-1.txt"
  for round in $(seq "$LATENCY_ROUNDS"); do
    for target in direct "${SYSTEMS[@]}"; do
      samples=$OUT/samples-$streams-$target-$round.txt
      if figures=$(taskset -c $LOAD_CPU "$OUT/event_latency" "${PORT[$target]}" "$streams" 20 50 "$samples" 2>"$OUT/latency.err"); then
        printf '%s\t%s\t%s\t%s\n' "$streams" "$round" "$target" "$figures" | tee -a "$OUT/latency.tsv"
      else
        failed "latency $streams" "$target" "round $round: $(tail -1 "$OUT/latency.err")"
        rm -f "$samples"
      fi
    done
  done
done

# --- 5. Slow readers, one per system, each through its own instance, all at once in the background ----------
echo "bench: slow readers start ($SLOW_BYTES bytes at $SLOW_RATE bytes/s each)"
port=19111
slow_pids=()
declare -A SLOW_BEFORE
for system in "${SYSTEMS[@]}"; do
  launch "$system" $port "slow-$system"
  SLOW_BEFORE[$system]=$(awk '/VmRSS/ {print $2}' "/proc/${PID[slow-$system]}/status")
  taskset -c $LOAD_CPU "$OUT/slow_reader" $port "/bytes?n=$SLOW_BYTES" "$SLOW_RATE" > "$OUT/slow-$system.txt" & pids+=($!)
  slow_pids+=($!)
  port=$((port + 1))
done
note_command slow taskset -c $LOAD_CPU "$OUT/slow_reader" "${PORT[slow-kgb]}" "/bytes?n=$SLOW_BYTES" "$SLOW_RATE"

# --- 4. Scale: SCALE_STREAMS streams of one event a second held through each system in turn -----------------
echo "bench: $SCALE_STREAMS slow streams"
STEP=$(( SCALE_STREAMS / 10 ))
: > "$OUT/scale.tsv"
for system in "${SYSTEMS[@]}"; do
  taskset -c $LOAD_CPU "$OUT/hold_streams" "${PORT[$system]}" "$SCALE_STREAMS" $STEP 500 5 "${PIDS[$system]}" \
    | sed "s/^/$system\t/" | tee -a "$OUT/scale.tsv" | tail -1
  sleep 2  # let the closed streams be torn down before the next system
done
note_command scale taskset -c $LOAD_CPU "$OUT/hold_streams" "${PORT[kgb]}" "$SCALE_STREAMS" $STEP 500 5 "${PIDS[kgb]}"

# --- The kgb logger's throughput: body bytes recorded per second of the logger thread's CPU time -------------
# Two kinds of answer through the logging kgb: long SSE streams (2,000 small events, ~250 KB each: the worst
# case, one JSON event parsed per ~125 bytes) and large JSON answers (~190 KB each).
echo "bench: logger"
KGB_LOG_PID=${PID[kgb]}
LOG_FILE=$OUT/kgb-kgb.jsonl
TID=$(for task in /proc/$KGB_LOG_PID/task/*; do [ "$(cat "$task/comm")" = kgb-logger ] && basename "$task"; done || true)
[ -n "$TID" ] || { echo "no kgb-logger thread in process $KGB_LOG_PID" >&2; exit 1; }
: > "$OUT/logger.tsv"
measure_logger() {  # label body path
  local records_before ticks_before
  records_before=$(wc -l < "$LOG_FILE")
  ticks_before=$(cpu_us "$KGB_LOG_PID/task/$TID")
  taskset -c $LOAD_CPU hey -n 300 -c 10 -m POST -T application/json -d "$2" "http://127.0.0.1:${PORT[kgb]}$3" > "$OUT/hey-logger-$1.txt"
  sleep 1
  $SYSTEM_PYTHON - "$1" "$LOG_FILE" "$records_before" $(( $(cpu_us "$KGB_LOG_PID/task/$TID") - ticks_before )) >> "$OUT/logger.tsv" <<'PYEOF'
import json, sys
label, path, skip, cpu_us = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lines = open(path).read().splitlines()[skip:]
body = sum(json.loads(line)["response"]["body_bytes"] for line in lines)
print(f"{label}\t{len(lines)}\t{body}\t{cpu_us}\t{body / max(1, cpu_us):.1f}")
PYEOF
}
# By now the log file holds the whole run (hundreds of MB) and the kernel is writing it back; rotate it as
# logrotate would (rename + SIGHUP) so the figures are the logger's, not the page cache's.
mv "$LOG_FILE" "$LOG_FILE.1"
kill -HUP "$KGB_LOG_PID"
sleep 0.5
rm -f "$LOG_FILE.1"
touch "$LOG_FILE"
measure_logger sse "$SSE_BODY" "/v1/messages?events=2000"
measure_logger json "$JSON_BODY" "/v1/messages?events=20000"
note_command logger taskset -c $LOAD_CPU hey -n 300 -c 10 -m POST -T application/json -d "$SSE_BODY" "http://127.0.0.1:${PORT[kgb]}/v1/messages?events=2000"
cat "$OUT/logger.tsv"

# --- 5, the end: wait for the slow readers, then each instance's peak resident memory (VmHWM) ----------------
echo "bench: waiting for the slow readers"
wait "${slow_pids[@]}"
: > "$OUT/slow.tsv"
for system in "${SYSTEMS[@]}"; do
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/${PID[slow-$system]}/status")
  rss=$(awk '/VmRSS/ {print $2}' "/proc/${PID[slow-$system]}/status")
  printf '%s\t%s\t%s\t%s\t%s\n' "$system" "$(cat "$OUT/slow-$system.txt")" "$hwm" "$rss" "${SLOW_BEFORE[$system]}" | tee -a "$OUT/slow.tsv"
done

ELAPSED=$(( $(date +%s) - BEGAN ))
{
  printf 'bin\t%s\n' "$BIN"
  printf 'kgb_sha256\t%s\n' "$(sha256sum "$BIN/kgb" | cut -c1-12)"
  printf 'kgb_built\t%s\n' "$(date -u -r "$BIN/kgb" '+%Y-%m-%d %H:%M UTC')"
  printf 'git_head\t%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf 'rounds\t%s\nduration\t%s\nconcurrency\t%s\nstarts\t%s\n' "$ROUNDS" "$DURATION" "$CONCURRENCY" "$STARTS"
  printf 'latency_rounds\t%s\n' "$LATENCY_ROUNDS"
  printf 'scale_asked\t%s\nscale_streams\t%s\nnofile\t%s\n' "$SCALE_ASKED" "$SCALE_STREAMS" "$NOFILE"
  printf 'slow_bytes\t%s\nslow_rate\t%s\nelapsed_s\t%s\n' "$SLOW_BYTES" "$SLOW_RATE" "$ELAPSED"
  printf 'hey\t%s\n' "$(dpkg-query -W -f '${Version}' hey 2>/dev/null || echo unknown)"
  printf 'litellm\t%s\n' "$($LITELLM_VENV/bin/python -c 'import importlib.metadata as m; print(*(m.version(p) for p in ("litellm", "uvicorn", "uvloop", "fastapi", "httpx")))')"
} > "$OUT/meta.tsv"
$PY bench/charts.py "$OUT" bench
$PY bench/report.py "$OUT" > "$OUT/RESULTS.md"
# Sections other runs wrote (make soak, bench/instructions.py, bench/tls.sh) stay until those runs replace them.
$PY bench/section.py keep bench/RESULTS.md "$OUT/RESULTS.md" "## Soak" "## Loop instructions" "## TLS upstream" "## Agents" "## Remote sinks" "## kgb ui" "## Logger thread" "## Logger memory" "## Sidecar"
cp "$OUT/RESULTS.md" bench/RESULTS.md
rm -f "$OUT"/*.jsonl
echo "bench: done in ${ELAPSED} s; bench/RESULTS.md written"
