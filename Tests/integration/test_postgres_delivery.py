"""kgb writing to a real PostgreSQL through its spool: the rows and their columns, an outage under load (stop the
server, keep sending, start it) with every exchange stored exactly once, kill -9 of kgb while the server is down,
and two kgb instances writing to one database."""
import os
import signal
import tempfile
import threading
import time
import urllib.request

from conftest import free_port, metrics, start_kgb, value


def ask(gateway, count, events=2):
    for _ in range(count):
        request = urllib.request.Request(f"http://127.0.0.1:{gateway.port}/v1/messages?events={events}", method="POST",
                                         data=b'{"model":"claude-test","max_tokens":5,"messages":[]}',
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def spool():
    return os.path.join(tempfile.mkdtemp(prefix="kgb-pg-spool-"), "spool")


def rows(postgres, database, sql="SELECT count(*), count(DISTINCT id) FROM kgb_exchanges"):
    try:
        return postgres.psql(sql, database)
    except Exception:
        return None


def wait_rows(postgres, database, count, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = rows(postgres, database)
        if found and int(found[0][0]) >= count:
            return found[0]
        time.sleep(0.1)
    return rows(postgres, database)[0]


def test_each_exchange_is_a_row_with_its_columns(postgres, mock):
    url = postgres.create_database("kgb_rows")
    gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", spool(), "--log-batch-ms", "100")
    try:
        ask(gateway, 3, events=4)
        assert wait_rows(postgres, "kgb_rows", 3) == ["3", "3"]
        found = postgres.psql("SELECT method, path, status, outcome, model, output_tokens, total_ms > 0, "
                              "record->'response'->>'status' FROM kgb_exchanges ORDER BY started_at", "kgb_rows")
        assert found[0] == ["POST", "/v1/messages?events=4", "200", "complete", "claude-test", "4", "t", "200"]
    finally:
        gateway.stop()
    assert "kgb:***@" not in url and ":kgb-test@" in url
    assert "kgb-test" not in gateway.proc.stderr.read(), "the password never appears in a message"


def test_an_outage_under_load_loses_and_duplicates_nothing(postgres, mock):
    url = postgres.create_database("kgb_outage")
    admin = free_port()
    gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", spool(), "--log-batch-ms", "100",
                        "--admin", f"127.0.0.1:{admin}")
    sent = []

    def load():
        for _ in range(60):
            ask(gateway, 5)
            sent.append(5)
            time.sleep(0.05)
    try:
        ask(gateway, 1)
        assert wait_rows(postgres, "kgb_outage", 1) == ["1", "1"], "the schema exists before the outage"
        worker = threading.Thread(target=load)
        worker.start()
        time.sleep(1)
        postgres.stop()  # a fast shutdown: connections cut mid-batch
        try:
            time.sleep(3)
            samples = metrics(admin)
            assert value(samples, "kgb_log_sink_up", sink=url.replace(":kgb-test@", ":***@")) == 0
        finally:
            postgres.start()
        worker.join(60)
        total = 1 + sum(sent)
        assert total == 301, "the gateway served throughout"
        assert wait_rows(postgres, "kgb_outage", total, timeout=60) == [str(total), str(total)], "each once"
        samples = metrics(admin)
        assert value(samples, "kgb_log_sink_delivery_errors_total", sink=url.replace(":kgb-test@", ":***@")) >= 1
    finally:
        gateway.stop()
    stderr = gateway.proc.stderr.read()
    assert stderr.count("is down") == 1 and stderr.count("is back") == 1


def test_kill_9_while_postgres_is_down_then_a_restart_delivers_every_spooled_record(postgres, mock):
    url = postgres.create_database("kgb_kill")
    directory = spool()
    gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", directory, "--log-batch-ms", "50")
    postgres.stop()
    try:
        ask(gateway, 12)
        time.sleep(1.5)  # past the spool's once-a-second fsync
        gateway.stop(signal.SIGKILL)
    finally:
        postgres.start()
    again = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", directory, "--log-batch-ms", "50")
    try:
        assert wait_rows(postgres, "kgb_kill", 12) == ["12", "12"]
    finally:
        again.stop()


def test_two_instances_write_to_one_database(postgres, mock):
    url = postgres.create_database("kgb_fleet")
    first = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", spool(), "--log-batch-ms", "100")
    second = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", url, "--spool", spool(), "--log-batch-ms", "100")
    try:
        threads = [threading.Thread(target=ask, args=(gateway, 40)) for gateway in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert wait_rows(postgres, "kgb_fleet", 80) == ["80", "80"]
        versions = postgres.psql("SELECT version, count(*) FROM kgb_schema_version GROUP BY 1 ORDER BY 1", "kgb_fleet")
        assert versions == [["1", "1"], ["2", "1"]], "each migration applied once, whichever instance came first"
    finally:
        first.stop()
        second.stop()
