"""Agent keys and limits (--agents), with the real Anthropic and OpenAI SDKs and real processes: a key works in
either header the SDKs send, the upstream never sees it, unknown keys are refused in the API's error shape, and
each limit is hit and released."""
import hashlib
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import anthropic
import openai
import pytest

from conftest import BIN, free_port, read_records
from scripted_upstream import ScriptedUpstream, read_request_head

KGB = os.path.join(BIN, "kgb")
BOT_KEY = "sk-agent-build-bot-0123456789"
LAPTOP_KEY = "sk-agent-laptop-abcdef"
REAL_KEY = "sk-ant-real-upstream-key"


def agents_file(text):
    path = os.path.join(tempfile.mkdtemp(prefix="kgb-agents-"), "agents.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def two_agents(bot_limits=""):
    return agents_file(f"""
[[agent]]
name = "build-bot"
key = "env:BOT_KEY"
{bot_limits}

[[agent]]
name = "laptop"
key_sha256 = "{hashlib.sha256(LAPTOP_KEY.encode()).hexdigest()}"
""")


def start(kgb_factory, upstream, agents, *extra):
    return kgb_factory(upstream, "--agents", agents, "--route-header", f"x-api-key={REAL_KEY}", *extra,
                       env={"BOT_KEY": BOT_KEY})


def post(port, path, headers=None, body=b'{"model":"claude-test","max_tokens":5,"messages":[]}'):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_an_agent_key_works_via_x_api_key_and_via_bearer(kgb_factory, mock):
    gateway = start(kgb_factory, f"http://127.0.0.1:{mock.port}", two_agents())
    claude = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key=BOT_KEY, max_retries=0)
    with claude.messages.stream(model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                                extra_headers={"x-mock-events": "4", "x-session-id": "s-1"}) as stream:
        assert "".join(stream.text_stream) == "word0 word1 word2 word3 "
    gpt = openai.OpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key=LAPTOP_KEY, max_retries=0)
    answer = gpt.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}],
                                         extra_headers={"x-mock-events": "3"})
    assert answer.choices[0].message.content == "word0 word1 word2 "
    records = read_records(gateway.log_path, 2)
    assert [r["agent"]["name"] for r in records] == ["build-bot", "laptop"]
    assert records[0]["agent"]["session"] == "s-1"
    assert all(r["outcome"] == "complete" for r in records)
    text = open(gateway.log_path).read()
    assert BOT_KEY not in text and LAPTOP_KEY not in text and REAL_KEY not in text, "no key is ever logged"


def test_the_upstream_never_sees_an_agents_key(kgb_factory, mock):
    gateway = start(kgb_factory, f"http://127.0.0.1:{mock.port}", two_agents())
    for headers in [{"x-api-key": BOT_KEY}, {"authorization": f"Bearer {LAPTOP_KEY}"},
                    {"x-api-key": BOT_KEY, "authorization": f"Bearer {LAPTOP_KEY}"}]:
        status, _, body = post(gateway.port, "/v1/echo", headers)
        assert status == 200
        seen = {name.lower(): value for name, value in json.loads(body)["headers"]}
        assert seen.get("x-api-key") == REAL_KEY, "the route's credential replaces the agent's"
        assert "authorization" not in seen
        assert BOT_KEY not in body.decode() and LAPTOP_KEY not in body.decode()


def test_no_key_or_an_unknown_key_is_401_and_nothing_goes_upstream(kgb_factory):
    def answer(conn, upstream):
        while read_request_head(conn):
            upstream.note("request")
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
    upstream = ScriptedUpstream(answer)
    try:
        gateway = start(kgb_factory, upstream.url, two_agents())
        claude = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key="sk-not-an-agent", max_retries=0)
        with pytest.raises(anthropic.AuthenticationError) as refused:
            claude.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        assert refused.value.status_code == 401
        assert refused.value.body["error"]["type"] == "authentication_error"
        gpt = openai.OpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key="sk-nope", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            gpt.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        status, _, body = post(gateway.port, "/v1/messages")
        assert status == 401 and "agent key is required" in json.loads(body)["error"]["message"]
        records = read_records(gateway.log_path, 3)
        assert [r["outcome"] for r in records] == ["rejected"] * 3
        assert [r["response"]["status"] for r in records] == [401] * 3
        assert all(r["attempts"] == [] and r["agent"]["name"] is None for r in records)
        assert upstream.events == [], "nothing was sent upstream"
        # A known key still works on the same gateway.
        assert post(gateway.port, "/v1/messages", {"x-api-key": BOT_KEY})[0] == 200
        assert upstream.events == ["request"]
    finally:
        upstream.close()


def test_routes_limit_where_an_agent_may_go(kgb_factory, mock):
    gateway = start(kgb_factory, f"http://127.0.0.1:{mock.port}", two_agents('routes = ["/v1/messages"]'))
    assert post(gateway.port, "/v1/messages", {"x-api-key": BOT_KEY})[0] == 200
    status, _, body = post(gateway.port, "/v1/chat/completions", {"x-api-key": BOT_KEY})
    assert status == 403 and json.loads(body)["error"]["type"] == "permission_error"
    assert post(gateway.port, "/v1/chat/completions", {"authorization": f"Bearer {LAPTOP_KEY}"})[0] == 200


def test_max_concurrent_refuses_while_full_and_admits_after(kgb_factory, mock):
    gateway = start(kgb_factory, f"http://127.0.0.1:{mock.port}", two_agents("max_concurrent = 1"))
    claude = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key=BOT_KEY, max_retries=0)
    started, texts = threading.Event(), []

    def slow_stream():
        with claude.messages.stream(model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                                    extra_headers={"x-mock-events": "10", "x-mock-interval-ms": "100"}) as stream:
            for piece in stream.text_stream:
                started.set()
                texts.append(piece)
    worker = threading.Thread(target=slow_stream)
    worker.start()
    assert started.wait(5)
    with pytest.raises(anthropic.RateLimitError) as refused:
        claude.messages.create(model="claude-test", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert refused.value.response.headers["retry-after"] == "1"
    assert refused.value.body["error"]["type"] == "rate_limit_error"
    # Another agent is not limited by this one's limit.
    assert post(gateway.port, "/v1/messages", {"authorization": f"Bearer {LAPTOP_KEY}"})[0] == 200
    worker.join(10)
    assert len(texts) == 10, "the running stream was never cut"
    assert post(gateway.port, "/v1/messages", {"x-api-key": BOT_KEY})[0] == 200, "released when the stream ended"
    records = read_records(gateway.log_path, 4)
    refused_record = next(r for r in records if r["outcome"] == "rejected")
    assert refused_record["agent"]["name"] == "build-bot"
    assert refused_record["response"]["status"] == 429 and "max_concurrent" in refused_record["error"]


def test_requests_per_minute_refuses_past_the_bucket_and_refills(kgb_factory, mock):
    gateway = start(kgb_factory, f"http://127.0.0.1:{mock.port}", two_agents("requests_per_minute = 60"))
    # A burst of the minute's 60 passes; the bucket refills one a second meanwhile, so a slow (debug, sanitized)
    # build may pass a few more before the first refusal.
    began, passed = time.monotonic(), 0
    while True:
        status, headers, body = post(gateway.port, "/v1/messages", {"x-api-key": BOT_KEY})
        if status != 200:
            break
        passed += 1
        assert passed <= 200, "never refused"
    assert 60 <= passed <= 60 + int(time.monotonic() - began) + 1
    assert status == 429 and "requests_per_minute" in json.loads(body)["error"]["message"]
    retry_after = int(headers["Retry-After"])
    assert 1 <= retry_after <= 2
    time.sleep(retry_after + 0.1)
    assert post(gateway.port, "/v1/messages", {"x-api-key": BOT_KEY})[0] == 200, "one refilled"


def test_tokens_per_minute_counts_what_the_answers_used(kgb_factory, mock):
    # 1000 tokens a minute (60 ms each); one streamed answer of 1090 output tokens (+ the mock's input tokens)
    # is allowed to finish, then the next request waits for the bucket to come back above empty.
    gateway = start(kgb_factory, f"http://127.0.0.1:{mock.port}", two_agents("tokens_per_minute = 1000"))
    claude = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key=BOT_KEY, max_retries=0)
    with claude.messages.stream(model="claude-test", max_tokens=2000, messages=[{"role": "user", "content": "hi"}],
                                extra_headers={"x-mock-events": "1090"}) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens == 1090, "the stream that passed the limit ran to its end"
    used = final.usage.input_tokens + final.usage.output_tokens
    read_records(gateway.log_path, 1)
    time.sleep(0.2)  # the logger charges the tokens once it has the record
    with pytest.raises(anthropic.RateLimitError) as refused:
        claude.messages.create(model="claude-test", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    retry_after = int(refused.value.response.headers["retry-after"])
    expected = (used - 1000) * 0.06
    assert expected - 1 <= retry_after <= expected + 2
    time.sleep(retry_after + 0.2)
    assert post(gateway.port, "/v1/messages", {"x-api-key": BOT_KEY})[0] == 200, "released once refilled"


def run_kgb(*args, env=None):
    return subprocess.run([KGB, "--listen", f"127.0.0.1:{free_port()}", "--upstream", "http://127.0.0.1:9", *args],
                          capture_output=True, text=True, timeout=10, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("text,message", [
    ('[[agent]]\nname = "a"\nkey = "env:NOT_SET_ANYWHERE"\n', "agent 'a': key needs the environment variable NOT_SET_ANYWHERE"),
    ('[[agent]]\nname = "a"\nkey = "sk-never-echoed"\n[[agent]]\nname = "b"\nkey = "sk-never-echoed"\n', "agents 'a' and 'b' have the same key"),
    ('[[agent]]\nname = "a"\nkey = "sk-never-echoed"\nmax_concurent = 3\n', "agent 'a': unknown key 'max_concurent'"),
    ('[[agent]]\nname = "a"\nkey = "sk-never-echoed"\nrequests_per_minute = 0\n', "requests_per_minute must be a whole number above 0"),
    ('[[agent]]\nname = "a"\nkey_sha256 = "abc"\n', "key_sha256 must be 64 hex digits"),
    ('[[agent]]\nkey = "sk-never-echoed"\n', "agent 1 needs a name"),
    ('title = "x"\n', "unknown key 'title'"),
])
def test_a_bad_agents_file_stops_start_up_naming_what_is_wrong(text, message):
    path = agents_file(text)
    result = run_kgb("--agents", path)
    assert result.returncode == 2
    assert path in result.stderr and message in result.stderr
    assert "sk-never-echoed" not in result.stderr  # the key's value itself is never echoed


def test_token_limits_need_a_log():
    result = run_kgb("--agents", two_agents("tokens_per_minute = 10"), "--log", "none", env={"BOT_KEY": BOT_KEY})
    assert result.returncode == 2 and "need a --log" in result.stderr


def test_credentials_open_beyond_loopback_without_agents_warn(mock):
    port = free_port()
    process = subprocess.Popen([KGB, "--listen", f"0.0.0.0:{port}", "--upstream", f"http://127.0.0.1:{mock.port}",
                                "--route-header", "x-api-key=secret", "--log", "none"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "no --agents" in stderr and "anyone who can reach this port" in stderr


def test_streams_with_cache_tokens_cost_what_the_sdks_report_and_count_to_usd_per_day(kgb_factory, mock):
    prices = os.path.join(tempfile.mkdtemp(prefix="kgb-prices-"), "prices.toml")
    with open(prices, "w") as f:
        f.write('[models."claude-test"]\ninput = 3.0\noutput = 15.0\ncache_write = 3.75\ncache_read = 0.30\n\n'
                '[models."gpt-test"]\ninput = 2.5\noutput = 10.0\ncache_write = 2.5\ncache_read = 1.25\n')
    gateway = start(kgb_factory, f"http://127.0.0.1:{mock.port}", two_agents("usd_per_day = 0.008"), "--prices", prices)
    claude = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key=BOT_KEY, max_retries=0)
    with claude.messages.stream(model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                                extra_headers={"x-mock-events": "5", "x-mock-cache-read": "8000",
                                               "x-mock-cache-write": "1200"}) as stream:
        usage = stream.get_final_message().usage
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (8000, 1200)
    claude_cost = (usage.input_tokens * 3.0 + usage.cache_creation_input_tokens * 3.75
                   + usage.cache_read_input_tokens * 0.30 + usage.output_tokens * 15.0) / 1e6
    record = read_records(gateway.log_path, 1)[0]
    assert record["cost_usd"] == pytest.approx(claude_cost, abs=1e-9)

    gpt = openai.OpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key=BOT_KEY, max_retries=0)
    chunks = gpt.chat.completions.create(model="gpt-test", stream=True, stream_options={"include_usage": True},
                                         messages=[{"role": "user", "content": "hi"}],
                                         extra_headers={"x-mock-events": "7", "x-mock-cache-read": "1024"})
    usage = [c.usage for c in chunks if c.usage][-1]
    cached = usage.prompt_tokens_details.cached_tokens
    assert cached == 1024 and usage.prompt_tokens > cached, "OpenAI counts the cached tokens among the prompt's"
    gpt_cost = ((usage.prompt_tokens - cached) * 2.5 + cached * 1.25 + usage.completion_tokens * 10.0) / 1e6
    record = read_records(gateway.log_path, 2)[1]
    assert record["cost_usd"] == pytest.approx(gpt_cost, abs=1e-9)
    assert claude_cost < 0.008 < claude_cost + gpt_cost

    time.sleep(0.2)  # the logger charges the dollars once it has the record
    with pytest.raises(anthropic.RateLimitError) as refused:
        claude.messages.create(model="claude-test", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert "usd_per_day" in refused.value.message
    to_midnight = 86400 - int(time.time()) % 86400
    assert abs(int(refused.value.response.headers["retry-after"]) - to_midnight) <= 5
    assert post(gateway.port, "/v1/messages", {"authorization": f"Bearer {LAPTOP_KEY}"})[0] == 200, "another agent goes on"


def test_agents_from_the_config_file_and_tail_filters_by_agent(mock):
    directory = tempfile.mkdtemp(prefix="kgb-agents-config-")
    config = os.path.join(directory, "kgb.toml")
    with open(config, "w") as f:
        f.write(f'agents = "{two_agents()}"\nheaders = {{ x-api-key = "{REAL_KEY}" }}\n')
    from conftest import start_kgb
    gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--config", config, env={"BOT_KEY": BOT_KEY})
    try:
        assert post(gateway.port, "/v1/messages")[0] == 401, "the file's agents apply"
        assert post(gateway.port, "/v1/messages", {"x-api-key": BOT_KEY})[0] == 200
        assert post(gateway.port, "/v1/messages", {"authorization": f"Bearer {LAPTOP_KEY}"})[0] == 200
        read_records(gateway.log_path, 3)
        tail = subprocess.run([KGB, "tail", "--no-follow", "--agent", "laptop", "--log", f"jsonl:{gateway.log_path}"],
                              capture_output=True, text=True, timeout=10)
        lines = [line for line in tail.stdout.splitlines() if "/v1/messages" in line]
        assert tail.returncode == 0 and len(lines) == 1, tail.stdout
    finally:
        gateway.stop()
