"""What each exchange cost: cost_usd in every record, from the usage the answer reported and the price table
(the shipped one, or --prices FILE), cache tokens priced as such in both APIs' conventions, an unknown model
null and counted, and a bad price file refused at start-up."""
import json
import os
import subprocess
import time

import pytest

from conftest import BIN, clean_environment, free_port, metrics, read_records, start_kgb, value, wait_listening
from httpraw import exchange

KGB = os.path.join(BIN, "kgb")

# The published prices the shipped table must hold (USD per million tokens): input, output, cache_write, cache_read.
# Written out here again, apart from Sources/kgb/DefaultPrices.swift, so a typo there fails a test.
ANTHROPIC = {
    "claude-opus-4-5": (5, 25, 6.25, 0.50),
    "claude-opus-4-1": (15, 75, 18.75, 1.50),
    "claude-opus-4": (15, 75, 18.75, 1.50),
    "claude-sonnet-4-5": (3, 15, 3.75, 0.30),
    "claude-sonnet-4": (3, 15, 3.75, 0.30),
    "claude-3-7-sonnet": (3, 15, 3.75, 0.30),
    "claude-haiku-4-5": (1, 5, 1.25, 0.10),
    "claude-3-5-haiku": (0.80, 4, 1, 0.08),
    "claude-3-5-sonnet": (3, 15, 3.75, 0.30),
    "claude-3-opus": (15, 75, 18.75, 1.50),
    "claude-3-haiku": (0.25, 1.25, 0.30, 0.03),
}
# OpenAI: input, output, cached input (no cache-write charge).
OPENAI = {
    "gpt-5.1": (1.25, 10, 0.125),
    "gpt-5": (1.25, 10, 0.125),
    "gpt-5-mini": (0.25, 2, 0.025),
    "gpt-5-nano": (0.05, 0.40, 0.005),
    "gpt-4.1": (2, 8, 0.50),
    "gpt-4.1-mini": (0.40, 1.60, 0.10),
    "gpt-4.1-nano": (0.10, 0.40, 0.025),
    "gpt-4o": (2.50, 10, 1.25),
    "gpt-4o-mini": (0.15, 0.60, 0.075),
    "o3": (2, 8, 0.50),
    "o3-mini": (1.10, 4.40, 0.55),
    "o4-mini": (1.10, 4.40, 0.275),
    "o1": (15, 60, 7.50),
}


@pytest.fixture(scope="module")
def priced(mock):
    """A kgb with the shipped prices, of this module's own: the session's shared gateway is read by other tests
    that look for "the newest record" of a kind."""
    process = start_kgb(f"http://127.0.0.1:{mock.port}", "--upstream-timeout", "5")
    yield process
    process.stop()


def anthropic_cost(usage, price):
    # input_tokens excludes both kinds of cache token.
    p_in, p_out, p_write, p_read = price
    return (usage["input_tokens"] * p_in + usage["cache_creation_input_tokens"] * p_write
            + usage["cache_read_input_tokens"] * p_read + usage["output_tokens"] * p_out) / 1e6


def openai_cost(usage, price):
    # prompt_tokens (input_tokens in the record) includes the cached ones: each is priced once.
    p_in, p_out, p_read = price
    cached = usage["cache_read_input_tokens"] or 0
    return ((usage["input_tokens"] - cached) * p_in + cached * p_read + usage["output_tokens"] * p_out) / 1e6


def ask(gateway, api, model, query="", stream=True):
    """One exchange through `gateway`; returns the request body's token count as the mock reckons it."""
    if api == "anthropic":
        path = "/v1/messages"
        body = {"model": model, "max_tokens": 9, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    else:
        path = "/v1/chat/completions"
        body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
        if stream:
            body["stream_options"] = {"include_usage": True}
    text = json.dumps(body)
    response = exchange(gateway.port, "POST", f"{path}?{query}", [("Content-Type", "application/json")], text)
    assert response.status == 200
    return max(1, len(text.encode()) // 4)


def record_for(gateway, model, timeout=5.0):
    """The newest record whose usage names `model`, waiting for it to be written."""
    deadline = time.monotonic() + timeout
    while True:
        matching = [r for r in read_records(gateway.log_path, timeout=0) if (r.get("usage") or {}).get("model") == model]
        if matching or time.monotonic() > deadline:
            assert matching, f"no record for {model}"
            return matching[-1]
        time.sleep(0.02)


def test_a_streamed_anthropic_answer_prices_its_cache_tokens_apart(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    model = "claude-opus-4-5-20251101"  # a dated id: claude-opus-4-5's price, not claude-opus-4's
    body_tokens = ask(gateway, "anthropic", model, "events=5&cache_read=8000&cache_write=1200")
    record = record_for(gateway, model)
    usage = record["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (body_tokens, 5)
    assert (usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]) == (8000, 1200)
    # e.g. 22 input tokens: 22 × 5 + 1200 × 6.25 + 8000 × 0.50 + 5 × 25 = 11735 per million → 0.011735
    expected = anthropic_cost(usage, ANTHROPIC["claude-opus-4-5"])
    assert record["cost_usd"] == pytest.approx(expected, abs=1e-9)
    assert record["cost_usd"] != pytest.approx(anthropic_cost(usage, ANTHROPIC["claude-opus-4"]), abs=1e-9)
    # The key follows the usage object in the line.
    with open(gateway.log_path) as f:
        line = f.readline()
    assert line.index('"cost_usd"') > line.index('"usage"') and line.index('"cost_usd"') < line.index('"sse"')

    # kgb tail and kgb show print it.
    tail = subprocess.run([KGB, "tail", "--no-follow", "--log", f"jsonl:{gateway.log_path}"], capture_output=True,
                          text=True, timeout=10)
    shown = f"${record['cost_usd']:.9f}".rstrip("0")
    assert tail.returncode == 0 and f"out=5 {shown}" in tail.stdout, tail.stdout
    show = subprocess.run([KGB, "show", record["id"], "--log", f"jsonl:{gateway.log_path}"], capture_output=True,
                          text=True, timeout=10)
    assert f"cost      {shown}\n" in show.stdout, show.stdout


def test_a_streamed_openai_answer_prices_cached_tokens_once(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    model = "gpt-4o-mini-2024-07-18"  # gpt-4o-mini's price, not gpt-4o's
    body_tokens = ask(gateway, "openai", model, "events=7&cache_read=1024")
    record = record_for(gateway, model)
    usage = record["usage"]
    # prompt_tokens holds the cached prefix as well.
    assert (usage["input_tokens"], usage["cache_read_input_tokens"], usage["output_tokens"]) == (body_tokens + 1024, 1024, 7)
    expected = openai_cost(usage, OPENAI["gpt-4o-mini"])
    assert record["cost_usd"] == pytest.approx(expected, abs=1e-9)
    counted_twice = (usage["input_tokens"] * 0.15 + 1024 * 0.075 + 7 * 0.60) / 1e6
    assert record["cost_usd"] != pytest.approx(counted_twice, abs=1e-9)


def test_an_openai_stream_without_usage_has_no_cost(mock, kgb_factory):
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}")
    body = json.dumps({"model": "gpt-4o", "stream": True, "messages": []})
    assert exchange(gateway.port, "POST", "/v1/chat/completions?events=3", [("Content-Type", "application/json")], body).status == 200
    record = read_records(gateway.log_path, 1)[0]
    assert record["usage"]["model"] == "gpt-4o" and record["usage"]["input_tokens"] is None
    assert record["cost_usd"] is None, "no token counts: the cost is unknown, not zero"


def test_an_unknown_model_is_null_and_counted(mock, kgb_factory):
    admin = free_port()
    gateway = kgb_factory(f"http://127.0.0.1:{mock.port}", "--admin", f"127.0.0.1:{admin}")
    ask(gateway, "anthropic", "claude-future-9", "events=2")
    ask(gateway, "openai", "gpt-unknown", "events=2")
    ask(gateway, "anthropic", "claude-haiku-4-5", "events=2")  # known: not counted
    assert exchange(gateway.port, "GET", "/status/404").status == 404  # no usage: null, not counted
    records = read_records(gateway.log_path, 4)
    by_model = {(r.get("usage") or {}).get("model"): r for r in records}
    assert by_model["claude-future-9"]["cost_usd"] is None
    assert by_model["gpt-unknown"]["cost_usd"] is None
    assert by_model["claude-haiku-4-5"]["cost_usd"] > 0
    assert by_model[None]["cost_usd"] is None and "cost_usd" in by_model[None]
    samples = metrics(admin)
    assert value(samples, "kgb_log_cost_unknown_model_total") == 2


@pytest.mark.parametrize("model,price", list(ANTHROPIC.items()))
def test_the_shipped_table_prices_each_anthropic_model(priced, model, price):
    ask(priced, "anthropic", model, "events=3&cache_read=100&cache_write=10", stream=False)
    record = record_for(priced, model)
    assert record["cost_usd"] == pytest.approx(anthropic_cost(record["usage"], price), abs=1e-9)


@pytest.mark.parametrize("model,price", list(OPENAI.items()))
def test_the_shipped_table_prices_each_openai_model(priced, model, price):
    ask(priced, "openai", model, "events=3&cache_read=100", stream=False)
    record = record_for(priced, model)
    assert record["cost_usd"] == pytest.approx(openai_cost(record["usage"], price), abs=1e-9)


@pytest.mark.parametrize("model,family", [("claude-sonnet-4-20250514", "claude-sonnet-4"),
                                          ("claude-opus-4-1-20250805", "claude-opus-4-1"),
                                          ("claude-3-5-haiku-20241022", "claude-3-5-haiku")])
def test_dated_anthropic_ids_find_their_model(priced, model, family):
    ask(priced, "anthropic", model, "events=2", stream=False)
    record = record_for(priced, model)
    assert record["cost_usd"] == pytest.approx(anthropic_cost(record["usage"], ANTHROPIC[family]), abs=1e-9)


@pytest.mark.parametrize("model,family", [("o3-mini-2025-01-31", "o3-mini"), ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
                                          ("gpt-5-mini-2025-08-07", "gpt-5-mini")])
def test_dated_openai_ids_find_their_model(priced, model, family):
    ask(priced, "openai", model, "events=2&cache_read=50", stream=False)
    record = record_for(priced, model)
    assert record["cost_usd"] == pytest.approx(openai_cost(record["usage"], OPENAI[family]), abs=1e-9)


PRICES = """
# A house table: two models, priced by the team's contract.
[models."claude-house"]
input = 1.0
output = 2
cache_write = 4.0
cache_read = 0.5

[models."gpt-house"]
input = 10.0
output = 20.0
"""


def house_prices_apply(gateway):
    ask(gateway, "anthropic", "claude-house-2026", "events=4&cache_read=100&cache_write=10")
    ask(gateway, "openai", "gpt-house", "events=4&cache_read=100")
    ask(gateway, "anthropic", "claude-sonnet-4-5", "events=4")  # in the shipped table, not in this one
    records = read_records(gateway.log_path, 3)
    by_model = {r["usage"]["model"]: r for r in records}
    claude = by_model["claude-house-2026"]
    assert claude["cost_usd"] == pytest.approx(anthropic_cost(claude["usage"], (1, 2, 4, 0.5)), abs=1e-9)
    gpt = by_model["gpt-house"]
    # No cache prices given: both are the input price, so cached tokens cost what the others do.
    assert gpt["cost_usd"] == pytest.approx(openai_cost(gpt["usage"], (10, 20, 10)), abs=1e-9)
    assert by_model["claude-sonnet-4-5"]["cost_usd"] is None, "--prices replaces the shipped table"


def test_prices_file_replaces_the_shipped_table(mock, kgb_factory, tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text(PRICES)
    house_prices_apply(kgb_factory(f"http://127.0.0.1:{mock.port}", "--prices", str(path)))


def test_prices_from_the_environment_and_the_config_file(mock, kgb_factory, tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text(PRICES)
    house_prices_apply(kgb_factory(f"http://127.0.0.1:{mock.port}", env={"KGB_PRICES": str(path)}))
    config = tmp_path / "kgb.toml"
    config.write_text(f'prices = "{path}"\n')
    house_prices_apply(kgb_factory(f"http://127.0.0.1:{mock.port}", "--config", str(config)))


@pytest.mark.parametrize("text,complaint", [
    ('[models."m"]\ninput = 3.0\noutput = -15.0\n', 'line 3, models."m".output: must not be negative'),
    ('[models."m"]\ninput = 3.0\noutput = 15.0\ncache_wrte = 3.75\n', 'line 4, models."m".cache_wrte: unknown field'),
    ('[models."m"]\ninput = "three"\noutput = 15.0\n', 'line 2, models."m".input: must be a number'),
    ('[models."m"]\ninput = 3.0\n', 'line 1, models."m": no output price'),
    ('[models]\n"m" = { output = 1.0 }\n', 'line 2, models."m": no input price'),
    ('[model."m"]\ninput = 3.0\noutput = 15.0\n', 'line 1, model: unknown key'),
    ('[models."m"\ninput = 3.0\n', 'line 1'),
    ('', 'no [models."ID"] tables'),
    ('[models.gpt-5.1]\ninput = 1.0\noutput = 2.0\n', 'line 1, models."gpt-5".1: unknown field (known: input, output, '
                                                      'cache_write, cache_read); a model id with a dot in it must be quoted'),
])
def test_a_bad_prices_file_is_refused_naming_it(tmp_path, text, complaint):
    path = tmp_path / "prices.toml"
    path.write_text(text)
    result = subprocess.run([KGB, "--upstream", "http://127.0.0.1:1", "--prices", str(path)], capture_output=True,
                            text=True, timeout=10, env=clean_environment({"KGB_LOG": "none"}))
    assert result.returncode == 2, result
    assert f"--prices: {path}" in result.stderr and complaint in result.stderr, result.stderr


def test_a_missing_prices_file_is_refused(tmp_path):
    result = subprocess.run([KGB, "--upstream", "http://127.0.0.1:1", "--prices", str(tmp_path / "none.toml")],
                            capture_output=True, text=True, timeout=10, env=clean_environment({"KGB_LOG": "none"}))
    assert result.returncode == 2
    assert f"--prices: cannot read {tmp_path / 'none.toml'}" in result.stderr


def test_a_bad_prices_file_named_in_the_config_file_names_both(tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."m"]\ninput = -1\noutput = 1\n')
    config = tmp_path / "kgb.toml"
    config.write_text(f'upstream = "http://127.0.0.1:1"\nprices = "{prices}"\n')
    result = subprocess.run([KGB, "--config", str(config)], capture_output=True, text=True, timeout=10,
                            env=clean_environment({"KGB_LOG": "none"}))
    assert result.returncode == 2
    assert f"{config} line 2, key prices" in result.stderr
    assert f'{prices} line 2, models."m".input: must not be negative' in result.stderr


def test_the_start_up_message_says_which_prices(mock, tmp_path):
    port = free_port()
    proc = subprocess.Popen([KGB, "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{mock.port}",
                             "--log", "none"], stderr=subprocess.PIPE, text=True, env=clean_environment())
    try:
        wait_listening(port, proc=proc)
    finally:
        proc.terminate()
        assert proc.wait(5) == 0
    assert "shipped, as of" in proc.stderr.read()
