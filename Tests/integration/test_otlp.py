"""OpenTelemetry over the wire: kgb posts one span per exchange to a real OTLP/HTTP receiver (a server written here),
decoded with the opentelemetry-proto package's generated classes (otlp_check), checked against kgb's own records;
content only with --otlp-content; a receiver that is down gets everything when it is back."""
import json
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic

from conftest import free_port, read_records, start_kgb
from otlp_check import check_span, spans


class Receiver:
    """Answers POST /v1/traces with 200 (or the statuses given first) and keeps each request's spans."""

    def __init__(self, port=0, answers=None):
        self.spans, self.requests = [], []
        self.answers = list(answers or [])
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.requests.append((self.path, self.headers.get("Content-Type"), status))
                    if status == 200:
                        receiver.spans.extend(spans(body))
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.spans) < count:
            time.sleep(0.05)
        return list(self.spans)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def spool():
    return os.path.join(tempfile.mkdtemp(prefix="kgb-otlp-spool-"), "spool")


def stream(gateway, events=3, extra=None):
    claude = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gateway.port}", api_key="sk-test", max_retries=0)
    with claude.messages.stream(model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "hello"}],
                                extra_headers={"x-mock-events": str(events), **(extra or {})}) as s:
        return "".join(s.text_stream)


def test_one_span_per_exchange_as_the_records_say(mock):
    jsonl = os.path.join(tempfile.mkdtemp(prefix="kgb-otlp-"), "x.jsonl")
    with Receiver() as receiver:
        gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", f"otlp+http://127.0.0.1:{receiver.port}",
                            "--log", f"jsonl:{jsonl}", "--spool", spool(), "--log-batch-ms", "100")
        try:
            stream(gateway, 4, {"x-mock-cache-read": "100"})
            stream(gateway, 2)
            found = receiver.wait_for(2)
        finally:
            gateway.stop()
    records = read_records(jsonl, 2)
    assert len(found) == 2
    assert receiver.requests[0][:2] == ("/v1/traces", "application/x-protobuf")
    by_id = {span["attributes"]["kgb.exchange.id"]: span for span in found}
    for record in records:
        span = by_id[record["id"]]
        check_span(span, record, content=False)
        assert span["name"] == "chat claude-test"
        assert span["attributes"]["gen_ai.provider.name"] == "anthropic"
        assert "gen_ai.input.messages" not in span["attributes"], "no content unless asked"


def test_content_only_with_otlp_content(mock):
    jsonl = os.path.join(tempfile.mkdtemp(prefix="kgb-otlp-"), "x.jsonl")
    with Receiver() as receiver:
        gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", f"otlp+http://127.0.0.1:{receiver.port}",
                            "--log", f"jsonl:{jsonl}", "--spool", spool(), "--log-batch-ms", "100", "--otlp-content")
        try:
            text = stream(gateway, 3)
            found = receiver.wait_for(1)
        finally:
            gateway.stop()
    record = read_records(jsonl, 1)[0]
    check_span(found[0], record, content=True)
    messages = json.loads(found[0]["attributes"]["gen_ai.input.messages"])
    assert messages[0]["role"] == "user" and messages[0]["parts"][0]["content"] == "hello"
    output = json.loads(found[0]["attributes"]["gen_ai.output.messages"])
    assert output[0]["parts"][0]["content"] == text


def test_a_receiver_down_then_up_gets_every_span_once(mock):
    port = free_port()
    gateway = start_kgb(f"http://127.0.0.1:{mock.port}", "--log", f"otlp+http://127.0.0.1:{port}", "--spool", spool(),
                        "--log-batch-ms", "50")
    try:
        for _ in range(5):
            stream(gateway, 1)
        time.sleep(0.5)
        with Receiver(port=port, answers=[503]) as receiver:
            found = receiver.wait_for(5, timeout=30)
            time.sleep(0.3)
            ids = [span["attributes"]["kgb.exchange.id"] for span in receiver.spans]
            assert len(ids) == 5 and len(set(ids)) == 5
            assert receiver.requests[0][2] == 503
    finally:
        gateway.stop()
