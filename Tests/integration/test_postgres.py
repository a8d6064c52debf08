"""`kgb tail` and `kgb show` on a PostgreSQL store (a real server, pg.py): the newest exchanges, one in detail,
following rows as they arrive (a late one included), the password kept out of every message, and clear errors for
a server that is not there or a database kgb never wrote to. The sink itself is tested in Swift against the same
kind of server (Tests/ExchangeLogTests/PostgresSinkTests.swift, make test-postgres)."""
import json
import os
import subprocess
import time

import pytest

from conftest import BIN, clean_environment, free_port, read_records
from httpraw import exchange

KGB = os.path.join(BIN, "kgb")

# The table as the sink's first migration makes it (Sources/ExchangeLog/PostgresSchema.swift). The gateway does not
# write to PostgreSQL by itself yet (the spool will), so this test stores real records the way the sink does.
SCHEMA = """
CREATE TABLE kgb_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO kgb_schema_version (version) VALUES (1);
CREATE TABLE kgb_exchanges (
    id text PRIMARY KEY, seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE, started_at timestamptz NOT NULL,
    method text, path text, upstream text, status integer, outcome text, model text, input_tokens bigint,
    output_tokens bigint, total_ms double precision, ttfb_ms double precision, cost_usd numeric, agent text,
    record jsonb NOT NULL);
"""
INSERT = """
INSERT INTO kgb_exchanges (id, started_at, method, path, upstream, status, outcome, model, input_tokens,
                           output_tokens, total_ms, ttfb_ms, cost_usd, agent, record)
SELECT r->>'id', (r->>'started_at')::timestamptz, r->>'method', r->>'path', r->>'upstream',
       (r->'response'->>'status')::integer, r->>'outcome', r->'usage'->>'model', (r->'usage'->>'input_tokens')::bigint,
       (r->'usage'->>'output_tokens')::bigint, (r->'timing'->>'total_ms')::float8, (r->'timing'->>'ttfb_ms')::float8,
       (r->>'cost_usd')::numeric, r->'agent'->>'name', r
FROM jsonb_array_elements(:'batch'::jsonb) AS r
ON CONFLICT (id) DO NOTHING;
"""


def run_kgb(*args, env=None):
    return subprocess.run([KGB, *args], capture_output=True, text=True, timeout=20, env=clean_environment(env))


def store(postgres, database, records):
    postgres.psql(INSERT, database, batch=json.dumps(records))


@pytest.fixture
def records(mock, kgb_factory, tmp_path):
    """Three records written by a real gateway run (JSONL), the last one an agent's."""
    jsonl = tmp_path / "log.jsonl"
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--log", f"jsonl:{jsonl}")
    body = json.dumps({"model": "claude-pg", "max_tokens": 9, "stream": True, "system": "be brief",
                       "messages": [{"role": "user", "content": "where do records go?"}]})
    for _ in range(3):
        assert exchange(gateway.port, "POST", "/v1/messages?events=3", [("Content-Type", "application/json")],
                        body).status == 200
    written = read_records(str(jsonl), 3)
    assert len(written) == 3
    written[-1]["agent"]["name"] = "laptop"
    return written


def test_tail_and_show_read_postgresql(postgres, records):
    url = postgres.create_database("kgb_tail_show")
    postgres.psql(SCHEMA, "kgb_tail_show")
    store(postgres, "kgb_tail_show", records)
    tail = run_kgb("tail", "--no-follow", "--log", url, "-n", "2")
    assert tail.returncode == 0, tail.stderr
    lines = tail.stdout.splitlines()
    assert len(lines) == 2
    assert all("claude-pg" in line and "200 complete" in line and "in=" in line for line in lines)
    assert lines[0].endswith(records[1]["id"]) and lines[1].endswith(records[2]["id"])
    # Named without the password; libpq's PGPASSWORD serves a URL that has none.
    assert f"reading postgres://kgb:***@127.0.0.1:{postgres.port}/kgb_tail_show" in tail.stderr
    assert "kgb-test" not in tail.stderr
    bare = postgres.url("kgb_tail_show", password=False)
    agent = run_kgb("tail", "--no-follow", "--agent", "laptop", "--log", bare, env={"PGPASSWORD": "kgb-test"})
    assert agent.returncode == 0, agent.stderr
    assert [line.split()[-1] for line in agent.stdout.splitlines()] == [records[2]["id"]]

    show = run_kgb("show", records[0]["id"], "--log", url)
    assert show.returncode == 0, show.stderr
    assert "[system] be brief" in show.stdout and "[user] where do records go?" in show.stdout
    assert "usage     model claude-pg" in show.stdout
    raw = json.loads(run_kgb("show", records[0]["id"], "--json", "--log", url).stdout)
    assert raw == records[0], "jsonb keeps every member and value (its own key order and spacing)"
    missing = run_kgb("show", "no-such-id", "--log", url)
    assert missing.returncode != 0
    assert "no exchange with id no-such-id in postgres://kgb:***@" in missing.stderr


def test_tail_follows_rows_as_they_arrive_even_late_ones(postgres, records):
    url = postgres.create_database("kgb_follow")
    postgres.psql(SCHEMA, "kgb_follow")
    store(postgres, "kgb_follow", records[:2])
    follower = subprocess.Popen([KGB, "tail", "--log", url, "-n", "1", "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=clean_environment())
    try:
        assert json.loads(follower.stdout.readline())["id"] == records[1]["id"]
        # The third record, stored with a start time before the others' (as the spool delivers after an outage,
        # or a long stream that ended last), is still a new row to a follower; a replay of a stored one is not.
        late = dict(records[2], started_at="2020-01-01T00:00:00.000000Z")
        store(postgres, "kgb_follow", [records[0], late])
        assert json.loads(follower.stdout.readline())["id"] == records[2]["id"]
    finally:
        follower.kill()
        follower.wait()


def test_a_server_that_is_not_there_is_named_without_its_password():
    port = free_port()
    started = time.monotonic()
    for command in (["tail", "--no-follow"], ["show", "some-id"]):
        result = run_kgb(*command, "--log", f"postgresql://kgb:secret@127.0.0.1:{port}/logs")
        assert result.returncode != 0
        assert f"postgresql://kgb:***@127.0.0.1:{port}/logs" in result.stderr
        assert "Connection refused" in result.stderr
        assert "secret" not in result.stderr
    assert time.monotonic() - started < 10


def test_a_database_kgb_never_wrote_to_is_named_as_such(postgres):
    url = postgres.create_database("kgb_nothing")
    result = run_kgb("tail", "--no-follow", "--log", url)
    assert result.returncode != 0
    assert "no kgb_exchanges table" in result.stderr
