"""Every failure has a defined result: an HTTP error in the API's shape before the response head, a cut
stream after it, the upstream cancelled when the client leaves, and bad requests never reaching upstream."""
import json
import socket
import threading
import time

import pytest

from conftest import free_port
from httpraw import Conn, Incomplete, exchange, request
from scripted_upstream import ScriptedUpstream, read_request_head

STREAM = json.dumps({"model": "m", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]})


def error_of(response):
    body = json.loads(response.body)
    assert body["type"] == "error"
    return body["error"]


def test_refused_upstream_is_a_502_within_a_second(kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    response = exchange(gateway.port, "POST", "/v1/messages", [("Content-Type", "application/json")], STREAM)
    assert time.monotonic() - started < 1.0
    assert response.status == 502
    error = error_of(response)
    assert error["type"] == "api_error"
    assert "refused" in error["message"]


def test_unresolvable_upstream_is_a_502(kgb_factory):
    gateway = kgb_factory("http://no-such-host.invalid:80")
    response = exchange(gateway.port, "GET", "/")
    assert response.status == 502
    assert "resolve" in error_of(response)["message"]


def test_no_response_head_in_time_is_a_504(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--upstream-timeout", "0.5")
    started = time.monotonic()
    response = exchange(gateway.port, "GET", "/status/200?fault=no-response")
    assert 0.4 < time.monotonic() - started < 3
    assert response.status == 504
    assert error_of(response)["type"] == "api_error"


def test_upstream_closing_before_the_head_is_a_502(gateway):
    response = exchange(gateway.port, "GET", "/status/200?fault=close-before-head")
    assert response.status == 502
    assert "closed" in error_of(response)["message"]


@pytest.mark.parametrize("target", ["/v1/messages?events=20&fault=reset&fault_after=3",
                                    "/bytes?n=100000&fault=truncate"])
def test_upstream_dying_mid_body_cuts_the_client_stream(gateway, target):
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "POST" if "messages" in target else "GET", target,
                          [("Content-Type", "application/json")], STREAM if "messages" in target else b""))
        with pytest.raises(Incomplete) as cut:
            conn.read_response()
        assert cut.value.response.status == 200
        assert conn.eof, "the client connection is closed"
    finally:
        conn.close()


def test_client_leaving_mid_stream_cancels_the_upstream_request(kgb_factory):
    seen_close = threading.Event()

    def handler(conn, upstream):
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"e\r\ndata: first\n\n\r\n")
        conn.settimeout(5)
        try:
            if conn.recv(1) == b"":
                seen_close.set()
        except ConnectionResetError:
            seen_close.set()
        except socket.timeout:
            pass

    upstream = ScriptedUpstream(handler)
    try:
        gateway = kgb_factory(upstream.url)
        conn = Conn(gateway.port)
        conn.send(request(gateway.port, "POST", "/v1/messages", body=b"{}"))
        conn.read_head()
        left = time.monotonic()
        conn.close()
        assert seen_close.wait(2), "the upstream never saw the request cancelled"
        assert time.monotonic() - left < 1.0
    finally:
        upstream.close()


def test_upstream_stalling_mid_body_times_out(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--upstream-timeout", "0.5")
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "POST", "/v1/messages?fault=stall&fault_after=2", body=STREAM))
        with pytest.raises(Incomplete):
            conn.read_response("POST")
    finally:
        conn.close()


BAD_REQUESTS = {
    "invalid header syntax": b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
    "content-length with transfer-encoding":
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "differing duplicate content-length":
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "bad chunk size": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\nabc\r\n0\r\n\r\n",
    "missing host on HTTP/1.1": b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    "two host headers": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "transfer-encoding not ending in chunked": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
}


@pytest.fixture(scope="module")
def counting_upstream():
    def handler(conn, upstream):
        head = read_request_head(conn)
        if head is not None:
            upstream.note(head)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    upstream = ScriptedUpstream(handler)
    yield upstream
    upstream.close()


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_malformed_requests_get_400_and_never_reach_the_upstream(counting_upstream, kgb_factory, name):
    gateway = kgb_factory(counting_upstream.url)
    conn = Conn(gateway.port)
    try:
        conn.send(BAD_REQUESTS[name])
        response = conn.read_response()
        assert response.status == 400, (name, response.body)
        assert error_of(response)["type"] == "invalid_request_error"
        assert (response.header("connection") or "").lower() == "close"
        assert conn.is_closed_by_peer()
    finally:
        conn.close()
    assert counting_upstream.events == []


def test_oversized_header_block_is_a_431(gateway):
    conn = Conn(gateway.port)
    try:
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n")
        response = conn.read_response()
        assert response.status == 431
        assert error_of(response)["type"] == "request_too_large"
    finally:
        conn.close()


def test_slow_header_sender_is_closed(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--header-timeout", "0.5")
    conn = Conn(gateway.port)
    try:
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        response = conn.read_response()
        assert response.status == 408
        assert conn.is_closed_by_peer()
        assert time.monotonic() - started < 2
    finally:
        conn.close()


def test_idle_keep_alive_connection_is_closed(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--idle-timeout", "0.3")
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "GET", "/status/200"))
        assert conn.read_response().status == 200
        assert conn.is_closed_by_peer(wait=2)
    finally:
        conn.close()
