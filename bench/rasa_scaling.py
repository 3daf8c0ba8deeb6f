"""A peak against one Rasa server and against two behind one front door: does a second server add throughput?

Runs the real stack twice (`running_stack`: the front door, and one, then two, Rasa servers sharing a PostgreSQL
tracker store and, for two, a Redis lock store) and the same mixed load each time: `--conversations` customers at
once, `--turns` messages each, through the chat API — the peak of bench/turn_latency.py (`concurrent_load`:
greetings, FAQ questions in English and in Chinese, the issue form in each language, a chat ending in a request for
a person), once the front door's KB has finished its background fine-tuning (cached in var/bench-kb-models).
Measures turns per second, p50/p95 latency, every turn that failed or fell back to a human because Rasa did not
answer (`shed`), and the CPU the front door and the Rasa servers used per turn. Prints one JSON object as its last
line, with `ratio` = turns/s with two servers / with one.

On a machine with fewer free cores than the processes need (the front door and each Rasa server are CPU-bound at a
peak), a second server cannot add throughput: the ratio shows it, and the CPU per turn says what more cores would give.
Usage: .venv/bin/python bench/rasa_scaling.py --lock-store-url redis://127.0.0.1:6379/11
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.proc import cpu_s, load_average  # noqa: E402
from bench.turn_latency import (  # noqa: E402
    BENCH_ENV,
    FrontDoorConversation,
    concurrent_load,
    kb_settled,
    share_kb_models,
)
from bot.stack import Stack, running_stack  # noqa: E402

# The front door's count of turns Rasa failed (timed out, refused, answered nonsense): each went to a human instead.
RASA_FAILURES = 'frontdoor_errors_total{kind="rasa"}'


async def rasa_failures(http: aiohttp.ClientSession, frontdoor_url: str) -> float:
    """Turns Rasa failed so far, from the front door's /metrics (open to loopback)."""
    async with http.get(f"{frontdoor_url}/metrics") as response:
        text = await response.text()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(RASA_FAILURES))


async def peak(stack: Stack, conversations: int, turns: int) -> dict[str, Any]:
    """The peak of bench/turn_latency.py (`concurrent_load`) against `stack`, once its KB has settled, with the CPU
    each process used and the turns shed."""
    await kb_settled(stack)
    pids = {"frontdoor": [stack.frontdoor_pid], "rasa": list(stack.rasa_pids)}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        warm = [FrontDoorConversation(http, stack.frontdoor_url) for _ in range(2 * len(stack.rasa_urls) + 2)]
        for customer in warm:  # every server loads its graphs; the FAQ index answers once
            await customer.start()
            await customer.turn("hello")
            await customer.turn("How long does delivery take?")
        cpu_before = {name: sum(cpu_s(pid) for pid in group) for name, group in pids.items()}
        load_before, failures_before = load_average(), await rasa_failures(http, stack.frontdoor_url)
        started = time.perf_counter()
        measured = await concurrent_load(http, stack.frontdoor_url, conversations, turns)
        wall = time.perf_counter() - started
        cpu = {name: sum(cpu_s(pid) for pid in group) - cpu_before[name] for name, group in pids.items()}
        shed = await rasa_failures(http, stack.frontdoor_url) - failures_before
    done = conversations * turns
    return measured | {
        "rasa_servers": len(stack.rasa_urls),
        "wall_s": round(wall, 1),
        "shed": int(shed),
        "frontdoor_cpu_ms_per_turn": round(1000 * cpu["frontdoor"] / done, 1),
        "rasa_cpu_ms_per_turn": round(1000 * cpu["rasa"] / done, 1),
        "cores_busy": round(sum(cpu.values()) / wall, 2),
        "load_before": load_before,
        "load_after": load_average(),
    }


@contextmanager
def tracker_schema(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for Rasa's trackers (both runs' servers share one store); yields its tracker URL."""
    schema = f"peak_bench_{secrets.token_hex(4)}"

    async def run(statement: str) -> None:
        conn = await asyncpg.connect(postgres_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        asyncio.run(run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def run_with(servers: int, args: argparse.Namespace) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        tracker_schema(args.postgres_url) as tracker_url,
        running_stack(
            ROOT,
            share_kb_models(Path(tmp)),
            os.environ,
            BENCH_ENV,
            rasa_servers=servers,
            tracker_url=tracker_url,
            lock_store_url=args.lock_store_url if servers > 1 else "",
        ) as stack,
    ):
        return asyncio.run(peak(stack, args.conversations, args.turns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=10, help="messages per conversation")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--lock-store-url", required=True, help="redis://host:port/db for Rasa's lock store")
    args = parser.parse_args()
    one = run_with(1, args)
    two = run_with(2, args)
    result = {
        "benchmark": "rasa_scaling",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "load": "shared machine: see load_before/load_after of each run",
        "conversations": args.conversations,
        "turns_per_conversation": args.turns,
        "one_server": one,
        "two_servers": two,
        "ratio": round(two["turns_per_s"] / one["turns_per_s"], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
