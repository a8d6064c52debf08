"""What the exchange log costs in memory: a slow reader of one large answer (peak RSS above the RSS before it), and
held SSE streams (RSS per stream), for a kgb with logging on, against the same kgb with `--log none`.

    python3 bench/logger_memory.py [--bin .build/release] [--slow-bytes 200000000] [--slow-rate 10000000]
                                   [--streams 4000] [-- extra kgb flags...]

Slow reader: `bench/slow_reader.c` reads `GET /bytes?n=BYTES` at RATE bytes a second through kgb (`--log-body-max
4294967296`: the whole body is kept); peak RSS is kgb's VmHWM once it is done. Held streams: `bench/hold_streams.c`
opens STREAMS SSE streams of one event a second in four steps (kgb pinned to CPU 1, the client and the mock on CPU
0) and samples kgb's RSS after each; the figure is (RSS at STREAMS - RSS at 0) / STREAMS. Each measurement starts a
fresh kgb in a fresh working directory (bodies and logs go there) and the mock from the same folder."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import instructions  # noqa: E402


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def tools(workdir):
    here = os.path.dirname(os.path.abspath(__file__))
    for tool in ("slow_reader", "hold_streams"):
        subprocess.run(["gcc", "-O2", "-Wall", "-o", os.path.join(workdir, tool), os.path.join(here, f"{tool}.c")], check=True)


def start(bin_dir, extra, workdir):
    mock_port, port = instructions.free_port(), instructions.free_port()
    mock = subprocess.Popen(["taskset", "-c", "0", os.path.join(bin_dir, "kgb-mock-upstream"), "--listen",
                             f"127.0.0.1:{mock_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    instructions.wait_listening(mock_port)
    cwd = tempfile.mkdtemp(dir=workdir)
    kgb = subprocess.Popen(["taskset", "-c", "1", os.path.abspath(os.path.join(bin_dir, "kgb")), "--listen",
                            f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{mock_port}", *extra],
                           cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    instructions.wait_listening(port)
    time.sleep(0.5)
    return mock, kgb, port


def stop(*processes):
    for process in processes:
        process.terminate()
        process.wait(60)


def slow_reader(bin_dir, extra, workdir, size, rate):
    mock, kgb, port = start(bin_dir, ["--log-body-max", "4294967296", *extra], workdir)
    try:
        before = status_kib(kgb.pid, "VmRSS")
        result = subprocess.run(["taskset", "-c", "0", os.path.join(workdir, "slow_reader"), str(port),
                                 f"/bytes?n={size}", str(rate)], capture_output=True, text=True, check=True)
        time.sleep(1)
        peak = status_kib(kgb.pid, "VmHWM")
        return before, peak, result.stdout.strip()
    finally:
        stop(kgb, mock)


def held_streams(bin_dir, extra, workdir, streams):
    mock, kgb, port = start(bin_dir, list(extra), workdir)
    try:
        result = subprocess.run(["taskset", "-c", "0", os.path.join(workdir, "hold_streams"), str(port), str(streams),
                                 str(streams // 4), "500", "3", str(kgb.pid)], capture_output=True, text=True, check=True)
        samples = [tuple(map(int, line.split("\t")[:2])) for line in result.stdout.splitlines() if line.split("\t")[0].isdigit()]
        (s0, r0), (s1, r1) = samples[0], samples[-1]
        return (r1 - r0) / (s1 - s0), samples
    finally:
        stop(kgb, mock)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("--slow-bytes", type=int, default=200_000_000)
    parser.add_argument("--slow-rate", type=int, default=10_000_000)
    parser.add_argument("--streams", type=int, default=4000)
    parser.add_argument("extra", nargs="*", help="more kgb flags (after --)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="kgb-logger-memory-")
    try:
        tools(workdir)
        for label, log in (("JSONL log", ["--log", "jsonl:./kgb-logs/exchanges.jsonl"]), ("--log none", ["--log", "none"])):
            before, peak, read = slow_reader(args.bin, log + args.extra, workdir, args.slow_bytes, args.slow_rate)
            print(f"{label}: slow reader of {args.slow_bytes} bytes at {args.slow_rate} B/s ({read}): RSS before "
                  f"{before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, +{(peak - before) / 1024:.1f} MiB")
            per_stream, samples = held_streams(args.bin, log + args.extra, workdir, args.streams)
            print(f"{label}: {args.streams} held streams: {per_stream:.2f} KiB per stream (streams, RSS KiB: {samples})")
            sys.stdout.flush()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
