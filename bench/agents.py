"""What agent keys and limits cost the gateway: kgb with 100 agents configured (every request authenticated and
admitted through max_concurrent and requests_per_minute; with a log, tokens_per_minute too) against kgb without
agents, on the same requests (each carries an x-api-key either way). Two measures, in one run:

1. user-space instructions per small JSON exchange on the loop thread (callgrind, as bench/instructions.py does it),
   `--log none`: repeatable to the instruction;
2. kgb's CPU time per request under load (hey, 50 connections, N requests; kgb pinned to CPU 1, hey and the mock to
   CPU 0), with `--log none` and with `--log jsonl:...`, the two configurations alternating for R rounds; medians.

    python3 bench/agents.py [--bin .build/release] [-n 2000] [--requests 20000] [--rounds 5] [--results bench/RESULTS.md]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import instructions  # noqa: E402
import load  # noqa: E402

AGENTS = 100
KEY = "sk-bench-agent-057"  # one of the hundred, in the middle of the table


def agents_file(directory, with_log):
    path = os.path.join(directory, "agents-logged.toml" if with_log else "agents.toml")
    with open(path, "w") as f:
        for index in range(AGENTS):
            f.write(f'[[agent]]\nname = "agent-{index:03d}"\nkey = "sk-bench-agent-{index:03d}"\n'
                    f"max_concurrent = 1000\nrequests_per_minute = 100000000\n")
            if with_log:
                f.write("tokens_per_minute = 1000000000\n")
            f.write("\n")
    return path


def load_cpu_per_request(kgb, mock_port, extra, requests, workdir):
    proc, port = load.start_kgb(kgb, mock_port, ["--route-header", "x-api-key=sk-real", *extra])
    try:
        load.hey(port, 2000, workdir, [f"x-api-key: {KEY}"])
        before = load.cpu_seconds(proc.pid)
        load.hey(port, requests, workdir, [f"x-api-key: {KEY}"])
        return (load.cpu_seconds(proc.pid) - before) / requests * 1e6
    finally:
        load.stop(proc)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--results")
    args = parser.parse_args()
    if not shutil.which("hey") or not shutil.which("valgrind"):
        sys.exit("bench/agents.py needs hey and valgrind (make bench installs them)")
    workdir = tempfile.mkdtemp(prefix="kgb-agents-bench-")
    kgb = os.path.join(workdir, "kgb")
    subprocess.run(["objcopy", "--strip-debug", os.path.join(args.bin, "kgb"), kgb], check=True)
    mock_port = instructions.free_port()
    mock = subprocess.Popen(["taskset", "-c", "0", os.path.join(args.bin, "kgb-mock-upstream"), "--listen",
                             f"127.0.0.1:{mock_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        instructions.wait_listening(mock_port)
        header = f"x-api-key: {KEY}\r\n"
        plain = agents_file(workdir, with_log=False)
        counted = {}
        for label, extra in [("none", ["--route-header", "x-api-key=sk-real"]),
                             ("100 agents", ["--route-header", "x-api-key=sk-real", "--agents", plain])]:
            one = instructions.loop_instructions(kgb, mock_port, "json", 1, workdir, extra, header)
            many = instructions.loop_instructions(kgb, mock_port, "json", args.n, workdir, extra, header)
            counted[label] = (many - one) / (args.n - 1) / 1000
            print(f"loop instructions per JSON exchange, {label}: {counted[label]:.1f} k", flush=True)

        log_dir = os.path.join(workdir, "logs")
        with_log_agents = agents_file(workdir, with_log=True)
        configs = {
            ("none", "--log none"): ["--log", "none"],
            ("100 agents", "--log none"): ["--log", "none", "--agents", plain],
            ("none", "--log jsonl"): ["--log", f"jsonl:{log_dir}/a.jsonl"],
            ("100 agents", "--log jsonl"): ["--log", f"jsonl:{log_dir}/b.jsonl", "--agents", with_log_agents],
        }
        samples = {key: [] for key in configs}
        for round_index in range(args.rounds):
            for key, extra in configs.items():
                samples[key].append(load_cpu_per_request(kgb, mock_port, extra, args.requests, workdir))
            print(f"round {round_index + 1}: " + ", ".join(f"{k[0]} {k[1]} {v[-1]:.2f} µs" for k, v in samples.items()),
                  flush=True)
        medians = {key: statistics.median(values) for key, values in samples.items()}
    finally:
        mock.kill()
        shutil.rmtree(workdir, ignore_errors=True)

    lines = ["## Agents: CPU per request with 100 agents against none", "",
             f"`python3 bench/agents.py -n {args.n} --requests {args.requests} --rounds {args.rounds}`: the same small "
             "JSON request (with an `x-api-key`) through kgb without agents and with 100 agents configured (each with "
             "`max_concurrent` and `requests_per_minute`; with the log also `tokens_per_minute`), the key being the "
             "57th agent's. Loop instructions from callgrind (`--log none`); CPU from `/proc/PID/stat` (all of kgb's "
             f"threads) over {args.requests} requests from hey at 50 connections, kgb pinned to CPU 1, medians of "
             f"{args.rounds} alternating rounds.", "",
             "| measure | no agents | 100 agents | ratio |", "|---|---:|---:|---:|",
             f"| loop instructions per JSON exchange (`--log none`) | {counted['none']:.1f} k | {counted['100 agents']:.1f} k "
             f"| {counted['100 agents'] / counted['none']:.3f} |"]
    for log in ["--log none", "--log jsonl"]:
        base, agents = medians[("none", log)], medians[("100 agents", log)]
        lines.append(f"| CPU per request, `{log}` | {base:.2f} µs | {agents:.2f} µs | {agents / base:.3f} |")
    print("\n".join(lines))
    if args.results:
        import section
        section.put(args.results, "## Agents: CPU per request", "\n".join(lines))


if __name__ == "__main__":
    main()
