#!/usr/bin/env bash
# The sidecar build: Swift runtime linked statically (`swift build --static-swift-stdlib`), stripped. Prints
# what the binary links (ldd, and which Swift libraries are inside it by their symbols), its size, the time from
# exec to accepting connections (median of 20 starts), the idle RSS after start-up and after 1,000 exchanges, and
# then start-up to the first answered request and idle memory beside nginx, both measured by bench/startup.py as
# `make bench` does (20 starts each, the system pinned to CPU 1 and the client to CPU 0), and the instructions each
# runs until its first answer (bench/startup_instructions.py: callgrind, which other load on the machine cannot
# blur). Loads 127.0.0.1 only.
# Usage: bash bench/sidecar.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product kgb --scratch-path .build-static >/dev/null
swift build -c release --product kgb-mock-upstream >/dev/null
strip -o .build-static/kgb-sidecar .build-static/release/kgb
BIN=.build-static/kgb-sidecar
echo "== ldd $BIN"; ldd "$BIN"
echo "== Swift libraries linked in (symbols in the unstripped binary):"
for module in 10Foundation 20FoundationEssentials 30FoundationInternationalization 14ArgumentParser 7Logging; do
    printf '   %-32s %6d symbols\n' "$(echo "$module" | sed 's/^[0-9]*//')" "$(nm .build-static/release/kgb | grep -c "\$s$module" || true)"
done
printf '   %-32s %6d symbols\n' "ICU (u_*, ucol_*, ubrk_*)" "$(nm .build-static/release/kgb | grep -cE ' (u_|ucol_|ubrk_|udat_)' || true)"
echo "== size: $(du -h "$BIN" | cut -f1) ($(stat -c %s "$BIN") bytes)"
# nginx sizes its connection tables by the descriptor limit: raise it as bench/run.sh does, for the same nginx.
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
python3 - "$BIN" .build/release/kgb-mock-upstream "$(ulimit -n)" <<'PYEOF'
import os, signal, socket, statistics, subprocess, sys, time
binary, mock_binary, nofile = sys.argv[1], sys.argv[2], sys.argv[3]

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
os.remove("/tmp/kgb-sidecar-check.jsonl")

# Beside nginx, as `make bench` measures start-up (bench/startup.py: exec to the first answered request, then RSS and
# PSS of the process tree after half a second idle), with kgb logging JSONL as users run it.
nginx_dir = os.path.abspath(".build-static/nginx-startup")
os.makedirs(nginx_dir, exist_ok=True)
port = free_port()
with open("bench/nginx.conf.in") as template, open(f"{nginx_dir}/nginx.conf", "w") as conf:
    conf.write(template.read().replace("@PORT@", str(port)).replace("@UPSTREAM@", f"127.0.0.1:{mock_port}")
               .replace("@DIR@", nginx_dir).replace("@NOFILE@", nofile))
systems = {
    "kgb-sidecar": [binary, "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{mock_port}",
                    "--log", f"jsonl:{nginx_dir}/kgb-startup.jsonl"],
    "nginx": ["nginx", "-c", f"{nginx_dir}/nginx.conf", "-e", f"{nginx_dir}/nginx-error.log"],
}
print("== bench/startup.py, 20 starts each (median start-up to the first answer; RSS and PSS after 0.5 s idle):")
for name, command in systems.items():
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "bench/startup.py", name, str(port), "20", "--",
                          "taskset", "-c", "1", *command], capture_output=True, text=True, check=True).stdout
    rows = [line.split("\t") for line in out.strip().splitlines()]
    ready = statistics.median(float(row[2]) for row in rows)
    rss = statistics.median(int(row[3]) for row in rows) / 1024
    pss = statistics.median(int(row[4]) for row in rows) / 1024
    print(f"   {name:12} start-up {ready:5.1f} ms   RSS {rss:5.1f} MiB   PSS {pss:5.1f} MiB")
    instructions = subprocess.run([sys.executable, "bench/startup_instructions.py", str(port), "--", *command],
                                  capture_output=True, text=True, check=True).stdout.strip()
    print(f"   {name:12} {int(instructions) / 1e6:5.1f} M instructions from exec to the first answer (callgrind)")
mock.terminate()
PYEOF
