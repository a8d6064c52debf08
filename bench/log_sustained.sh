#!/usr/bin/env bash
# Sustained logging: two kgb builds, each with --log jsonl:, serving the small JSON exchange in alternating rounds
# long enough for the kernel's writeback of the log file to start (make bench's rounds are 3 s, and its JSON
# scenario ends before the first dirty pages are 30 s old). Per round: requests/s, and CPU per request of the loop
# and logger threads, user and system (/proc/PID/task/TID/stat, 10 ms ticks), plus the kernel's Dirty figure.
#
#   bash bench/log_sustained.sh [--rounds 5] [--seconds 5] A_DIR B_DIR
#
# A_DIR, B_DIR: folders holding a release kgb (for example .build/release and another commit's). Upstream: nginx
# answering the mock's JSON from memory (bench/static-upstream.conf.in), as in make bench's JSON scenario. kgb runs on
# CPU 1, wrk and the upstream on CPU 0; only 127.0.0.1 is used.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=5 SECONDS_PER_ROUND=5
while [ $# -gt 2 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --seconds) SECONDS_PER_ROUND=$2; shift 2 ;;
    *) echo "log_sustained.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -eq 2 ] || { echo "usage: bash bench/log_sustained.sh [--rounds N] [--seconds S] A_DIR B_DIR" >&2; exit 2; }
A=$1 B=$2
for dir in "$A" "$B"; do [ -x "$dir/kgb" ] || { echo "log_sustained.sh: no kgb in $dir" >&2; exit 2; }; done
WORK=$(mktemp -d /tmp/kgb-log-sustained.XXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; sleep 0.3; rm -rf "$WORK"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 400); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

UPSTREAM_PORT=19309
sed -e "s#@PORT@#$UPSTREAM_PORT#; s#@DIR@#$WORK#g" bench/static-upstream.conf.in > "$WORK/static.conf"
taskset -c 0 nginx -c "$WORK/static.conf" -e "$WORK/static-error.log" & pids+=($!)
wait_port $UPSTREAM_PORT
declare -A PORT PID
start() {  # label dir port
  taskset -c 1 "$2/kgb" --listen "127.0.0.1:$3" --upstream "http://127.0.0.1:$UPSTREAM_PORT" --log "jsonl:$WORK/$1.jsonl" \
    > "$WORK/$1.log" 2>&1 & pids+=($!)
  PORT[$1]=$3 PID[$1]=$!
  wait_port "$3"
}
start A "$A" 19301
start B "$B" 19302

tick=$((1000000 / $(getconf CLK_TCK)))
times() { awk -v t=$tick '{print $14 * t, $15 * t}' "/proc/$1/stat"; }
logger_tid() { for task in /proc/$1/task/*; do [ "$(cat "$task/comm")" = kgb-logger ] && basename "$task"; done; }
BODY='{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'
round() {  # label
  local pid=${PID[$1]} url="http://127.0.0.1:${PORT[$1]}/v1/messages" logger
  logger=$(logger_tid "$pid")
  local lu ls gu gs lu2 ls2 gu2 gs2
  read -r lu ls < <(times "$pid/task/$pid"); read -r gu gs < <(times "$pid/task/$logger")
  BENCH_BODY=$BODY taskset -c 0 wrk -t1 -c50 -s bench/post.lua -d"${SECONDS_PER_ROUND}s" "$url" > "$WORK/wrk.txt"
  read -r lu2 ls2 < <(times "$pid/task/$pid"); read -r gu2 gs2 < <(times "$pid/task/$logger")
  local n rps dirty
  n=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt"); rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  dirty=$(awk '/^Dirty:/ {print $2}' /proc/meminfo)
  awk -v label="$1" -v dir="$2" -v r="$3" -v n="$n" -v rps="$rps" -v dirty="$dirty" -v lu=$((lu2 - lu)) -v ls=$((ls2 - ls)) \
      -v gu=$((gu2 - gu)) -v gs=$((gs2 - gs)) 'BEGIN {
    printf "| %s | %s | %d | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f MB |\n", label, dir, r, rps,
      (lu + ls + gu + gs) / n, lu / n, ls / n, gu / n, gs / n, dirty / 1024 }'
}
echo "| build | folder | round | requests/s | CPU µs/request | loop user | loop system | logger user | logger system | Dirty after |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in $(seq "$ROUNDS"); do round A "$A" "$r"; round B "$B" "$r"; done
