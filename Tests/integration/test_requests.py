"""Inbound HTTP/1.x as a client sends it: keep-alive, pipelining, HTTP/1.0, request bodies streamed upstream,
Expect: 100-continue, and the head rewriting an intermediary must do."""
import json
import os
import socket
import threading
import time
import zlib

from conftest import start_kgb, start_mock
from httpraw import Conn, exchange, request
from scripted_upstream import ScriptedUpstream, read_request_head


def echo(response):
    assert response.status == 200, response.body
    return json.loads(response.body)


def test_keep_alive_and_pipelined_requests_answer_in_order(gateway):
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "GET", "/bytes?n=5") + request(gateway.port, "POST", "/echo", body=b"abc")
                  + request(gateway.port, "GET", "/chunks?sizes=3,4") + request(gateway.port, "GET", "/status/201"))
        first = conn.read_response()
        second = conn.read_response("POST")
        third = conn.read_response()
        fourth = conn.read_response()
        assert first.body == bytes(range(5))
        assert echo(second)["body_bytes"] == 3
        assert third.chunks == [3, 4]
        assert fourth.status == 201
        # Still open for more.
        conn.send(request(gateway.port, "GET", "/status/200"))
        assert conn.read_response().status == 200
    finally:
        conn.close()


def test_http10_client_gets_no_chunked_coding(gateway):
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "GET", "/chunks?sizes=10,20", version="1.0", host=None))
        response = conn.read_response()
        assert response.framing == "close", response.headers
        assert response.header("transfer-encoding") is None
        assert len(response.body) == 30
        assert conn.eof
    finally:
        conn.close()


def test_http10_keep_alive_with_content_length(gateway):
    conn = Conn(gateway.port)
    try:
        for _ in range(2):
            conn.send(request(gateway.port, "GET", "/bytes?n=7", [("Connection", "keep-alive")], version="1.0"))
            response = conn.read_response()
            assert response.body == bytes(range(7))
            assert (response.header("connection") or "").lower() == "keep-alive"
    finally:
        conn.close()


def test_large_content_length_body_streams_upstream(mock, kgb_factory):
    # The log is off: its copy of the body is the logger's memory, not the stream's.
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", "none")
    body = os.urandom(8 << 20)
    before = gateway.peak_rss_kib()
    conn = Conn(gateway.port, timeout=30)
    try:
        conn.send(request(gateway.port, "POST", "/echo", [("Content-Type", "application/octet-stream")], body))
        result = echo(conn.read_response("POST"))
    finally:
        conn.close()
    assert result["body_bytes"] == len(body)
    assert result["body_crc32"] == zlib.crc32(body)
    # 8 MiB went through; the gateway's peak memory must not have grown by anything like that.
    assert gateway.peak_rss_kib() - before < 4 * 1024


def test_chunked_request_body_is_forwarded(gateway):
    pieces = [b"a" * 1, b"b" * 1000, os.urandom(70000), b"z" * 17]
    wire = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "POST", "/echo", [("Transfer-Encoding", "chunked")]))
        for i in range(0, len(wire), 7001):  # arrive in arbitrary pieces
            conn.send(wire[i:i + 7001])
        result = echo(conn.read_response("POST"))
    finally:
        conn.close()
    body = b"".join(pieces)
    assert result["body_bytes"] == len(body)
    assert result["body_crc32"] == zlib.crc32(body)


def test_expect_100_continue(gateway):
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "POST", "/echo", [("Expect", "100-continue"), ("Content-Length", "5")]))
        interim = conn.read_head()
        assert interim.status == 100
        conn.send(b"hello")
        result = echo(conn.read_response("POST"))
        assert result["body_bytes"] == 5
        names = [name.lower() for name, _ in result["headers"]]
        assert "expect" not in names, "the gateway answers Expect itself"
    finally:
        conn.close()


def test_head_is_rewritten_as_an_intermediary_must(gateway, mock):
    headers = [("Connection", "keep-alive, X-Hop-Only"), ("X-Hop-Only", "1"), ("Keep-Alive", "timeout=5"),
               ("TE", "trailers"), ("Upgrade", "websocket"), ("Proxy-Authorization", "Basic eDp5"),
               ("Proxy-Connection", "keep-alive"), ("X-Forwarded-For", "203.0.113.9"),
               ("X-Forwarded-Proto", "https"), ("X-Api-Key", "sk-test"), ("Anthropic-Version", "2023-06-01")]
    result = echo(exchange(gateway.port, "GET", "/echo?q=1", headers, host="kgb.example"))
    received = {name.lower(): value for name, value in result["headers"]}
    for gone in ("connection", "x-hop-only", "keep-alive", "te", "upgrade", "proxy-authorization", "proxy-connection"):
        assert gone not in received, gone
    assert received["host"] == f"127.0.0.1:{mock.port}"
    assert received["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert received["x-forwarded-proto"] == "http"
    assert received["x-api-key"] == "sk-test"
    assert received["anthropic-version"] == "2023-06-01"
    assert result["target"] == "/echo?q=1"
    assert result["version"] == "1.1"


def test_absolute_form_target_is_forwarded_as_a_path(gateway):
    result = echo(exchange(gateway.port, "GET", "http://kgb.example/echo?x=2"))
    assert result["target"] == "/echo?x=2"


def test_upstream_base_path_is_prefixed(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}/status")
    assert exchange(gateway.port, "GET", "/202").status == 202


def test_upstream_by_name_and_over_ipv6(kgb_factory):
    mock6 = start_mock("::1")
    try:
        by_address = kgb_factory(f"http://[::1]:{mock6.port}")
        assert exchange(by_address.port, "GET", "/bytes?n=3").body == bytes(range(3))
    finally:
        mock6.stop()
    mock4 = start_mock("127.0.0.1")
    try:
        # "localhost" goes through uv_getaddrinfo; if it resolves to ::1 first, the next address is tried.
        by_name = kgb_factory(f"http://localhost:{mock4.port}")
        assert exchange(by_name.port, "GET", "/bytes?n=3").body == bytes(range(3))
    finally:
        mock4.stop()


def test_pooled_connection_closed_by_upstream_is_not_reused(kgb_factory):
    """The upstream answers one request per connection with keep-alive, then closes it shortly after.
    The next request must get a fresh connection, not a 502 from the dead one."""
    from scripted_upstream import ScriptedUpstream, read_request_head

    def handler(conn, upstream):
        if read_request_head(conn) is None:
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        time.sleep(0.1)

    upstream = ScriptedUpstream(handler)
    try:
        gateway = kgb_factory(upstream.url)
        for _ in range(3):
            assert exchange(gateway.port, "GET", "/").body == b"ok"
            time.sleep(0.3)
        assert upstream.connections == 3
    finally:
        upstream.close()


def test_pooled_connection_is_reused(kgb_factory):
    from scripted_upstream import ScriptedUpstream, read_request_head

    def handler(conn, upstream):
        while read_request_head(conn) is not None:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    upstream = ScriptedUpstream(handler)
    try:
        gateway = kgb_factory(upstream.url)
        for _ in range(5):
            assert exchange(gateway.port, "GET", "/").body == b"ok"
        assert upstream.connections == 1
    finally:
        upstream.close()


def test_large_body_sent_while_the_upstream_is_still_connecting(mock, kgb_factory):
    """The body outruns name resolution and connect: kgb holds back at its watermark and must resume reading
    the client once the connection is up, even if the kernel then takes everything without queueing."""
    for _ in range(5):
        gateway = kgb_factory(f"http://localhost:{mock.port}", "--log", "none")
        body = os.urandom(2 << 20)
        conn = Conn(gateway.port, timeout=10)
        try:
            conn.send(request(gateway.port, "POST", "/echo", [("Content-Type", "application/octet-stream")], body))
            result = echo(conn.read_response("POST"))
        finally:
            conn.close()
        assert result["body_crc32"] == zlib.crc32(body)


def test_a_large_response_head_survives_a_pipelined_request(kgb_factory):
    """A response head over the gather limit is written borrowed; the next pipelined request's head must not
    overwrite it before it leaves (they shared a buffer)."""
    big = "x" * 3000

    def handler(conn, upstream):
        while read_request_head(conn) is not None:
            conn.sendall(f"HTTP/1.1 200 OK\r\nX-Big: {big}\r\nContent-Length: 2\r\n\r\nok".encode())

    upstream = ScriptedUpstream(handler)
    gateway = kgb_factory(upstream.url, "--route-header", "X-Injected-Secret=do-not-leak")
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "GET", "/a") + request(gateway.port, "GET", "/b"))
        for _ in range(2):
            response = conn.read_response()
            assert (response.status, response.header("x-big"), response.body) == (200, big, b"ok")
        assert b"do-not-leak" not in conn.buf
    finally:
        conn.close()
        upstream.close()
