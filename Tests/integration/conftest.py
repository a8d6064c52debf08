"""Fixtures that start the real binaries (kgb, kgb-mock-upstream) on ephemeral 127.0.0.1 ports, wait for
them to listen, and always stop them."""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("KGB_BIN_DIR", os.path.join(ROOT, ".build", "release"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, host="127.0.0.1", proc=None, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.01)
    raise TimeoutError(f"nothing listening on {host}:{port}")


class Process:
    def __init__(self, args, port, host="127.0.0.1", env=None):
        self.port = port
        self.host = host
        self.args = args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        wait_listening(port, host, self.proc)

    @property
    def pid(self):
        return self.proc.pid

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss_kib(self):
        return self._status_field("VmRSS")

    def peak_rss_kib(self):
        return self._status_field("VmHWM")

    def _status_field(self, name):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
        raise KeyError(name)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_mock(host="127.0.0.1"):
    port = free_port()
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return Process([os.path.join(BIN, "kgb-mock-upstream"), "--listen", listen], port, host)


def start_kgb(upstream, *extra, port=None, env=None):
    port = port or free_port()
    args = [os.path.join(BIN, "kgb"), "--listen", f"127.0.0.1:{port}", "--upstream", upstream, *extra]
    return Process(args, port, env=env)


@pytest.fixture(scope="session")
def mock():
    process = start_mock()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def gateway(mock):
    """One kgb in front of the shared mock, for tests that do not need special flags."""
    process = start_kgb(f"http://127.0.0.1:{mock.port}", "--upstream-timeout", "5")
    yield process
    process.stop()


@pytest.fixture
def kgb_factory():
    started = []

    def factory(upstream, *extra, **kwargs):
        process = start_kgb(upstream, *extra, **kwargs)
        started.append(process)
        return process

    yield factory
    for process in started:
        process.stop(signal.SIGKILL)
