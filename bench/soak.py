#!/usr/bin/env python3
"""Soak test: one kgb process under mixed traffic for a given time, then proof that nothing leaked and that
every exchange left exactly one valid record.

    python bench/soak.py [--bin DIR] [--minutes M] [--clients N] [--results FILE] [--keep]

Standard library only. Everything runs on 127.0.0.1: kgb-mock-upstream, one kgb in front of it, and
`--clients` client threads, each running one operation at a time until the deadline:

  exchange         a JSON or SSE answer (Anthropic /v1/messages or OpenAI /v1/chat/completions), sometimes
                   gzip (`gzip=1`), sometimes a chunked request body, on a reused keep-alive connection
  pipeline         2-5 requests written at once on one connection, answers read in order
  upstream fault   the mock resets, stalls, truncates, closes before the head, or never answers
  slow reader      a streamed answer read in small pieces, slowly, through a 4 KiB receive buffer
  bulk reader      5-8 MiB read at a bounded rate, so kgb stops and resumes reading the upstream
  abort response   the client closes (or resets) at a random point of the answer
  abort body       the client closes part-way through its request body
  abort head       the client closes part-way through its request head

Meanwhile the JSONL log is rotated like logrotate does it (rename, then SIGHUP) every `--rotate-every`
seconds, and kgb's VmRSS, open fds and /readyz are sampled.

Every request carries a unique `soak_id=N` query parameter (the mock ignores unknown parameters; a record's
`path` keeps the query) and goes into a ledger with what its client saw. The checks at the end:

  1. memory   after warm-up, RSS levelled off: the highest sample of the last third of the run is at most
              the highest of the middle third plus max(8 MiB, 10%)
  2. fds      once clients are gone and idle connections timed out, kgb's open fds are back to the count
              before any traffic, and its connection gauges are 0
  3. records  after SIGTERM, every line of every log file (rotated ones too) is a JSON record, ids are
              unique, no record is for a request never sent, each request has the one record its client's
              view allows (rules in `allowed_outcomes`), the metrics count as many exchanges as there are
              records, and no record was lost or dropped
  4. clients  each client saw what its request asked the mock for (a healthy request a whole, well-formed
              answer; each fault its failure), and no client waited in vain
  5. process  kgb ran until SIGTERM, then exited 0, and no sanitizer (ASan, LSan, UBSan, TSan) or Swift
              runtime error is on its stderr (kept in the run directory)

Exit status 0 when every check passed, 1 when one failed, 2 when the soak could not start. The run directory
(logs, stderr) is deleted after a passing run unless `--keep` or `--run-dir` is given.

Against a sanitizer build (`--bin` pointing at it), the environment reaches kgb, so ASAN_OPTIONS and the like
apply. AddressSanitizer holds freed memory in a quarantine (256 MiB by default) that fills during the run:
set ASAN_OPTIONS=quarantine_size_mb=16 (or read the memory check as not meaningful).

The slow and bulk readers' rates (`--slow-reader-bps`, `--bulk-reader-bps`) are chosen to finish within the run.
This soak found that kgb cut such readers early (its body timer ran while kgb itself had paused the upstream for a
slow client, and its idle timer dropped an answer still queued for a client that was reading it) and that a client
resetting mid-stream could crash it; all three are fixed and have regression tests in test_lifecycle.py.

Two kgb settings are made smaller than their defaults, so that the checks measure leaks rather than warm-up:
the log ring (`--log-ring-bytes`, 64 MiB by default, is touched page by page as records pass, so RSS would
rise until the ring has gone round once) and the body kept per record (`--log-body-max`, so the bulk reads do
not write megabytes of base64 per record).
"""
import argparse
import collections
import dataclasses
import datetime
import glob
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1024 * 1024
HOST = "127.0.0.1"
# A client waiting this long for kgb has found a hang (the longest healthy operation takes about 3 s).
CLIENT_TIMEOUT = 20.0
# Sent as x-api-key on every request: it must never appear in a log file (kgb fingerprints it).
SECRET = "sk-soak-0123456789abcdef-never-logged"
SOAK_ID = re.compile(r"[?&]soak_id=(\d+)")
# Lines on stderr that mean memory or thread misuse (sanitizers) or a crash (the Swift runtime's reports).
CRASH_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer",
                 "Fatal error:", "*** Program crashed", "*** Signal ", "Swift runtime failure")


# MARK: - What a client saw

# The whole response as its framing announced it, with a 2xx status.
COMPLETE = "complete"
# A response head, then the connection closed before the body's end.
CUT = "cut"
# The connection closed (or was reset) before any response head.
NO_ANSWER = "no_answer"
# A pipelined request behind a response that was cut or announced `Connection: close`: never answered.
UNANSWERED = "unanswered"
# The client closed part-way through its request head.
ABORTED_HEAD = "aborted_head"
# The client closed part-way through its request body (the head was sent whole).
ABORTED_BODY = "aborted_body"
# The client sent its whole request, then closed before (or while) reading the answer.
ABORTED_RESPONSE = "aborted_response"
# The client waited CLIENT_TIMEOUT for kgb.
TIMED_OUT = "timed_out"


def status_seen(code):
    """A whole response with a non-2xx status (kgb's own 502 and 504 here)."""
    return f"status_{code}"


# What a client must see for each mock fault (None: a healthy request).
SIGHT_FOR_FAULT = {
    None: {COMPLETE},
    # The mock resets right after some events; kgb may read the reset before it has the head (then a 502).
    "reset": {CUT, status_seen(502)},
    "truncate": {CUT},
    "stall": {CUT},
    "no-response": {status_seen(504)},
    "close-before-head": {status_seen(502)},
}
FAULTS = [fault for fault in SIGHT_FOR_FAULT if fault]


@dataclasses.dataclass
class Sent:
    """One request in the ledger: what was asked for and what its client saw."""
    soak_id: int
    operation: str
    fault: str | None = None
    seen: str = "pending"
    status: int = 0
    # Set when the client saw something its request did not ask for (a client-side check failure).
    problem: str = ""

    def describe(self):
        return f"soak_id={self.soak_id} ({self.operation}{', fault=' + self.fault if self.fault else ''})"


def allowed_outcomes(sent):
    """The record outcomes consistent with what the client saw; None stands for "no record".

    A whole answer is a `complete` exchange, a 502 an `upstream_error`, a 504 an `upstream_timeout`, and a cut
    stream the fault that cut it. A client that sent its whole request and then left is `client_aborted`, or
    `complete` when kgb had relayed the whole answer before it noticed. A client that left mid-body had sent
    its whole head, which kgb reads before the close (a FIN, never a reset here), so the exchange started and
    must be recorded as `client_aborted`. A head that never arrived whole starts no exchange (a record of the
    abort is tolerated). A pipelined request behind a cut or closing answer is never started by kgb, so it has
    no record (or one that is not `complete`). A client that saw nothing at all or timed out has failed its
    own check already; any single record is accepted for it.
    """
    seen = sent.seen
    if seen == COMPLETE:
        return {"complete"}
    if seen == status_seen(502):
        return {"upstream_error"}
    if seen == status_seen(504):
        return {"upstream_timeout"}
    if seen == CUT:
        if sent.fault == "stall":
            return {"upstream_timeout"}
        if sent.fault in ("reset", "truncate"):
            return {"upstream_error"}
        return {"upstream_error", "upstream_timeout"}
    if seen == ABORTED_BODY:
        return {"client_aborted"}
    if seen == ABORTED_RESPONSE:
        return {"client_aborted", "complete"}
    if seen == ABORTED_HEAD:
        return {None, "client_aborted"}
    if seen == UNANSWERED:
        return {None, "client_aborted", "rejected"}
    return {None, "complete", "client_aborted", "upstream_error", "upstream_timeout", "rejected"}


class Ledger:
    """Every request sent, by soak_id, from every client thread."""

    def __init__(self):
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.entries = []

    def new(self, operation, fault=None):
        with self._lock:
            sent = Sent(next(self._ids), operation, fault)
            self.entries.append(sent)
            return sent


# MARK: - Requests

@dataclasses.dataclass
class Spec:
    """What to ask the mock for."""
    api: str                    # "anthropic", "openai" or "bytes"
    stream: bool = False
    gzip: bool = False
    fault: str | None = None
    fault_after: int = 0
    events: int = 20
    interval_ms: int = 0
    size: int = 0               # /bytes only
    chunked_reply: bool = False  # /bytes only
    chunked_body: bool = False   # send the request body with Transfer-Encoding: chunked
    close: bool = False          # ask for Connection: close
    padding: int = 0             # extra request body bytes (for aborts mid-body)


def random_api_spec(rng, **fixed):
    """An Anthropic or OpenAI request, streamed or not, sometimes gzip or with a chunked body."""
    spec = Spec(api=rng.choice(("anthropic", "openai")), stream=rng.random() < 0.6, gzip=rng.random() < 0.25,
                events=rng.randint(1, 40), chunked_body=rng.random() < 0.15, close=rng.random() < 0.1)
    return dataclasses.replace(spec, **fixed)


def random_fault_spec(rng, fault):
    spec = random_api_spec(rng, fault=fault, close=False)
    # Below the number of events, so the fault fires before the answer's end.
    spec.fault_after = rng.randint(0, min(5, spec.events - 1))
    return spec


def encode_request(spec, soak_id):
    """The request's bytes (head and body), and where its head ends."""
    if spec.api == "bytes":
        target = f"/bytes?n={spec.size}&soak_id={soak_id}" + ("&chunked=1&chunk=16384" if spec.chunked_reply else "")
        method, body = "GET", b""
    else:
        path = "/v1/messages" if spec.api == "anthropic" else "/v1/chat/completions"
        query = [f"soak_id={soak_id}", f"events={spec.events}"]
        if spec.interval_ms:
            query.append(f"interval_ms={spec.interval_ms}")
        if spec.gzip:
            query.append("gzip=1")
        if spec.fault:
            query += [f"fault={spec.fault}", f"fault_after={spec.fault_after}"]
        target = f"{path}?{'&'.join(query)}"
        method, body = "POST", api_body(spec, soak_id)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}", f"x-soak-id: {soak_id}", f"x-api-key: {SECRET}",
             "User-Agent: kgb-soak"]
    if spec.gzip:
        lines.append("Accept-Encoding: gzip")
    if spec.close:
        lines.append("Connection: close")
    if body:
        lines.append("Content-Type: application/json")
        lines.append("Transfer-Encoding: chunked" if spec.chunked_body else f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    if body and spec.chunked_body:
        body = chunk_body(body)
    return head + body, len(head)


def api_body(spec, soak_id):
    body = {"model": f"soak-{spec.api}", "max_tokens": 64, "stream": spec.stream,
            "messages": [{"role": "user", "content": f"soak request {soak_id} " + "x" * spec.padding}]}
    if spec.api == "openai" and spec.stream:
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body).encode()


def chunk_body(body):
    """`body` in chunks of up to 1000 bytes, then the last chunk."""
    pieces = [body[i:i + 1000] for i in range(0, len(body), 1000)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


# MARK: - Responses

class Cut(Exception):
    """The connection closed after the response head, before the body's end."""


class NoAnswer(Exception):
    """The connection closed before a response head."""


@dataclasses.dataclass
class Answer:
    status: int
    headers: dict
    body: bytes
    closes: bool  # the response said Connection: close


class Connection:
    """One client connection to kgb. Reads responses as their framing says, optionally paced."""

    def __init__(self, port, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # Before connect, so the advertised window is small from the start.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(CLIENT_TIMEOUT)
        self.sock.connect((HOST, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()
        self.eof = False
        self.last_used = time.monotonic()
        self.reusable = True
        self._pace = None  # (bytes per second, recv size, start time, bytes received)

    def send(self, data):
        self.sock.sendall(data)

    def pace(self, bytes_per_second, recv_size):
        """Reads from now on take at most `recv_size` bytes at a time, `bytes_per_second` on average."""
        self._pace = (bytes_per_second, recv_size, time.monotonic(), 0)

    def close(self, reset=False):
        if reset:
            # SO_LINGER with a zero timeout: close() sends a RST instead of a FIN.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _fill(self):
        """One read into the buffer; False at the end of the stream (a FIN or a reset)."""
        if self.eof:
            return False
        size = self._pace[1] if self._pace else 65536
        try:
            data = self.sock.recv(size)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buffer += data
        if self._pace:
            rate, size, started, received = self._pace
            received += len(data)
            self._pace = (rate, size, started, received)
            ahead = received / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        return True

    def _line(self):
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[:end + 2]
                return line
            if not self._fill():
                return None

    def _exactly(self, count):
        while len(self.buffer) < count:
            if not self._fill():
                return None
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def read_answer(self):
        """One whole response (interim 1xx skipped). Raises NoAnswer, Cut or socket.timeout."""
        while True:
            status, headers = self._read_head()
            if status >= 200:
                break
        body = self._read_body(headers)
        self.last_used = time.monotonic()
        closes = "close" in headers.get("connection", "").lower()
        self.reusable = not closes
        return Answer(status, headers, body, closes)

    def _read_head(self):
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise NoAnswer("connection closed before the response head")
        head, _, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        self.buffer = bytearray(rest)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def _read_body(self, headers):
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length = int(headers.get("content-length", "0"))
        body = self._exactly(length)
        if body is None:
            raise Cut(f"connection closed {len(self.buffer)} bytes into a {length}-byte body")
        return body

    def _read_chunked(self):
        body = bytearray()
        while True:
            line = self._line()
            if line is None:
                raise Cut("connection closed inside a chunked body")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    trailer = self._line()
                    if trailer is None:
                        raise Cut("connection closed in the trailers")
                    if trailer == b"":
                        return bytes(body)
            data = self._exactly(size)
            if data is None or self._exactly(2) != b"\r\n":
                raise Cut("connection closed inside a chunk")
            body += data

    def read_for_abort(self, count, wait):
        """Reads raw bytes until `count` have come, the stream ends, or `wait` seconds pass; returns how
        many came. For clients that leave at a chosen point, so the answer's framing does not matter."""
        self.sock.settimeout(wait)
        try:
            while len(self.buffer) < count and self._fill():
                pass
        except socket.timeout:
            pass
        return len(self.buffer)


def body_problem(spec, answer):
    """Why a whole 2xx answer's body is not what the mock sends for `spec` ("" when it is)."""
    body = answer.body
    encoding = answer.headers.get("content-encoding", "")
    if spec.gzip != (encoding == "gzip"):
        return f"content-encoding {encoding!r} for gzip={int(spec.gzip)}"
    if spec.gzip:
        try:
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        except zlib.error as error:
            return f"gzip body does not inflate: {error}"
    if spec.api == "bytes":
        return "" if body == pattern_bytes(spec.size) else f"pattern body differs ({len(body)} of {spec.size} bytes)"
    if spec.stream:
        last = b'data: {"type":"message_stop"}\n\n' if spec.api == "anthropic" else b"data: [DONE]\n\n"
        return "" if body.endswith(last) else f"SSE stream does not end with its last event: {body[-60:]!r}"
    try:
        document = json.loads(body)
    except ValueError:
        return "JSON body does not parse"
    kind = document.get("type") if spec.api == "anthropic" else document.get("object")
    return "" if kind in ("message", "chat.completion") else f"unexpected JSON answer {kind!r}"


BULK_MAX = 8 * MIB
_PATTERN = bytes(range(251)) * (BULK_MAX // 251 + 1)


def pattern_bytes(size):
    """The mock's /bytes body: byte i is i % 251."""
    return _PATTERN[:size]


# MARK: - Client operations

class Client(threading.Thread):
    """One client thread: runs operations chosen at random until the deadline."""

    def __init__(self, index, soak):
        super().__init__(name=f"client-{index}", daemon=True)
        self.soak = soak
        self.rng = random.Random(soak.settings.seed * 1000 + index)
        self.kept = None  # a keep-alive connection reused between exchanges

    def run(self):
        weights, operations = zip(*OPERATIONS)
        while time.monotonic() < self.soak.deadline and not self.soak.stop.is_set():
            operation = self.rng.choices(operations, weights)[0]
            try:
                operation(self)
            except Exception as error:  # noqa: BLE001 (a socket error outside the ledger, or a bug here)
                self.soak.client_error(f"{operation.__name__}: {error!r}")
                self.drop_kept()
        self.drop_kept()

    @property
    def port(self):
        return self.soak.kgb_port

    def connection(self, keep_alive=True, rcvbuf=None):
        """For keep-alive use, the kept connection while kgb is sure to hold it open, else a new one (kept in
        its place); otherwise a new connection of its own. A kept connection left unused is closed by kgb's
        idle timer, which is part of what is soaked."""
        if not keep_alive:
            return Connection(self.port, rcvbuf)
        # Reused only well within --idle-timeout, so a request never races kgb's close (HTTP clients retry
        # that case; this one would count it as a failure).
        if self.kept and self.kept.reusable and time.monotonic() - self.kept.last_used < self.soak.settings.idle_timeout / 3:
            return self.kept
        self.drop_kept()
        self.kept = Connection(self.port, rcvbuf)
        return self.kept

    def drop_kept(self):
        if self.kept:
            self.kept.close()
            self.kept = None

    def finish(self, connection):
        """Done with a connection: keep it if it may carry another request, else close it."""
        if connection is self.kept and connection.reusable:
            return
        if connection is self.kept:
            self.kept = None
        connection.close()

    def exchange(self, sent, spec, connection):
        """Sends one request and reads its answer into the ledger entry."""
        data, _ = encode_request(spec, sent.soak_id)
        try:
            connection.send(data)
        except (BrokenPipeError, ConnectionResetError):
            connection.reusable = False
            sent.seen = NO_ANSWER
        else:
            read_answer_into(sent, spec, connection)
        check_sight(sent, spec)
        if spec.close:
            connection.reusable = False


def read_answer_into(sent, spec, connection):
    """Reads one answer and notes what the client saw."""
    try:
        answer = connection.read_answer()
    except Cut:
        sent.seen = CUT
        connection.reusable = False
    except NoAnswer:
        sent.seen = NO_ANSWER
        connection.reusable = False
    except socket.timeout:
        sent.seen = TIMED_OUT
        connection.reusable = False
    else:
        sent.status = answer.status
        if 200 <= answer.status < 300:
            sent.seen = COMPLETE
            sent.problem = body_problem(spec, answer)
        else:
            sent.seen = status_seen(answer.status)


def check_sight(sent, spec):
    """Notes a problem when the client saw something else than its request asked the mock for."""
    expected = SIGHT_FOR_FAULT[spec.fault]
    if sent.seen not in expected and not sent.problem:
        sent.problem = f"saw {sent.seen}, expected {' or '.join(sorted(expected))}"


def op_exchange(client):
    """A healthy JSON or SSE exchange on a kept keep-alive connection."""
    spec = random_api_spec(client.rng)
    connection = client.connection()
    client.exchange(client.soak.ledger.new("exchange"), spec, connection)
    client.finish(connection)


def op_upstream_fault(client):
    """One request the mock fails on purpose; kgb must answer 502/504 or cut the stream, and record it."""
    fault = client.rng.choice(FAULTS)
    spec = random_fault_spec(client.rng, fault)
    connection = client.connection()
    client.exchange(client.soak.ledger.new("fault", fault), spec, connection)
    client.finish(connection)


def op_pipeline(client):
    """2-5 requests written at once; answers read in order. Some may be faults: a cut (or an answer that
    closes the connection) leaves the requests behind it unanswered."""
    rng = client.rng
    specs = []
    for _ in range(rng.randint(2, 5)):
        if rng.random() < 0.25:
            specs.append(random_fault_spec(rng, rng.choice(FAULTS)))
        else:
            specs.append(random_api_spec(rng, close=False, events=rng.randint(1, 15)))
    connection = client.connection(keep_alive=False)
    entries = [client.soak.ledger.new("pipeline", spec.fault) for spec in specs]
    connection.send(b"".join(encode_request(spec, sent.soak_id)[0] for spec, sent in zip(specs, entries)))
    answered = True
    for spec, sent in zip(specs, entries):
        if not answered:
            sent.seen = UNANSWERED
            continue
        read_answer_into(sent, spec, connection)
        check_sight(sent, spec)
        answered = connection.reusable
    connection.close()


def op_slow_reader(client):
    """A streamed answer read slowly through a small receive buffer, in small reads."""
    rng = client.rng
    spec = random_api_spec(rng, stream=True, events=rng.randint(50, 250), interval_ms=rng.randint(0, 3), close=False)
    read_paced(client, spec, "slow_reader", rcvbuf=4096, rate=client.soak.settings.slow_reader_bps, piece=512)


def op_bulk_reader(client):
    """A large body read at a bounded rate: kgb's write queue fills and it pauses the upstream. On loopback
    the kernel takes up to 4 MiB (tcp_wmem) of a slow reader's answer before kgb's own queue grows, so the
    body is larger than that."""
    rng = client.rng
    spec = Spec(api="bytes", size=rng.randint(5 * MIB, BULK_MAX), chunked_reply=rng.random() < 0.5)
    read_paced(client, spec, "bulk_reader", rcvbuf=16384, rate=client.soak.settings.bulk_reader_bps, piece=16384)


def read_paced(client, spec, operation, rcvbuf, rate, piece):
    """One exchange on a fresh connection whose answer is read at `rate` bytes/s, `piece` bytes at a time."""
    connection = client.connection(keep_alive=False, rcvbuf=rcvbuf)
    sent = client.soak.ledger.new(operation)
    connection.pace(rate, piece)
    client.exchange(sent, spec, connection)
    connection.close()


def op_abort_response(client):
    """The whole request, then the client leaves at a random point of the answer (or before it)."""
    rng = client.rng
    spec = random_api_spec(rng, events=rng.randint(20, 150), interval_ms=rng.randint(0, 4), close=False)
    connection = client.connection(keep_alive=False)
    sent = client.soak.ledger.new("abort_response")
    data, _ = encode_request(spec, sent.soak_id)
    connection.send(data)
    leave_at = rng.choice((0, rng.randint(1, 200), rng.randint(1, spec.events * 150)))
    received = connection.read_for_abort(leave_at, wait=rng.uniform(0.05, 1.0)) if leave_at else 0
    # A reset only once answer bytes came (kgb has read the request then): a reset before that may make the
    # kernel drop the request unread, and the exchange would not exist.
    connection.close(reset=received > 0 and rng.random() < 0.5)
    sent.seen = ABORTED_RESPONSE


def op_abort_request_body(client):
    """The whole head and part of the body, then a close (a FIN: kgb reads everything sent)."""
    rng = client.rng
    spec = random_api_spec(rng, padding=rng.randint(2000, 30000), close=False)
    connection = client.connection(keep_alive=False)
    sent = client.soak.ledger.new("abort_body")
    data, head_length = encode_request(spec, sent.soak_id)
    connection.send(data[:rng.randint(head_length, len(data) - 1)])
    time.sleep(rng.choice((0, rng.uniform(0, 0.05))))
    connection.close()
    sent.seen = ABORTED_BODY


def op_abort_request_head(client):
    """Part of a request head (at least its request line, so a record could be matched), then a close."""
    rng = client.rng
    spec = random_api_spec(rng, close=False)
    connection = client.connection(keep_alive=False)
    sent = client.soak.ledger.new("abort_head")
    data, head_length = encode_request(spec, sent.soak_id)
    connection.send(data[:rng.randint(data.index(b"\r\n") + 2, head_length - 1)])
    connection.close()
    sent.seen = ABORTED_HEAD


OPERATIONS = [
    (40, op_exchange),
    (10, op_pipeline),
    (16, op_upstream_fault),
    (8, op_slow_reader),
    (2, op_bulk_reader),
    (12, op_abort_response),
    (8, op_abort_request_body),
    (4, op_abort_request_head),
]


# MARK: - The processes

def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Service:
    """A started binary with its stderr in the run directory."""

    def __init__(self, name, args, port, run_dir):
        self.name = name
        self.port = port
        self.stderr_path = os.path.join(run_dir, f"{name}.stderr")
        with open(self.stderr_path, "w") as stderr, open(os.path.join(run_dir, f"{name}.stdout"), "w") as stdout:
            # Proxy variables must not capture 127.0.0.1 traffic.
            env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
            self.process = subprocess.Popen(args, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env)
        self._wait_listening()

    def _wait_listening(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SetupError(f"{self.name} exited with {self.process.returncode}: {self.stderr_text()[-2000:]}")
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.02)
        raise SetupError(f"{self.name} is not listening on {HOST}:{self.port} after {timeout} s")

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise SetupError("no VmRSS in /proc status")

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu_seconds(self):
        """User and system CPU time so far."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stderr_text(self):
        with open(self.stderr_path, errors="replace") as stderr:
            return stderr.read()

    def stop(self, timeout):
        """SIGTERM, then the exit status (None if it had to be killed after `timeout` seconds)."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


class SetupError(Exception):
    pass


def start_mock(settings, run_dir):
    port = free_port()
    return Service("mock", [os.path.join(settings.bin, "kgb-mock-upstream"), "--listen", f"{HOST}:{port}"], port, run_dir)


def start_kgb(settings, run_dir, mock_port):
    port, admin_port = free_port(), free_port()
    args = [os.path.join(settings.bin, "kgb"), "--listen", f"{HOST}:{port}", "--upstream", f"http://{HOST}:{mock_port}",
            "--log", f"jsonl:{log_path(run_dir)}", "--admin", f"{HOST}:{admin_port}",
            "--upstream-timeout", str(settings.upstream_timeout), "--idle-timeout", str(settings.idle_timeout),
            "--pool-idle-timeout", str(settings.pool_idle_timeout), "--drain-timeout", str(DRAIN_TIMEOUT),
            "--log-ring-bytes", str(settings.log_ring_bytes), "--log-body-max", str(settings.log_body_max)]
    kgb = Service("kgb", args, port, run_dir)
    kgb.admin_port = admin_port
    return kgb


DRAIN_TIMEOUT = 10


def log_path(run_dir):
    return os.path.join(run_dir, "exchanges.jsonl")


def admin_get(kgb, path):
    """(status, body) of a GET on the admin endpoint; (0, why) when it does not answer."""
    try:
        with socket.create_connection((HOST, kgb.admin_port), timeout=5) as connection:
            connection.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := connection.recv(65536):
                data += chunk
    except OSError as error:
        return 0, repr(error)
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        return int(head.split(b" ", 2)[1]), body.decode(errors="replace")
    except (IndexError, ValueError):
        return 0, "malformed answer"


def metrics(kgb):
    """{name: summed value over all label sets} from /metrics (Prometheus text)."""
    status, text = admin_get(kgb, "/metrics")
    if status != 200:
        raise SetupError(f"/metrics answered {status}: {text[:200]}")
    sums = collections.defaultdict(float)
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})? (\S+)", line)
        if match and not line.startswith("#"):
            sums[match.group(1)] += float(match.group(2))
    return sums


# MARK: - Background: log rotation and resource samples

@dataclasses.dataclass
class Sample:
    t: float        # seconds since traffic started
    rss_kib: int
    fds: int
    ready: int      # /readyz status


def rotate_logs(soak):
    """Every `rotate_every` seconds, as logrotate does: rename the log away, then SIGHUP so kgb reopens it."""
    path = log_path(soak.run_dir)
    while not soak.stop.wait(soak.settings.rotate_every):
        try:
            os.rename(path, f"{path}.{soak.rotations + 1}")
        except FileNotFoundError:
            continue  # nothing written since the last reopen
        soak.kgb.process.send_signal(signal.SIGHUP)
        soak.rotations += 1


def sample_resources(soak):
    """kgb's RSS, fd count and readiness every `sample_every` seconds while traffic runs; notes a crash."""
    while True:
        t = time.monotonic() - soak.started
        if not soak.kgb.alive():
            soak.crashed_at = t
            soak.stop.set()
            return
        try:
            soak.samples.append(Sample(t, soak.kgb.rss_kib(), soak.kgb.fd_count(), admin_get(soak.kgb, "/readyz")[0]))
        except (OSError, SetupError):
            pass  # the process went away between the check and the read: seen on the next turn
        if soak.stop.wait(soak.sample_every):
            return


# MARK: - The soak

class Soak:
    def __init__(self, settings, run_dir):
        self.settings = settings
        self.run_dir = run_dir
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.samples = []
        self.rotations = 0
        self.crashed_at = None
        self.errors = []
        self.error_count = 0
        self._error_lock = threading.Lock()
        self.duration = settings.minutes * 60
        # About 60 samples a run, at most one every 5 s and at least every 0.5 s.
        self.sample_every = min(5.0, max(0.5, self.duration / 60))
        self.mock = self.kgb = None

    def client_error(self, message):
        """An operation failed in a way no ledger entry covers (e.g. connect refused)."""
        with self._error_lock:
            self.error_count += 1
            if len(self.errors) < 20:
                self.errors.append(message)

    @property
    def kgb_port(self):
        return self.kgb.port

    def run(self):
        """Starts the processes, drives the traffic, shuts down and gathers what the checks need. The
        processes are stopped whatever happens."""
        try:
            self.mock = start_mock(self.settings, self.run_dir)
            self.kgb = start_kgb(self.settings, self.run_dir, self.mock.port)
            self.fd_baseline = self._fd_baseline()
            self.rss_start_kib = self.kgb.rss_kib()
            print(f"soak: kgb pid {self.kgb.pid} on {HOST}:{self.kgb.port} (admin {self.kgb.admin_port}), "
                  f"{self.settings.clients} clients for {self.duration:g} s, seed {self.settings.seed}; "
                  f"run directory {self.run_dir}", flush=True)
            self._drive_traffic()
            self.idle_wait, self.fd_end, self.idle_metrics = self._wait_until_idle()
            self.alive_before_sigterm = self.kgb.alive()
            self.mock_alive_before_sigterm = self.mock.alive()
            self.rss_idle_kib = self.kgb.rss_kib() if self.alive_before_sigterm else None
            self.cpu_seconds = self.kgb.cpu_seconds() if self.alive_before_sigterm else None
            self.exit_code = self.kgb.stop(DRAIN_TIMEOUT + 15)
            self.mock_exit_code = self.mock.stop(10)
        finally:
            for service in (self.kgb, self.mock):
                if service and service.alive():
                    service.process.kill()
                    service.process.wait()

    def _fd_baseline(self):
        """kgb's open fds before traffic, once it has closed the connection that probed its port."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and metrics(self.kgb).get("kgb_client_connections") != 0:
            time.sleep(0.05)
        return self.kgb.fd_count()

    def _drive_traffic(self):
        self.started = time.monotonic()
        self.deadline = self.started + self.duration
        background = [threading.Thread(target=rotate_logs, args=(self,), daemon=True),
                      threading.Thread(target=sample_resources, args=(self,), daemon=True)]
        clients = [Client(index, self) for index in range(self.settings.clients)]
        for thread in background + clients:
            thread.start()
        self._report_progress()
        for client in clients:
            # An operation ends within CLIENT_TIMEOUT of the deadline; more means a client is stuck.
            client.join(max(0.0, self.deadline + CLIENT_TIMEOUT + 10 - time.monotonic()))
        self.stuck_clients = sum(client.is_alive() for client in clients)
        self.traffic_seconds = time.monotonic() - self.started
        self.stop.set()
        for thread in background:
            thread.join()

    def _report_progress(self):
        """A line every minute (or every tenth of a short run) until the deadline."""
        every = min(60.0, max(5.0, self.duration / 10))
        while not self.stop.wait(min(every, max(0.0, self.deadline - time.monotonic()))):
            if time.monotonic() >= self.deadline:
                return
            sample = self.samples[-1] if self.samples else None
            print(f"soak: {time.monotonic() - self.started:6.0f} s, {len(self.ledger.entries)} requests, "
                  f"RSS {sample.rss_kib / 1024 if sample else 0:.1f} MiB, fds {sample.fds if sample else '?'}, "
                  f"rotations {self.rotations}", flush=True)

    def _wait_until_idle(self):
        """Waits for kgb to close every idle client and upstream connection: until its fd count is back to the
        baseline and its connection gauges are 0, or the longest legitimate wait has passed (client idle
        timeout, pool idle timeout, kgb's 10 s linger for unread answers, and a margin)."""
        settings = self.settings
        limit = settings.idle_timeout + settings.pool_idle_timeout + 10 + 5
        started = time.monotonic()
        sums = {}
        while self.kgb.alive():
            fds = self.kgb.fd_count()
            try:
                sums = metrics(self.kgb)
            except SetupError:
                sums = {}
            idle = sums.get("kgb_client_connections") == 0 and sums.get("kgb_upstream_connections") == 0
            if (fds <= self.fd_baseline and idle) or time.monotonic() - started > limit:
                return time.monotonic() - started, fds, sums
            time.sleep(0.25)
        return time.monotonic() - started, None, {}


# MARK: - Reading the log

@dataclasses.dataclass
class LogContents:
    files: list
    records: list
    problems: list
    # soak_id: [records]; records whose path has no soak_id are in `strays`.
    by_soak_id: dict = dataclasses.field(default_factory=dict)
    strays: list = dataclasses.field(default_factory=list)


def read_logs(run_dir):
    """Every record of every log file (the live one and the rotated ones), and what is wrong with the files.
    Only the fields the checks use are kept."""
    base = log_path(run_dir)
    # Oldest first: the rotated files in rotation order, then the live one.
    files = sorted(glob.glob(base + "*"), key=lambda path: (path == base, 0 if path == base else int(path.rsplit(".", 1)[1])))
    records, problems = [], []
    for path in files:
        with open(path, "rb") as file:
            data = file.read()
        if data and not data.endswith(b"\n"):
            problems.append(f"{os.path.basename(path)} does not end with a newline (a torn record)")
        for number, line in enumerate(data.splitlines(), 1):
            where = f"{os.path.basename(path)} line {number}"
            if SECRET.encode() in line:
                problems.append(f"{where}: the client's x-api-key is in the log")
            try:
                record = json.loads(line)
                summary = {"id": record["id"], "path": record["path"], "outcome": record["outcome"],
                           "error": record.get("error"), "status": (record.get("response") or {}).get("status"),
                           "where": where}
            except (ValueError, KeyError, TypeError) as error:
                problems.append(f"{where}: not a record ({error!r}): {line[:120]!r}")
                continue
            records.append(summary)
    log = LogContents(files, records, problems, collections.defaultdict(list))
    for record in records:
        match = SOAK_ID.search(record["path"])
        if match:
            log.by_soak_id[int(match.group(1))].append(record)
        else:
            log.strays.append(record)
    return log


# MARK: - Checks

@dataclasses.dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_process(soak):
    problems = []
    if soak.crashed_at is not None or not soak.alive_before_sigterm:
        when = f" at {soak.crashed_at:.1f} s" if soak.crashed_at is not None else " before SIGTERM"
        problems.append(f"kgb died{when} (exit status {soak.kgb.process.returncode})")
    elif soak.exit_code != 0:
        problems.append(f"exit status after SIGTERM: {soak.exit_code if soak.exit_code is not None else 'killed, no exit'}")
    if not soak.mock_alive_before_sigterm or soak.mock_exit_code != 0:
        problems.append(f"the mock upstream died or did not stop cleanly (exit status {soak.mock.process.returncode})")
    for service in (soak.kgb, soak.mock):
        problems += [f"{service.name} stderr: {line}" for line in crash_report(service.stderr_text())]
    detail = "; ".join(problems) if problems else f"ran until SIGTERM, exit 0, stderr clean ({soak.kgb.stderr_path})"
    return Check("process", not problems, "\n      ".join(problems) if len(problems) > 1 else detail)


def crash_report(text, limit=4):
    """The lines of a sanitizer or crash report worth showing: the marker lines, and the first frames after
    "crashed:" (where it happened)."""
    lines = [line.strip() for line in text.splitlines()]
    shown = [line for line in lines if any(marker in line for marker in CRASH_MARKERS)][:limit]
    for index, line in enumerate(lines):
        if line.endswith("crashed:"):
            shown += [frame[:200] for frame in lines[index + 1:index + 4] if frame][:2]
            break
    return list(dict.fromkeys(shown))  # without repeats, in order


def memory_figures(soak):
    """RSS at the end of warm-up, the highest in the middle and last thirds, and at the end of traffic (KiB)."""
    T = soak.duration
    samples = [s for s in soak.samples if s.t <= T]
    warm = [s.rss_kib for s in samples if s.t <= 0.2 * T]
    middle = [s.rss_kib for s in samples if T / 3 <= s.t < 2 * T / 3]
    last = [s.rss_kib for s in samples if s.t >= 2 * T / 3]
    return {"warm_up_end": warm[-1] if warm else None, "middle_max": max(middle, default=None),
            "last_max": max(last, default=None), "end": samples[-1].rss_kib if samples else None,
            "peak": max((s.rss_kib for s in samples), default=None), "counts": (len(middle), len(last))}


def rss_slope_mib_per_minute(soak):
    """Least-squares slope of RSS after warm-up, for the summary (the check itself uses the thirds)."""
    points = [(s.t, s.rss_kib / 1024) for s in soak.samples if 0.2 * soak.duration <= s.t <= soak.duration]
    if len(points) < 3:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_r = sum(r for _, r in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return 60 * sum((t - mean_t) * (r - mean_r) for t, r in points) / spread if spread else 0.0


def check_memory(soak):
    """A leak keeps RSS rising after warm-up; a levelled one only moves within allocator noise. The last third
    may exceed the middle third's highest sample by at most max(8 MiB, 10%)."""
    figures = memory_figures(soak)
    middle, last = figures["middle_max"], figures["last_max"]
    if middle is None or last is None or min(figures["counts"]) < 2:
        return Check("memory", False, f"too few RSS samples ({figures['counts']} in the middle and last thirds)")
    allowance = max(8 * 1024, middle // 10)
    detail = (f"max RSS middle third {middle / 1024:.1f} MiB, last third {last / 1024:.1f} MiB "
              f"(allowed {(middle + allowance) / 1024:.1f}); slope after warm-up {rss_slope_mib_per_minute(soak):+.2f} MiB/min")
    return Check("memory", last <= middle + allowance, detail)


def check_fds(soak):
    sums = soak.idle_metrics
    clients, upstreams = sums.get("kgb_client_connections"), sums.get("kgb_upstream_connections")
    gauges = f"gauges: client_connections {clients}, upstream_connections {upstreams}" if sums else "no metrics"
    if soak.fd_end is None:
        return Check("fds", False, "kgb was not running after the traffic")
    ok = soak.fd_end <= soak.fd_baseline and clients == 0 and upstreams == 0
    return Check("fds", ok, f"baseline {soak.fd_baseline}, after {soak.idle_wait:.1f} s idle {soak.fd_end} ({gauges})")


def check_clients(soak, log):
    """What each client saw against what its request asked for; clients stuck or failing outside the ledger.
    Each problem shows kgb's record of the exchange, which usually says why."""
    problems = [f"{sent.describe()}: {sent.problem}{record_note(log.by_soak_id.get(sent.soak_id))}"
                for sent in soak.ledger.entries if sent.problem]
    if not soak.ledger.entries:
        problems.append("no request was sent")
    problems += [f"{sent.describe()}: never finished" for sent in soak.ledger.entries if sent.seen == "pending"]
    if soak.stuck_clients:
        problems.append(f"{soak.stuck_clients} client threads still running {CLIENT_TIMEOUT + 10:g} s after the deadline")
    problems += [f"client error: {error}" for error in soak.errors]
    if soak.error_count > len(soak.errors):
        problems.append(f"... {soak.error_count - len(soak.errors)} more client errors")
    not_ready = [s for s in soak.samples if s.ready != 200]
    if not_ready:
        problems.append(f"/readyz answered {not_ready[0].ready} at {not_ready[0].t:.1f} s ({len(not_ready)} samples not ready)")
    return Check("clients", not problems, summarize(problems, f"{len(soak.ledger.entries)} requests as expected"))


def record_note(records):
    if not records:
        return "; no record"
    record = records[0]
    return f"; record: {record['outcome']}" + (f" ({record['error']})" if record["error"] else "")


def check_records(soak, log):
    """One valid record per exchange, with the outcome its client's view allows (see allowed_outcomes)."""
    problems = list(log.problems)
    ids = collections.Counter(record["id"] for record in log.records)
    problems += [f"record id {record_id} appears {count} times" for record_id, count in ids.items() if count > 1]
    problems += [f"{record['where']}: record {record['id']} is for no request sent ({record['path']})"
                 for record in log.strays]
    sent_ids = {sent.soak_id for sent in soak.ledger.entries}
    problems += [f"{records[0]['where']}: record for soak_id={soak_id}, which was never sent"
                 for soak_id, records in log.by_soak_id.items() if soak_id not in sent_ids]
    for sent in soak.ledger.entries:
        problems += record_problems(sent, log.by_soak_id.get(sent.soak_id, []))
    problems += metric_problems(soak, log)
    ok_detail = f"{len(log.records)} records, one per exchange, outcomes as the clients saw"
    return Check("records", not problems, summarize(problems, ok_detail))


def record_problems(sent, records):
    """What is wrong with the records of one request ([] when nothing)."""
    if len(records) > 1:
        return [f"{sent.describe()}: {len(records)} records ({', '.join(r['where'] for r in records)})"]
    record = records[0] if records else None
    outcome = record["outcome"] if record else None
    allowed = allowed_outcomes(sent)
    if outcome not in allowed:
        names = " or ".join(sorted("no record" if o is None else o for o in allowed))
        found = f"outcome {outcome} ({record['where']})" if record else "no record"
        return [f"{sent.describe()}: client saw {sent.seen}, log has {found}, expected {names}"]
    # kgb's own 502 and 504 leave `response` null: the record holds the upstream's response, and there was none.
    status_differs = record and record["status"] != sent.status and (sent.seen == COMPLETE or record["status"] is not None)
    if status_differs and sent.seen in (COMPLETE, status_seen(sent.status)):
        return [f"{sent.describe()}: client got status {sent.status}, record says {record['status']} ({record['where']})"]
    return []


def metric_problems(soak, log):
    """The metrics at idle (every exchange ended) against the records, and the log's loss counters."""
    sums = soak.idle_metrics
    if not sums:
        return ["no metrics scraped at the end of the traffic"]
    problems = []
    if sums["kgb_exchanges_total"] != len(log.records):
        problems.append(f"kgb_exchanges_total {sums['kgb_exchanges_total']:g} but {len(log.records)} records")
    for name in ("kgb_log_lost_records_total", "kgb_log_sink_records_lost_total", "kgb_log_dropped_bytes_total",
                 "kgb_log_sink_errors_total"):
        if sums[name]:
            problems.append(f"{name} is {sums[name]:g}")
    return problems


def summarize(problems, ok_detail, shown=15):
    if not problems:
        return ok_detail
    more = f"\n      ... and {len(problems) - shown} more" if len(problems) > shown else ""
    return f"{len(problems)} problems:\n      " + "\n      ".join(problems[:shown]) + more


# MARK: - Report

def figures(soak, log):
    """The numbers of a run, for the console and the results file."""
    memory = memory_figures(soak)
    mib = lambda kib: f"{kib / 1024:.1f}" if kib is not None else "?"
    outcomes = collections.Counter(record["outcome"] for record in log.records)
    seen = collections.Counter(sent.seen for sent in soak.ledger.entries)
    operations = collections.Counter(sent.operation for sent in soak.ledger.entries)
    requests = len(soak.ledger.entries)
    return [
        ("duration of traffic", f"{soak.traffic_seconds:.0f} s ({soak.settings.clients} clients)"),
        ("requests sent", f"{requests}"),
        ("requests/s", f"{requests / soak.traffic_seconds:.0f}"),
        ("requests by operation", ", ".join(f"{name} {count}" for name, count in operations.most_common())),
        ("clients saw", ", ".join(f"{name} {count}" for name, count in seen.most_common())),
        ("records", f"{len(log.records)} (log files: {len(log.files)})"),
        ("record outcomes", ", ".join(f"{name} {count}" for name, count in outcomes.most_common())),
        ("log rotations (rename + SIGHUP)", f"{soak.rotations}"),
        ("RSS MiB: start / warm-up end / middle max / last max / traffic end / idle",
         f"{mib(soak.rss_start_kib)} / {mib(memory['warm_up_end'])} / {mib(memory['middle_max'])} / "
         f"{mib(memory['last_max'])} / {mib(memory['end'])} / {mib(soak.rss_idle_kib)}"),
        ("RSS slope after warm-up", f"{rss_slope_mib_per_minute(soak):+.2f} MiB/min ({len(soak.samples)} samples)"),
        ("fds baseline / peak / after idle", f"{soak.fd_baseline} / {max((s.fds for s in soak.samples), default='?')} / {soak.fd_end}"),
        ("kgb CPU time", f"{soak.cpu_seconds:.1f} s" if soak.cpu_seconds is not None else "?"),
        ("kgb exit status after SIGTERM", f"{soak.exit_code}"),
    ]


def print_report(rows, checks):
    width = max(len(name) for name, _ in rows)
    print("\nsoak figures")
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")
    print("\nsoak checks")
    for check in checks:
        print(f"  {'PASS' if check.ok else 'FAIL'}  {check.name:8}  {check.detail}")
    failed = [check.name for check in checks if not check.ok]
    print(f"\nsoak: {'FAILED: ' + ', '.join(failed) if failed else 'all checks passed'}", flush=True)


def write_results(path, settings, rows, checks):
    """Writes the run as the Markdown section "## Soak" of `path` (replacing an earlier one: bench/section.py)."""
    today = datetime.date.today().isoformat()
    lines = [f"## Soak, {today}: {settings.minutes:g} min, {settings.clients} clients", "",
             f"`bench/soak.py --bin {settings.bin} --minutes {settings.minutes:g}`", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "| check | result | |", "|---|---|---|"]
    # A failed check's count and its first problem (the console has the rest); `|` would end the cell.
    cell = lambda detail: " ".join(line.strip() for line in detail.splitlines()[:2]).replace("|", "\\|")
    lines += [f"| {check.name} | {'pass' if check.ok else '**FAIL**'} | {cell(check.detail)} |" for check in checks]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import section
    section.put(path, "## Soak", "\n".join(lines))


# MARK: - Main

def parse_settings(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "release"),
                        help="directory with kgb and kgb-mock-upstream (default: .build/release)")
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "10")),
                        help="traffic duration, fractions allowed (default: $SOAK_MINUTES or 10)")
    parser.add_argument("--clients", type=int, default=32, help="client threads (default: 32)")
    parser.add_argument("--results", help="write the figures and checks as the '## Soak' section of this Markdown file")
    parser.add_argument("--run-dir", help="where logs and stderr go (default: a new directory under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the run directory even when every check passed")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (default: the time)")
    parser.add_argument("--rotate-every", type=float, default=10.0, help="seconds between log rotations (default: 10)")
    parser.add_argument("--upstream-timeout", type=float, default=1.0, help="kgb --upstream-timeout (default: 1)")
    parser.add_argument("--idle-timeout", type=float, default=2.0, help="kgb --idle-timeout (default: 2)")
    parser.add_argument("--pool-idle-timeout", type=float, default=1.0, help="kgb --pool-idle-timeout (default: 1)")
    parser.add_argument("--log-ring-bytes", type=int, default=8 * MIB, help="kgb --log-ring-bytes (default: 8 MiB)")
    parser.add_argument("--log-body-max", type=int, default=64 * 1024, help="kgb --log-body-max (default: 64 KiB)")
    # Slower readers are cut by kgb's own timers (see the module's docstring).
    parser.add_argument("--slow-reader-bps", type=float, default=32_000, help="slow readers' bytes/s (default: 32000)")
    parser.add_argument("--bulk-reader-bps", type=float, default=4_000_000, help="bulk readers' bytes/s (default: 4000000)")
    settings = parser.parse_args(argv)
    if settings.minutes <= 0 or settings.clients < 1:
        parser.error("--minutes must be above 0 and --clients at least 1")
    return settings


def main(argv):
    settings = parse_settings(argv)
    for binary in ("kgb", "kgb-mock-upstream"):
        if not os.access(os.path.join(settings.bin, binary), os.X_OK):
            print(f"soak: no executable {binary} in {settings.bin}", file=sys.stderr)
            return 2
    run_dir = settings.run_dir or tempfile.mkdtemp(prefix="kgb-soak-")
    os.makedirs(run_dir, exist_ok=True)
    if glob.glob(log_path(run_dir) + "*"):
        # Records of an earlier run would be matched against this run's ledger.
        print(f"soak: {run_dir} already holds exchange logs; give an empty --run-dir", file=sys.stderr)
        return 2
    soak = Soak(settings, run_dir)
    try:
        soak.run()
    except SetupError as error:
        print(f"soak: could not run: {error}", file=sys.stderr)
        for service in (soak.kgb, soak.mock):
            if service:
                service.stop(5)
        return 2
    log = read_logs(run_dir)
    # The process first: when kgb died, the other checks mostly fail because of it.
    checks = [check_process(soak), check_memory(soak), check_fds(soak), check_records(soak, log), check_clients(soak, log)]
    rows = figures(soak, log)
    print_report(rows, checks)
    if settings.results:
        write_results(settings.results, settings, rows, checks)
    passed = all(check.ok for check in checks)
    if passed and not settings.keep and not settings.run_dir:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(f"soak: logs, stderr and stdout kept in {run_dir} (seed {settings.seed})")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
