"""A log on a filesystem that fills up: serving goes on, the file only ever holds whole records, every record
that could not be written is counted, /readyz says so, and writing resumes cleanly once there is room."""
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import admin_get, free_port, metrics, value
from httpraw import exchange

BODY = "x" * 150_000  # each record carries this request body: a few of them fill the filesystem


@pytest.fixture
def small_filesystem():
    """A 1 MiB tmpfs of our own (the tests run as root, as CI does)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    path = tempfile.mkdtemp(prefix="kgb-small-fs-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", path], check=True)
    yield path
    subprocess.run(["umount", "-l", path], check=False)
    os.rmdir(path)


def lines_of(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n")


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_full_disk_leaves_only_whole_records_and_counts_the_rest(mock, kgb_factory, small_filesystem):
    log_path = os.path.join(small_filesystem, "exchanges.jsonl")
    filler = os.path.join(small_filesystem, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * 600_000)
    admin = free_port()
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", f"jsonl:{log_path}", "--admin", f"127.0.0.1:{admin}")

    def send(n):
        for _ in range(n):
            response = exchange(gateway.port, "POST", "/echo", [("Content-Type", "text/plain")], BODY)
            assert response.status == 200, "serving goes on whatever the log does"

    def lost():
        return value(metrics(admin), "kgb_log_sink_records_lost_total")

    # Fill the disk: some records fit, then writes fail.
    sent = 0
    while lost() == 0:
        send(1)
        sent += 1
        time.sleep(0.05)
        assert sent < 20, "the filesystem never filled"
    send(3)
    sent += 3
    wait_for(lambda: lost() + (len(lines_of(log_path)) - 1) >= sent)
    status, text = admin_get(admin, "/readyz")
    assert (status, "a log sink is failing" in text) == (503, True)

    # Every line in the file is a whole record: the failed writes were cut back.
    content = open(log_path, "rb").read()
    assert content.endswith(b"\n")
    written = [json.loads(line) for line in content.split(b"\n")[:-1]]
    assert len(written) + lost() == sent, "each exchange is either in the file or counted as lost"

    # Room again: the next records are written whole, after the earlier ones, without a SIGHUP even.
    os.remove(filler)
    send(2)
    wait_for(lambda: len(lines_of(log_path)) - 1 == len(written) + 2)
    records = [json.loads(line) for line in lines_of(log_path)[:-1]]
    assert [r["id"] for r in records[:len(written)]] == [r["id"] for r in written]
    assert all(r["outcome"] == "complete" for r in records)
    assert admin_get(admin, "/readyz")[0] == 200

    # A SIGHUP (logrotate) afterwards still appends cleanly.
    gateway.proc.send_signal(signal.SIGHUP)
    time.sleep(0.2)
    send(1)
    wait_for(lambda: len(lines_of(log_path)) - 1 == len(written) + 3)
    for line in lines_of(log_path)[:-1]:
        json.loads(line)
    gateway.stop()
    messages = gateway.proc.stderr.read()
    assert "record(s) lost so far" in messages
    assert "works again" in messages


def test_a_body_on_a_full_disk_is_cut_to_what_reached_its_file(mock, kgb_factory, small_filesystem, tmp_path):
    """Body files on a 1 MiB filesystem, the log elsewhere: a 3 MiB answer's spill file stops growing when the disk
    is full. The record marks the body truncated and holds exactly the bytes that reached the file (read back into
    the line, as they are under 1 MiB), and no spill file is left behind."""
    log_path = str(tmp_path / "exchanges.jsonl")
    bodies = os.path.join(small_filesystem, "bodies")
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", f"jsonl:{log_path}", "--log-body-max", str(64 << 20),
                          "--log-body-dir", bodies)
    size = 3 << 20
    assert len(exchange(gateway.port, "GET", f"/bytes?n={size}").body) == size, "the client gets everything"
    deadline = time.monotonic() + 10
    while not (os.path.exists(log_path) and open(log_path, "rb").read().endswith(b"\n")):
        assert time.monotonic() < deadline, "no record"
        time.sleep(0.05)
    record = json.loads(open(log_path, "rb").read().split(b"\n")[0])
    assert record["response"]["truncated"] is True and record["response"]["body_bytes"] == size
    import base64
    kept = base64.b64decode(record["response"]["body"]["base64"])
    assert 0 < len(kept) < size
    assert kept == (bytes(i % 251 for i in range(251)) * (len(kept) // 251 + 1))[:len(kept)]
    assert os.listdir(bodies) == [], "the spill file was read back and removed"
