"""Failover: a prefix given more than once is an ordered list of upstreams. A dead first upstream, or one that
answers 429/5xx/529 with its head, hands the request to the next (each with its own key); nothing is retried once
a byte reached the client, nor past --retry-body-max; every attempt is in the record."""
import json
import os
import tempfile
import threading
import urllib.error
import urllib.request
import zlib

import anthropic
import openai

from conftest import free_port, read_records, start_kgb
from scripted_upstream import ScriptedUpstream, read_request_head


def refusing(status, reason=b"Overloaded"):
    """An upstream that reads each request whole and answers `status`, noting the head it got."""
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'

    def handler(conn, upstream):
        while True:
            head = read_request_head(conn)
            if head is None:
                return
            upstream.note(head)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            rest = head.split(b"\r\n\r\n", 1)[1]
            while len(rest) < length:
                rest += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                         % (status, reason, len(body), body))
    return ScriptedUpstream(handler)


def post(port, path, body=b"{}", headers=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_dead_first_upstream_fails_over_to_the_next(kgb_factory, mock):
    dead = f"http://127.0.0.1:{free_port()}"
    gateway = kgb_factory(None, "--route", f"/v1/={dead}", "--route", f"/v1/=http://127.0.0.1:{mock.port}")
    claude = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key="sk-test", max_retries=0)
    with claude.messages.stream(model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                                extra_headers={"x-mock-events": "5"}) as stream:
        assert "".join(stream.text_stream) == "word0 word1 word2 word3 word4 "
    record = read_records(gateway.log_path, 1)[0]
    assert record["outcome"] == "complete"
    assert record["upstream"] == f"http://127.0.0.1:{mock.port}", "the upstream that answered"
    first, second = record["attempts"]
    assert first["upstream"] == dead and first["status"] is None and "connect" in first["error"]
    assert second == {**second, "upstream": f"http://127.0.0.1:{mock.port}", "status": 200, "error": None}
    assert first["ms"] >= 0 and second["ms"] > 0


def test_a_529_fails_over_and_each_upstream_gets_its_own_key(kgb_factory, mock):
    with refusing(529) as overloaded:
        gateway = kgb_factory(None, "--route", f"/v1/={overloaded.url}", "--route", f"/v1/=http://127.0.0.1:{mock.port}",
                              "--route-header", "/v1/#1:x-api-key=first-key", "--route-header", "/v1/#2:x-api-key=second-key",
                              "--route-header", "/v1/:anthropic-version=2023-06-01")
        body = json.dumps({"model": "claude-test", "messages": [{"role": "user", "content": "x" * 5000}]}).encode()
        status, answer = post(gateway.port, "/v1/echo", body)
        assert status == 200
        echoed = json.loads(answer)
        seen = {name.lower(): value for name, value in echoed["headers"]}
        assert seen["x-api-key"] == "second-key" and seen["anthropic-version"] == "2023-06-01"
        assert echoed["body_bytes"] == len(body) and echoed["body_crc32"] == zlib.crc32(body), "the same body again"
        assert b"x-api-key: first-key" in overloaded.events[0] and b"anthropic-version: 2023-06-01" in overloaded.events[0]
        record = read_records(gateway.log_path, 1)[0]
        assert [(a["status"], a["error"]) for a in record["attempts"]] == [(529, None), (200, None)]
        assert record["attempts"][0]["upstream"] == overloaded.url
        assert record["response"]["status"] == 200


def test_an_openai_429_fails_over_for_the_sdk_too(kgb_factory, mock):
    with refusing(429, b"Too Many Requests") as limited:
        gateway = kgb_factory(None, "--route", f"/v1/={limited.url}", "--route", f"/v1/=http://127.0.0.1:{mock.port}")
        gpt = openai.OpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key="sk-test", max_retries=0)
        stream = gpt.chat.completions.create(model="gpt-test", stream=True, messages=[{"role": "user", "content": "hi"}],
                                             extra_headers={"x-mock-events": "3"})
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "word0 word1 word2 "
        assert len(limited.events) == 1


def test_when_every_upstream_refuses_the_client_gets_the_last_answer(kgb_factory):
    with refusing(503, b"Service Unavailable") as first, refusing(529) as last:
        gateway = kgb_factory(None, "--route", f"/v1/={first.url}", "--route", f"/v1/={last.url}")
        status, _ = post(gateway.port, "/v1/messages")
        assert status == 529
        record = read_records(gateway.log_path, 1)[0]
        assert [a["status"] for a in record["attempts"]] == [503, 529]
        assert record["upstream"] == last.url


def test_a_dead_last_upstream_answers_502_with_every_attempt_recorded(kgb_factory):
    dead = f"http://127.0.0.1:{free_port()}"
    with refusing(529) as overloaded:
        gateway = kgb_factory(None, "--route", f"/v1/={overloaded.url}", "--route", f"/v1/={dead}")
        status, body = post(gateway.port, "/v1/messages")
        assert status == 502 and json.loads(body)["error"]["type"] == "api_error"
        record = read_records(gateway.log_path, 1)[0]
        assert record["outcome"] == "upstream_error"
        assert [a["status"] for a in record["attempts"]] == [529, None]
        assert "connect" in record["attempts"][1]["error"]


def test_a_body_past_retry_body_max_is_not_sent_again(kgb_factory, mock):
    with refusing(529) as overloaded:
        gateway = kgb_factory(None, "--route", f"/v1/={overloaded.url}", "--route", f"/v1/=http://127.0.0.1:{mock.port}",
                              "--retry-body-max", "1000")
        assert post(gateway.port, "/v1/echo", b"x" * 999)[0] == 200, "within the limit: failed over"
        assert post(gateway.port, "/v1/echo", b"x" * 1001)[0] == 529, "past it: the first answer stands"
        records = read_records(gateway.log_path, 2)
        assert [len(r["attempts"]) for r in records] == [2, 1]


def test_never_retried_after_the_first_byte_reached_the_client(kgb_factory, mock):
    with refusing(200, b"OK") as second:
        gateway = kgb_factory(None, "--route", f"/v1/=http://127.0.0.1:{mock.port}", "--route", f"/v1/={second.url}")
        claude = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key="sk-test", max_retries=0)
        texts = []
        try:
            with claude.messages.stream(model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                                        extra_headers={"x-mock-events": "20", "x-mock-fault": "reset",
                                                       "x-mock-fault-after": "5"}) as stream:
                for text in stream.text_stream:
                    texts.append(text)
        except (anthropic.APIError, Exception):
            pass
        assert 0 < len(texts) < 20, "the stream was cut where the upstream failed"
        assert second.events == [], "the second upstream never saw the request"
        record = read_records(gateway.log_path, 1)[0]
        assert len(record["attempts"]) == 1 and record["outcome"] == "upstream_error"


def test_failover_routes_from_a_config_file_with_a_key_each(mock):
    overloaded = refusing(529)
    config = os.path.join(tempfile.mkdtemp(prefix="kgb-failover-"), "kgb.toml")
    with open(config, "w") as f:
        f.write(f"""
[[route]]
prefix = "/v1/"
upstream = "{overloaded.url}"
headers = {{ x-api-key = "primary-key" }}

[[route]]
prefix = "/v1/"
upstream = "http://127.0.0.1:{mock.port}"
headers = {{ x-api-key = "backup-key" }}
""")
    gateway = start_kgb(None, "--config", config)
    try:
        status, answer = post(gateway.port, "/v1/echo")
        assert status == 200
        assert {n.lower(): v for n, v in json.loads(answer)["headers"]}["x-api-key"] == "backup-key"
        assert b"x-api-key: primary-key" in overloaded.events[0]
    finally:
        gateway.stop()
        overloaded.close()


def test_many_concurrent_failovers_all_answer(kgb_factory, mock):
    dead = f"http://127.0.0.1:{free_port()}"
    gateway = kgb_factory(None, "--route", f"/v1/={dead}", "--route", f"/v1/=http://127.0.0.1:{mock.port}")
    results = []

    def one(index):
        results.append(post(gateway.port, "/v1/echo", json.dumps({"n": index}).encode())[0])
    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results == [200] * 50
