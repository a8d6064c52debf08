"""--config FILE: the same settings as the flags, in TOML, for deployments with many routes. Flags and KGB_*
variables override the file; an unknown key or a bad value is an error naming the key and its line."""
import json
import os
import subprocess

import pytest

from conftest import BIN, clean_environment, free_port, read_records, wait_listening
from httpraw import exchange

KGB = os.path.join(BIN, "kgb")


def write(tmp_path, text):
    path = tmp_path / "kgb.toml"
    path.write_text(text)
    return str(path)


def run(*args, env=None):
    return subprocess.run([KGB, *args], capture_output=True, text=True, timeout=10, env=clean_environment(env))


def test_a_config_file_with_routes_and_headers_serves(mock, tmp_path):
    port = free_port()
    log = tmp_path / "records.jsonl"
    config = write(tmp_path, f"""
# kgb in front of two APIs
listen = "127.0.0.1:{port}"
upstream = "http://127.0.0.1:{mock.port}"
upstream-timeout = 5
connect-timeout = 2.5
log = ["jsonl:{log}"]
headers = {{ x-api-key = "env:KGB_TEST_KEY" }}

[[route]]
prefix = "/openai/"
upstream = "http://127.0.0.1:{mock.port}/v1/"
headers = {{ Authorization = "Bearer ${{KGB_TEST_KEY}}" }}
""")
    proc = subprocess.Popen([KGB, "--config", config], stderr=subprocess.PIPE, text=True,
                            env=clean_environment({"KGB_TEST_KEY": "sk-config-key"}))
    try:
        wait_listening(port, proc=proc)
        default = json.loads(exchange(port, "GET", "/echo").body)
        assert ["x-api-key", "sk-config-key"] in default["headers"]
        routed = json.loads(exchange(port, "GET", "/openai/../echo").body)
        assert routed["target"] == "/v1/../echo"
        assert ["Authorization", "Bearer sk-config-key"] in routed["headers"]
        assert len(read_records(str(log), 2)) == 2
    finally:
        proc.terminate()
        assert proc.wait(5) == 0


def answers_on(port, args, env):
    """Starts kgb with `args` (no --listen of the test's own), checks it serves on `port`, stops it."""
    proc = subprocess.Popen([KGB, *args], stderr=subprocess.PIPE, text=True, env=clean_environment(env))
    try:
        wait_listening(port, proc=proc)
        assert exchange(port, "GET", "/status/200").status == 200
    finally:
        proc.terminate()
        assert proc.wait(5) == 0


def test_flags_and_variables_override_the_file(mock, tmp_path):
    file_port, flag_port = free_port(), free_port()
    config = write(tmp_path, f'listen = "127.0.0.1:{file_port}"\nupstream = "http://127.0.0.1:1"\nlog = "none"\n')
    answers_on(flag_port, ["--config", config, "--listen", f"127.0.0.1:{flag_port}"],
               {"KGB_UPSTREAM": f"http://127.0.0.1:{mock.port}"})


def test_the_config_file_from_the_environment(mock, tmp_path):
    port = free_port()
    config = write(tmp_path, f'listen = "127.0.0.1:{port}"\nupstream = "http://127.0.0.1:{mock.port}"\nlog = "none"\n')
    answers_on(port, [], {"KGB_CONFIG": config})


@pytest.mark.parametrize("text,expected", [
    ('upstream = "http://127.0.0.1:1"\n\nupstrem-timeout = 5\n', ["line 3", "upstrem-timeout", "unknown key"]),
    ('log = "none"\nupstream = "ftp://127.0.0.1:1"\n', ["line 2", "upstream", "scheme"]),
    ('upstream = "http://127.0.0.1:1"\nidle-timeout = "soon"\n', ["line 2", "idle-timeout", "number"]),
    ('upstream = "http://127.0.0.1:1"\nidle-timeout = -3\n', ["line 2", "idle-timeout"]),
    ('upstream = "http://127.0.0.1:1"\n[[route]]\nprefix = "/a/"\nupstream = "http://127.0.0.1:2"\nweight = 3\n',
     ["line 5", "route.weight", "unknown key"]),
    ('upstream = "http://127.0.0.1:1"\n[[route]]\nprefix = "/a/"\n', ["line 2", "route.upstream"]),
    ('upstream = "http://127.0.0.1:1"\nlisten = [\n', ["line"]),
])
def test_bad_files_name_the_key_and_line(tmp_path, text, expected):
    config = write(tmp_path, text)
    result = run("--config", config)
    assert result.returncode == 2, result
    for fragment in expected:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert config in result.stderr


def test_a_missing_config_file_names_the_flag():
    result = run("--config", "/nonexistent/kgb.toml")
    assert result.returncode == 2 and "--config" in result.stderr


def test_every_sink_of_a_log_list_is_written(mock, tmp_path):
    """`log = [...]` in a file keeps every sink (the second one used to be dropped as 'overridden' by the first)."""
    port = free_port()
    jsonl, db = tmp_path / "records.jsonl", tmp_path / "records.sqlite"
    config = write(tmp_path, f'listen = "127.0.0.1:{port}"\nupstream = "http://127.0.0.1:{mock.port}"\n'
                             f'log = ["jsonl:{jsonl}", "sqlite:{db}"]\n')
    answers_on(port, ["--config", config], {})
    assert len(read_records(str(jsonl), 1)) == 1
    import sqlite3
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM exchanges").fetchone()[0] == 1


def test_a_log_flag_replaces_the_files_list(mock, tmp_path):
    port = free_port()
    from_file, from_flag = tmp_path / "file.jsonl", tmp_path / "flag.jsonl"
    config = write(tmp_path, f'listen = "127.0.0.1:{port}"\nupstream = "http://127.0.0.1:{mock.port}"\n'
                             f'log = ["jsonl:{from_file}", "none"]\n')
    answers_on(port, ["--config", config, "--log", f"jsonl:{from_flag}"], {})
    assert len(read_records(str(from_flag), 1)) == 1
    assert not from_file.exists()
