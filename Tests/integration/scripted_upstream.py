"""A tiny scripted upstream (a real TCP server on 127.0.0.1) for the cases the mock cannot show from the
upstream's side: what it received, how many connections it saw, and when the gateway closed them."""
import socket
import threading


class ScriptedUpstream:
    """Runs `handler(conn, record)` for each accepted connection on its own thread."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.connections = 0
        self.requests = []  # raw request heads received
        self.events = []  # free-form notes from handlers
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _serve(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            self.handler(conn, self)
        except OSError:
            pass
        finally:
            conn.close()

    def note(self, event):
        with self.lock:
            self.events.append(event)

    def close(self):
        self.closed.set()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_request_head(conn):
    """Reads up to the end of a request head; returns it (bytes) or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return None
        data += piece
    return data
