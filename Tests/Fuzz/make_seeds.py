"""Writes the seed corpora in Corpus/<target>/ (run once; the seeds are committed). Each fuzzer reads decision bytes
(split points, modes) from the front of its input, then the payload; a seed is decisions + a realistic payload.
The SSE and JSON payloads are what kgb-mock-upstream answers (saved in Corpus/payloads/)."""
import gzip
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PAYLOADS = os.path.join(HERE, "Corpus", "payloads")


def payload(name):
    with open(os.path.join(PAYLOADS, name), "rb") as f:
        return f.read()


def cut(n):
    return struct.pack(">H", n)


def write(target, seeds):
    folder = os.path.join(HERE, "Corpus", target)
    os.makedirs(folder, exist_ok=True)
    for index, seed in enumerate(seeds):
        with open(os.path.join(folder, f"seed-{index:02d}"), "wb") as f:
            f.write(seed)


requests = [
    b"GET /v1/models HTTP/1.1\r\nHost: api.example\r\nUser-Agent: x\r\n\r\n",
    b"POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"model\":1}",
    b"POST /v1/messages HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;q=\"a\\\"b\"\r\nhello\r\n3 ; x = y\r\nabc\r\n0\r\nT: v\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n"
    b"Proxy-Authorization: b\r\nUpgrade: h2c\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
    b"POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
    b"GET http://example.com/path?q=1 HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\n\r\n",
]
write("FuzzRequestParser", [cut(7) + cut(40) + r for r in requests])

sse = payload("anthropic.sse")
responses = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
    + b"".join(b"%x\r\n%s\r\n" % (len(event) + 2, event + b"\n\n") for event in sse.split(b"\n\n")[:4] if event) + b"0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;q=\"a\\\"b\"\r\nhello\r\n5 ;x=y\r\nworld\r\n0;end\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
    b"HTTP/1.1 20 OK\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON",
    b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nConnection: close, X-Drop\r\nX-Drop: 1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
]
write("FuzzResponseParser", [cut(9) + cut(60) + bytes([mode]) + r for r in responses for mode in (0,)]
      + [cut(1) + cut(2) + b"\x01" + responses[0]])

openai_sse = payload("openai.sse")
write("FuzzSSEAnalyzer", [
    cut(10) + cut(300) + cut(1500) + sse,
    cut(1) + cut(2) + cut(3) + openai_sse,
    cut(5) + cut(5) + cut(7) + sse.replace(b"\n", b"\r\n"),
    cut(0) + cut(2) + cut(9) + b"\xef\xbb\xbfdata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":7}}\r\r:comment\n\n",
])

write("FuzzUsageReaders", [payload("anthropic.json"), payload("openai.json"),
                           b'{"usage":{"input_tokens":1e2,"output_tokens":-0}}', b'[1,2,{"usage":null}]',
                           b'{"model":"m","usage":{"prompt_tokens":3,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":1}}}'])

text = payload("anthropic.json")
write("FuzzInflater", [
    cut(10) + cut(20) + b"\x00" + gzip.compress(text),
    cut(3) + cut(4) + b"\x03" + zlib.compress(text),
    cut(3) + cut(4) + b"\x05" + zlib.compress(text)[2:-4],
    cut(1) + cut(50) + b"\x90" + text,
    cut(1) + cut(50) + b"\x41" + sse,
])

write("FuzzRecordAssembler", [
    cut(5) + b"v1msg" + cut(10) + b"claude-cli" + b"\x00\x00\x00" + cut(11) + b'{"model":1}' + cut(3) + cut(6)
    + cut(10) + cut(40) + text,
    cut(3) + b"abc" + cut(2) + b"\xc3\xa9" + b"\x01\x01\x01" + cut(4) + b"boom" + cut(5) + b"\xff\xfe\x00ab" + cut(1)
    + cut(2) + cut(100) + cut(900) + sse,
    cut(0) + cut(0) + b"\x02\x04\x00" + cut(0) + cut(0) + cut(0) + cut(0) + cut(0) + b"\x80\x81binary",
])
