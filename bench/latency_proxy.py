#!/usr/bin/env python3
"""A loopback TCP proxy that adds a fixed delay in each direction, for the imapmail benchmark.

    latency_proxy.py --target-port P --delay-ms D [--port-file F] [--max-seconds S]

Listens on 127.0.0.1 (an ephemeral port, written to --port-file and printed) and forwards
every connection to 127.0.0.1:P. Each chunk of bytes is held back D ms before it is passed on,
in both directions, so a round trip gains 2*D ms; the bytes of a direction stay in order and
keep flowing while earlier ones wait (the bandwidth is not cut to one buffer per delay).

Loopback only: it never listens on nor connects to anything but 127.0.0.1. It exits by itself
after --max-seconds (default 3600), or on SIGTERM / SIGINT.
"""

import argparse
import asyncio
import collections
import os
import signal
import sys

CHUNK = 256 * 1024
MAX_QUEUED = 64 * 1024 * 1024  # bytes held per direction before the reader pauses


async def pump(reader, writer, delay):
    """Copies reader to writer, each chunk delayed by `delay` seconds."""
    loop = asyncio.get_running_loop()
    queue = collections.deque()
    queued = 0
    more = asyncio.Event()
    room = asyncio.Event()
    room.set()
    done = False

    async def read_side():
        nonlocal queued, done
        try:
            while True:
                await room.wait()
                data = await reader.read(CHUNK)
                if not data:
                    break
                queue.append((loop.time() + delay, data))
                queued += len(data)
                if queued >= MAX_QUEUED:
                    room.clear()
                more.set()
        except (ConnectionError, OSError):
            pass
        finally:
            done = True
            more.set()

    async def write_side():
        nonlocal queued
        try:
            while True:
                if not queue:
                    if done:
                        break
                    more.clear()
                    await more.wait()
                    continue
                due, data = queue[0]
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                queue.popleft()
                queued -= len(data)
                if queued < MAX_QUEUED:
                    room.set()
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            pass

    await asyncio.gather(read_side(), write_side())


async def handle(client_reader, client_writer, target_port, delay):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(pump(client_reader, server_writer, delay),
                             pump(server_reader, client_writer, delay))
    finally:
        for w in (client_writer, server_writer):
            try:
                w.close()
            except Exception:
                pass


async def main_async(args):
    delay = args.delay_ms / 1000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args.target_port, delay), "127.0.0.1", args.listen_port)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.replace(args.port_file + ".tmp", args.port_file)
    print("latency_proxy: 127.0.0.1:%d -> 127.0.0.1:%d, +%g ms each way"
          % (port, args.target_port, args.delay_ms), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.max_seconds)
    except asyncio.TimeoutError:
        sys.stderr.write("latency_proxy: --max-seconds reached, exiting\n")
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target-port", type=int, required=True)
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, required=True, help="delay added in each direction")
    ap.add_argument("--port-file")
    ap.add_argument("--max-seconds", type=float, default=3600)
    args = ap.parse_args()
    if not (0 < args.target_port < 65536) or args.delay_ms < 0 or args.max_seconds <= 0:
        ap.error("bad arguments")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
