"""Responses stream through kgb as they arrive: byte-exact bodies, the upstream's chunk boundaries, gzip
untouched, each SSE event delivered in the turn it was read."""
import gzip
import json
import re
import time
import zlib

from conftest import read_records
from httpraw import Conn, exchange, request

MESSAGES = json.dumps({"model": "claude-test", "max_tokens": 64, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]})
CHAT = json.dumps({"model": "gpt-test", "stream": True, "stream_options": {"include_usage": True},
                   "messages": [{"role": "user", "content": "hi"}]})


def chunk_payloads(response):
    """The body cut at the wire's chunk boundaries, with the per-response ids and clocks made equal."""
    pieces, offset = [], 0
    for size in response.chunks:
        piece = response.body[offset:offset + size]
        offset += size
        pieces.append(re.sub(rb'(msg_mock_|chatcmpl-mock-)\d+|"created":\d+', rb"\1#", piece))
    return pieces


def both(mock, gateway, method, target, body=b"", headers=None):
    headers = [("Content-Type", "application/json")] + (headers or [])
    direct = exchange(mock.port, method, target, headers, body)
    through = exchange(gateway.port, method, target, headers, body)
    return direct, through


def test_sse_is_byte_exact_with_the_upstreams_chunk_boundaries(mock, gateway):
    for target, body in (("/v1/messages?events=25", MESSAGES), ("/v1/chat/completions?events=25", CHAT)):
        direct, through = both(mock, gateway, "POST", target, body)
        assert direct.status == through.status == 200
        assert through.framing == "chunked"
        # Same bytes in the same chunks (ids and timestamps differ per response, so they are masked).
        assert chunk_payloads(through) == chunk_payloads(direct), target
        assert len(through.chunks) >= 25
        assert through.header("content-type") == "text/event-stream"


def test_chunk_boundaries_of_arbitrary_sizes_are_kept(mock, gateway):
    sizes = [1, 2, 3, 100, 65536, 70000, 5, 1]
    direct, through = both(mock, gateway, "GET", "/chunks?sizes=" + ",".join(map(str, sizes)))
    assert direct.chunks == sizes
    assert through.chunks == sizes
    assert through.body == direct.body


def test_content_length_response_keeps_its_length(mock, gateway):
    direct, through = both(mock, gateway, "GET", "/bytes?n=1000000")
    assert through.framing == "length"
    assert through.header("content-length") == "1000000"
    assert through.body == direct.body == bytes(i % 251 for i in range(1000000))


def test_json_message_is_passed_through(mock, gateway):
    body = json.dumps({"model": "claude-test", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]})
    direct, through = both(mock, gateway, "POST", "/v1/messages", body)
    assert through.status == 200
    assert re.sub(rb"msg_mock_\d+", b"#", through.body) == re.sub(rb"msg_mock_\d+", b"#", direct.body)
    assert json.loads(through.body)["usage"]["output_tokens"] > 0


def test_gzip_bytes_reach_the_client_as_sent(mock, gateway):
    # A deterministic gzip body (no per-response ids): the compressed bytes and chunks must be identical.
    direct, through = both(mock, gateway, "GET", "/bytes?n=300000&gzip=1&chunked=1&chunk=10000",
                           headers=[("Accept-Encoding", "gzip")])
    assert through.header("content-encoding") == "gzip"
    assert through.body == direct.body, "compressed bytes must be untouched"
    assert through.chunks == direct.chunks
    assert gzip.decompress(through.body) == bytes(i % 251 for i in range(300000))


def test_gzip_sse_events_stay_decodable_as_they_arrive(mock, gateway):
    direct, through = both(mock, gateway, "POST", "/v1/messages?gzip=1&events=10", MESSAGES,
                           headers=[("Accept-Encoding", "gzip")])
    assert through.header("content-encoding") == "gzip"
    assert len(through.chunks) == len(direct.chunks)
    text = gzip.decompress(through.body).decode()
    assert "message_stop" in text
    # Each chunk is decodable as it arrives (the upstream flushed per event): decode incrementally.
    inflater = zlib.decompressobj(31)
    offset = 0
    for size in through.chunks[:3]:
        piece = inflater.decompress(through.body[offset:offset + size])
        offset += size
        assert piece.startswith(b"event: ")


def test_close_delimited_response_becomes_chunked_for_http11(mock, gateway):
    direct, through = both(mock, gateway, "POST", "/v1/messages?fault=close-delimited&events=5", MESSAGES)
    assert direct.framing == "close"
    assert through.framing == "chunked"
    mask = lambda body: re.sub(rb"msg_mock_\d+", b"#", body)
    assert mask(through.body) == mask(direct.body)


def test_each_sse_event_arrives_as_it_is_sent(mock, gateway):
    """The mock stamps each event with CLOCK_MONOTONIC; so does this client on arrival. With 200 ms between
    events, anything that buffered would show hundreds of milliseconds of delay."""
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "POST", "/v1/messages?events=5&interval_ms=200&timestamps=1",
                          [("Content-Type", "application/json")], MESSAGES))
        response = conn.read_response("POST")
    finally:
        conn.close()
    delays = []
    offset = 0
    for size, arrived in zip(response.chunks, response.chunk_times):
        event = response.body[offset:offset + size].decode()
        offset += size
        data = json.loads(event.split("data: ", 1)[1])
        delays.append((arrived - data["mock_t_ns"]) / 1e6)
    assert len(delays) >= 5
    # Generous bound for a loaded CI machine; bench/ measures the real figure (well under a millisecond).
    assert max(delays) < 100, delays


def test_head_204_and_304_have_no_body_and_keep_the_connection(gateway):
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "HEAD", "/bytes?n=1234"))
        head = conn.read_response("HEAD")
        assert head.status == 200 and head.header("content-length") == "1234"
        conn.send(request(gateway.port, "GET", "/status/204"))
        assert conn.read_response().status == 204
        conn.send(request(gateway.port, "GET", "/status/304"))
        assert conn.read_response().status == 304
        conn.send(request(gateway.port, "GET", "/bytes?n=10"))
        last = conn.read_response()
        assert last.status == 200 and last.body == bytes(range(10)), "no stray body bytes on the connection"
    finally:
        conn.close()


def test_a_connection_goes_on_after_a_stream_long_enough_to_let_its_heads_go(mock, kgb_factory):
    """Exchanges open for over a second let their parsed heads go; the client connection and the pooled upstream
    connection then carry the next requests as any other (heads, bodies and records all as sent)."""
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    conn = Conn(gateway.port)
    try:
        conn.send(request(gateway.port, "POST", "/v1/messages?events=6&interval_ms=400",
                          [("Content-Type", "application/json"), ("X-First", "one")], MESSAGES))
        first = conn.read_response("POST")
        assert first.status == 200 and first.body.count(b"event: content_block_delta") == 6
        for index in range(3):
            conn.send(request(gateway.port, "POST", f"/v1/messages?events=2&n={index}",
                              [("Content-Type", "application/json"), ("X-Next", str(index))], MESSAGES))
            response = conn.read_response("POST")
            assert response.status == 200 and response.header("content-type") == "text/event-stream"
            assert response.body.count(b"event: content_block_delta") == 2
    finally:
        conn.close()
    records = read_records(gateway.log_path, 4)
    assert [r["path"] for r in records] == ["/v1/messages?events=6&interval_ms=400"] + [f"/v1/messages?events=2&n={i}" for i in range(3)]
    assert records[0]["request"]["headers"]["x-first"] == "one"
    assert [r["request"]["headers"]["x-next"] for r in records[1:]] == ["0", "1", "2"]
    assert all(r["response"]["headers"]["content-type"] == "text/event-stream" for r in records)
