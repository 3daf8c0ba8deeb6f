"""What recording the service record adds to a bot turn through the front door: the same turns against two front
doors in one process, one recording (the default) and one with `FD_RECORD_ENABLED=0`.

Both run the real app (`server.app.create_app`) on their own SQLite file, with a scripted Rasa on loopback that
answers every turn the way an FAQ answer comes back (the answer, "was this helpful?" with its buttons, the `kb`
payload with its `nlu`) after `--rasa-ms` (default 0: the front door's own work only, so the ratio is an upper
bound; a real Rasa turn takes tens of milliseconds more on both sides). Each turn records two facts (the customer's
message and the bot turn). Turns alternate in blocks between the two, and the recording side's writer is flushed at
the end of each block, so the cost of writing lands in its own block: the emit on the request path, and the batched
INSERTs competing with the turns for SQLite's one connection. Then rounds of 50 conversations at once, one turn
each, alternating too.

Prints one JSON object as its last line; `ratio_p50` = recording p50 / not recording p50 (sequential), the issue's
target is ≤ 1.05; `ratio_p50_paired` is the median, over neighbouring pairs of blocks, of the ratio of their
medians, which a burst of load from other work on the machine moves less.

Usage: .venv/bin/python bench/record_overhead.py [--turns 1000] [--rasa-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from bot.keys import RECORD  # noqa: E402
from bot.settings import Settings  # noqa: E402
from kb.settings import KBConfig  # noqa: E402
from record import RecordConfig  # noqa: E402
from server.app import create_app  # noqa: E402

KB_ANSWER = {
    "query": "how do I return my blender",
    "language": "en",
    "decision": "answer",
    "confidence": 0.83,
    "reason": "confident",
    "explanation": "",
    "offered": 0,
    "candidates": [
        {
            "entry_id": "faq_returns",
            "question": "How do I return an item?",
            "answer": "Open Orders and press Return.",
            "confidence": 0.83,
            "dense": 0.78,
            "lexical": 0.61,
        }
    ],
}


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 3),
        "p95_ms": round(percentile(values, 95), 3),
        "mean_ms": round(statistics.fmean(values), 3),
    }


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def scripted_rasa(delay_s: float) -> web.Application:
    async def turn(request: web.Request) -> web.Response:
        await request.read()
        if delay_s:
            await asyncio.sleep(delay_s)
        return web.json_response(
            [
                {"text": "Open Orders and press Return."},
                {
                    "text": "Was this helpful?",
                    "buttons": [
                        {"title": "Yes", "payload": '/kb_feedback{"helpful":"yes"}'},
                        {"title": "No", "payload": '/kb_feedback{"helpful":"no"}'},
                    ],
                },
                {"custom": {"kb": KB_ANSWER, "nlu": {"intent": "ask_question", "confidence": 0.94}}},
            ]
        )

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", turn)
    return app


class Conversation:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.url = ""
        self.headers: dict[str, str] = {}

    async def start(self) -> None:
        async with self.http.post(f"{self.base}/api/v1/conversations", json={"language": "en"}) as response:
            data = await response.json()
        self.url = f"{self.base}/api/v1/conversations/{data['conversation_id']}/messages"
        self.headers = {"Authorization": f"Bearer {data['customer_token']}"}

    async def turn(self) -> float:
        started = time.perf_counter()
        async with self.http.post(self.url, json={"text": "how do I return my blender"}, headers=self.headers) as r:
            body = await r.json()
        elapsed = (time.perf_counter() - started) * 1000
        assert r.status == 200 and len(body["messages"]) == 2, body
        return elapsed


def settings_for(var_dir: Path, rasa_url: str, record: bool) -> Settings:
    return Settings(
        var_dir=var_dir,
        rasa_url=rasa_url,
        kb=KBConfig(seed_demo=False, preload=False),
        record=RecordConfig(enabled=record),
        log_level="WARNING",
    )


async def sequential(
    sides: dict[str, tuple[web.Application, Conversation]], turns: int, block: int
) -> tuple[dict[str, list[float]], list[float]]:
    """Each side's latencies, and for each pair of neighbouring blocks the ratio of their medians (a burst of load
    from elsewhere on the machine then moves both sides of a pair alike)."""
    results: dict[str, list[float]] = {name: [] for name in sides}
    ratios: list[float] = []
    order = list(sides)
    for start in range(0, turns, block):
        medians: dict[str, float] = {}
        for name in order if (start // block) % 2 == 0 else reversed(order):
            app, conversation = sides[name]
            latencies = [await conversation.turn() for _ in range(min(block, turns - start))]
            if RECORD in app:
                await app[RECORD].flush()  # what this block emitted is written within it
            results[name] += latencies
            medians[name] = statistics.median(latencies)
        ratios.append(medians[order[0]] / medians[order[1]])
    return results, ratios


async def concurrent(
    http: aiohttp.ClientSession, sides: dict[str, tuple[web.Application, str]], conversations: int, rounds: int
) -> dict[str, dict[str, float]]:
    """`conversations` conversations at once, one turn each, for `rounds` rounds per side, alternating which side
    goes first."""
    latencies: dict[str, list[float]] = {name: [] for name in sides}
    walls: dict[str, float] = dict.fromkeys(sides, 0.0)
    order = list(sides)
    for index in range(rounds):
        for name in order if index % 2 == 0 else reversed(order):
            app, base = sides[name]
            clients = [Conversation(http, base) for _ in range(conversations)]
            await asyncio.gather(*(c.start() for c in clients))
            started = time.perf_counter()
            latencies[name] += await asyncio.gather(*(c.turn() for c in clients))
            if RECORD in app:
                await app[RECORD].flush()
            walls[name] += time.perf_counter() - started
    return {
        name: summary(values) | {"turns_per_s": round(len(values) / walls[name], 1)}
        for name, values in latencies.items()
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=1000, help="sequential turns per side")
    parser.add_argument("--block", type=int, default=10, help="turns per side before switching")
    parser.add_argument("--rasa-ms", type=float, default=0.0, help="the scripted Rasa's think time per turn")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=8, help="rounds of concurrent turns per side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            serving(scripted_rasa(args.rasa_ms / 1000)) as rasa_url,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http,
        ):
            apps = {
                "recording": create_app(settings_for(Path(tmp) / "on", rasa_url, record=True)),
                "not_recording": create_app(settings_for(Path(tmp) / "off", rasa_url, record=False)),
            }
            async with serving(apps["recording"]) as on_url, serving(apps["not_recording"]) as off_url:
                urls = {"recording": on_url, "not_recording": off_url}
                sides = {name: (apps[name], Conversation(http, urls[name])) for name in apps}
                for _, conversation in sides.values():
                    await conversation.start()
                await sequential(sides, 50, 25)  # warm-up: connection pools, SQLite pages, code paths
                seq, paired = await sequential(sides, args.turns, args.block)
                conc = await concurrent(http, {n: (apps[n], urls[n]) for n in apps}, args.conversations, args.rounds)
                writer = apps["recording"][RECORD]
                stats = {"dropped": writer.dropped, "pending": writer.pending, "failures": writer.failures}
    on, off = summary(seq["recording"]), summary(seq["not_recording"])
    result = {
        "benchmark": "record_overhead",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "database": "sqlite",
        "rasa_ms": args.rasa_ms,
        "events_per_turn": 2,
        "sequential": {"recording": on, "not_recording": off},
        f"concurrent_{args.conversations}": conc,
        "ratio_p50": round(on["p50_ms"] / off["p50_ms"], 3),
        "ratio_p50_paired": round(statistics.median(paired), 3),
        "ratio_p95": round(on["p95_ms"] / off["p95_ms"], 3),
        "ratio_p50_concurrent": round(conc["recording"]["p50_ms"] / conc["not_recording"]["p50_ms"], 3),
        "writer": stats,
        "target_ratio_p50": 1.05,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
