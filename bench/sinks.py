"""How fast records leave the machine, and what a remote sink costs the gateway. Two measures, in one run:

1. delivery rate: N exchanges are logged while the store is unreachable (they wait in the spool); then the store
   comes up and the time until it holds all N gives records per second into it, for an HTTP collector (the tests'
   Python collector) and for PostgreSQL (a temporary server, as the tests start one);
2. kgb's CPU time per request under load (hey, 50 connections, R requests; kgb pinned to CPU 1, hey, the mock and
   the store on CPU 0) with `--log jsonl:...` and with `--log postgres://...` (and the collector), rounds
   alternating; medians. All of kgb's threads count: loop, logger and delivery.

    python3 bench/sinks.py [--bin .build/release] [--records 20000] [--requests 20000] [--rounds 5] [--results bench/RESULTS.md]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "Tests", "integration"))
import instructions  # noqa: E402
import load  # noqa: E402
from collector import Collector  # noqa: E402
import pg  # noqa: E402



start_kgb, stop, hey, cpu_seconds = load.start_kgb, load.stop, load.hey, load.cpu_seconds


def collector_rate(kgb, mock_port, records, workdir):
    port = instructions.free_port()
    spool = tempfile.mkdtemp(prefix="kgb-bench-spool-", dir=workdir)
    proc, kgb_port = start_kgb(kgb, mock_port, ["--log", f"http://127.0.0.1:{port}/ingest", "--spool", spool,
                                                "--log-batch-bytes", str(4 << 20)])
    try:
        hey(kgb_port, records, workdir)
        time.sleep(1)
        with Collector(port=port) as collector:
            began = time.monotonic()
            while len(collector.ids()) < records and time.monotonic() - began < 300:
                time.sleep(0.01)
            got = len(collector.ids())
            # From the first batch taken to the last (the wait for the delivery thread's next retry is not the rate).
            taken = [(at, count) for at, status, _, count, _ in collector.requests if status == 200]
            took = taken[-1][0] - taken[0][0]
            records -= taken[0][1]
    finally:
        stop(proc)
    if got < records:
        raise RuntimeError(f"the collector got {got} of {records}")
    return records / max(took, 1e-3)


def postgres_rate(kgb, mock_port, server, records, workdir):
    url = server.create_database("kgb_bench_rate")
    spool = tempfile.mkdtemp(prefix="kgb-bench-spool-", dir=workdir)
    server.stop()
    try:
        proc, kgb_port = start_kgb(kgb, mock_port, ["--log", url, "--spool", spool, "--log-batch-bytes", str(4 << 20)])
        hey(kgb_port, records, workdir)
        time.sleep(1)
    finally:
        server.start()
    try:
        # From the first rows to all of them (the wait for the delivery thread's next retry is not the rate).
        first = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                count = int(server.psql("SELECT count(*) FROM kgb_exchanges", "kgb_bench_rate")[0][0])
            except Exception:  # the table is created with the first batch
                count = 0
            now = time.monotonic()
            if count > 0 and first is None:
                first = (now, count)
            if count >= records:
                break
            time.sleep(0.02)
    finally:
        stop(proc)
    return (records - first[1]) / max(now - first[0], 1e-3)


def cpu_per_request(kgb, mock_port, log_args, requests, workdir):
    proc, port = start_kgb(kgb, mock_port, log_args)
    try:
        hey(port, 2000, workdir)
        time.sleep(1.5)
        before = cpu_seconds(proc.pid)
        hey(port, requests, workdir)
        time.sleep(1.5)  # the logger and delivery threads finish this run's records
        return (cpu_seconds(proc.pid) - before) / requests * 1e6
    finally:
        stop(proc)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--results")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="kgb-sinks-bench-")
    kgb = os.path.join(workdir, "kgb")
    subprocess.run(["cp", os.path.join(args.bin, "kgb"), kgb], check=True)
    mock_port = instructions.free_port()
    mock = subprocess.Popen(["taskset", "-c", "0", os.path.join(args.bin, "kgb-mock-upstream"), "--listen",
                             f"127.0.0.1:{mock_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    collector = Collector()
    server = pg.PostgresServer(instructions.free_port())
    try:
        instructions.wait_listening(mock_port)
        rate = collector_rate(kgb, mock_port, args.records, workdir)
        print(f"collector: {rate:,.0f} records/s", flush=True)
        pg_rate = postgres_rate(kgb, mock_port, server, args.records, workdir)
        print(f"postgres: {pg_rate:,.0f} records/s", flush=True)
        pg_url = server.create_database("kgb_bench_cpu")
        configs = {
            "jsonl": lambda: ["--log", f"jsonl:{tempfile.mkdtemp(dir=workdir)}/x.jsonl"],
            "postgres": lambda: ["--log", pg_url, "--spool", tempfile.mkdtemp(dir=workdir)],
            "collector": lambda: ["--log", collector.url, "--spool", tempfile.mkdtemp(dir=workdir)],
        }
        samples = {name: [] for name in configs}
        for round_index in range(args.rounds):
            for name, log_args in configs.items():
                samples[name].append(cpu_per_request(kgb, mock_port, log_args(), args.requests, workdir))
            print(f"round {round_index + 1}: " + ", ".join(f"{n} {v[-1]:.1f} µs" for n, v in samples.items()), flush=True)
        medians = {name: statistics.median(values) for name, values in samples.items()}
    finally:
        collector.close()
        server.destroy()
        mock.kill()

    lines = ["## Remote sinks: delivery rate and CPU per request", "",
             f"`python3 bench/sinks.py --records {args.records} --requests {args.requests} --rounds {args.rounds}`. "
             f"Delivery rate: {args.records} small JSON exchanges logged while the store is down (they wait in the "
             "spool), then the store comes up; records per second until it holds them all. CPU: all of kgb's "
             f"threads (loop, logger, delivery) per request over {args.requests} requests from hey at 50 "
             f"connections, kgb pinned to CPU 1, medians of {args.rounds} alternating rounds.", "",
             "| sink | delivery rate | CPU per request | against JSONL |", "|---|---:|---:|---:|",
             f"| JSONL file | | {medians['jsonl']:.1f} µs | 1.00 |",
             f"| PostgreSQL 15 (same machine, fsync off) | {pg_rate:,.0f} records/s | {medians['postgres']:.1f} µs | "
             f"{medians['postgres'] / medians['jsonl']:.2f} |",
             f"| HTTP collector (Python, gzip NDJSON) | {rate:,.0f} records/s | {medians['collector']:.1f} µs | "
             f"{medians['collector'] / medians['jsonl']:.2f} |"]
    print("\n".join(lines))
    if args.results:
        import section
        section.put(args.results, "## Remote sinks", "\n".join(lines))


if __name__ == "__main__":
    main()
