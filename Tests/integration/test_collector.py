"""Records leave the machine through the spool to an HTTP collector: gzip NDJSON batches, retries with backoff while
it answers 503 or is gone, Retry-After, dead letters for a 400, a spool that survives kill -9 and a torn tail, a
spool that fills up, and every record delivered exactly once (by id)."""
import glob
import json
import os
import signal
import tempfile
import time
import urllib.request

from collector import Collector
from conftest import admin_get, free_port, metrics, read_records, start_kgb, value


def ask(gateway, count, events=2):
    for _ in range(count):
        with urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{gateway.port}/v1/messages?events={events}", method="POST",
                data=b'{"model":"claude-test","max_tokens":5,"messages":[]}',
                headers={"content-type": "application/json"}), timeout=10) as response:
            response.read()


def spool_dir():
    return os.path.join(tempfile.mkdtemp(prefix="kgb-spool-"), "spool")


def test_batches_are_gzip_ndjson_with_the_collectors_credentials(mock):
    jsonl = os.path.join(tempfile.mkdtemp(prefix="kgb-both-"), "exchanges.jsonl")
    with Collector() as collector:
        gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", collector.url, "--log", f"jsonl:{jsonl}",
                            "--spool", spool_dir(), "--log-batch-ms", "200",
                            "--log-header", "Authorization=Bearer ${DEWEY_TOKEN}", env={"DEWEY_TOKEN": "t0ken"})
        try:
            ask(gateway, 5)
            ids = collector.wait_for(5)
            assert sorted(ids) == sorted(r["id"] for r in read_records(jsonl, 5)), "both sinks have every record"
            _, status, headers, count, path = collector.requests[0]
            assert status == 200 and path == "/ingest"
            assert headers["Content-Type"] == "application/x-ndjson" and headers["Content-Encoding"] == "gzip"
            assert headers["Authorization"] == "Bearer t0ken"
            assert len(collector.requests) < 5, "records travel in batches"
        finally:
            gateway.stop()


def test_a_collector_answering_503_for_a_while_gets_every_record_once(mock):
    admin = free_port()
    with Collector([503] * 4) as collector:
        gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", collector.url, "--spool", spool_dir(),
                            "--log-batch-ms", "100", "--admin", f"127.0.0.1:{admin}")
        try:
            ask(gateway, 20)
            ids = collector.wait_for(20, timeout=30)
            assert len(ids) == 20 and len(set(ids)) == 20, "every record, exactly once"
            statuses = [status for _, status, *_ in collector.requests]
            assert statuses[:4] == [503] * 4 and statuses[4] == 200
            gaps = [b[0] - a[0] for a, b in zip(collector.requests, collector.requests[1:4])]
            assert gaps[1] > gaps[0] * 1.2 or gaps[1] > 0.4, f"backoff grows: {gaps}"
            samples = metrics(admin)
            sink = collector.url
            assert value(samples, "kgb_log_sink_delivered_records_total", sink=sink) == 20
            assert value(samples, "kgb_log_sink_delivery_errors_total", sink=sink) == 4
            assert value(samples, "kgb_log_sink_up", sink=sink) == 1
        finally:
            gateway.stop()
        stderr = gateway.proc.stderr.read()
        assert stderr.count("is down") == 1 and stderr.count("is back") == 1, stderr


def test_retry_after_is_honoured(mock):
    with Collector([(429, {"Retry-After": "2"})]) as collector:
        gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", collector.url, "--spool", spool_dir(),
                            "--log-batch-ms", "50")
        try:
            ask(gateway, 1)
            assert len(collector.wait_for(1, timeout=10)) == 1
            first, second = collector.requests[0][0], collector.requests[1][0]
            assert second - first >= 1.9, "the retry waited for Retry-After"
        finally:
            gateway.stop()


def test_a_400_goes_to_the_dead_letter_directory_and_later_batches_go_on(mock):
    admin = free_port()
    spool = spool_dir()
    with Collector([400]) as collector:
        gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", collector.url, "--spool", spool,
                            "--log-batch-ms", "50", "--admin", f"127.0.0.1:{admin}")
        try:
            ask(gateway, 1)
            deadline = time.monotonic() + 10
            while not glob.glob(f"{spool}/dead-letter/*.ndjson") and time.monotonic() < deadline:
                time.sleep(0.05)
            dead = glob.glob(f"{spool}/dead-letter/*.ndjson")
            assert len(dead) == 1
            kept = [json.loads(line) for line in open(dead[0]).read().splitlines()]
            assert len(kept) == 1 and kept[0]["path"].startswith("/v1/messages")
            ask(gateway, 2)
            assert len(collector.wait_for(2)) == 2, "the refused batch blocks nothing behind it"
            assert kept[0]["id"] not in collector.ids()
            assert value(metrics(admin), "kgb_log_sink_dead_letter_batches_total", sink=collector.url) == 1
        finally:
            gateway.stop()
        assert "refused a batch of 1 record(s)" in gateway.proc.stderr.read()


def spooled_then_killed(mock, count):
    """Records for a collector that is not there yet, then kill -9: (spool, port, url)."""
    spool = spool_dir()
    port = free_port()
    url = f"http://127.0.0.1:{port}/ingest"  # nothing listens there yet
    gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", spool, "--log-batch-ms", "50")
    ask(gateway, count)
    time.sleep(1.2)  # past the spool's once-a-second fsync
    gateway.stop(signal.SIGKILL)
    assert glob.glob(f"{spool}/segments/*.seg")
    return spool, port, url


def test_kill_9_while_the_collector_is_gone_then_a_restart_delivers_everything(mock):
    spool, port, url = spooled_then_killed(mock, 10)
    with Collector(port=port) as collector:  # up now, on the port the records were meant for
        again = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", spool, "--log-batch-ms", "50")
        try:
            ids = collector.wait_for(10, timeout=20)
            assert len(ids) == 10 and len(set(ids)) == 10
            ask(again, 1)
            assert len(collector.wait_for(11)) == 11
        finally:
            again.stop()
        assert "from an earlier run wait in" in again.proc.stderr.read()


def test_a_torn_spool_tail_is_cut_off_and_the_rest_delivered(mock):
    spool, port, url = spooled_then_killed(mock, 3)
    segment = sorted(glob.glob(f"{spool}/segments/*.seg"))[-1]
    size = os.path.getsize(segment)
    with open(segment, "ab") as f:  # a frame whose write was cut short by the crash
        f.write(b"\x40\x00\x00\x00\x12\x34\x56\x78" + b'{"id":"torn"')
    with Collector(port=port) as collector:
        again = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", spool, "--log-batch-ms", "50")
        try:
            ids = collector.wait_for(3, timeout=15)
            time.sleep(0.3)
            assert len(collector.ids()) == 3 and "torn" not in collector.ids()
        finally:
            again.stop()
        stderr = again.proc.stderr.read()
    assert "torn or corrupt" in stderr and f"after offset {size}" in stderr, stderr


def test_a_full_spool_drops_the_oldest_and_counts_them(mock):
    admin = free_port()
    spool = spool_dir()
    port = free_port()
    url = f"http://127.0.0.1:{port}/ingest"
    gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", spool, "--spool-max-bytes", "1048576",
                        "--log-batch-ms", "50", "--admin", f"127.0.0.1:{admin}")
    try:
        body = json.dumps({"model": "claude-test", "messages": [{"role": "user", "content": "x" * 200_000}]}).encode()
        for _ in range(20):  # about 4 MB of records into a 1 MiB spool
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{gateway.port}/v1/echo", data=body,
                                                          method="POST"), timeout=10).read()
        time.sleep(0.5)
        samples = metrics(admin)
        dropped = value(samples, "kgb_log_sink_dropped_records_total", sink=url, reason="spool_full")
        assert dropped > 0
        assert value(samples, "kgb_spool_bytes") <= 1048576 + 300_000
        with Collector(port=port) as collector:
            delivered = collector.wait_for(20 - dropped, timeout=20)
            time.sleep(0.3)
            assert len(collector.ids()) + dropped == 20, "each record delivered or counted as dropped"
    finally:
        gateway.stop()
    assert "spool: full" in gateway.proc.stderr.read()


def test_while_a_sink_is_down_the_gateway_stays_ready_and_reports_the_lag(mock):
    admin = free_port()
    port = free_port()
    url = f"http://127.0.0.1:{port}/ingest"
    gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", spool_dir(), "--log-batch-ms", "50",
                        "--admin", f"127.0.0.1:{admin}")
    try:
        ask(gateway, 3)
        time.sleep(1.5)
        assert admin_get(admin, "/readyz") == (200, "ready\n"), "the spool absorbs the outage"
        samples = metrics(admin)
        assert value(samples, "kgb_log_sink_up", sink=url) == 0
        assert value(samples, "kgb_log_sink_lag_seconds", sink=url) >= 1
        assert value(samples, "kgb_spool_records") == 3
        with Collector(port=port) as collector:
            assert len(collector.wait_for(3, timeout=40)) == 3
            time.sleep(0.5)
            samples = metrics(admin)
            assert value(samples, "kgb_log_sink_up", sink=url) == 1 and value(samples, "kgb_log_sink_lag_seconds", sink=url) == 0
    finally:
        gateway.stop()


def test_two_remote_sinks_are_acknowledged_each_on_its_own(mock):
    with Collector([503] * 3) as slow, Collector() as quick:
        gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", slow.url, "--log", quick.url, "--spool", spool_dir(),
                            "--log-batch-ms", "50")
        try:
            ask(gateway, 4)
            assert len(quick.wait_for(4)) == 4, "one sink's outage does not hold the other back"
            assert len(slow.wait_for(4, timeout=30)) == 4
            assert sorted(slow.ids()) == sorted(quick.ids())
        finally:
            gateway.stop()


def test_an_https_collector_is_verified_like_upstreams(mock, certificates):
    with Collector(tls=certificates["good"]) as collector:
        gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", collector.url, "--spool", spool_dir(),
                            "--log-batch-ms", "50", "--upstream-ca", certificates["ca"])
        try:
            ask(gateway, 2)
            assert len(collector.wait_for(2)) == 2
        finally:
            gateway.stop()
    with Collector(tls=certificates["good"]) as collector:
        untrusted = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", collector.url, "--spool", spool_dir(),
                              "--log-batch-ms", "50")
        try:
            ask(untrusted, 1)
            time.sleep(1.5)
            assert collector.ids() == [], "without the CA the collector's certificate is not trusted"
        finally:
            untrusted.stop()
        assert "certificate verify failed" in untrusted.proc.stderr.read()


def test_every_worker_writes_to_one_spool(mock):
    with Collector() as collector:
        gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", collector.url, "--spool", spool_dir(),
                            "--workers", "2", "--log-batch-ms", "100")
        try:
            ask(gateway, 40)
            ids = collector.wait_for(40)
            assert len(ids) == 40 and len(set(ids)) == 40
        finally:
            gateway.stop()
