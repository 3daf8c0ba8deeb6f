"""Benchmark: handoff decision → event received by a bus subscriber, on the memory bus and on Redis pub/sub.

One sample: HandoffPolicy.evaluate(turn facts) decides to hand off, HandoffService.request_handoff queues and
assigns, and a subscriber (a stand-in for an agent console) receives the "assigned" event on topic "handoff" and on
the agent's inbox topic "agent:{id}". With Redis, the service publishes through one client and the subscriber listens
through another (two connections on loopback, as two processes would). Sequential samples measure unloaded latency;
the burst run fires --burst handoffs at once. Target: p99 ≤ 50 ms. Prints a JSON summary as the last line.

    .venv/bin/python -m bench.handoff_event_latency [--backend memory|redis|both] [--samples 1000] [--burst 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import time
from typing import Any

import redis.asyncio as aioredis

from backends.bus import EventBus, MemoryEventBus, RedisEventBus
from bench.handoff_assign import BENCH_PREFIX, clear_redis, summary
from handoff import (
    AgentProfile,
    HandoffPolicy,
    HandoffService,
    HandoffStore,
    MemoryHandoffStore,
    Presence,
    RedisHandoffStore,
    TurnFacts,
)

BENCH_BUS_PREFIX = "fd:bench:bus:"  # pub/sub channels ignore the database number: keep clear of real traffic
AGENTS = 20


async def run(store: HandoffStore, publish_bus: EventBus, listen_bus: EventBus, args: argparse.Namespace) -> Any:
    service = HandoffService(store, publish_bus)
    for i in range(AGENTS):
        await service.register_agent(AgentProfile(f"agent{i}", f"Agent {i}", ("refund_return",), ("zh",), 10_000))
        await service.set_presence(f"agent{i}", Presence.ONLINE)
    policy = HandoffPolicy()
    topics = ("handoff", *(f"agent:agent{i}" for i in range(AGENTS)))
    received: dict[tuple[str, str], int] = {}
    waiters: dict[str, asyncio.Future[None]] = {}

    async with listen_bus.subscribe(*topics) as sub:

        async def listen() -> None:
            async for topic, event in sub:
                if event.get("type") != "assigned":
                    continue
                kind = "handoff" if topic == "handoff" else "inbox"
                cid = event["conversation_id"]
                received[(kind, cid)] = time.perf_counter_ns()
                waiter = waiters.get(cid)
                if (
                    waiter is not None
                    and not waiter.done()
                    and ("handoff", cid) in received
                    and (
                        "inbox",
                        cid,
                    )
                    in received
                ):
                    waiter.set_result(None)

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.2)  # let a Redis SUBSCRIBE settle before the first publish

        async def one(cid: str) -> int:
            loop = asyncio.get_running_loop()
            waiters[cid] = loop.create_future()
            start = time.perf_counter_ns()
            facts = TurnFacts(
                intent="ask_question",
                intent_confidence=0.9,
                kb_decision="not_found",
                kb_confidence=0.3,
                consecutive_not_found=2,
                category="refund_return",
            )
            trigger = policy.evaluate(facts)
            assert trigger is not None
            await service.request_handoff(cid, f"cust-{cid}", "zh", "refund_return", trigger=trigger)
            await asyncio.wait_for(waiters[cid], timeout=5)
            return start

        starts: dict[str, int] = {}
        try:
            for i in range(args.samples):
                cid = f"seq{i}"
                starts[cid] = await one(cid)
            sequential = {
                kind: summary([(received[(kind, c)] - s) / 1e6 for c, s in starts.items()])
                for kind in ("handoff", "inbox")
            }
            # Untimed warm-up burst: a long-running process has its connection pool open already.
            await asyncio.gather(*(one(f"warm{i}") for i in range(args.burst)))
            burst_ids = [f"burst{i}" for i in range(args.burst)]
            burst_starts = await asyncio.gather(*(one(c) for c in burst_ids))
            burst = {
                kind: summary([(received[(kind, c)] - s) / 1e6 for c, s in zip(burst_ids, burst_starts, strict=True)])
                for kind in ("handoff", "inbox")
            }
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
    return {"sequential": sequential, "burst": burst}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("memory", "redis", "both"), default="both")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "bench": "handoff_event_latency",
        "samples": args.samples,
        "burst": args.burst,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    if args.backend in ("memory", "both"):
        bus = MemoryEventBus()
        results["memory"] = await run(MemoryHandoffStore(), bus, bus, args)
        print("memory", json.dumps(results["memory"]))
    if args.backend in ("redis", "both"):
        publisher = aioredis.Redis.from_url(args.redis_url, max_connections=200)
        listener = aioredis.Redis.from_url(args.redis_url)
        publish_bus = RedisEventBus(publisher, prefix=BENCH_BUS_PREFIX)
        listen_bus = RedisEventBus(listener, prefix=BENCH_BUS_PREFIX)
        try:
            await clear_redis(publisher)
            results["redis"] = await run(
                RedisHandoffStore(publisher, prefix=BENCH_PREFIX), publish_bus, listen_bus, args
            )
            print("redis", json.dumps(results["redis"]))
        finally:
            await listen_bus.close()
            await publish_bus.close()
            await clear_redis(publisher)
            await publisher.aclose()
            await listener.aclose()
    results["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    results["target_p99_ms"] = 50.0
    results["pass"] = all(
        results[b][mode][kind]["p99_ms"] <= 50.0
        for b in ("memory", "redis")
        if b in results
        for mode in ("sequential", "burst")
        for kind in ("handoff", "inbox")
    )
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
