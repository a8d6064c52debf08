"""Every exchange recorded: one JSON record per exchange whatever its outcome, usage and text read from the
stream, bodies readable (gzip inflated), secrets never written, the stream never waiting for the log."""
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import BIN, free_port, metrics, read_records, value
from httpraw import Conn, Incomplete, exchange, request

STREAM = json.dumps({"model": "claude-log-test", "max_tokens": 9, "stream": True,
                     "messages": [{"role": "user", "content": "hello"}]})


def last_record(gateway, predicate=lambda record: True, timeout=3.0):
    """The newest record matching `predicate`, waiting for it to be written."""
    deadline = time.monotonic() + timeout
    while True:
        matching = [r for r in read_records(gateway.log_path, timeout=0) if predicate(r)]
        if matching or time.monotonic() > deadline:
            assert matching, "no matching record was written"
            return matching[-1]
        time.sleep(0.02)


def words(n):
    return "".join(f"word{i} " for i in range(n))


def stream_through(gateway, target="/v1/messages?events=5", headers=None, body=STREAM):
    return exchange(gateway.port, "POST", target, [("Content-Type", "application/json")] + (headers or []), body)


def test_300_concurrent_streams_give_300_complete_records(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    results = []

    def client():
        response = stream_through(gateway, "/v1/messages?events=7&interval_ms=20")
        results.append(response.status)

    threads = [threading.Thread(target=client) for _ in range(300)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(200) == 300
    records = read_records(gateway.log_path, 300)
    assert len(records) == 300
    assert len({r["id"] for r in records}) == 300
    for record in records:
        assert record["outcome"] == "complete"
        assert record["method"] == "POST" and record["path"].startswith("/v1/messages")
        assert record["response"]["status"] == 200
        assert record["usage"]["model"] == "claude-log-test"
        assert record["usage"]["output_tokens"] == 7
        assert record["usage"]["input_tokens"] > 0
        assert record["usage"]["stop_reason"] == "end_turn"
        assert record["sse"]["text"] == words(7)
        timing = record["timing"]
        assert timing["total_ms"] >= timing["first_token_ms"] >= timing["ttfb_ms"] > 0
        assert json.loads(record["request"]["body"])["model"] == "claude-log-test"


def test_openai_stream_usage_is_recorded(gateway):
    body = json.dumps({"model": "gpt-log", "stream": True, "stream_options": {"include_usage": True},
                       "messages": [{"role": "user", "content": "x"}]})
    assert stream_through(gateway, "/v1/chat/completions?events=4", body=body).status == 200
    record = last_record(gateway, lambda r: r["path"].startswith("/v1/chat"))
    assert record["usage"]["output_tokens"] == 4
    assert record["usage"]["model"] == "gpt-log"
    assert record["sse"]["text"] == words(4)


def test_json_answer_usage_is_recorded(gateway):
    body = json.dumps({"model": "claude-json", "max_tokens": 9, "messages": [{"role": "user", "content": "x"}]})
    assert stream_through(gateway, "/v1/messages?events=3", body=body).status == 200
    record = last_record(gateway, lambda r: r["usage"] and r["usage"]["model"] == "claude-json" if "usage" in r else False)
    assert record["usage"]["model"] == "claude-json"
    assert record["usage"]["output_tokens"] == 3
    assert "sse" not in record


def test_gzip_answer_is_logged_inflated_while_the_client_gets_gzip(gateway):
    response = stream_through(gateway, "/v1/messages?events=4&gzip=1", [("Accept-Encoding", "gzip")])
    assert response.header("content-encoding") == "gzip"
    assert response.body[:2] == b"\x1f\x8b", "the client receives the compressed bytes"
    record = last_record(gateway, lambda r: "gzip=1" in r["path"])
    assert record["response"]["content_encoding"] == "gzip"
    assert "message_stop" in record["response"]["body"]
    assert record["sse"]["text"] == words(4)
    assert record["usage"]["output_tokens"] == 4


def test_client_abort_is_recorded_with_its_partial_body(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    conn = Conn(gateway.port)
    conn.send(request(gateway.port, "POST", "/v1/messages?events=50&interval_ms=30", body=STREAM))
    conn.read_head()
    time.sleep(0.3)
    conn.close()
    record = read_records(gateway.log_path, 1)[0]
    assert record["outcome"] == "client_aborted"
    assert record["error"]
    assert "message_start" in record["response"]["body"]
    assert record["usage"]["input_tokens"] > 0, "usage seen before the cut is kept"
    assert record["usage"]["output_tokens"] is None or record["usage"]["output_tokens"] < 50


def test_upstream_reset_is_recorded_with_its_partial_body(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    with pytest.raises(Incomplete):
        stream_through(gateway, "/v1/messages?events=20&fault=reset&fault_after=6")
    record = read_records(gateway.log_path, 1)[0]
    assert record["outcome"] == "upstream_error"
    assert record["sse"]["text"].startswith("word0 ")
    assert "message_stop" not in record["response"]["body"]


def test_rejected_and_failed_exchanges_are_recorded(mock, kgb_factory):
    from conftest import free_port
    gateway = kgb_factory(f"http://127.0.0.1:{free_port()}")
    conn = Conn(gateway.port)
    conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
    assert conn.read_response().status == 400
    conn.close()
    assert exchange(gateway.port, "GET", "/status/200").status == 502
    records = read_records(gateway.log_path, 2)
    assert sorted(r["outcome"] for r in records) == ["rejected", "upstream_error"]


def test_secrets_never_reach_any_sink(mock, kgb_factory, tmp_path):
    jsonl = tmp_path / "log.jsonl"
    db = tmp_path / "log.sqlite"
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", f"jsonl:{jsonl}", "--log", f"sqlite:{db}",
                          "--log", "stdout", env={"KGB_REDACTION_KEY": "test-key"})
    secrets = ["sk-ant-SECRET-123456", "Bearer tok-SECRET-7890", "session=SECRET-cookie"]
    for _ in range(2):
        stream_through(gateway, headers=[("X-Api-Key", secrets[0]), ("Authorization", secrets[1]),
                                         ("Cookie", secrets[2])])
    records = read_records(str(jsonl), 2)
    gateway.stop()
    stdout = gateway.proc.stdout.read()
    assert stdout.count("\n") >= 2
    blobs = [jsonl.read_bytes(), db.read_bytes(), stdout.encode()]
    for name in os.listdir(tmp_path):  # the SQLite WAL too
        blobs.append((tmp_path / name).read_bytes())
    for blob in blobs:
        for secret in secrets:
            assert b"SECRET" not in blob, f"a secret reached a sink: {secret}"
    first, second = records[0]["request"]["headers"], records[1]["request"]["headers"]
    assert first["x-api-key"].startswith("sha256:") and len(first["x-api-key"]) == len("sha256:") + 12
    assert first["x-api-key"] == second["x-api-key"], "the same key gives the same fingerprint"
    assert first["x-api-key"] != first["authorization"]


def test_sqlite_store_is_queryable(mock, kgb_factory, tmp_path):
    db = tmp_path / "store" / "log.sqlite"
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", f"sqlite:{db}")
    for events in (2, 3, 4):
        stream_through(gateway, f"/v1/messages?events={events}")
    exchange(gateway.port, "GET", "/status/404")
    assert gateway.stop() == 0
    connection = sqlite3.connect(db)
    rows = connection.execute("SELECT model, outcome, status, record FROM exchanges ORDER BY started_at").fetchall()
    assert len(rows) == 4
    assert [r[2] for r in rows] == [200, 200, 200, 404]
    assert rows[0][0] == "claude-log-test" and rows[0][1] == "complete"
    assert json.loads(rows[2][3])["usage"]["output_tokens"] == 4
    indexes = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"exchanges_started_at", "exchanges_model", "exchanges_outcome", "exchanges_status", "exchanges_agent",
            "exchanges_session", "exchanges_upstream"} <= indexes
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 2
    # The columns kgb ui filters on, read from each record by the insert.
    first = connection.execute("SELECT path, upstream, input_tokens, output_tokens, ttfb_ms, total_ms FROM exchanges "
                               "ORDER BY started_at").fetchone()
    assert first[0].startswith("/v1/messages") and first[1].startswith("http://127.0.0.1:") and first[3] == 2
    assert first[4] is not None and first[5] >= first[4]


def test_a_version_1_sqlite_store_is_brought_to_version_2_with_its_records(mock, kgb_factory, tmp_path):
    db = str(tmp_path / "old.sqlite")
    record = {"id": "0001", "started_at": "2026-11-01T00:00:00.000000Z", "outcome": "complete", "response": {"status": 200},
              "agent": {"name": "old-bot", "session": "s-old"}, "usage": {"model": "m-old", "input_tokens": 7}, "cost_usd": 0.25}
    with sqlite3.connect(db) as old:
        old.executescript("""
            CREATE TABLE exchanges (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, model TEXT, outcome TEXT NOT NULL,
                                    status INTEGER, record TEXT NOT NULL);
            CREATE INDEX exchanges_started_at ON exchanges(started_at);
            PRAGMA user_version = 1;""")
        old.execute("INSERT INTO exchanges VALUES ('0001', '2026-11-01T00:00:00.000000Z', 'm-old', 'complete', 200, ?)",
                    (json.dumps(record),))
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", f"sqlite:{db}")
    stream_through(gateway, "/v1/messages?events=2")
    assert gateway.stop() == 0
    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 2
    rows = connection.execute("SELECT id, agent, session, input_tokens, cost_usd FROM exchanges ORDER BY started_at").fetchall()
    assert len(rows) == 2 and rows[0] == ("0001", "old-bot", "s-old", 7, 0.25)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sigterm_writes_every_finished_exchange(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    for _ in range(50):
        stream_through(gateway, "/v1/messages?events=2")
    gateway.proc.send_signal(signal.SIGTERM)
    assert gateway.proc.wait(10) == 0
    assert len(read_records(gateway.log_path, timeout=0)) == 50


def test_records_arrive_within_250_ms(gateway):
    before = len(read_records(gateway.log_path, timeout=0))
    stream_through(gateway, "/v1/messages?events=2")
    done = time.monotonic()
    read_records(gateway.log_path, before + 1, timeout=2)
    assert time.monotonic() - done < 0.25


def test_sighup_reopens_the_file(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    stream_through(gateway)
    read_records(gateway.log_path, 1)
    os.rename(gateway.log_path, gateway.log_path + ".1")
    gateway.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    stream_through(gateway)
    assert len(read_records(gateway.log_path, 1)) == 1
    assert len(read_records(gateway.log_path + ".1", timeout=0)) == 1


def test_failing_sink_is_reported_once_and_serving_goes_on(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", "jsonl:/dev/full")
    for _ in range(5):
        assert stream_through(gateway).status == 200
    time.sleep(0.3)
    gateway.stop()
    stderr = gateway.proc.stderr.read()
    assert stderr.count("log sink jsonl:/dev/full failed") == 1, stderr


def test_unopenable_sink_fails_at_start_naming_the_flag(mock):
    from conftest import BIN
    result = subprocess.run([os.path.join(BIN, "kgb"), "--upstream", f"http://127.0.0.1:{mock.port}",
                             "--log", "jsonl:/proc/no/such/dir/x.jsonl"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert "--log" in result.stderr


def test_body_cap_truncates_the_logged_copy_only(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log-body-max", "100")
    response = exchange(gateway.port, "GET", "/bytes?n=5000")
    assert len(response.body) == 5000
    record = read_records(gateway.log_path, 1)[0]
    assert record["response"]["truncated"] is True
    assert record["response"]["body_bytes"] == 5000


def test_binary_body_is_logged_as_base64(gateway):
    exchange(gateway.port, "GET", "/bytes?n=300")
    record = last_record(gateway, lambda r: r["path"] == "/bytes?n=300")
    import base64
    assert base64.b64decode(record["response"]["body"]["base64"]) == bytes(i % 251 for i in range(300))


@pytest.mark.parametrize("policy", ["pause", "drop"])
def test_full_ring_policies(mock, kgb_factory, policy):
    admin = free_port()
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log-ring-bytes", "65536", "--log-overflow", policy,
                          "--admin", f"127.0.0.1:{admin}")
    size = 8 << 20
    response = exchange(gateway.port, "GET", f"/bytes?n={size}")
    assert len(response.body) == size, "the client always gets the whole stream"
    record = read_records(gateway.log_path, 1, timeout=10)[0]
    assert record["response"]["body_bytes"] == size
    samples = metrics(admin)
    assert value(samples, "kgb_log_ring_capacity_bytes") == 65536
    assert value(samples, "kgb_log_ring_used_bytes") <= 65536
    if policy == "pause":
        assert record["response"]["truncated"] is False
        assert value(samples, "kgb_log_pauses_total") > 0 and value(samples, "kgb_log_dropped_bytes_total") == 0
    else:
        assert record["response"]["truncated"] is True
        assert value(samples, "kgb_log_dropped_bytes_total") > 0 and value(samples, "kgb_log_pauses_total") == 0


@pytest.mark.parametrize("raw,status,method,path", [
    (b"POST /v1/messages?x=1 HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400, "POST", "/v1/messages?x=1"),
    (b"PUT /big HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "PUT", "/big"),
    (b"\x01\x02 nonsense\r\n\r\n", 400, None, ""),
])
def test_a_rejected_request_is_recorded_with_what_could_be_read_and_the_answer_kgb_gave(mock, kgb_factory, raw, status, method, path):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    conn = Conn(gateway.port)
    try:
        conn.send(raw)
        answer = conn.read_response()
    finally:
        conn.close()
    assert answer.status == status
    [record] = read_records(gateway.log_path, 1)
    assert record["outcome"] == "rejected"
    assert (record["method"], record["path"]) == (method, path)
    assert record["response"]["status"] == status
    assert json.loads(record["response"]["body"]) == json.loads(answer.body), "the record holds the answer the client got"
    assert record["response"]["headers"]["content-type"] == "application/json"


def test_records_say_which_agent_and_session(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--session-header", "x-my-session",
                          "--session-header", "x-claude-code-session-id")
    body = json.dumps({"model": "m", "max_tokens": 3, "messages": []})
    sends = [[("x-api-key", "sk-agent-one"), ("x-claude-code-session-id", "s-1"), ("User-Agent", "claude-cli/2.0")],
             [("Authorization", "Bearer sk-agent-one"), ("x-my-session", "s-2"), ("x-claude-code-session-id", "s-1")],
             [("Authorization", "Bearer sk-agent-two")]]
    for headers in sends:
        assert exchange(gateway.port, "POST", "/v1/messages", [("Content-Type", "application/json")] + headers, body).status == 200
    records = read_records(gateway.log_path, 3)
    agents = [r["agent"] for r in records]
    assert agents[0]["key"] == agents[1]["key"] != agents[2]["key"], "the same key, whichever header carried it"
    assert all(a["key"].startswith("sha256:") for a in agents)
    assert [a["session"] for a in agents] == ["s-1", "s-2", None], "the first configured header present wins"
    assert agents[0]["user_agent"] == "claude-cli/2.0" and agents[0]["name"] is None
    assert "sk-agent-one" not in open(gateway.log_path).read()
    tail = subprocess.run([os.path.join(BIN, "kgb"), "tail", "--no-follow", "--log", f"jsonl:{gateway.log_path}",
                           "--session", "s-1", "--json"], capture_output=True, text=True, timeout=10)
    assert [json.loads(line)["agent"]["session"] for line in tail.stdout.splitlines()] == ["s-1"]


def test_a_session_header_that_is_not_a_name_is_refused(mock):
    result = subprocess.run([os.path.join(BIN, "kgb"), "--upstream", f"http://127.0.0.1:{mock.port}",
                             "--session-header", "bad header"], capture_output=True, text=True, timeout=10)
    assert result.returncode != 0 and "--session-header" in result.stderr


def test_a_body_past_a_mebibyte_is_kept_in_a_file_the_record_names(mock, kgb_factory):
    """The logger holds at most 256 KiB of a body in memory: a longer one spills to a file as it arrives. Up to 1 MiB
    it is still written into the record; past that the record names the file (beside the log: bodies/<id>.response)
    and the file holds exactly the kept bytes."""
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log-body-max", str(64 << 20))
    big, small = 3 << 20, 600 << 10
    assert len(exchange(gateway.port, "GET", f"/bytes?n={big}").body) == big
    assert len(exchange(gateway.port, "GET", f"/bytes?n={small}").body) == small
    first, second = read_records(gateway.log_path, 2, timeout=10)
    pattern = bytes(i % 251 for i in range(251)) * (big // 251 + 1)
    reference = first["response"]["body"]
    assert reference == {"file": os.path.join(os.path.dirname(gateway.log_path), "bodies", first["id"] + ".response"),
                         "bytes": big}
    with open(reference["file"], "rb") as f:
        assert f.read() == pattern[:big]
    assert first["response"]["body_bytes"] == big and first["response"]["truncated"] is False
    import base64
    assert base64.b64decode(second["response"]["body"]["base64"]) == pattern[:small]
    assert os.listdir(os.path.dirname(reference["file"])) == [first["id"] + ".response"], "no spill file left"


def test_streams_open_for_seconds_are_parked_on_disk_and_recorded_whole(mock, kgb_factory, tmp_path):
    """An exchange open for over a second gives its bytes to the body spool (an unnamed file in --log-body-dir) while
    it lasts; its record is still byte for byte what the client received, and nothing of the spool is left behind."""
    bodies = str(tmp_path / "bodies")
    admin = free_port()
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log-body-dir", bodies, "--admin", f"127.0.0.1:{admin}")
    targets = {"plain": "/v1/messages?events=12&interval_ms=250", "gzip": "/v1/messages?events=12&interval_ms=250&gzip=1"}
    responses = {}
    threads = [threading.Thread(target=lambda name=name, target=target: responses.__setitem__(name, stream_through(gateway, target)))
               for name, target in targets.items()]
    for thread in threads:
        thread.start()
    # Parked within a round (once a second) of turning a second old; the streams last 3 s.
    deadline = time.monotonic() + 2.6
    while True:
        spool = []
        for fd in os.listdir(f"/proc/{gateway.pid}/fd"):
            try:
                spool.append(os.readlink(f"/proc/{gateway.pid}/fd/{fd}"))
            except OSError:
                pass
        samples = metrics(admin)
        parked = value(samples, "kgb_log_parked_exchanges")
        if parked == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert any(link.startswith(bodies + "/.spool-") and link.endswith("(deleted)") for link in spool), spool
    assert parked == 2
    assert value(samples, "kgb_log_parked_bytes") > 0
    for thread in threads:
        thread.join()
    records = {r["path"]: r for r in read_records(gateway.log_path, 2)}
    assert len(records) == 2
    for name, target in targets.items():
        record, response = records[target], responses[name]
        assert response.status == 200 and record["outcome"] == "complete"
        sent = gzip.decompress(response.body) if name == "gzip" else response.body
        assert record["response"]["body"] == sent.decode()
        assert record["response"]["truncated"] is False
        assert record["sse"]["text"] == words(12)
        assert json.loads(record["request"]["body"])["model"] == "claude-log-test"
        assert record["request"]["headers"]["content-type"] == "application/json"
    assert not [name for name in os.listdir(bodies) if name.startswith(".spool")]
    samples = metrics(admin)
    assert value(samples, "kgb_log_parked_exchanges") == 0
    assert value(samples, "kgb_log_parked_bytes") == 0
