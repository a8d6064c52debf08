#!/usr/bin/env bash
# The sidecar build: Swift runtime linked statically (`swift build --static-swift-stdlib`), stripped. Prints
# what the binary links (ldd), its size, the time from exec to accepting connections (median of 20 starts)
# and the idle RSS after start-up and after 1,000 exchanges. Loads 127.0.0.1 only. Usage: bash bench/sidecar.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product kgb --scratch-path .build-static >/dev/null
swift build -c release --product kgb-mock-upstream >/dev/null
strip -o .build-static/kgb-sidecar .build-static/release/kgb
BIN=.build-static/kgb-sidecar
echo "== ldd $BIN"; ldd "$BIN"
echo "== size: $(du -h "$BIN" | cut -f1)"
python3 - "$BIN" .build/release/kgb-mock-upstream <<'PYEOF'
import os, signal, socket, statistics, subprocess, sys, time
binary, mock_binary = sys.argv[1], sys.argv[2]

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

mock_port = free_port()
mock = subprocess.Popen([mock_binary, "--listen", f"127.0.0.1:{mock_port}"], stderr=subprocess.DEVNULL)
time.sleep(0.3)
starts = []
for _ in range(20):
    port = free_port()
    began = time.monotonic()
    proc = subprocess.Popen([binary, "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{mock_port}",
                             "--log", "none"], stderr=subprocess.DEVNULL)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.0005)
    starts.append((time.monotonic() - began) * 1000)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
print(f"== start-up to accepting connections: median {statistics.median(starts):.1f} ms, max {max(starts):.1f} ms (20 starts)")
port = free_port()
proc = subprocess.Popen([binary, "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{mock_port}",
                         "--log", "jsonl:/tmp/kgb-sidecar-check.jsonl"], stderr=subprocess.DEVNULL)
time.sleep(0.5)
idle = rss_kib(proc.pid)
body = b'{"model":"m","max_tokens":9,"stream":true,"messages":[]}'
for _ in range(1000):
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"POST /v1/messages?events=5 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        while conn.recv(65536):
            pass
time.sleep(0.5)
print(f"== idle RSS with JSONL logging: {idle / 1024:.1f} MiB after start-up, {rss_kib(proc.pid) / 1024:.1f} MiB after 1,000 streamed exchanges")
proc.send_signal(signal.SIGTERM)
proc.wait()
mock.terminate()
os.remove("/tmp/kgb-sidecar-check.jsonl")
PYEOF
