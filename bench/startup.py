"""Start-up time and idle memory of one system, for bench/run.sh (standard library only).

Starts the command RUNS times, each time timing from exec until the first request through it is answered 200
(a small JSON POST to /v1/messages, retried every millisecond), then leaves it idle for half a second and
reads the memory of its process tree (the process and its descendants, e.g. nginx's worker): RSS summed, and
PSS summed (shared pages split between the processes that map them). Then SIGTERM, and wait for it to exit.
Prints one line per run: name, run, start-up ms, RSS KiB, PSS KiB.

Usage: python3 startup.py NAME PORT RUNS -- COMMAND...
"""
import http.client
import os
import signal
import subprocess
import sys
import time

BODY = b'{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'


def answered(port):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("POST", "/v1/messages", BODY, {"Content-Type": "application/json"})
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


def tree(pid):
    """The process and all its descendants, by the ppid field of /proc/*/stat."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = open(f"/proc/{entry}/stat").read()
                parents.setdefault(int(text.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError):
                pass
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def memory_kb(pids):
    rss = pss = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def main():
    name, port, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    command = sys.argv[sys.argv.index("--") + 1:]
    for run in range(1, runs + 1):
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not answered(port):
                if process.poll() is not None:
                    sys.exit(f"{name} exited with {process.returncode} before answering")
                if time.monotonic() - started > 20:
                    sys.exit(f"{name} did not answer within 20 s")
                time.sleep(0.001)
            ready_ms = (time.monotonic() - started) * 1000
            time.sleep(0.5)
            rss, pss = memory_kb(tree(process.pid))
            print(f"{name}\t{run}\t{ready_ms:.1f}\t{rss}\t{pss}", flush=True)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                for pid in tree(process.pid):
                    os.kill(pid, signal.SIGKILL)
                process.wait()


if __name__ == "__main__":
    main()
