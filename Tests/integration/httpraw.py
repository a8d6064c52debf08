"""A raw HTTP/1.1 client for the integration tests: it sees the wire as it is (chunk boundaries, framing,
whether a stream ended cleanly), which the usual libraries hide."""
import socket
import time


class Incomplete(Exception):
    """The connection closed before the response's framing said it was complete."""

    def __init__(self, message, response):
        super().__init__(message)
        self.response = response


class Response:
    def __init__(self):
        self.status = 0
        self.reason = ""
        self.version = ""
        self.headers = []  # (name, value) as received
        self.body = b""
        self.chunks = []  # sizes of the chunks as framed on the wire
        self.framing = None  # "length", "chunked", "close", "none"
        self.raw_head = b""
        self.chunk_times = []  # time.monotonic_ns() when each chunk's data was complete

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class Conn:
    """One client connection; `request` sends bytes, `read_response` reads exactly one response."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                return None
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exactly(self, n):
        while len(self.buf) < n:
            if not self._fill():
                return None
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self, response=None):
        response = response or Response()
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise Incomplete("connection closed before the response head", response)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        response.raw_head = head
        lines = head.decode("latin-1").split("\r\n")
        version, status, *reason = lines[0].split(" ", 2)
        response.version, response.status, response.reason = version, int(status), (reason[0] if reason else "")
        response.headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
        return response

    def read_response(self, method="GET", allow_interim=False):
        response = self.read_head()
        while 100 <= response.status < 200 and not allow_interim:
            response = self.read_head()
        return self.read_body(response, method)

    def read_body(self, response, method="GET"):
        """Reads the body of a response whose head was read, as its framing says; returns the response."""
        if 100 <= response.status < 200 or method == "HEAD" or response.status in (204, 304):
            response.framing = "none"
            return response
        te = (response.header("transfer-encoding") or "").lower()
        length = response.header("content-length")
        if "chunked" in te:
            response.framing = "chunked"
            while True:
                line = self._line()
                if line is None:
                    raise Incomplete("connection closed inside a chunked body (no terminating chunk)", response)
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    # Trailers, then the empty line.
                    while True:
                        trailer = self._line()
                        if trailer is None:
                            raise Incomplete("connection closed in the trailer section", response)
                        if trailer == b"":
                            return response
                data = self._exactly(size)
                if data is None:
                    raise Incomplete("connection closed inside a chunk", response)
                response.body += data
                response.chunks.append(size)
                response.chunk_times.append(time.monotonic_ns())
                if self._exactly(2) != b"\r\n":
                    raise Incomplete("chunk not followed by CRLF", response)
        elif length is not None:
            response.framing = "length"
            data = self._exactly(int(length))
            if data is None:
                response.body = self.buf
                raise Incomplete("connection closed before Content-Length bytes arrived", response)
            response.body = data
            return response
        else:
            response.framing = "close"
            while self._fill():
                pass
            response.body, self.buf = self.buf, b""
            return response

    def is_closed_by_peer(self, wait=2.0):
        """True when the peer closes the connection (EOF or reset) within `wait` seconds, with no data."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(1)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return data == b""


def request(port, method="GET", target="/", headers=None, body=b"", host="upstream", version="1.1"):
    """Builds a request's bytes."""
    lines = [f"{method} {target} HTTP/{version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    for name, value in (headers or []):
        lines.append(f"{name}: {value}")
    if body and not any(name.lower() in ("content-length", "transfer-encoding") for name, _ in (headers or [])):
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return data + (body if isinstance(body, bytes) else body.encode())


def exchange(port, method="GET", target="/", headers=None, body=b"", **kwargs):
    conn = Conn(port)
    try:
        conn.send(request(port, method, target, headers, body, **kwargs))
        return conn.read_response(method)
    finally:
        conn.close()
