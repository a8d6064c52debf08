"""The command line users script against: flag names, environment variables, errors naming the flag."""
import os
import subprocess

import pytest

from conftest import BIN, free_port, start_kgb
from httpraw import exchange

KGB = os.path.join(BIN, "kgb")


def run(*args, env=None):
    # No exchange log from these runs (the default would write ./kgb-logs in the test folder).
    return subprocess.run([KGB, *args], capture_output=True, text=True, timeout=10,
                          env={**os.environ, "KGB_LOG": "none", **(env or {})})


def test_help_lists_every_flag_with_defaults():
    result = run("--help")
    assert result.returncode == 0
    for flag in ("--listen", "--upstream", "--upstream-timeout", "--header-timeout", "--idle-timeout",
                 "--drain-timeout", "--connect-timeout", "--max-header-bytes"):
        assert flag in result.stdout
    assert "default: 127.0.0.1:8080" in result.stdout
    assert "KGB_" in result.stdout


@pytest.mark.parametrize("args,flag", [
    (["--upstream", "http://127.0.0.1:1", "--upstream-timeout", "-1"], "--upstream-timeout"),
    (["--upstream", "http://127.0.0.1:1", "--header-timeout", "soon"], "--header-timeout"),
    (["--upstream", "http://127.0.0.1:1", "--listen", "nowhere"], "--listen"),
    (["--upstream", "not a url"], "--upstream"),
    (["--upstream", "ftp://api.anthropic.com"], "--upstream"),
    (["--upstream", "http://127.0.0.1:1", "--upstream-ca", "/nonexistent.pem"], "--upstream-ca"),
    (["--upstream", "https://127.0.0.1:1", "--upstream-ca", "/nonexistent.pem"], "--upstream-ca"),
    (["--upstream", "http://127.0.0.1:1", "--upstream-proxy", "socks5://127.0.0.1:1080"], "--upstream-proxy"),
    (["--route", "openai=http://127.0.0.1:1"], "--route"),
    (["--route", "/a/=http://127.0.0.1:1", "--route", "/a/=http://127.0.0.1:2", "--route-header", "/a/#3:x-k=v"], "--route-header"),
    (["--upstream", "http://127.0.0.1:1", "--retry-body-max", "-1"], "--retry-body-max"),
    (["--upstream", "http://127.0.0.1:1", "--agents", "/nonexistent/agents.toml"], "--agents"),
    (["--route", "/a/"], "--route"),
    (["--upstream", "http://127.0.0.1:1", "--route-header", "/b/:x-api-key=k"], "--route-header"),
    (["--upstream", "http://127.0.0.1:1", "--route-header", "bad name=k"], "--route-header"),
    (["--upstream", "http://127.0.0.1:1", "--route-header", "content-length=5"], "--route-header"),
    (["--upstream", "http://127.0.0.1:1", "--route-header", "x-api-key=env:KGB_TEST_UNSET_VARIABLE"], "--route-header"),
    ([], "--upstream"),
    (["--upstream", "http://127.0.0.1:1", "--bogus"], "--bogus"),
])
def test_bad_values_exit_2_naming_the_flag(args, flag):
    result = run(*args)
    assert result.returncode == 2, result
    assert flag in result.stderr


def test_a_missing_key_variable_is_named():
    result = run("--upstream", "http://127.0.0.1:1", "--route-header", "x-api-key=env:KGB_TEST_UNSET_VARIABLE")
    assert "KGB_TEST_UNSET_VARIABLE" in result.stderr


def test_insecure_mode_says_so_loudly(tls_mock):
    process = start_kgb(f"https://127.0.0.1:{tls_mock.port}", "--upstream-insecure", "--log", "none")
    try:
        assert exchange(process.port, "GET", "/status/200").status == 200
    finally:
        process.stop()
    stderr = process.proc.stderr.read()
    assert "WARNING" in stderr and "NOT verified" in stderr


def test_flags_from_the_environment(mock):
    # A flag given on the command line wins, so the bad variable is never read: it starts and serves.
    process = start_kgb(f"http://127.0.0.1:{mock.port}", "--upstream-timeout", "5",
                        env={"KGB_UPSTREAM_TIMEOUT": "nonsense"})
    try:
        assert exchange(process.port, "GET", "/status/200").status == 200
    finally:
        assert process.stop() == 0
    env_port = free_port()
    proc = subprocess.Popen([KGB], env={**os.environ, "KGB_LOG": "none", "KGB_LISTEN": f"127.0.0.1:{env_port}",
                                        "KGB_UPSTREAM": f"http://127.0.0.1:{mock.port}"},
                            stderr=subprocess.PIPE, text=True)
    try:
        from conftest import wait_listening
        wait_listening(env_port, proc=proc)
        assert exchange(env_port, "GET", "/status/200").status == 200
    finally:
        proc.terminate()
        assert proc.wait(5) == 0


def test_bad_environment_value_names_the_flag():
    result = run(env={"KGB_UPSTREAM": "http://127.0.0.1:1", "KGB_IDLE_TIMEOUT": "0"})
    assert result.returncode == 2
    assert "--idle-timeout" in result.stderr


def test_port_in_use_exits_1(mock):
    result = run("--listen", f"127.0.0.1:{mock.port}", "--upstream", f"http://127.0.0.1:{mock.port}")
    assert result.returncode == 1
    assert "cannot listen" in result.stderr
