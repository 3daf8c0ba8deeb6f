"""Many idle customers: 1,000 open widget WebSockets held against one front door, and what they cost it.

Starts `frontdoor serve` on loopback (no Rasa: nobody speaks; FD_REDIS_URL from `--redis-url` for live state and the
bus in Redis, as in production), starts one conversation per socket, opens every socket the widget's way
(`/api/v1/conversations/{id}/ws`, hello with the customer token, the backlog), holds them `--hold-s` seconds with
nothing said, then closes them. Prints one JSON object as its last line: the front door's RSS before the sockets,
with them open and at the end of the hold, the extra MiB and KiB per socket, the CPU seconds the front door used
during the hold, how many sockets it dropped, and the load average beside it (the machine may be shared).
Usage: .venv/bin/python bench/idle_sockets.py [--sockets 1000] [--hold-s 60] [--redis-url redis://127.0.0.1:6379/9]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.proc import cpu_s, load_average, rss_mib  # noqa: E402
from bot.rasa_runtime import stop_process  # noqa: E402
from bot.stack import free_port, start_frontdoor, wait_for_http  # noqa: E402

TARGET_EXTRA_MIB = 100
# Conversations started (and sockets opened) at once: a crowd arriving, without a thousand handshakes in one tick.
OPENING_AT_ONCE = 50
# File descriptors the bench (and the front door it starts, which inherits the limit) needs beyond two per socket.
SPARE_FDS = 512


def raise_open_files(sockets: int) -> int:
    """Raises this process's open-file limit (the front door started after inherits it) to what `sockets` sockets
    need, within the hard limit; returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * sockets + SPARE_FDS
    if soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


async def start_conversation(http: aiohttp.ClientSession, base: str) -> tuple[str, str]:
    async with http.post(f"{base}/api/v1/conversations", json={}) as response:
        assert response.status == 201, await response.text()
        data = await response.json()
    return data["conversation_id"], data["customer_token"]


async def open_socket(http: aiohttp.ClientSession, base: str, conversation: tuple[str, str]) -> Any:
    """The widget's socket for `conversation`, past its `ready` frame."""
    conversation_id, token = conversation
    ws = await http.ws_connect(f"{base}/api/v1/conversations/{conversation_id}/ws")
    await ws.send_json({"type": "hello", "token": token, "after": 0})
    ready = await ws.receive_json(timeout=60)
    assert ready["type"] == "ready", ready
    return ws


async def listen(ws: Any) -> None:
    """Reads until the socket closes: the client answers the server's heartbeat pings only while it reads."""
    async for _ in ws:
        pass


async def in_batches(count: int, make: Any) -> list[Any]:
    results: list[Any] = []
    for start in range(0, count, OPENING_AT_ONCE):
        results += await asyncio.gather(*(make(i) for i in range(start, min(count, start + OPENING_AT_ONCE))))
    return results


async def measure(base: str, pid: int, sockets: int, hold_s: float) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        conversations = await in_batches(sockets, lambda _: start_conversation(http, base))
        await asyncio.sleep(2)  # let the service record's writer flush what the starts produced
        rss_before = rss_mib(pid)
        opened = time.perf_counter()
        open_sockets = await in_batches(sockets, lambda i: open_socket(http, base, conversations[i]))
        opening_s = time.perf_counter() - opened
        readers = [asyncio.create_task(listen(ws)) for ws in open_sockets]
        await asyncio.sleep(2)  # the opening's own work (presence marks, first heartbeats) settles
        rss_open, cpu_before, load_before = rss_mib(pid), cpu_s(pid), load_average()
        await asyncio.sleep(hold_s)
        cpu_hold = cpu_s(pid) - cpu_before
        rss_after, load_after = rss_mib(pid), load_average()
        dropped = sum(1 for ws in open_sockets if ws.closed)
        for ws in open_sockets:
            await ws.close()
        await asyncio.gather(*readers, return_exceptions=True)
    extra = rss_after - rss_before
    return {
        "rss_before_mib": rss_before,
        "rss_open_mib": rss_open,
        "rss_after_mib": rss_after,
        "extra_mib": round(extra, 1),
        "per_socket_kib": round(extra * 1024 / sockets, 1),
        "cpu_s_during_hold": round(cpu_hold, 2),
        "cpu_percent_of_one_core": round(100 * cpu_hold / hold_s, 2),
        "opening_s": round(opening_s, 1),
        "dropped": dropped,
        "load_before": load_before,
        "load_after": load_after,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--hold-s", type=float, default=60.0)
    parser.add_argument("--redis-url", default="", help="FD_REDIS_URL for the front door (empty: in-process)")
    args = parser.parse_args()
    open_files = raise_open_files(args.sockets)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "FD_HOST": "127.0.0.1",
            "FD_PORT": str(port),
            "FD_VAR_DIR": tmp,
            "FD_RASA_URL": f"http://127.0.0.1:{free_port()}",  # nobody speaks, so no Rasa is needed
            "FD_REDIS_URL": args.redis_url,
            "FD_KB_PRELOAD": "0",  # the FAQ encoders are not what this measures
            "FD_LIMITS_CONVERSATIONS_PER_ADDRESS": f"{10 * args.sockets}/minute",  # the crowd comes from one address
            "FD_LOG_LEVEL": "WARNING",
        }
        frontdoor = start_frontdoor(ROOT, env, Path(tmp) / "frontdoor.log")
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/healthz", frontdoor, 120)
            figures = await measure(base, frontdoor.pid, args.sockets, args.hold_s)
        finally:
            stop_process(frontdoor)
    result = {
        "benchmark": "idle_sockets",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "sockets": args.sockets,
        "hold_s": args.hold_s,
        "redis": bool(args.redis_url),
        "open_files_limit": open_files,
        **figures,
        "target_extra_mib": TARGET_EXTRA_MIB,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
