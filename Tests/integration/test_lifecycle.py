"""Resources and lifecycle: bounded memory under a slow reader, nothing leaked after many aborts, and a
graceful drain on SIGTERM."""
import json
import signal
import socket
import struct
import threading
import subprocess
import time

import pytest

from conftest import BIN, SANITIZED, free_port, read_records
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


def slow_read(port, n, rate, rcvbuf=4096):
    """Reads GET /bytes?n=N on a keep-alive connection at `rate` bytes/s; returns (bytes received, bytes expected)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(30)
    sock.sendall(f"GET /bytes?n={n} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    received, want, started, head = 0, None, time.monotonic(), b""
    try:
        while want is None or received < want:
            piece = sock.recv(65536)
            if not piece:
                break
            received += len(piece)
            if want is None:
                head += piece
                if b"\r\n\r\n" in head:
                    want = head.index(b"\r\n\r\n") + 4 + n
            time.sleep(max(0.0, received / rate - (time.monotonic() - started)))
    finally:
        sock.close()
    return received, want


# Sizes and rates past what the kernel's socket buffers absorb, so kgb still holds part of the answer when the
# timer fires (the figures that showed each bug on the previous code).
@pytest.mark.parametrize("timeout_flag,size,rate", [("--idle-timeout", 3_000_000, 400_000),
                                                    ("--upstream-timeout", 3_500_000, 600_000)])
def test_a_slow_reader_gets_the_whole_answer_whatever_the_timeouts(mock, kgb_factory, timeout_flag, size, rate):
    """Found by the soak: a keep-alive client still reading the end of its answer was closed by the idle timeout
    (its record said complete), and an upstream that kgb itself held back for a slow client was timed out. A client
    that keeps reading is not idle, and an upstream kgb paused is not silent."""
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", timeout_flag, "1", "--log", "none")
    received, want = slow_read(gateway.port, size, rate)
    assert received == want, f"cut after {received} of {want} bytes"


def test_clients_resetting_mid_stream_never_crash_kgb(mock, kgb_factory):
    """Found by the soak: a write failing inside a flush (the client reset the connection) ended the exchange in
    the middle of writing a body fragment, and kgb trapped. Failures now arrive on a later loop turn."""
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    body = json.dumps({"model": "m", "max_tokens": 5, "stream": True, "messages": []})
    per_client, clients = 100, 4

    def abort_repeatedly():
        for _ in range(per_client):
            sock = socket.create_connection(("127.0.0.1", gateway.port))
            sock.sendall(request(gateway.port, "POST", "/v1/messages?events=3000", [("Content-Type", "application/json")], body))
            sock.recv(1024)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
            sock.close()

    threads = [threading.Thread(target=abort_repeatedly) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gateway.proc.poll() is None, "kgb is still running"
    records = read_records(gateway.log_path, per_client * clients, timeout=10)
    assert len(records) == per_client * clients
    # Aborted, or already complete when the reset came (the whole answer was in the kernel's hands).
    assert {r["outcome"] for r in records} <= {"client_aborted", "complete"}


def test_a_client_that_stops_reading_is_cut_loose(mock, kgb_factory):
    """A client that takes nothing of its answer while kgb holds the upstream back for it is treated as gone after
    two upstream timeouts (as nginx's send_timeout does), so it cannot hold a connection and its buffers forever."""
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--upstream-timeout", "1")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", gateway.port))
    try:
        sock.sendall(request(gateway.port, "GET", f"/bytes?n={100 << 20}"))
        started = time.monotonic()
        [record] = read_records(gateway.log_path, 1, timeout=10)
        assert time.monotonic() - started < 6
        assert record["outcome"] == "client_aborted"
        assert "read nothing" in record["error"]
    finally:
        sock.close()
