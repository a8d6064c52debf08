"""What the CPU-per-request scripts (bench/agents.py, bench/sinks.py) share: a kgb pinned to CPU 1, hey posting the
small JSON request from CPU 0 (every answer must be a 200), and a process's CPU time from /proc."""
import os
import re
import signal
import subprocess

import instructions

BODY = instructions.JSON_BODY


def cpu_seconds(pid):
    """utime + stime of a process, all threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_kgb(kgb, mock_port, args, cpu="1"):
    port = instructions.free_port()
    proc = subprocess.Popen(["taskset", "-c", cpu, kgb, "--listen", f"127.0.0.1:{port}",
                             "--upstream", f"http://127.0.0.1:{mock_port}", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    instructions.wait_listening(port)
    return proc, port


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)


def hey(port, requests, workdir, headers=()):
    """`requests` POSTs of BODY to /v1/messages at 50 connections; raises unless every answer is a 200."""
    body = os.path.join(workdir, "body.json")
    with open(body, "wb") as f:
        f.write(BODY)
    extra = [arg for header in headers for arg in ("-H", header)]
    result = subprocess.run(["taskset", "-c", "0", "hey", "-m", "POST", "-T", "application/json", "-D", body, *extra,
                             "-c", "50", "-n", str(requests), f"http://127.0.0.1:{port}/v1/messages"],
                            check=True, capture_output=True, text=True)
    statuses = re.findall(r"^\s+\[(\d{3})\]\s+(\d+) responses", result.stdout, re.M)
    if statuses != [("200", str(requests))]:
        raise RuntimeError(f"not every request got 200: {statuses}")
