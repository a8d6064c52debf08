"""Operating kgb: the admin endpoint (/healthz, /readyz, /metrics after a known sequence of requests),
readiness during drain, several workers sharing the port and the sinks, --max-connections, operator messages,
--version, and the live view (`kgb tail`, `kgb show`) on a store written by a real run."""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import BIN, admin_get, clean_environment, free_port, metrics, read_records, value, wait_listening
from httpraw import Conn, exchange, request

KGB = os.path.join(BIN, "kgb")
STREAM = json.dumps({"model": "claude-metrics", "max_tokens": 9, "stream": True, "messages": [{"role": "user", "content": "hi"}]})
JSON = json.dumps({"model": "claude-metrics", "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]})


def post(port, target, body):
    return exchange(port, "POST", target, [("Content-Type", "application/json")], body)


def test_metrics_after_a_known_sequence(mock, kgb_factory):
    admin = free_port()
    dead = free_port()
    gateway = kgb_factory(None, "--admin", f"127.0.0.1:{admin}",
                          "--route", f"/v1/=http://127.0.0.1:{mock.port}/v1/",
                          "--route", f"/dead/=http://127.0.0.1:{dead}/")
    assert admin_get(admin, "/healthz") == (200, "ok\n")
    for _ in range(3):
        assert post(gateway.port, "/v1/messages?events=4", STREAM).status == 200
    assert post(gateway.port, "/v1/messages", JSON).status == 200
    assert exchange(gateway.port, "GET", "/nowhere").status == 404
    assert exchange(gateway.port, "GET", "/dead/x").status == 502
    records = read_records(gateway.log_path, 6)
    assert len(records) == 6
    time.sleep(0.2)
    samples = metrics(admin)
    assert value(samples, "kgb_exchanges_total", route="/v1/", status="200", outcome="complete") == 4
    assert value(samples, "kgb_exchanges_total", route="none", status="404", outcome="rejected") == 1
    assert value(samples, "kgb_exchanges_total", route="/dead/", status="502", outcome="upstream_error") == 1
    assert value(samples, "kgb_exchange_duration_seconds_count") == 6
    assert value(samples, "kgb_upstream_response_head_seconds_count") == 4
    assert value(samples, "kgb_first_token_seconds_count") == 4
    assert value(samples, "kgb_client_connections") == 0
    assert value(samples, "kgb_upstream_idle_connections") == 1
    assert value(samples, "kgb_upstream_connections") == 1  # the pooled one; the dead route's attempt is closed
    assert value(samples, "kgb_upstream_connect_seconds_count") == 1
    assert 0 < value(samples, "kgb_log_lag_seconds") < 5
    # Six exchanges, plus the test harness's one connection that checked kgb was listening.
    assert value(samples, "kgb_accepted_connections_total") == 7
    assert value(samples, "kgb_log_records_written_total") == 6
    assert value(samples, "kgb_log_sink_errors_total") == 0
    assert value(samples, "kgb_exchange_duration_seconds_bucket", le="+Inf") == 6
    # Byte and token totals agree with the records.
    assert value(samples, "kgb_response_body_bytes_total") == sum(r["response"]["body_bytes"] for r in records if r["response"])
    assert value(samples, "kgb_request_body_bytes_total") == sum(r["request"]["body_bytes"] for r in records)
    usage = [r["usage"] for r in records if r.get("usage")]
    assert len(usage) == 4
    assert value(samples, "kgb_tokens_total", model="claude-metrics", kind="input") == sum(u["input_tokens"] for u in usage)
    assert value(samples, "kgb_tokens_total", model="claude-metrics", kind="output") == sum(u["output_tokens"] for u in usage)
    assert value(samples, "kgb_model_exchanges_total", model="claude-metrics") == 4
    assert admin_get(admin, "/nope")[0] == 404


def test_readiness_flips_while_draining(mock, kgb_factory):
    admin = free_port()
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--admin", f"127.0.0.1:{admin}")
    assert admin_get(admin, "/readyz") == (200, "ready\n")
    conn = Conn(gateway.port)
    conn.send(request(gateway.port, "POST", "/v1/messages?events=6&interval_ms=200", [("Content-Type", "application/json")], STREAM))
    head = conn.read_head()
    assert head.status == 200
    gateway.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    status, body = admin_get(admin, "/readyz")
    assert status == 503 and "draining" in body
    assert admin_get(admin, "/healthz")[0] == 200
    assert b"message_stop" in conn.read_body(head).body
    assert gateway.proc.wait(10) == 0


def test_a_failing_sink_makes_the_gateway_unready(mock, kgb_factory):
    admin = free_port()
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--admin", f"127.0.0.1:{admin}", "--log", "jsonl:/dev/full")
    assert exchange(gateway.port, "GET", "/status/200").status == 200
    deadline = time.monotonic() + 3
    while admin_get(admin, "/readyz")[0] != 503 and time.monotonic() < deadline:
        time.sleep(0.05)
    status, body = admin_get(admin, "/readyz")
    assert status == 503 and "log sink" in body
    assert value(metrics(admin), "kgb_log_sink_errors_total") >= 1


def test_two_workers_both_serve_and_both_log(mock, kgb_factory):
    admin = free_port()
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--workers", "2", "--admin", f"127.0.0.1:{admin}")
    threads = [threading.Thread(target=lambda: post(gateway.port, "/v1/messages?events=2", STREAM)) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = read_records(gateway.log_path, 60)
    assert len(records) == 60 and all(r["outcome"] == "complete" for r in records)
    # Each worker's logger mints ids with its own instance number (id = time, instance, counter).
    assert len({r["id"][14:18] for r in records}) == 2
    samples = metrics(admin)
    per_worker = [value(samples, "kgb_worker_accepted_connections_total", worker=str(w)) for w in (0, 1)]
    assert sum(per_worker) == 61 and min(per_worker) > 0, per_worker  # 60 and the harness's readiness probe
    assert value(samples, "kgb_workers") == 2
    # Lines from the two loggers never interleave: every line of the shared file is one whole record.
    with open(gateway.log_path) as log:
        assert all(json.loads(line)["id"] for line in log)
    assert gateway.stop() == 0


def test_max_connections_holds_new_clients_in_the_backlog(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--max-connections", "2")
    first, second = Conn(gateway.port), Conn(gateway.port)
    for conn in (first, second):
        conn.send(request(gateway.port, "GET", "/status/200"))
        assert conn.read_response().status == 200
    waiting = Conn(gateway.port, timeout=0.5)  # the kernel completes the handshake; kgb does not accept yet
    waiting.send(request(gateway.port, "GET", "/status/200"))
    with pytest.raises(Exception):
        waiting.read_response()
    first.close()
    waiting.sock.settimeout(5)
    assert waiting.read_response().status == 200
    second.close()
    waiting.close()


def test_version_and_json_messages(mock):
    result = subprocess.run([KGB, "--version"], capture_output=True, text=True, timeout=5)
    assert result.returncode == 0 and re.fullmatch(r"kgb \d+\.\d+\.\d+\n", result.stdout)
    port = free_port()
    proc = subprocess.Popen([KGB, "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{mock.port}",
                             "--log", "none", "--message-format", "json"], stderr=subprocess.PIPE, text=True,
                            env=clean_environment())
    try:
        wait_listening(port, proc=proc)
    finally:
        proc.terminate()
        proc.wait(5)
    lines = [json.loads(line) for line in proc.stderr.read().splitlines()]
    assert lines[0]["level"] == "info" and "listening on" in lines[0]["message"] and lines[0]["workers"] == "1"
    assert any("draining" in line["message"] for line in lines)


def run_kgb(*args):
    return subprocess.run([KGB, *args], capture_output=True, text=True, timeout=10, env=clean_environment())


def test_tail_and_show_on_a_real_store(mock, kgb_factory, tmp_path):
    jsonl, sqlite = tmp_path / "log.jsonl", tmp_path / "log.sqlite"
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", f"jsonl:{jsonl}", "--log", f"sqlite:{sqlite}")
    body = json.dumps({"model": "claude-tail", "max_tokens": 9, "stream": True, "system": "be brief",
                       "messages": [{"role": "user", "content": "what is kgb?"}]})
    for _ in range(3):
        assert post(gateway.port, "/v1/messages?events=3", body).status == 200
    records = read_records(str(jsonl), 3)
    for spec in (f"jsonl:{jsonl}", f"sqlite:{sqlite}"):
        tail = run_kgb("tail", "--no-follow", "--log", spec, "-n", "2")
        assert tail.returncode == 0, tail.stderr
        lines = tail.stdout.splitlines()
        assert len(lines) == 2
        assert all("claude-tail" in line and "200 complete" in line and "in=" in line and "ttfb=" in line for line in lines)
        assert lines[-1].endswith(records[-1]["id"])
        show = run_kgb("show", records[0]["id"], "--log", spec)
        assert show.returncode == 0, show.stderr
        assert "[system] be brief" in show.stdout and "[user] what is kgb?" in show.stdout
        assert records[0]["sse"]["text"].strip().split()[0] in show.stdout
        assert "usage     model claude-tail" in show.stdout
    assert json.loads(run_kgb("show", records[1]["id"], "--log", f"jsonl:{jsonl}", "--json").stdout)["id"] == records[1]["id"]
    missing = run_kgb("show", "no-such-id", "--log", f"jsonl:{jsonl}")
    assert missing.returncode != 0 and "no exchange" in missing.stderr
    # Following: a new exchange appears within a second, from either store.
    for spec in (f"jsonl:{jsonl}", f"sqlite:{sqlite}"):
        follower = subprocess.Popen([KGB, "tail", "--log", spec, "-n", "0", "--json"], stdout=subprocess.PIPE, text=True,
                                    env=clean_environment())
        try:
            time.sleep(0.5)
            assert post(gateway.port, "/v1/messages?events=1", body).status == 200
            line = follower.stdout.readline()
            assert json.loads(line)["usage"]["model"] == "claude-tail"
        finally:
            follower.kill()
            follower.wait()


def test_tail_and_show_name_the_store_and_refuse_one_that_is_not_there(mock, kgb_factory, tmp_path):
    """From another directory the default ./kgb-logs store is not there: say so, naming it, instead of silence."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for command in (["tail", "--no-follow"], ["show", "some-id"]):
        result = subprocess.run([KGB, *command], capture_output=True, text=True, timeout=10, cwd=elsewhere,
                                env=clean_environment({"KGB_LOG": ""}))
        assert result.returncode != 0
        assert f"no log store at jsonl:{elsewhere}/kgb-logs/exchanges.jsonl" in result.stderr
        assert "current directory" in result.stderr
    jsonl = tmp_path / "log.jsonl"
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", f"jsonl:{jsonl}")
    assert post(gateway.port, "/v1/messages", json.dumps({"model": "m", "max_tokens": 3, "messages": []})).status == 200
    read_records(str(jsonl), 1)
    tail = run_kgb("tail", "--no-follow", "--log", f"jsonl:{jsonl}")
    assert tail.returncode == 0 and f"reading jsonl:{jsonl}" in tail.stderr
    missing = run_kgb("show", "no-such-id", "--log", f"jsonl:{jsonl}")
    assert f"in jsonl:{jsonl}" in missing.stderr
