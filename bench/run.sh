#!/usr/bin/env bash
# Gateway benchmark: hey against the mock upstream directly, through kgb and through nginx, in one run.
# Reports requests/s and each proxy's CPU time per request (utime+stime from /proc/PID/stat).
# Each proxy is pinned to CPU 1 and the load generator and mock upstream to CPU 0, so the proxies compete for
# nothing but their own core; each figure is the median of ROUNDS runs, the proxies alternating.
# Loads 127.0.0.1 only; every process it starts is stopped on exit. Usage: bash bench/run.sh [REQUESTS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-20000}
CONCURRENCY=${2:-50}
ROUNDS=${ROUNDS:-3}
PROXY_CPU=1 LOAD_CPU=0
OUT=bench/out
mkdir -p "$OUT"
command -v hey >/dev/null && command -v nginx >/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hey nginx-light >/dev/null; }
swift build -c release >/dev/null
BIN=.build/release

MOCK_PORT=19100 KGB_PORT=19101 NGINX_PORT=19102 KGB_LOG_PORT=19103
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

taskset -c $LOAD_CPU $BIN/kgb-mock-upstream --listen 127.0.0.1:$MOCK_PORT 2>"$OUT/mock.log" & pids+=($!)
wait_port $MOCK_PORT
taskset -c $PROXY_CPU $BIN/kgb --listen 127.0.0.1:$KGB_PORT --upstream http://127.0.0.1:$MOCK_PORT --log none 2>"$OUT/kgb.log" & pids+=($!)
KGB_PID=$!
rm -f "$OUT/exchanges.jsonl"
taskset -c $PROXY_CPU $BIN/kgb --listen 127.0.0.1:$KGB_LOG_PORT --upstream http://127.0.0.1:$MOCK_PORT --log "jsonl:$OUT/exchanges.jsonl" 2>"$OUT/kgb-log.log" & pids+=($!)
KGB_LOG_PID=$!
NGINX_DIR=$(mktemp -d /tmp/kgb-bench-nginx.XXXX)
sed -e "s#@PORT@#$NGINX_PORT#; s#@UPSTREAM@#127.0.0.1:$MOCK_PORT#; s#@DIR@#$NGINX_DIR#g" bench/nginx.conf.in > "$NGINX_DIR/nginx.conf"
taskset -c $PROXY_CPU nginx -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/nginx-error.log" & pids+=($!)
wait_port $KGB_PORT; wait_port $NGINX_PORT; wait_port $KGB_LOG_PORT
NGINX_WORKER=$(pgrep -P "$(cat "$NGINX_DIR/nginx.pid")" | head -1)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

JSON_BODY='{"model":"claude-bench","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'
SSE_BODY='{"model":"claude-bench","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}'

results="$OUT/results.tsv"
printf 'scenario\ttarget\treq_per_s\tcpu_us_per_req\tloop_us_per_req\n' > "$results"
run() {  # scenario target port pid body path
  local scenario=$1 target=$2 port=$3 pid=$4 body=$5 path=$6
  taskset -c $LOAD_CPU hey -n 500 -c "$CONCURRENCY" -m POST -T application/json -d "$body" "http://127.0.0.1:$port$path" >/dev/null  # warm-up
  local before=0 after=0 loop_before=0 loop_after=0
  [ "$pid" != - ] && before=$(cpu_ticks "$pid")
  # The event-loop thread alone (the main thread: its TID is the PID), to separate it from kgb's logger.
  [ "$pid" != - ] && loop_before=$(cpu_ticks "$pid/task/$pid")
  local rps
  rps=$(taskset -c $LOAD_CPU hey -n "$REQUESTS" -c "$CONCURRENCY" -m POST -T application/json -d "$body" "http://127.0.0.1:$port$path" \
        | tee "$OUT/hey-$scenario-$target.txt" | awk '/Requests\/sec/ {print $2}')
  local cpu=- loop=-
  if [ "$pid" != - ]; then
    after=$(cpu_ticks "$pid"); cpu=$(( (after - before) * TICK_US / REQUESTS ))
    loop_after=$(cpu_ticks "$pid/task/$pid"); loop=$(( (loop_after - loop_before) * TICK_US / REQUESTS ))
  fi
  grep -q '\[200\]' "$OUT/hey-$scenario-$target.txt" || { echo "no 200s for $scenario via $target" >&2; exit 1; }
  printf '%s\t%s\t%s\t%s\t%s\n' "$scenario" "$target" "$rps" "$cpu" "$loop" | tee -a "$results"
}

for scenario in json sse; do
  body=$JSON_BODY; path=/v1/messages
  [ $scenario = sse ] && { body=$SSE_BODY; path="/v1/messages?events=20"; }
  run $scenario direct $MOCK_PORT - "$body" "$path"
  for round in $(seq "$ROUNDS"); do
    run $scenario kgb $KGB_PORT $KGB_PID "$body" "$path"
    run $scenario kgb+jsonl $KGB_LOG_PORT $KGB_LOG_PID "$body" "$path"
    run $scenario nginx $NGINX_PORT $NGINX_WORKER "$body" "$path"
  done
done

# The logger's own throughput: body bytes recorded per second of the logger thread's CPU time, for two kinds
# of answer through the logging kgb: long SSE streams (2,000 small events, ~250 KB each: the worst case, one
# JSON event parsed per ~125 bytes) and large JSON answers (~190 KB each).
logger_tid() { for task in /proc/$KGB_LOG_PID/task/*; do if [ "$(cat "$task/comm")" = kgb-logger ]; then basename "$task"; fi; done; }
TID=$(logger_tid)
[ -n "$TID" ] || { echo "no kgb-logger thread in process $KGB_LOG_PID" >&2; exit 1; }
: > "$OUT/logger.tsv"
measure_logger() {  # label body path
  local records_before ticks_before ticks_after
  records_before=$(wc -l < "$OUT/exchanges.jsonl")
  ticks_before=$(awk '{print $14 + $15}' "/proc/$KGB_LOG_PID/task/$TID/stat")
  taskset -c $LOAD_CPU hey -n 300 -c 10 -m POST -T application/json -d "$2" "http://127.0.0.1:$KGB_LOG_PORT$3" > "$OUT/hey-logger-$1.txt"
  sleep 1
  ticks_after=$(awk '{print $14 + $15}' "/proc/$KGB_LOG_PID/task/$TID/stat")
  python3 - "$1" "$OUT/exchanges.jsonl" "$records_before" $(( (ticks_after - ticks_before) * TICK_US )) >> "$OUT/logger.tsv" <<'PYEOF'
import json, sys
label, path, skip, cpu_us = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lines = open(path).read().splitlines()[skip:]
body = sum(json.loads(line)["response"]["body_bytes"] for line in lines)
print(f"{label}\t{len(lines)}\t{body}\t{cpu_us}\t{body / max(1, cpu_us):.1f}")
PYEOF
}
# By now the log file holds the whole run (hundreds of MB) and the kernel is writing it back; rotate it as
# logrotate would (rename + SIGHUP) so the figures are the logger's, not the page cache's.
mv "$OUT/exchanges.jsonl" "$OUT/exchanges.jsonl.1"
kill -HUP "$KGB_LOG_PID"
sleep 0.5
rm -f "$OUT/exchanges.jsonl.1"
touch "$OUT/exchanges.jsonl"
measure_logger sse "$SSE_BODY" "/v1/messages?events=2000"
measure_logger json "$JSON_BODY" "/v1/messages?events=20000"
echo "logger (label, records, body bytes, logger CPU µs, MB/s):"; cat "$OUT/logger.tsv"

# Per-event latency, from a compiled client (bench/event_latency.c): 1 and 100 concurrent streams of 20 events
# 50 ms apart, each event's arrival against the mock's CLOCK_MONOTONIC send stamp.
command -v gcc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null
gcc -O2 -o "$OUT/event_latency" bench/event_latency.c
latency="$OUT/latency.tsv"
printf 'streams\ttarget\tp50_us\tp99_us\tmax_us\tevents\n' > "$latency"
for streams in 1 100; do
  for pair in direct:$MOCK_PORT kgb:$KGB_PORT nginx:$NGINX_PORT; do
    printf '%s\t%s\t%s\n' "$streams" "${pair%%:*}" "$(taskset -c $LOAD_CPU "$OUT/event_latency" "${pair##*:}" "$streams" 20 50)" | tee -a "$latency"
  done
done

python3 bench/report.py "$results" "$REQUESTS" "$CONCURRENCY" "$latency" "$ROUNDS" "$OUT/logger.tsv" > bench/RESULTS.md
cat bench/RESULTS.md
