"""User-space instructions per exchange on kgb's event-loop thread (callgrind), for a small JSON exchange and a
26-event SSE stream, with --log none: the figure that moves with a change to the hot path, repeatable to the
instruction (timings move by percents between runs). Each figure is (run of N exchanges - run of 1) / (N - 1), so
start-up and shut-down cancel out.

    python3 bench/instructions.py [--bin .build/release] [-n 2000] [--log none|jsonl] [--compare LABEL=DIR ...] [--results FILE]

--compare measures other builds in the same run (another commit's .build/release, say); --results writes the
table as the "## Loop instructions" section of FILE (bench/RESULTS.md).

Valgrind 3.19 cannot read the DWARF 5 of a Swift release build, so kgb runs as a copy with debug info stripped."""
import argparse
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

JSON_BODY = b'{"model":"m","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}'
SSE_BODY = b'{"model":"m","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
# The mock's SSE answer with events=20 has 26 events (message_start, ping, block start/stop, 20 deltas, ...).
SCENARIOS = {"json": ("/v1/messages", JSON_BODY), "sse": ("/v1/messages?events=20", SSE_BODY)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


def read_response(sock, buffer):
    """Reads one response (Content-Length or chunked) from a keep-alive connection; returns the leftover bytes."""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536)
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if length:
        while len(buffer) < int(length.group(1)):
            buffer += sock.recv(65536)
        return buffer[int(length.group(1)):]
    while b"\r\n0\r\n\r\n" not in buffer and not buffer.startswith(b"0\r\n\r\n"):
        buffer += sock.recv(65536)
    end = buffer.find(b"0\r\n\r\n")
    return buffer[end + 5:]


def drive(port, target, body, count, headers=""):
    sock = socket.create_connection(("127.0.0.1", port))
    request = (f"POST {target} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{headers}"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    buffer = b""
    for _ in range(count):
        sock.sendall(request)
        buffer = read_response(sock, buffer)
    sock.close()


def loop_instructions(kgb, mock_port, scenario, count, workdir, extra_args=(), headers="", env=None, log="none"):
    """Instructions of the loop thread for `count` exchanges; `extra_args` for kgb, `headers` ("Name: v\r\n"...)
    on every request; `log`: kgb's --log ("jsonl" for a JSONL file in `workdir`)."""
    port = free_port()
    out = os.path.join(workdir, f"cg-{scenario}-{count}.out")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
                             kgb, "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{mock_port}",
                             "--log", log_spec(log, workdir, scenario, count), *extra_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    try:
        wait_listening(port)
        target, body = SCENARIOS[scenario]
        drive(port, target, body, count, headers)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    files = sorted(glob.glob(out + "-01")) or [out]
    with open(files[0]) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {files[0]}")


def log_spec(log, workdir, scenario, count):
    return f"jsonl:{os.path.join(workdir, f'log-{scenario}-{count}.jsonl')}" if log == "jsonl" else log


def measure(bin_dir, count, log="none"):
    """{scenario: k instructions per exchange} for the kgb in `bin_dir` (its mock as the upstream)."""
    workdir = tempfile.mkdtemp(prefix="kgb-instructions-")
    kgb = os.path.join(workdir, "kgb")
    subprocess.run(["objcopy", "--strip-debug", os.path.join(bin_dir, "kgb"), kgb], check=True)
    mock_port = free_port()
    mock = subprocess.Popen([os.path.join(bin_dir, "kgb-mock-upstream"), "--listen", f"127.0.0.1:{mock_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(mock_port)
        figures = {}
        for scenario in SCENARIOS:
            one = loop_instructions(kgb, mock_port, scenario, 1, workdir, log=log)
            many = loop_instructions(kgb, mock_port, scenario, count, workdir, log=log)
            figures[scenario] = (many - one) / (count - 1) / 1000
        return figures
    finally:
        mock.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--compare", action="append", default=[], metavar="LABEL=DIR")
    parser.add_argument("--results")
    parser.add_argument("--log", default="none", choices=["none", "jsonl"],
                        help="kgb's log: none (the hot path alone), or jsonl (what logging adds to the loop)")
    args = parser.parse_args()
    builds = [pair.split("=", 1) for pair in args.compare] + [["this build", args.bin]]
    rows = []
    for label, bin_dir in builds:
        figures = measure(bin_dir, args.n, args.log)
        rows.append((label, figures))
        print(f"{label}: JSON {figures['json']:.1f} k, SSE (26 events) {figures['sse']:.1f} k instructions per exchange "
              f"on the loop thread (--log {args.log}, {args.n} exchanges on one keep-alive connection)")
        sys.stdout.flush()
    if args.results:
        lines = ["## Loop instructions per exchange (callgrind)", "",
                 f"`python3 bench/instructions.py -n {args.n}" + "".join(f" --compare '{p}'" for p in args.compare)
                 + "`: user-space instructions on the event-loop thread per exchange, `--log none`, one keep-alive "
                 "connection, (run of N - run of 1) / (N - 1). Repeatable to within a few hundred instructions, unlike timings.", "",
                 "| build | small JSON exchange | SSE stream, 26 events |", "|---|---:|---:|"]
        lines += [f"| {label} | {f['json']:.1f} k | {f['sse']:.1f} k |" for label, f in rows]
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import section
        section.put(args.results, "## Loop instructions", "\n".join(lines))


if __name__ == "__main__":
    main()
