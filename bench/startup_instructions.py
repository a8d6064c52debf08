"""Instructions a system runs from exec until it has answered its first request, under valgrind's callgrind (every
process and thread, children included: nginx's master and worker), for start-up comparisons that other builds on the
machine cannot blur the way they blur wall-clock times. The request is the one bench/startup.py sends; once it is
answered the system gets SIGTERM, so its shutdown is counted too (small beside start-up for each system here).

Usage: python3 startup_instructions.py PORT -- COMMAND...   (prints the total instruction count)
"""
import glob
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from startup import answered  # noqa: E402  (the same request bench/startup.py times)


def main():
    port = int(sys.argv[1])
    command = sys.argv[sys.argv.index("--") + 1:]
    directory = tempfile.mkdtemp(prefix="kgb-startup-cg-")
    process = subprocess.Popen(["valgrind", "--tool=callgrind", "--trace-children=yes",
                                f"--callgrind-out-file={directory}/cg.%p", *command],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    try:
        while not answered(port):
            if process.poll() is not None:
                sys.exit(f"exited with {process.returncode} before answering")
            if time.monotonic() - started > 60:
                sys.exit("no answer within 60 s")
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    time.sleep(0.5)  # children (nginx's worker) finish writing their profiles
    total = 0
    for path in glob.glob(f"{directory}/cg.*"):
        with open(path) as profile:
            for line in profile:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total += int(line.split()[1])
                    break
    print(total)


if __name__ == "__main__":
    main()
