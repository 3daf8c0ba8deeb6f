"""Benchmark: handoff decision → event in an agent's console WebSocket, through the real front-door app.

One sample: the pipeline's gate escalates a conversation (`HandoffGate.escalate`, which calls
`HandoffService.request_handoff`; an agent is online with a free slot, so it is assigned at once), and the clock
stops when the agent's console socket (`/api/v1/console/ws`, a real aiohttp client over loopback, logged in with a
staff cookie) receives the "assigned" event on its `agent:{id}` topic. The chat is then closed outside the clock.
Runs on the memory backend and on Redis (store + bus; Redis database 6). Target: p99 ≤ 50 ms. Prints a JSON summary
as the last line.

    .venv/bin/python -m bench.console_event_latency [--backend memory|redis|both] [--samples 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.handoff_bridge import HANDOFF, HANDOFF_GATE
from bot.keys import PIPELINE
from bot.settings import Settings
from handoff.settings import HandoffConfig
from kb.settings import KBConfig
from server.app import create_app
from staff.auth import Role
from staff.keys import STAFF

AGENT = "bench_agent"
PASSWORD = "bench password 1"
BENCH_KEY_PREFIX = "fd:bench:console:"


def summary(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)

    return {
        "n": len(ordered),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": round(ordered[-1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


async def run(redis_url: str, samples: int, var_dir: Path) -> dict[str, Any]:
    settings = Settings(
        var_dir=var_dir,
        redis_url=redis_url,
        kb=KBConfig(seed_demo=False, preload=False),
        handoff=HandoffConfig(key_prefix=BENCH_KEY_PREFIX),
    )
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    try:
        await app[STAFF].add(AGENT, PASSWORD, [Role.AGENT], "Bench")
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(base_url=url, cookie_jar=jar) as agent:
            async with agent.post("/login", data={"username": AGENT, "password": PASSWORD}, allow_redirects=False):
                pass
            async with agent.ws_connect("/api/v1/console/ws") as ws:
                waiting: dict[str, asyncio.Future[float]] = {}
                unassigned: dict[str, asyncio.Future[None]] = {}

                async def reader() -> None:
                    async for frame in ws:
                        received = time.perf_counter()
                        data = json.loads(frame.data)
                        event = data.get("event") or {}
                        cid = event.get("conversation_id", "")
                        if data.get("topic") == f"agent:{AGENT}" and event.get("type") == "assigned":
                            future = waiting.get(cid)
                            if future is not None and not future.done():
                                future.set_result(received)
                        elif data.get("topic") == f"agent:{AGENT}" and event.get("type") == "unassigned":
                            done = unassigned.get(cid)
                            if done is not None and not done.done():
                                done.set_result(None)
                        elif data.get("type") == "presence":
                            ready.set()

                ready = asyncio.Event()
                task = asyncio.create_task(reader())
                await ws.send_json({"type": "presence", "presence": "online"})
                await asyncio.wait_for(ready.wait(), 10)
                gate, service, pipeline = app[HANDOFF_GATE], app[HANDOFF], app[PIPELINE]
                request = {"reason": "customer_request", "scores": {"intent_confidence": 0.9}, "language": "en"}
                latencies: list[float] = []
                for i in range(samples):
                    conversation, _ = await pipeline.open_conversation("web", f"bench-visitor-{i}", language="en")
                    loop = asyncio.get_running_loop()
                    assigned = waiting[conversation.id] = loop.create_future()
                    released = unassigned[conversation.id] = loop.create_future()
                    start = time.perf_counter()
                    await gate.escalate(conversation, request)
                    received = await asyncio.wait_for(assigned, 10)
                    latencies.append((received - start) * 1000)
                    await service.close(conversation.id, AGENT, "bench")
                    await service.finish_wrap_up(conversation.id, AGENT)
                    await asyncio.wait_for(released, 10)
                    del waiting[conversation.id], unassigned[conversation.id]
                    await asyncio.sleep(0.002)  # let the bot-back notices land before the next sample
                task.cancel()
        return summary(latencies)
    finally:
        await server.close()


async def clear_redis(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        async for key in client.scan_iter(match=BENCH_KEY_PREFIX + "*"):
            await client.delete(key)
    finally:
        await client.aclose()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "benchmark": "console_event_latency",
        "target_p99_ms": 50.0,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "samples": args.samples,
    }
    backends = ("memory", "redis") if args.backend == "both" else (args.backend,)
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            redis_url = args.redis_url if backend == "redis" else ""
            if redis_url:
                await clear_redis(redis_url)
            results[backend] = await run(redis_url, args.samples, Path(tmp))
            if redis_url:
                await clear_redis(redis_url)
    results["ok"] = all(results[b]["p99_ms"] <= 50.0 for b in backends)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("memory", "redis", "both"), default="both")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
