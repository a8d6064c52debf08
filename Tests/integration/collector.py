"""A real HTTP collector for the tests (a "Dewey"): it takes kgb's NDJSON batches (gzip), answers as a test tells
it to (503 for a while, 400, 429 with Retry-After), and keeps every record and request it got."""
import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Collector:
    def __init__(self, answers=None, port=0, tls=None):
        """`answers`: statuses to answer in turn (then 200), e.g. [503, 503]; each may be (status, headers). `port`:
        a given one (records were meant for it before the collector came up), else any free one. `tls`: (cert, key)
        to serve HTTPS."""
        self.answers = list(answers or [])
        self.records = []  # every record of every batch answered 2xx
        self.requests = []  # (time, status answered, headers, record count) per request
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                lines = [line for line in body.split(b"\n") if line]
                with collector.lock:
                    answer = collector.answers.pop(0) if collector.answers else 200
                    status, extra = answer if isinstance(answer, tuple) else (answer, {})
                    collector.requests.append((time.monotonic(), status, dict(self.headers), len(lines), self.path))
                    if 200 <= status < 300:
                        collector.records.extend(json.loads(line) for line in lines)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                reply = b"{}" if status < 300 else b'{"error":"test says %d"}' % status
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.scheme = "http"
        if tls:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}/ingest"

    def ids(self):
        with self.lock:
            return [record["id"] for record in self.records]

    def wait_for(self, count, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.ids()) >= count:
                return self.ids()
            time.sleep(0.05)
        return self.ids()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
