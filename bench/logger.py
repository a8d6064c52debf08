"""What the exchange log costs: CPU of kgb's `kgb-logger` thread per exchange, and the extra CPU the event loop pays
for copying into the log ring, under bounded hey runs against the mock upstream (kgb pinned to CPU 1, hey and the mock
on CPU 0, as bench/load.py does).

    python3 bench/logger.py [--bin .build/release] [--compare LABEL=DIR ...] [--rounds 3] [--callgrind] [--results FILE]

Scenarios (each a fresh kgb with `--log jsonl:FILE`, and one with `--log none` for the loop's share):
- json: the small JSON exchange (~90-byte request, ~400-byte answer): logger µs per exchange;
- sse: streams of 20 text deltas (26 SSE events, ~3.2 KB): logger µs per event (the stream's cost / 26, record
  included, as the main bench counts CPU per event);
- large: JSON answers of 20,000 deltas' worth of text (~190 KB each): body MB per second of logger CPU;
- loop: the event-loop thread's µs per small JSON exchange with the log on, less the same with `--log none`.
CPU is utime+stime from /proc/PID/task/TID/stat (clock ticks: hence thousands of exchanges per figure), medians of
the rounds. With --callgrind, also user-space instructions per exchange of the logger and loop threads (valgrind,
(N+1 exchanges - 1 exchange) / N, one keep-alive connection): repeatable where timings are not.
--results writes the table as the "## Logger thread" section of FILE (bench/RESULTS.md)."""
import argparse
import glob
import signal
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import instructions  # noqa: E402
import load  # noqa: E402

SSE_BODY = instructions.SSE_BODY
JSON_BODY = instructions.JSON_BODY
SSE_EVENTS = 26
TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid):
    """{thread name: seconds on a CPU} for every thread of `pid` (the loop thread, whose TID is the PID, as "loop").
    utime+stime, read from /proc/PID/task/TID/schedstat (the same time in nanoseconds) where the kernel has it, as
    stat counts it in 10 ms ticks."""
    times = {}
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            with open(f"{task}/stat") as f:
                stat = f.read()
            try:
                with open(f"{task}/schedstat") as f:
                    seconds = int(f.read().split()[0]) / 1e9
            except (FileNotFoundError, ValueError, IndexError):
                fields = stat.rsplit(")", 1)[1].split()
                seconds = (int(fields[11]) + int(fields[12])) / TICK
        except FileNotFoundError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        key = "loop" if int(os.path.basename(task)) == pid else name
        times[key] = times.get(key, 0) + seconds
    return times


def loop_write_syscalls(pid):
    """write-family system calls of the loop thread so far (/proc/PID/task/PID/io syscw): with logging on, the
    logger's doorbell adds eventfd writes to the loop's socket writes."""
    with open(f"/proc/{pid}/task/{pid}/io") as f:
        for line in f:
            if line.startswith("syscw:"):
                return int(line.split()[1])
    return 0


def hey(port, path, body, requests, concurrency, workdir):
    body_file = os.path.join(workdir, "body.json")
    with open(body_file, "wb") as f:
        f.write(body)
    result = subprocess.run(["taskset", "-c", "0", "hey", "-m", "POST", "-T", "application/json", "-D", body_file,
                             "-c", str(concurrency), "-n", str(requests), f"http://127.0.0.1:{port}{path}"],
                            check=True, capture_output=True, text=True)
    if f"[200]\t{requests} responses" not in result.stdout:
        raise RuntimeError(f"not every request got 200:\n{result.stdout[-600:]}")


def run_scenario(bin_dir, mock_port, log, path, body, requests, concurrency, workdir):
    """(logger seconds, loop seconds, body bytes logged) for `requests` exchanges through a fresh kgb."""
    log_args = ["--log", "none"] if log == "none" else ["--log", f"jsonl:{os.path.join(workdir, 'x.jsonl')}"]
    proc, port = load.start_kgb(os.path.join(bin_dir, "kgb"), mock_port, log_args + ["--log-body-max", "16777216"])
    try:
        hey(port, path, body, 200, concurrency, workdir)  # warm-up: buffers grown, pages touched
        before = thread_cpu(proc.pid)
        writes_before = loop_write_syscalls(proc.pid)
        hey(port, path, body, requests, concurrency, workdir)
        after = thread_cpu(proc.pid)
        run_scenario.loop_writes = (loop_write_syscalls(proc.pid) - writes_before) / requests
    finally:
        load.stop(proc)
    logged = 0
    if log != "none":
        # The timed run's records are the last `requests` lines; their response body_bytes are the bytes logged.
        import json
        with open(os.path.join(workdir, "x.jsonl"), "rb") as f:
            lines = f.read().splitlines()[-requests:]
        logged = sum(json.loads(line)["response"]["body_bytes"] for line in lines)
        os.remove(os.path.join(workdir, "x.jsonl"))
    return (after.get("kgb-logger", 0) - before.get("kgb-logger", 0), after["loop"] - before["loop"], logged)


SCENARIOS = {
    # name: (path, body, requests, concurrency)
    "json": ("/v1/messages", JSON_BODY, 40000, 50),
    "sse": ("/v1/messages?events=20", SSE_BODY, 8000, 50),
    "large": ("/v1/messages?events=20000", JSON_BODY, 600, 10),
}


def measure(bin_dir, rounds):
    workdir = tempfile.mkdtemp(prefix="kgb-logger-bench-")
    mock_port = instructions.free_port()
    mock = subprocess.Popen(["taskset", "-c", "0", os.path.join(bin_dir, "kgb-mock-upstream"),
                             "--listen", f"127.0.0.1:{mock_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        instructions.wait_listening(mock_port)
        samples = {"json": [], "sse": [], "large": [], "loop_on": [], "loop_off": [], "writes_on": [], "writes_off": []}
        for _ in range(rounds):
            path, body, n, c = SCENARIOS["json"]
            logger, loop_on, _ = run_scenario(bin_dir, mock_port, "jsonl", path, body, n, c, workdir)
            samples["json"].append(logger / n * 1e6)
            samples["loop_on"].append(loop_on / n * 1e6)
            samples["writes_on"].append(run_scenario.loop_writes)
            _, loop_off, _ = run_scenario(bin_dir, mock_port, "none", path, body, n, c, workdir)
            samples["loop_off"].append(loop_off / n * 1e6)
            samples["writes_off"].append(run_scenario.loop_writes)
            path, body, n, c = SCENARIOS["sse"]
            logger, _, _ = run_scenario(bin_dir, mock_port, "jsonl", path, body, n, c, workdir)
            samples["sse"].append(logger / n / SSE_EVENTS * 1e6)
            path, body, n, c = SCENARIOS["large"]
            logger, _, logged = run_scenario(bin_dir, mock_port, "jsonl", path, body, n, c, workdir)
            samples["large"].append(logged / 1e6 / logger if logger > 0 else float("inf"))
        figures = {k: statistics.median(v) for k, v in samples.items()}
        figures["rounds"] = samples
        return figures
    finally:
        mock.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def callgrind(bin_dir, count):
    """{scenario: (logger k instructions, loop k instructions)} per exchange, from callgrind's per-thread totals."""
    workdir = tempfile.mkdtemp(prefix="kgb-logger-cg-")
    kgb = os.path.join(workdir, "kgb")
    subprocess.run(["objcopy", "--strip-debug", os.path.join(bin_dir, "kgb"), kgb], check=True)
    mock_port = instructions.free_port()
    mock = subprocess.Popen([os.path.join(bin_dir, "kgb-mock-upstream"), "--listen", f"127.0.0.1:{mock_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def totals(scenario, n, log):
        out = os.path.join(workdir, f"cg-{scenario}-{n}-{log}.out")
        port = instructions.free_port()
        log_arg = "none" if log == "none" else f"jsonl:{os.path.join(workdir, 'cg.jsonl')}"
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
                                 kgb, "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{mock_port}",
                                 "--log", log_arg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            instructions.wait_listening(port)
            target, body = instructions.SCENARIOS[scenario]
            instructions.drive(port, target, body, n)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(300)
        result = {}
        for name, suffix in (("loop", "-01"), ("logger", "-02")):
            path = out + suffix
            if not os.path.exists(path):
                result[name] = 0
                continue
            with open(path) as f:
                for line in f:
                    if line.startswith("totals:") or line.startswith("summary:"):
                        result[name] = int(line.split()[1])
                        break
        return result

    try:
        instructions.wait_listening(mock_port)
        figures = {}
        for scenario in ("json", "sse"):
            one, many = totals(scenario, 1, "jsonl"), totals(scenario, count + 1, "jsonl")
            off_one, off_many = totals(scenario, 1, "none"), totals(scenario, count + 1, "none")
            figures[scenario] = ((many["logger"] - one["logger"]) / count / 1000,
                                 (many["loop"] - one["loop"]) / count / 1000,
                                 (off_many["loop"] - off_one["loop"]) / count / 1000)
        return figures
    finally:
        mock.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("--compare", action="append", default=[], metavar="LABEL=DIR")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("-n", type=int, default=2000, help="exchanges per callgrind run")
    parser.add_argument("--results")
    args = parser.parse_args()
    builds = [pair.split("=", 1) for pair in args.compare] + [["this build", args.bin]]
    rows = []
    for label, bin_dir in builds:
        f = measure(bin_dir, args.rounds)
        cg = callgrind(bin_dir, args.n) if args.callgrind else None
        rows.append((label, f, cg))
        print(f"{label}: logger {f['json']:.2f} µs/JSON exchange, {f['sse']:.3f} µs/SSE event, {f['large']:.0f} MB/s; "
              f"loop {f['loop_on']:.2f} µs/exchange logging, {f['loop_off']:.2f} with --log none "
              f"(+{f['loop_on'] - f['loop_off']:.2f}); loop write syscalls per exchange {f['writes_on']:.2f} logging, "
              f"{f['writes_off']:.2f} with --log none; rounds {f['rounds']}")
        if cg:
            print(f"  callgrind k instructions per exchange (logger, loop logging, loop --log none): "
                  f"JSON {cg['json']}, SSE stream {cg['sse']}")
        sys.stdout.flush()
    if args.results:
        lines = ["## Logger thread", "",
                 f"`python3 bench/logger.py --rounds {args.rounds}" + (" --callgrind" if args.callgrind else "")
                 + "".join(f" --compare '{p}'" for p in args.compare) + "`: kgb pinned to CPU 1, hey and the mock on "
                 "CPU 0; CPU is utime+stime of the `kgb-logger` thread (and of the loop thread) from /proc/PID/task/TID (schedstat's nanoseconds where the kernel has them, else stat's 10 ms ticks), "
                 "over 40,000 small JSON exchanges (hey -c 50), 8,000 SSE streams of 26 events and 600 JSON answers of "
                 "~190 KB, after a 200-request warm-up; medians of the rounds. 'loop extra' is the loop thread's CPU "
                 "per small JSON exchange with `--log jsonl:` less with `--log none` (timings: ±2 µs between runs, the logger sharing "
                 "the loop's core); the loop's write-family system calls per exchange (/proc/PID/task/PID/io syscw) show the "
                 "doorbell's eventfd writes. "
                 "Targets: ≤ 3 µs per small JSON exchange, ≤ 0.5 µs per SSE event, ≥ 500 MB/s, loop extra ≤ 1 µs.", "",
                 "| build | logger µs / JSON exchange | logger µs / SSE event | logger MB/s (190 KB answers) "
                 "| loop µs / JSON exchange, logging | loop, `--log none` | loop extra | loop write syscalls / exchange, logging "
                 "| same, `--log none` |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for label, f, _ in rows:
            lines.append(f"| {label} | {f['json']:.2f} | {f['sse']:.3f} | {f['large']:.0f} | {f['loop_on']:.2f} "
                         f"| {f['loop_off']:.2f} | {f['loop_on'] - f['loop_off']:+.2f} | {f['writes_on']:.2f} | {f['writes_off']:.2f} |")
        if any(cg for _, _, cg in rows):
            lines += ["", f"User-space instructions per exchange (callgrind, `--separate-threads=yes`, one keep-alive "
                      f"connection, (run of {args.n}+1 - run of 1) / {args.n}):", "",
                      "| build | logger, JSON | logger, SSE stream (26 events) | loop, JSON, logging | loop, JSON, `--log none` "
                      "| loop, SSE, logging | loop, SSE, `--log none` |", "|---|---:|---:|---:|---:|---:|---:|"]
            for label, _, cg in rows:
                if cg:
                    lines.append(f"| {label} | {cg['json'][0]:.1f} k | {cg['sse'][0]:.1f} k | {cg['json'][1]:.1f} k "
                                 f"| {cg['json'][2]:.1f} k | {cg['sse'][1]:.1f} k | {cg['sse'][2]:.1f} k |")
        import section
        section.put(args.results, "## Logger thread", "\n".join(lines))


if __name__ == "__main__":
    main()
