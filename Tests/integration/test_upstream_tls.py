"""HTTPS upstreams: TLS driven by the event loop, certificates verified by default, sessions resumed, and every
handshake failure a 502 that says why, with the gateway still serving."""
import json
import shutil
import socket
import subprocess
import threading
import time

import pytest

from conftest import free_port, read_records, start_mock, wait_listening
from httpraw import exchange

STREAM = json.dumps({"model": "claude-tls-test", "max_tokens": 9, "stream": True, "messages": []})


def error_message(response):
    return json.loads(response.body)["error"]["message"]


def test_requests_and_streams_reach_an_https_upstream(tls_mock, certificates, mock, kgb_factory):
    gateway = kgb_factory(f"https://localhost:{tls_mock.port}", "--upstream-ca", certificates["ca"])
    echoed = exchange(gateway.port, "GET", "/echo")
    assert echoed.status == 200
    assert ["Host", f"localhost:{tls_mock.port}"] in json.loads(echoed.body)["headers"]
    # SNI names the host; ALPN settles on HTTP/1.1.
    assert json.loads(echoed.body)["tls"] == {"server_name": "localhost", "alpn": "http/1.1"}
    streamed = exchange(gateway.port, "POST", "/v1/messages?events=30", [("Content-Type", "application/json")], STREAM)
    assert streamed.status == 200 and streamed.body.rstrip().endswith(b'data: {"type":"message_stop"}')
    # A large body crosses many TLS records and reads: byte for byte what the plain mock sends.
    big = exchange(gateway.port, "GET", "/bytes?n=5000000&chunked=1&chunk=70000")
    direct = exchange(mock.port, "GET", "/bytes?n=5000000&chunked=1&chunk=70000")
    assert big.status == 200 and len(big.body) == 5_000_000 and big.body == direct.body
    # A request body goes out through TLS too.
    upload = exchange(gateway.port, "POST", "/echo", [("Content-Type", "application/octet-stream")], b"x" * 3_000_000)
    assert json.loads(upload.body)["body_bytes"] == 3_000_000


def test_an_ip_address_upstream_is_verified_against_the_certificates_ip(tls_mock, certificates, kgb_factory):
    gateway = kgb_factory(f"https://127.0.0.1:{tls_mock.port}", "--upstream-ca", certificates["ca"])
    echoed = exchange(gateway.port, "GET", "/echo")
    assert echoed.status == 200
    assert json.loads(echoed.body)["tls"] == {"server_name": None, "alpn": "http/1.1"}  # no SNI for an address


def test_handshake_time_is_logged_and_sessions_are_resumed(tls_mock, certificates, kgb_factory):
    # No pooling: every request opens a new connection, so each one after the first can resume a session.
    gateway = kgb_factory(f"https://localhost:{tls_mock.port}", "--upstream-ca", certificates["ca"], "--pool-max-idle", "0")
    for _ in range(3):
        assert exchange(gateway.port, "GET", "/status/200").status == 200
    records = read_records(gateway.log_path, 3)
    assert len(records) == 3
    assert all(r["timing"]["upstream_tls_ms"] > 0 for r in records)
    assert records[0]["timing"]["upstream_tls_resumed"] is False
    assert records[1]["timing"]["upstream_tls_resumed"] is True and records[2]["timing"]["upstream_tls_resumed"] is True


def test_a_pooled_connection_records_no_handshake(tls_mock, certificates, kgb_factory):
    gateway = kgb_factory(f"https://localhost:{tls_mock.port}", "--upstream-ca", certificates["ca"])
    for _ in range(2):
        assert exchange(gateway.port, "GET", "/status/200").status == 200
    first, second = read_records(gateway.log_path, 2)
    assert first["timing"]["upstream_tls_ms"] > 0
    assert second["timing"]["upstream_tls_ms"] is None and second["timing"]["upstream_tls_resumed"] is None


@pytest.mark.parametrize("certificate,reason", [
    ("wrong-host", "hostname mismatch"),
    ("untrusted", "certificate verify failed"),
    ("expired", "certificate has expired"),
])
def test_a_bad_certificate_is_a_502_that_says_why(certificates, kgb_factory, certificate, reason):
    cert, key = certificates[certificate]
    upstream = start_mock("127.0.0.1", "--tls-cert", cert, "--tls-key", key)
    try:
        gateway = kgb_factory(f"https://localhost:{upstream.port}", "--upstream-ca", certificates["ca"])
        response = exchange(gateway.port, "GET", "/status/200")
        assert response.status == 502
        assert reason in error_message(response) and "TLS handshake" in error_message(response)
        assert read_records(gateway.log_path, 1)[0]["outcome"] == "upstream_error"
    finally:
        upstream.stop()


def test_the_system_store_alone_does_not_trust_a_private_ca(tls_mock, kgb_factory):
    gateway = kgb_factory(f"https://localhost:{tls_mock.port}")
    response = exchange(gateway.port, "GET", "/status/200")
    assert response.status == 502 and "certificate verify failed" in error_message(response)


class SilentOrClosingServer:
    """Accepts TCP connections and either closes each after its first read (mid-handshake) or never answers."""

    def __init__(self, close_after_hello):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.close_after_hello = close_after_hello
        self.held = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.close_after_hello:
                conn.recv(65536)
                conn.close()
            else:
                self.held.append(conn)

    def close(self):
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("close_after_hello,reason", [
    (True, "closed the connection during the TLS handshake"),
    (False, "did not finish within"),
])
def test_a_failed_handshake_is_a_502_and_the_gateway_keeps_serving(tls_mock, certificates, kgb_factory,
                                                                   close_after_hello, reason):
    broken = SilentOrClosingServer(close_after_hello)
    try:
        gateway = kgb_factory(f"https://localhost:{broken.port}", "--upstream-ca", certificates["ca"],
                              "--connect-timeout", "0.5",
                              "--route", f"/good/=https://localhost:{tls_mock.port}/")
        started = time.monotonic()
        response = exchange(gateway.port, "GET", "/status/200")
        assert response.status == 502 and reason in error_message(response)
        assert time.monotonic() - started < 3
        assert exchange(gateway.port, "GET", "/good/status/200").status == 200
    finally:
        broken.close()


def test_a_tls_alert_from_the_upstream_is_a_502_that_names_it(certificates, kgb_factory):
    # `openssl s_server -Verify 1` demands a client certificate kgb does not have and answers with an alert.
    cert, key = certificates["good"]
    port = free_port()
    server = subprocess.Popen([shutil.which("openssl"), "s_server", "-accept", f"127.0.0.1:{port}", "-cert", cert,
                               "-key", key, "-Verify", "1", "-www", "-quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc=server)
        gateway = kgb_factory(f"https://localhost:{port}", "--upstream-ca", certificates["ca"])
        response = exchange(gateway.port, "GET", "/")
        assert response.status == 502
        assert f"TLS with upstream localhost:{port} failed" in error_message(response)
        assert "alert certificate required" in error_message(response)
    finally:
        server.terminate()
        server.wait(5)


def test_a_close_delimited_answer_over_tls_ends_cleanly(tls_mock, certificates, mock, kgb_factory):
    """The upstream ends its body with close_notify: the client still gets every byte and the chunked terminator
    (the end used to wait unsent until the connection timed out)."""
    gateway = kgb_factory(f"https://localhost:{tls_mock.port}", "--upstream-ca", certificates["ca"], "--idle-timeout", "30")
    started = time.monotonic()
    streamed = exchange(gateway.port, "POST", "/v1/messages?events=5&fault=close-delimited",
                        [("Content-Type", "application/json")], STREAM)
    assert time.monotonic() - started < 5
    assert streamed.status == 200 and streamed.framing == "chunked"
    assert streamed.body.rstrip().endswith(b'data: {"type":"message_stop"}')
