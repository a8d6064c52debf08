"""The design kgb replaces, written for the benchmark: an asyncio gateway on aiohttp.

Every request, whatever its path, is forwarded to the upstream with one shared aiohttp.ClientSession; the
answer is streamed back through a web.StreamResponse, one write per piece read from the upstream. The upstream
is asked for `Accept-Encoding: identity` (so the log can read the bodies), and each exchange puts one record on
an asyncio.Queue that a task drains, appending JSON lines to a file. The default asyncio event loop, one
process: one core, like the other systems in the bench.

Usage: python aiohttp_gateway.py --listen 127.0.0.1:PORT --upstream http://HOST:PORT [--log PATH|none]
"""
import argparse
import asyncio
import json
import time

import aiohttp
from aiohttp import web

# RFC 9110 §7.6.1: these describe one connection, not the message, and are not forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "proxy-connection"}
# The most of each body kept in a record, as kgb's --log-body-max default; the client always gets everything.
BODY_KEEP = 16 * 1024 * 1024


def forwardable(headers, drop=()):
    named = {name.strip().lower() for field in headers.getall("Connection", []) for name in field.split(",")}
    return [(k, v) for k, v in headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in named and k.lower() not in drop]


class Gateway:
    def __init__(self, upstream, log_path):
        self.upstream = upstream.rstrip("/")
        self.log_path = log_path
        self.queue = asyncio.Queue()
        self.session = None
        self.writer_task = None
        self.count = 0

    async def start(self, app):
        # No limit on connections to the upstream (the default 100 would queue the 101st stream), keep-alive on,
        # bodies passed through as they come (no decompression).
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                             timeout=aiohttp.ClientTimeout(total=None, sock_read=600))
        self.writer_task = asyncio.create_task(self.write_records())

    async def stop(self, app):
        await self.queue.join()
        self.writer_task.cancel()
        await self.session.close()

    async def write_records(self):
        """Drains the queue: one JSON line per exchange, appended to the log file."""
        if self.log_path == "none":
            while True:
                await self.queue.get()
                self.queue.task_done()
        with open(self.log_path, "a", encoding="utf-8") as log:
            while True:
                record = await self.queue.get()
                log.write(json.dumps(record, ensure_ascii=False) + "\n")
                self.queue.task_done()
                # A batch: write what is queued, then flush once.
                while not self.queue.empty():
                    log.write(json.dumps(self.queue.get_nowait(), ensure_ascii=False) + "\n")
                    self.queue.task_done()
                log.flush()

    async def handle(self, request):
        started = time.time()
        clock = time.monotonic()
        self.count += 1
        body = await request.read()
        headers = forwardable(request.headers, drop={"host", "accept-encoding"})
        headers.append(("Accept-Encoding", "identity"))
        peer = request.remote or ""
        forwarded = request.headers.get("X-Forwarded-For")
        headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
        headers.append(("X-Forwarded-For", f"{forwarded}, {peer}" if forwarded else peer))
        record = {"id": f"{int(started * 1e6):x}-{self.count}", "started_at": started, "client": peer,
                  "method": request.method, "path": request.path_qs,
                  "request": {"headers": dict(request.headers), "body": body.decode("utf-8", "replace")},
                  "response": None, "outcome": "complete", "error": None}
        kept = bytearray()
        sent = 0
        response = None
        try:
            async with self.session.request(request.method, self.upstream + request.path_qs,
                                            headers=headers, data=body or None,
                                            allow_redirects=False) as upstream:
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                              headers=forwardable(upstream.headers))
                ttfb = time.monotonic() - clock
                await response.prepare(request)
                async for piece in upstream.content.iter_any():
                    await response.write(piece)
                    sent += len(piece)
                    if len(kept) < BODY_KEEP:
                        kept += piece[:BODY_KEEP - len(kept)]
                await response.write_eof()
                record["response"] = {"status": upstream.status, "headers": dict(upstream.headers),
                                      "body": kept.decode("utf-8", "replace"), "body_bytes": sent,
                                      "truncated": sent > len(kept)}
                record["timing"] = {"ttfb_ms": ttfb * 1000, "total_ms": (time.monotonic() - clock) * 1000}
                return response
        except ConnectionResetError as error:
            # The client went away: the upstream answer is abandoned (leaving the `async with` closes that
            # connection), and aiohttp is handed the response it can no longer finish, which it ends quietly.
            record["outcome"], record["error"] = "client_aborted", repr(error)
            return response if response is not None else web.Response(status=499)
        except asyncio.CancelledError as error:
            record["outcome"], record["error"] = "client_aborted", repr(error)
            raise
        except aiohttp.ClientError as error:
            record["outcome"], record["error"] = "upstream_error", repr(error)
            if response is not None and response.prepared:
                raise  # after the head: the client sees a cut stream
            return web.json_response({"type": "error", "error": {"type": "api_error", "message": str(error)}},
                                     status=502)
        finally:
            self.queue.put_nowait(record)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--log", default="none")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    gateway = Gateway(args.upstream, args.log)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.on_startup.append(gateway.start)
    app.on_cleanup.append(gateway.stop)
    app.router.add_route("*", "/{tail:.*}", gateway.handle)
    web.run_app(app, host=host, port=int(port), access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
