"""Resources and lifecycle: bounded memory under a slow reader, nothing leaked after many aborts, and a
graceful drain on SIGTERM."""
import json
import signal
import socket
import subprocess
import time

import pytest

from conftest import BIN, SANITIZED, free_port
from httpraw import Conn, request

STREAM = json.dumps({"model": "m", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]})


def test_slow_reader_does_not_grow_gateway_memory(mock, kgb_factory):
    """A client reading a 200 MB response at about 1 MB/s: kgb stops reading the upstream above its write
    watermark instead of buffering. Checked over 8 seconds of reading (bounded test time). The log is off:
    its copy of the body (up to --log-body-max) is the logger's memory, not the stream's."""
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", "none")
    sock = socket.create_connection(("127.0.0.1", gateway.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    try:
        sock.sendall(request(gateway.port, "GET", f"/bytes?n={200 << 20}"))
        baseline = gateway.rss_kib()
        received = 0
        started = time.monotonic()
        while time.monotonic() - started < 8:
            received += len(sock.recv(128 * 1024))
            # Pace to ~1 MB/s.
            ahead = received / (1 << 20) - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        growth = gateway.rss_kib() - baseline
        assert 4 << 20 < received < 20 << 20
        assert growth < 8 * 1024, f"gateway RSS grew by {growth} KiB while a slow reader read {received} bytes"
    finally:
        sock.close()


def test_a_thousand_client_aborts_leak_nothing(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    # Warm up (pool, buffers), then take the baseline.
    for _ in range(20):
        conn = Conn(gateway.port)
        conn.send(request(gateway.port, "POST", "/v1/messages?events=50&interval_ms=50", body=STREAM))
        conn.read_head()
        conn.close()
    time.sleep(0.5)
    fds, rss = gateway.fd_count(), gateway.rss_kib()
    for _ in range(1000):
        conn = Conn(gateway.port)
        conn.send(request(gateway.port, "POST", "/v1/messages?events=50&interval_ms=50", body=STREAM))
        conn.read_head()
        conn.close()
    deadline = time.monotonic() + 5
    while gateway.fd_count() > fds and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gateway.fd_count() <= fds, "file descriptors leaked"
    if not SANITIZED:
        assert gateway.rss_kib() - rss < 4 * 1024, "memory did not return to baseline"


def test_sigterm_drains_in_flight_streams_then_exits_0(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "POST", "/v1/messages?events=8&interval_ms=100", body=STREAM))
        head = conn.read_head()
        gateway.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        # No new connections once draining.
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", gateway.port), timeout=1).close()
        # The in-flight stream finishes completely (a cut one raises Incomplete).
        response = conn.read_body(head, "POST")
        assert response.framing == "chunked"
        assert b"message_stop" in response.body
        assert gateway.proc.wait(5) == 0
    finally:
        conn.close()


def test_drain_timeout_bounds_the_wait(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--drain-timeout", "0.5")
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "POST", "/v1/messages?fault=stall&fault_after=1", body=STREAM))
        conn.read_head()
        started = time.monotonic()
        gateway.proc.send_signal(signal.SIGTERM)
        assert gateway.proc.wait(5) == 0
        assert time.monotonic() - started < 3
    finally:
        conn.close()
