"""Per-event delivery latency: N concurrent SSE streams from the mock (events stamped with CLOCK_MONOTONIC at
send), each event timed on arrival with the same clock. Prints p50/p99/max in microseconds for one target.
A Python client adds its own scheduling jitter (tens of µs); compare targets within one run, not across runs.
Usage: python3 bench/latency.py PORT STREAMS EVENTS INTERVAL_MS"""
import asyncio
import json
import sys
import time

port, streams, events, interval = (int(a) for a in sys.argv[1:5])
BODY = json.dumps({"model": "m", "max_tokens": 9, "stream": True, "messages": []}).encode()
REQUEST = (f"POST /v1/messages?events={events}&interval_ms={interval}&timestamps=1 HTTP/1.1\r\n"
           f"Host: bench\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n").encode() + BODY
delays = []


async def one():
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(REQUEST)
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    while True:
        size = int((await reader.readline()).strip(), 16)
        if size == 0:
            break
        chunk = await reader.readexactly(size + 2)
        now = time.monotonic_ns()
        text = chunk.decode()
        if '"mock_t_ns":' in text:
            stamp = int(text.split('"mock_t_ns":', 1)[1].split("}", 1)[0].split(",", 1)[0])
            delays.append((now - stamp) / 1000)
    writer.close()


async def main():
    await asyncio.gather(*(one() for _ in range(streams)))


asyncio.run(main())
delays.sort()
pick = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
print(f"{pick(0.5):.0f}\t{pick(0.99):.0f}\t{delays[-1]:.0f}\t{len(delays)}")
