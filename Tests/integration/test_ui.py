"""`kgb ui` in a real browser (Debian's chromium, headless, driven by Playwright): exchanges made through a real kgb
by the Anthropic and OpenAI SDKs, browsed as a person would. Screenshots of each page land in
Tests/integration/output/ui/."""
import hashlib
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import anthropic
import openai
import pytest
from agent_upstream import AgentUpstream
from playwright.sync_api import expect
from conftest import BIN, Process, clean_environment, free_port, start_kgb, start_mock

SCREENSHOTS = os.path.join(os.path.dirname(__file__), "output", "ui")
CHROMIUM = os.environ.get("KGB_CHROMIUM", "/usr/bin/chromium")
BUILD_KEY, REVIEW_KEY = "sk-build-bot-key-0001", "sk-review-bot-key-0002"
SESSION = "5f0e7a52-session-one"
TOOLS = [{"name": "list_files", "description": "List the files in a directory.",
          "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}]
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def start_ui(store, *extra):
    port = free_port()
    return Process([os.path.join(BIN, "kgb"), "ui", "--log", store, "--listen", f"127.0.0.1:{port}", *extra], port)


def anthropic_client(gateway, key):
    return anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key=key, max_retries=0)


def tool_session(gateway):
    """Two turns of one Claude Code-like session: a tool call, its result, the final answer."""
    client = anthropic_client(gateway, BUILD_KEY)
    headers = {"x-claude-code-session-id": SESSION}
    first = [{"role": "user", "content": "List the files in src/"}]
    with client.messages.stream(model="claude-sonnet-4", max_tokens=256, system="You are a careful build agent.",
                                tools=TOOLS, messages=first, extra_headers=headers) as stream:
        answer = stream.get_final_message()
    tool_use = next(block for block in answer.content if block.type == "tool_use")
    second = first + [{"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in answer.content]},
                      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "a.txt b.txt"}]}]
    with client.messages.stream(model="claude-sonnet-4", max_tokens=256, system="You are a careful build agent.",
                                tools=TOOLS, messages=second, extra_headers=headers) as stream:
        stream.get_final_message()


@pytest.fixture(scope="module")
def traffic():
    upstream = AgentUpstream()
    mock = start_mock()
    directory = tempfile.mkdtemp(prefix="kgb-ui-")
    agents = os.path.join(directory, "agents.toml")
    with open(agents, "w") as f:
        f.write(f'[[agent]]\nname = "build-bot"\nkey_sha256 = "{hashlib.sha256(BUILD_KEY.encode()).hexdigest()}"\n\n'
                f'[[agent]]\nname = "review-bot"\nkey_sha256 = "{hashlib.sha256(REVIEW_KEY.encode()).hexdigest()}"\n')
    store = os.path.join(directory, "kgb.sqlite")
    gateway = start_kgb(upstream.url, "--route", f"/mock/=http://127.0.0.1:{mock.port}/",
                        "--route", f"/dead/=http://127.0.0.1:{free_port()}/", "--agents", agents, "--log", f"sqlite:{store}")
    tool_session(gateway)
    review = anthropic_client(gateway, REVIEW_KEY)
    review.messages.create(model="claude-haiku-4", max_tokens=64, messages=[{"role": "user", "content": HOSTILE}])
    try:
        review.messages.create(model="claude-haiku-4", max_tokens=64, messages=[{"role": "user", "content": "please fail"}])
    except anthropic.APIStatusError:
        pass
    openai.OpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key=REVIEW_KEY, max_retries=0).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "Weather in Oslo?"}])
    # Through the mock (another upstream): a streamed answer.
    anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}/mock", api_key=REVIEW_KEY, max_retries=0).messages.create(
        model="claude-test", max_tokens=16, messages=[{"role": "user", "content": "stream please"}],
        extra_headers={"x-mock-events": "5"})
    # An upstream that is not there: kgb answers 502, outcome upstream_error.
    try:
        anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}/dead", api_key=REVIEW_KEY, max_retries=0).messages.create(
            model="claude-haiku-4", max_tokens=16, messages=[{"role": "user", "content": "anyone there?"}])
    except anthropic.APIStatusError:
        pass
    deadline = time.monotonic() + 5
    while count_rows(store) < 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count_rows(store) == 7
    yield {"gateway": gateway, "store": store, "upstream": upstream, "mock": mock}
    gateway.stop()
    mock.stop()
    upstream.stop()


def count_rows(store):
    import sqlite3
    if not os.path.exists(store):
        return 0
    try:
        with sqlite3.connect(store) as db:
            return db.execute("select count(*) from exchanges").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.fixture(scope="module")
def ui(traffic):
    process = start_ui(f"sqlite:{traffic['store']}")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    page.close()
    assert not errors, f"the page's script failed: {errors}"


def open_list(page, ui, query=""):
    page.goto(f"http://127.0.0.1:{ui.port}/#/?{query}")
    page.wait_for_selector("table.exchanges, #empty")
    return page.locator("table.exchanges tbody tr")


def screenshot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


def api(ui, path, headers=None):
    request = urllib.request.Request(f"http://127.0.0.1:{ui.port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_list_shows_the_exchanges_made_through_kgb(ui, page):
    rows = open_list(page, ui)
    assert rows.count() == 7
    text = page.inner_text("table.exchanges")
    for expected in ["build-bot", "review-bot", "claude-sonnet-4", "claude-haiku-4", "gpt-test", "529", "upstream_error"]:
        assert expected in text
    screenshot(page, "exchanges.png")


def test_a_new_exchange_appears_without_reloading(ui, traffic, page):
    rows = open_list(page, ui)
    before = rows.count()
    page.wait_for_selector("#live.on")
    anthropic_client(traffic["gateway"], REVIEW_KEY).messages.create(
        model="claude-haiku-4", max_tokens=16, messages=[{"role": "user", "content": "a live one"}])
    expect(page.locator("table.exchanges tbody tr")).to_have_count(before + 1, timeout=5000)
    assert page.locator("table.exchanges tbody tr.new").count() == 1
    assert "a live one" not in page.inner_text("table.exchanges")  # the list shows no bodies
    screenshot(page, "exchanges-live.png")


@pytest.mark.parametrize("query,check", [
    ("agent=build-bot", lambda text: "build-bot" in text and "review-bot" not in text),
    (f"session={SESSION}", lambda text: "build-bot" in text and "review-bot" not in text),
    ("model=gpt-test", lambda text: "gpt-test" in text and "claude" not in text),
    ("status=5xx", lambda text: "\t529\t" in text and "\t200\t" not in text),
    # "\t529\t": the status cell (the error text names a random port, which may hold the digits 529).
    ("outcome=upstream_error", lambda text: "cannot connect to upstream" in text and "\t529\t" not in text),
    ("upstream=MOCK", lambda text: "claude-test" in text),
    ("q=careful%20build%20agent", lambda text: "build-bot" in text and "review-bot" not in text),
    ("q=Weather%20in%20Oslo", lambda text: "gpt-test" in text),
    ("from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z", None),
])
def test_each_filter_narrows_the_list(ui, traffic, page, query, check):
    all_rows = open_list(page, ui).count()
    query = query.replace("MOCK", urllib.request.quote(f"http://127.0.0.1:{traffic['mock'].port}/", safe=""))
    rows = open_list(page, ui, query)
    if check is None:
        assert rows.count() == 0 and page.is_visible("#empty")
        return
    assert 0 < rows.count() < all_rows
    assert check(page.inner_text("table.exchanges"))
    # The form shows the filter that is applied.
    name, value = query.split("&")[0].split("=", 1)
    assert page.input_value(f"#filters [name={name}]") == urllib.request.unquote(value)


def test_the_time_range_filter_narrows_the_list(ui, page):
    assert open_list(page, ui, "since=15m").count() >= 7
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    assert open_list(page, ui, f"from={future}").count() == 0


def test_filters_from_the_form(ui, page):
    open_list(page, ui)
    page.fill("#filters [name=agent]", "build-bot")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**agent=build-bot**")
    expect(page.locator("table.exchanges tbody tr")).to_have_count(2)
    page.select_option("#filters [name=outcome]", "upstream_error")
    page.wait_for_selector("#empty")


def test_a_session_page_shows_the_turns_in_order(ui, page):
    page.goto(f"http://127.0.0.1:{ui.port}/#/session/{SESSION}")
    page.wait_for_selector("section.turn")
    turns = page.locator("section.turn")
    assert turns.count() == 2
    first, second = turns.nth(0).inner_text(), turns.nth(1).inner_text()
    assert "Turn 1" in first and "List the files in src/" in first and "list_files" in first
    # The second turn shows what it added (the tool result) and its answer, not the first prompt again.
    assert "Turn 2" in second and "a.txt b.txt" in second and "There are two files" in second
    assert "List the files in src/" not in second
    facts = page.inner_text(".facts")
    assert "build-bot" in facts and "240 / 84" in facts.replace(",", "")
    screenshot(page, "session.png")


def test_an_exchange_page_shows_the_reassembled_answer_and_tool_call(ui, page):
    page.goto(f"http://127.0.0.1:{ui.port}/#/?agent=build-bot")
    page.wait_for_selector("table.exchanges")
    page.locator("table.exchanges tbody tr").last.click()  # the oldest: the turn that called the tool
    page.wait_for_selector("#answer")
    answer = page.inner_text("#answer")
    assert "Let me list the files." in answer
    assert "list_files" in answer and '"path": "src/"' in answer  # input_json_delta pieces joined and parsed
    body = page.inner_text("main")
    assert "You are a careful build agent." in body and "1 tools offered" in body
    assert BUILD_KEY not in page.content()  # the key is stored as a fingerprint only
    curl = page.inner_text("#curl")
    assert "$API_KEY" in curl and "list_files" in curl and BUILD_KEY not in curl
    assert page.locator("svg.timing rect").count() >= 2
    headers = page.inner_text("table.headers >> nth=0")
    assert "x-claude-code-session-id" in headers and "sha256:" in headers  # as stored: the key fingerprinted
    assert "text/event-stream" in page.inner_text("table.headers >> nth=1")
    raw = page.locator("pre.raw")  # request body, response body, record (collapsed, still in the page)
    assert "List the files in src/" in raw.nth(1).text_content()
    assert "event: message_start" in raw.nth(2).text_content()
    screenshot(page, "exchange.png")


def test_the_overview_draws_its_charts(ui, page):
    page.goto(f"http://127.0.0.1:{ui.port}/#/overview?range=24h")
    page.wait_for_selector("figure.chart svg")
    assert page.locator("figure.chart").count() == 6
    assert page.locator("figure.chart svg rect").count() > 0
    assert page.locator("figure.chart svg path").count() > 0
    per_agent = page.inner_text("#per-agent")
    assert "build-bot" in per_agent and "review-bot" in per_agent
    assert "$0.00198" in per_agent  # build-bot's two claude-sonnet-4 turns at the shipped prices
    screenshot(page, "overview.png")
    page.click("text=last 7d")
    page.wait_for_url("**range=7d")
    expect(page.locator("figure.chart svg rect").first).to_be_visible()


def test_a_script_in_a_prompt_is_inert(ui, page):
    page.goto(f"http://127.0.0.1:{ui.port}/#/?q=__pwned")
    page.wait_for_selector("table.exchanges")
    page.locator("table.exchanges tbody tr").first.click()
    page.wait_for_selector(".conversation")
    assert HOSTILE in page.inner_text(".conversation")  # shown as text
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main script, main img").count() == 0


def test_the_api_refuses_a_bad_filter_with_a_message(ui):
    status, text = api(ui, "/api/exchanges?status=abc")
    assert status == 400 and "status" in text
    status, text = api(ui, "/api/exchanges?from=yesterday")
    assert status == 400 and "from" in text
    assert api(ui, "/api/exchange/nope")[0] == 404
    request = urllib.request.Request(f"http://127.0.0.1:{ui.port}/api/live", method="HEAD")
    try:
        urllib.request.urlopen(request, timeout=5)
        raise AssertionError("expected 405")
    except urllib.error.HTTPError as error:
        assert error.code == 405  # the live stream is GET only


def test_a_page_from_another_host_name_is_refused(ui):
    # A site that rebinds its name to 127.0.0.1 must not read the records from a visitor's browser.
    status, _ = api(ui, "/api/exchanges", headers={"Host": f"evil.example:{ui.port}"})
    assert status == 403
    assert api(ui, "/api/exchanges", headers={"Host": f"localhost:{ui.port}"})[0] == 200


def test_a_non_loopback_listener_without_a_token_refuses_to_start(traffic):
    result = subprocess.run([os.path.join(BIN, "kgb"), "ui", "--log", f"sqlite:{traffic['store']}", "--listen",
                             f"0.0.0.0:{free_port()}"], capture_output=True, text=True, timeout=10, env=clean_environment())
    assert result.returncode != 0
    assert "--ui-token" in result.stderr and "loopback" in result.stderr


def test_a_token_guards_a_non_loopback_listener(traffic, browser):
    token_file = os.path.join(tempfile.mkdtemp(prefix="kgb-ui-token-"), "token")
    token = "t0ken-" + os.urandom(16).hex()
    with open(token_file, "w") as f:
        f.write(token + "\n")
    port = free_port()
    process = Process([os.path.join(BIN, "kgb"), "ui", "--log", f"sqlite:{traffic['store']}", "--listen", f"0.0.0.0:{port}",
                       "--ui-token", token_file], port)
    try:
        assert api(process, "/api/exchanges")[0] == 401
        assert api(process, "/api/exchanges", headers={"Authorization": f"Bearer {token}"})[0] == 200
        assert api(process, "/api/exchanges", headers={"Authorization": "Bearer wrong"})[0] == 401
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/?token={token}")  # traded for a cookie, then the page
        page.wait_for_selector("table.exchanges")
        assert "token" not in page.url
        page.close()
    finally:
        process.stop()


def test_a_jsonl_log_is_browsed_and_followed(kgb_factory, page):
    upstream = AgentUpstream()
    gateway = kgb_factory(upstream.url)
    client = anthropic_client(gateway, REVIEW_KEY)
    client.messages.create(model="claude-haiku-4", max_tokens=16, messages=[{"role": "user", "content": "first"}])
    deadline = time.monotonic() + 5
    while not (os.path.exists(gateway.log_path) and os.path.getsize(gateway.log_path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    ui = start_ui(f"jsonl:{gateway.log_path}")
    try:
        assert open_list(page, ui).count() == 1
        client.messages.create(model="claude-haiku-4", max_tokens=16, messages=[{"role": "user", "content": "second"}])
        expect(page.locator("table.exchanges tbody tr")).to_have_count(2, timeout=5000)
    finally:
        ui.stop()
        upstream.stop()


def test_a_postgresql_store_is_browsed(kgb_factory, postgres, browser):
    url = postgres.create_database("kgb_ui")
    upstream = AgentUpstream()
    spool = os.path.join(tempfile.mkdtemp(prefix="kgb-ui-spool-"), "spool")
    gateway = kgb_factory(upstream.url, "--log", url, "--log-batch-ms", "50", "--spool", spool)
    tool_session(gateway)
    try:
        anthropic_client(gateway, REVIEW_KEY).messages.create(
            model="claude-haiku-4", max_tokens=16, messages=[{"role": "user", "content": "please fail"}])
    except anthropic.APIStatusError:
        pass
    ui = start_ui(url)
    try:
        deadline = time.monotonic() + 10
        rows = []
        while len(rows) < 3 and time.monotonic() < deadline:
            rows = json.loads(api(ui, "/api/exchanges")[1])["rows"]
            time.sleep(0.1)
        assert len(rows) == 3
        assert len(json.loads(api(ui, f"/api/exchanges?session={SESSION}")[1])["rows"]) == 2
        assert len(json.loads(api(ui, "/api/exchanges?status=5xx")[1])["rows"]) == 1
        assert len(json.loads(api(ui, "/api/exchanges?q=careful%20build")[1])["rows"]) == 2
        overview = json.loads(api(ui, "/api/overview")[1])
        assert overview["overall"][0][0] == 3 and overview["latency"] and overview["sums"]
        session = json.loads(api(ui, f"/api/session/{SESSION}")[1])
        assert [r["agent"]["session"] for r in session["records"]] == [SESSION, SESSION]
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{ui.port}/#/overview?range=24h")
        page.wait_for_selector("figure.chart svg rect")
        page.close()
    finally:
        ui.stop()
        upstream.stop()


def test_bodies_kept_in_files_are_named_not_shown_as_json(kgb_factory, page):
    # Past 1 MiB a body stays in a file beside the log and the record names it ({"file", "bytes"}): the page says
    # where it is, shows the stream's text the logger read, and the curl command reads the request from the file.
    upstream = AgentUpstream()
    directory = tempfile.mkdtemp(prefix="kgb-ui-big-")
    gateway = kgb_factory(upstream.url, "--log", f"sqlite:{directory}/kgb.sqlite")
    prompt = "big " + "x" * (1_500_000)
    with anthropic_client(gateway, REVIEW_KEY).messages.stream(
            model="claude-haiku-4", max_tokens=16, messages=[{"role": "user", "content": prompt}]) as stream:
        assert stream.get_final_message().content[0].text.startswith("Echo: big xxx")
    deadline = time.monotonic() + 5
    while count_rows(f"{directory}/kgb.sqlite") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    ui = start_ui(f"sqlite:{directory}/kgb.sqlite")
    try:
        open_list(page, ui).first.click()
        page.wait_for_selector("#answer")
        notes = page.locator("p.file-note")
        assert notes.count() >= 2 and f"{directory}/bodies/" in notes.first.inner_text()
        assert page.inner_text("#answer").startswith("ASSISTANT") and "Echo: big xxx" in page.inner_text("#answer")
        assert '"file"' not in page.inner_text("#answer")
        assert "--data-binary @'" in page.inner_text("#curl")
    finally:
        ui.stop()
        upstream.stop()
