#!/usr/bin/env bash
# TLS upstream benchmark: hey through kgb and through nginx to the same HTTPS mock upstream, in one run.
# Reports requests/s and each proxy's CPU µs per request (utime+stime from /proc/PID/stat); medians of ROUNDS,
# the proxies alternating. Proxies pinned to CPU 1, hey and the mock to CPU 0. Loads 127.0.0.1 only; stops
# everything it started. Usage: bash bench/tls.sh [REQUESTS] [CONCURRENCY]  (BENCH_BIN: prebuilt binaries)
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-20000}
CONCURRENCY=${2:-50}
ROUNDS=${ROUNDS:-3}
PROXY_CPU=1 LOAD_CPU=0
OUT=bench/out/tls
mkdir -p "$OUT"
command -v hey >/dev/null && command -v nginx >/dev/null && command -v openssl >/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hey nginx-light openssl >/dev/null; }
if [ -z "${BENCH_BIN:-}" ]; then swift build -c release >/dev/null; BIN=.build/release; else BIN=$BENCH_BIN; fi

MOCK_PORT=19200 KGB_PORT=19201 NGINX_PORT=19202
pids=()
DIR=$(mktemp -d /tmp/kgb-bench-tls.XXXX)
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

# A throw-away CA and a certificate for localhost (ECDSA P-256, as the big API providers serve).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DIR/ca.key" -out "$DIR/ca.pem" \
  -days 2 -subj "/CN=kgb bench CA" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DIR/server.key" -out "$DIR/server.csr" \
  -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' > "$DIR/ext"
openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial -days 2 \
  -extfile "$DIR/ext" -out "$DIR/server.pem" 2>/dev/null

taskset -c $LOAD_CPU $BIN/kgb-mock-upstream --listen 127.0.0.1:$MOCK_PORT --tls-cert "$DIR/server.pem" --tls-key "$DIR/server.key" 2>"$OUT/mock.log" & pids+=($!)
wait_port $MOCK_PORT
taskset -c $PROXY_CPU $BIN/kgb --listen 127.0.0.1:$KGB_PORT --upstream "https://localhost:$MOCK_PORT" \
  --upstream-ca "$DIR/ca.pem" --log none 2>"$OUT/kgb.log" & pids+=($!)
KGB_PID=$!
sed -e "s#@PORT@#$NGINX_PORT#; s#@UPSTREAM@#127.0.0.1:$MOCK_PORT#; s#@DIR@#$DIR#g; s#@CA@#$DIR/ca.pem#" bench/nginx-tls.conf.in > "$DIR/nginx.conf"
taskset -c $PROXY_CPU nginx -c "$DIR/nginx.conf" -e "$DIR/nginx-error.log" & pids+=($!)
wait_port $KGB_PORT; wait_port $NGINX_PORT
NGINX_WORKER=$(pgrep -P "$(cat "$DIR/nginx.pid")" | head -1)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
JSON_BODY='{"model":"claude-bench","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'
SSE_BODY='{"model":"claude-bench","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}'
results="$OUT/results.tsv"
printf 'scenario\ttarget\treq_per_s\tcpu_us_per_req\n' > "$results"
run() {  # scenario target port pid body path
  local scenario=$1 target=$2 port=$3 pid=$4 body=$5 path=$6
  taskset -c $LOAD_CPU hey -n 500 -c "$CONCURRENCY" -m POST -T application/json -d "$body" "http://127.0.0.1:$port$path" >/dev/null
  local before rps after
  before=$(cpu_ticks "$pid")
  rps=$(taskset -c $LOAD_CPU hey -n "$REQUESTS" -c "$CONCURRENCY" -m POST -T application/json -d "$body" "http://127.0.0.1:$port$path" \
        | tee "$OUT/hey-$scenario-$target.txt" | awk '/Requests\/sec/ {print $2}')
  after=$(cpu_ticks "$pid")
  grep -q '\[200\]' "$OUT/hey-$scenario-$target.txt" || { echo "no 200s for $scenario via $target" >&2; exit 1; }
  printf '%s\t%s\t%s\t%s\n' "$scenario" "$target" "$rps" $(( (after - before) * TICK_US / REQUESTS )) | tee -a "$results"
}
for scenario in json sse; do
  body=$JSON_BODY; path=/v1/messages
  [ $scenario = sse ] && { body=$SSE_BODY; path="/v1/messages?events=20"; }
  for round in $(seq "$ROUNDS"); do
    run $scenario kgb $KGB_PORT $KGB_PID "$body" "$path"
    run $scenario nginx $NGINX_PORT $NGINX_WORKER "$body" "$path"
  done
done
python3 - "$results" "$REQUESTS" "$CONCURRENCY" "$ROUNDS" > "$OUT/section.md" <<'PYEOF'
import csv, statistics, sys
path, requests, concurrency, rounds = sys.argv[1:5]
rows = list(csv.DictReader(open(path), delimiter="\t"))
print("## TLS upstream (HTTPS to the mock)\n")
print(f"`bash bench/tls.sh {requests} {concurrency}` ({rounds} rounds, medians): hey → proxy (plain HTTP) → the mock over")
print("TLS 1.3 (ECDSA P-256 certificate from a throw-away CA, verified by both proxies). nginx: `proxy_pass https://`,")
print("upstream `keepalive 64`, `proxy_ssl_session_reuse on`, one worker. The bar: kgb within 10% of nginx or better.\n")
print("| load | kgb req/s | nginx req/s | kgb CPU µs/req | nginx CPU µs/req | CPU kgb/nginx |")
print("|---|---:|---:|---:|---:|---:|")
for scenario in ("json", "sse"):
    med = lambda target, key: statistics.median(float(r[key]) for r in rows if r["scenario"] == scenario and r["target"] == target)
    kc, nc = med("kgb", "cpu_us_per_req"), med("nginx", "cpu_us_per_req")
    print(f"| {scenario.upper()} | {med('kgb', 'req_per_s'):,.0f} | {med('nginx', 'req_per_s'):,.0f} | {kc:.0f} | {nc:.0f} | {kc / max(1, nc):.2f}× |")
PYEOF
cat "$OUT/section.md"
# Into bench/RESULTS.md (run.sh writes the rest): this section replaces an earlier one, so re-running is safe.
python3 bench/section.py put bench/RESULTS.md "## TLS upstream" "$OUT/section.md"
