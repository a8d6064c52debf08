"""Fixtures that start the real binaries (kgb, kgb-mock-upstream) on ephemeral 127.0.0.1 ports, wait for
them to listen, and always stop them."""
import atexit
import json
import os
import re
import tempfile
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("KGB_BIN_DIR", os.path.join(ROOT, ".build", "release"))
# Set by make test-asan / test-tsan / integration-tests-debug: sanitizer builds (whose allocators keep freed memory in
# quarantine) and the unoptimised debug build, whose resident-memory figures say nothing about the release build's
# (file descriptors still do).
SANITIZED = os.environ.get("KGB_SANITIZED") == "1"


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


PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY")


def clean_environment(extra=None):
    """The test process's environment without proxy settings (a CI machine's proxy must not capture the
    tests' 127.0.0.1 traffic), plus `extra`."""
    env = {name: value for name, value in os.environ.items() if name not in PROXY_VARIABLES}
    return {**env, **(extra or {})}


class Process:
    def __init__(self, args, port, host="127.0.0.1", env=None):
        self.port = port
        self.host = host
        self.args = args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=clean_environment(env))
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


def start_mock(host="127.0.0.1", *extra):
    port = free_port()
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return Process([os.path.join(BIN, "kgb-mock-upstream"), "--listen", listen, *extra], port, host)


# Every default log of the session under one directory, removed when the session ends (a run left ~12,000 behind).
LOG_ROOT = tempfile.mkdtemp(prefix="kgb-test-logs-")
atexit.register(shutil.rmtree, LOG_ROOT, ignore_errors=True)


def start_kgb(upstream, *extra, port=None, env=None):
    """Starts kgb (`upstream` None: routes only); unless the test names its own --log, records go to a fresh
    JSONL file (process.log_path)."""
    port = port or free_port()
    log_path = None
    if "--log" not in extra:
        log_path = os.path.join(tempfile.mkdtemp(prefix="log-", dir=LOG_ROOT), "exchanges.jsonl")
        extra = (*extra, "--log", f"jsonl:{log_path}")
    args = [os.path.join(BIN, "kgb"), "--listen", f"127.0.0.1:{port}", *(["--upstream", upstream] if upstream else []), *extra]
    process = Process(args, port, env=env)
    process.log_path = log_path
    return process


def read_records(path, count=None, timeout=5.0):
    """The JSON records in a JSONL file, waiting up to `timeout` for at least `count` of them."""
    deadline = time.monotonic() + timeout
    while True:
        records = []
        if os.path.exists(path):
            with open(path) as f:
                # One read, then whole lines only: a line still being written has no newline yet (iterating the
                # file instead could return its start, then, after the writer went on, its end as a "line").
                records = [json.loads(line) for line in f.read().split("\n")[:-1]]
        if count is None or len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.02)


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


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of the session's own (pg.py), removed at the end."""
    import pg
    if not pg.available():
        pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql (make deps installs postgresql)")
    server = pg.PostgresServer(free_port())
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def certificates(tmp_path_factory):
    """A throw-away CA and server certificates (see certs.py)."""
    import certs
    return certs.make(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture(scope="session")
def tls_mock(certificates):
    """The mock upstream serving TLS with a certificate for localhost and 127.0.0.1 from the test CA."""
    cert, key = certificates["good"]
    process = start_mock("127.0.0.1", "--tls-cert", cert, "--tls-key", key)
    yield process
    process.stop()


# The admin endpoint (--admin), for tests that read /healthz, /readyz and /metrics.

def admin_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def metrics(port):
    """{(name, frozenset(labels)): value} from the Prometheus text."""
    status, text = admin_get(port, "/metrics")
    assert status == 200
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = re.fullmatch(r'([a-z_]+)(?:\{(.*)\})? (\S+)', line)
        assert match, line
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)
