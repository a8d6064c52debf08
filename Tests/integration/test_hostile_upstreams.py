"""An upstream that sends exactly the bytes it chooses (a raw socket) must never get more through kgb than a
well-formed answer: no second response smuggled behind a bogus status line, and valid-but-unusual framing
(chunk extensions) passed as nginx and HAProxy pass it."""
import json

import pytest

from conftest import read_records
from httpraw import Conn, request
from scripted_upstream import ScriptedUpstream, read_request_head

SMUGGLED = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON"


def answering(raw):
    """A scripted upstream that answers every request on a connection with `raw`, then waits for the close."""
    def handler(conn, upstream):
        while read_request_head(conn) is not None:
            conn.sendall(raw)
    return ScriptedUpstream(handler)


def through_kgb(kgb_factory, raw, target="/"):
    """What a client gets from kgb, in front of an upstream answering `raw`, for one request (and the gateway)."""
    upstream = answering(raw)
    gateway = kgb_factory(upstream.url)
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "GET", target))
        return read_all(conn), gateway
    finally:
        conn.close()
        upstream.close()


def read_all(conn, limit=1 << 20):
    """Everything the gateway sends until it closes the connection or falls silent for half a second."""
    conn.sock.settimeout(0.5)
    data = conn.buf
    try:
        while len(data) < limit:
            piece = conn.sock.recv(65536)
            if not piece:
                break
            data += piece
    except (TimeoutError, OSError):
        pass
    return data


@pytest.mark.parametrize("status_line", [b"HTTP/1.1 20 OK", b"HTTP/1.1 099 Early", b"HTTP/1.1 000 Zero",
                                         b"HTTP/1.1 600 Beyond", b"HTTP/1.1 999 Unknown"])
def test_a_status_outside_100_to_599_is_a_502_and_nothing_else(kgb_factory, status_line):
    data, gateway = through_kgb(kgb_factory, status_line + b"\r\n\r\n" + SMUGGLED, "/v1/models")
    # The first and only thing the client sees is kgb's own 502: no relayed status line, no smuggled answer.
    assert data.startswith(b"HTTP/1.1 502 "), data[:200]
    assert b"POISON" not in data
    assert data.count(b"HTTP/1.1 ") == 1, data
    body = json.loads(data.split(b"\r\n\r\n", 1)[1])
    assert "invalid status code" in body["error"]["message"]
    [record] = read_records(gateway.log_path, 1)
    assert record["outcome"] == "upstream_error"
    assert "invalid status code" in record["error"]


def test_an_unknown_status_inside_a_class_is_passed_through(kgb_factory):
    # RFC 9110 §15: a client treats 299 as 200; an intermediary forwards it as it is.
    upstream = answering(b"HTTP/1.1 299 Odd\r\nContent-Length: 2\r\n\r\nok")
    gateway = kgb_factory(upstream.url)
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "GET", "/"))
        response = conn.read_response()
    finally:
        conn.close()
        upstream.close()
    assert (response.status, response.body) == (299, b"ok")


@pytest.mark.parametrize("size_line", [b'5;q="a\\"b"', b"5 ;x=y", b'5;x = "y"', b"5\t;\tx", b"5;a;b=c;d=\"\""])
def test_valid_chunk_extensions_pass_byte_exact(kgb_factory, size_line):
    body = b"".join([size_line, b"\r\nhello\r\n", b"6;last=\"\\\\\"\r\n world\r\n", b"0 ; done\r\n\r\n"])
    upstream = answering(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n" + body)
    gateway = kgb_factory(upstream.url)
    conn = Conn(gateway.port)
    try:
        for _ in range(2):  # and the connection stays usable
            conn.send(request(gateway.port, "GET", "/"))
            response = conn.read_response()
            assert response.status == 200
            assert response.framing == "chunked"
            assert response.body == b"hello world"
            assert response.chunks == [5, 6], "the upstream's chunk boundaries are kept"
    finally:
        conn.close()
        upstream.close()
    records = read_records(gateway.log_path, 2)
    assert [r["outcome"] for r in records] == ["complete", "complete"]


@pytest.mark.parametrize("size_line", [b"5 ", b"5;", b"5;x=\"y", b"5;x y", b"5=x", b"5;x=\"\x01\""])
def test_invalid_chunk_size_lines_cut_the_stream(kgb_factory, size_line):
    data, gateway = through_kgb(kgb_factory, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"3\r\nabc\r\n" + size_line + b"\r\nhello\r\n0\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == b"3\r\nabc\r\n", "the valid chunk passes; then the stream is cut with no terminator"
    [record] = read_records(gateway.log_path, 1)
    assert record["outcome"] == "upstream_error"
