"""One bot turn through the front door against the same turn straight to Rasa's REST channel.

Starts the real stack (front door + Rasa with the current model) on loopback, then, in one run and interleaved so
both see the same machine state: sequential turns, then 50 concurrent conversations. Prints one JSON object as its
last line; `ratio_p50` = front door p50 / bare Rasa p50 (sequential). Usage: .venv/bin/python bench/turn_latency.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from bot.stack import Stack, running_stack  # noqa: E402

MESSAGES = ("hello", "你好", "thanks", "谢谢")


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "mean_ms": round(statistics.fmean(values), 2),
    }


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class FrontDoorConversation:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.url = ""
        self.headers: dict[str, str] = {}

    async def start(self) -> None:
        async with self.http.post(f"{self.base}/api/v1/conversations", json={}) as response:
            data = await response.json()
        self.url = f"{self.base}/api/v1/conversations/{data['conversation_id']}/messages"
        self.headers = {"Authorization": f"Bearer {data['customer_token']}"}

    async def turn(self, text: str) -> float:
        started = time.perf_counter()
        async with self.http.post(self.url, json={"text": text}, headers=self.headers) as response:
            body = await response.json()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status == 200 and body["messages"], body
        return elapsed


class RasaConversation:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.url, self.sender = http, f"{base}/webhooks/rest/webhook", f"bench-{uuid.uuid4().hex}"

    async def start(self) -> None:
        return None

    async def turn(self, text: str) -> float:
        started = time.perf_counter()
        async with self.http.post(self.url, json={"sender": self.sender, "message": text}) as response:
            body = await response.json()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status == 200 and body, body
        return elapsed


async def sequential(http: aiohttp.ClientSession, stack: Stack, turns: int) -> dict[str, list[float]]:
    fd, rasa = FrontDoorConversation(http, stack.frontdoor_url), RasaConversation(http, stack.rasa_url)
    await fd.start()
    results: dict[str, list[float]] = {"frontdoor": [], "rasa": []}
    for i in range(turns):
        text = MESSAGES[i % len(MESSAGES)]
        # Alternate which goes first so neither side always gets a warm cache.
        pair = ((fd, "frontdoor"), (rasa, "rasa")) if i % 2 else ((rasa, "rasa"), (fd, "frontdoor"))
        for conversation, name in pair:
            results[name].append(await conversation.turn(text))
    return results


async def concurrent(http: aiohttp.ClientSession, stack: Stack, conversations: int, turns: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind, base in (
        ("rasa", RasaConversation, stack.rasa_url),
        ("frontdoor", FrontDoorConversation, stack.frontdoor_url),
    ):
        clients = [kind(http, base) for _ in range(conversations)]
        await asyncio.gather(*(c.start() for c in clients))

        async def run(client: Any, offset: int) -> list[float]:
            return [await client.turn(MESSAGES[(offset + i) % len(MESSAGES)]) for i in range(turns)]

        started = time.perf_counter()
        latencies = [x for batch in await asyncio.gather(*(run(c, i) for i, c in enumerate(clients))) for x in batch]
        wall = time.perf_counter() - started
        out[name] = summary(latencies) | {"turns_per_s": round(len(latencies) / wall, 1)}
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200, help="sequential turns per side")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--concurrent-turns", type=int, default=4, help="turns per concurrent conversation")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(ROOT, Path(tmp), os.environ, {"FD_INTAKE_DEMO_ORDERS": "1"}) as stack,
    ):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:
            await sequential(http, stack, 20)  # warm-up: model graphs, connection pools, SQLite pages
            seq = await sequential(http, stack, args.turns)
            conc = await concurrent(http, stack, args.conversations, args.concurrent_turns)
        memory = {"frontdoor_rss_mib": rss_mib(stack.frontdoor_pid), "rasa_rss_mib": rss_mib(stack.rasa_pid)}
    fd, rasa = summary(seq["frontdoor"]), summary(seq["rasa"])
    result = {
        "benchmark": "turn_latency",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "sequential": {"frontdoor": fd, "rasa": rasa},
        "concurrent_50": conc,
        "ratio_p50": round(fd["p50_ms"] / rasa["p50_ms"], 3),
        "ratio_p95": round(fd["p95_ms"] / rasa["p95_ms"], 3),
        "ratio_p50_concurrent": round(conc["frontdoor"]["p50_ms"] / conc["rasa"]["p50_ms"], 3),
        "memory": memory,
        "target_ratio_p50": 1.15,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
