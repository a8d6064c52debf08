#!/usr/bin/env python3
"""kgb ui over a large SQLite store: how long the first page takes to render in a real browser (headless chromium
via Playwright) and how long each filter takes to answer, with N records (default 100,000) of a day's traffic from
ten agents. The store is written as kgb 0.4 wrote it (schema version 1) and brought to version 2 by `kgb ui` at
start, which is timed too.

    .build/venv/bin/python bench/ui.py [--records 100000]
"""
import argparse
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KGB = os.path.join(ROOT, ".build", "release", "kgb")
WORDS = "the quick brown fox jumps over lazy dog build test deploy refactor function error".split()


def make_store(path, count):
    random.seed(1)
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE exchanges (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, model TEXT, outcome TEXT NOT NULL,
                                                status INTEGER, record TEXT NOT NULL);
                        CREATE INDEX exchanges_started_at ON exchanges(started_at); PRAGMA user_version = 1;""")
    start = time.time() - 86400
    rows = []
    for i in range(count):
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + i * 86400 / count)) + ".000000Z"
        model = random.choice(["claude-sonnet-4", "claude-haiku-4", "gpt-4o"])
        status = random.choice([200] * 18 + [429, 529])
        prompt = " ".join(random.choice(WORDS) for _ in range(200))
        record = {"id": f"{i:028x}", "started_at": at, "method": "POST", "path": "/v1/messages", "upstream": "http://upstream",
                  "request": {"headers": {"content-type": "application/json"},
                              "body": json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}]})},
                  "response": {"status": status, "headers": {}, "body": " ".join(random.choice(WORDS) for _ in range(150))},
                  "timing": {"ttfb_ms": random.random() * 900, "first_token_ms": random.random() * 1000, "total_ms": random.random() * 5000},
                  "agent": {"name": f"agent-{i % 10}", "session": f"session-{i // 20}"}, "outcome": "complete",
                  "usage": {"model": model, "input_tokens": random.randint(10, 5000), "output_tokens": random.randint(1, 900)},
                  "cost_usd": random.random() / 100}
        rows.append((record["id"], at, model, "complete", status, json.dumps(record, separators=(",", ":"))))
    db.executemany("INSERT INTO exchanges VALUES (?,?,?,?,?,?)", rows)
    db.commit()
    return sum(len(r[5]) for r in rows) / count


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_get(url):
    begin = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return (time.perf_counter() - begin) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="kgb-bench-ui-")
    store = os.path.join(directory, "kgb.sqlite")
    size = make_store(store, args.records)
    port = free_port()
    begin = time.perf_counter()
    ui = subprocess.Popen([KGB, "ui", "--log", f"sqlite:{store}", "--listen", f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
    ui.stderr.readline()  # "serving ...": the migration is done and the port is open
    migrate_ms = (time.perf_counter() - begin) * 1000
    base = f"http://127.0.0.1:{port}"
    results = {"records": args.records, "bytes_per_record": round(size), "open_and_migrate_ms": round(migrate_ms)}
    try:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=os.environ.get("KGB_CHROMIUM", "/usr/bin/chromium"), args=["--no-sandbox"])
            renders = []
            for _ in range(args.runs):
                page = browser.new_page()
                begin = time.perf_counter()
                page.goto(base + "/")
                page.wait_for_selector("table.exchanges tbody tr")
                renders.append((time.perf_counter() - begin) * 1000)
                page.close()
            browser.close()
        results["first_page_render_ms_median"] = round(statistics.median(renders), 1)
        filters = {"agent": "agent=agent-3", "session": "session=session-777", "model": "model=gpt-4o", "status": "status=5xx",
                   "agent+status": "agent=agent-3&status=529", "time range": "from=" + time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(time.time() - 7200)),
                   "text (common)": "q=quick%20brown", "text (nowhere)": "q=zebra%20crossing", "upstream": "upstream=http%3A%2F%2Fupstream"}
        results["filters_ms_median"] = {name: round(statistics.median(timed_get(f"{base}/api/exchanges?{q}") for _ in range(args.runs)), 1)
                                        for name, q in filters.items()}
        nowhere = json.loads(urllib.request.urlopen(f"{base}/api/exchanges?{filters['text (nowhere)']}").read())
        results["text_search_reached"] = nowhere["searched_to"] or "the oldest record"
        results["session_page_ms_median"] = round(statistics.median(timed_get(f"{base}/api/session/session-777") for _ in range(args.runs)), 1)
        results["overview_24h_ms_median"] = round(statistics.median(timed_get(f"{base}/api/overview") for _ in range(args.runs)), 1)
    finally:
        ui.terminate()
        ui.wait()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
