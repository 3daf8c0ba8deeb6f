"""A peak against one Rasa server and against two behind one front door: does a second server add throughput?

Runs the real stack twice (`running_stack`: the front door, and one, then two, Rasa servers sharing a PostgreSQL
tracker store and, for two, a Redis lock store) and the same mixed load each time: `--conversations` customers at
once, `--turns` messages each, through the chat API. A fifth of the customers greet and thank (both languages),
a fifth ask FAQ questions in English, a fifth in Chinese, a fifth report a broken blender and answer the issue form,
a fifth ask for a person and keep writing while queued. Measures turns per second, p50/p95 latency, every turn that
failed or fell back to a human because Rasa did not answer (`shed`), and the CPU the front door and the Rasa servers
used per turn. Prints one JSON object as its last line, with `ratio` = turns/s with two servers / with one.

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

from bench.idle_sockets import cpu_s, load_average  # noqa: E402
from bench.turn_latency import FrontDoorConversation, summary  # noqa: E402
from bot.stack import Stack, running_stack  # noqa: E402

GREETINGS = ("hello", "thanks", "你好", "谢谢", "hi", "thank you", "您好", "多谢", "hello again", "thanks a lot")
FAQ_EN = (
    "hello",
    "How long does delivery take?",
    "Can I return an item?",
    "What payment methods do you accept?",
    "thanks",
    "Do you ship abroad?",
    "How do I change my delivery address?",
    "How can I track my order?",
    "hi",
    "thank you",
)
FAQ_ZH = (
    "你好",
    "快递多久能到？",
    "怎么退货？",
    "支持哪些付款方式？",
    "谢谢",
    "可以寄到国外吗？",
    "怎么修改收货地址？",
    "怎么查物流？",
    "你好",
    "多谢",
)
HANDOFF = ("hello", "I want to talk to a person", *(f"are you there? ({i})" for i in range(8)))
FORM_OPENING = "My blender arrived broken"
# What a cooperative customer types for a form question without buttons, by a word in the question.
FORM_ANSWERS = (("order", "1234567890"), ("email", "buyer@example.com"), ("contact", "buyer@example.com"))
FORM_OTHERWISE = "It does not turn on at all"
# The front door's count of turns Rasa failed (timed out, refused, answered nonsense): each went to a human instead.
RASA_FAILURES = 'frontdoor_errors_total{kind="rasa"}'


class Customer(FrontDoorConversation):
    """A chat API customer that keeps each turn's replies (the form's next answer depends on them)."""

    async def say(self, text: str, payload: str | None = None) -> tuple[float, list[dict[str, Any]]]:
        body: dict[str, Any] = {"text": text} | ({"payload": payload} if payload else {})
        started = time.perf_counter()
        async with self.http.post(self.url, json=body, headers=self.headers) as response:
            status, answer = response.status, await response.json()
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {answer}")
        messages: list[dict[str, Any]] = answer["messages"]
        return elapsed, messages


def form_answer(replies: list[dict[str, Any]]) -> tuple[str, str | None]:
    """The next message in the issue form: the first button offered, else an answer that fits the question."""
    buttons = [b for m in replies for b in m.get("buttons") or ()]
    if buttons:
        return str(buttons[0]["title"]), str(buttons[0]["payload"])
    question = " ".join(str(m.get("text") or "") for m in replies).lower()
    return next((answer for word, answer in FORM_ANSWERS if word in question), FORM_OTHERWISE), None


async def rasa_failures(http: aiohttp.ClientSession, frontdoor_url: str) -> float:
    """Turns Rasa failed so far, from the front door's /metrics (open to loopback)."""
    async with http.get(f"{frontdoor_url}/metrics") as response:
        text = await response.text()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(RASA_FAILURES))


async def converse(customer: Customer, kind: int, turns: int) -> list[float]:
    """`turns` messages of one customer of `kind` (0..4); their latencies (ms)."""
    scripted = (GREETINGS, FAQ_EN, FAQ_ZH, None, HANDOFF)[kind]
    latencies = []
    replies: list[dict[str, Any]] = []
    for i in range(turns):
        if scripted is not None:
            text, payload = scripted[i % len(scripted)], None
        else:
            text, payload = (FORM_OPENING, None) if i == 0 or not replies else form_answer(replies)
        elapsed, replies = await customer.say(text, payload)
        latencies.append(elapsed)
    return latencies


async def peak(stack: Stack, conversations: int, turns: int) -> dict[str, Any]:
    pids = {"frontdoor": [stack.frontdoor_pid], "rasa": list(stack.rasa_pids)}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        warm = [Customer(http, stack.frontdoor_url) for _ in range(2 * len(stack.rasa_urls) + 2)]
        for customer in warm:  # every server loads its graphs; the FAQ index answers once
            await customer.start()
            await customer.say("hello")
            await customer.say("How long does delivery take?")
        customers = [Customer(http, stack.frontdoor_url) for _ in range(conversations)]
        await asyncio.gather(*(c.start() for c in customers))
        cpu_before = {name: sum(cpu_s(pid) for pid in group) for name, group in pids.items()}
        load_before, failures_before = load_average(), await rasa_failures(http, stack.frontdoor_url)
        started = time.perf_counter()
        results = await asyncio.gather(
            *(converse(c, i % 5, turns) for i, c in enumerate(customers)), return_exceptions=True
        )
        wall = time.perf_counter() - started
        cpu = {name: sum(cpu_s(pid) for pid in group) - cpu_before[name] for name, group in pids.items()}
        shed = await rasa_failures(http, stack.frontdoor_url) - failures_before
    latencies = [x for r in results if not isinstance(r, BaseException) for x in r]
    failed = [repr(r) for r in results if isinstance(r, BaseException)]
    done = len(latencies)
    return summary(latencies) | {
        "rasa_servers": len(stack.rasa_urls),
        "turns_per_s": round(done / wall, 2),
        "wall_s": round(wall, 1),
        "shed": int(shed),
        "failed_conversations": failed[:5],
        "frontdoor_cpu_ms_per_turn": round(1000 * cpu["frontdoor"] / max(done, 1), 1),
        "rasa_cpu_ms_per_turn": round(1000 * cpu["rasa"] / max(done, 1), 1),
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
            Path(tmp),
            os.environ,
            {"FD_INTAKE_DEMO_ORDERS": "1", "FD_LOG_LEVEL": "WARNING"},
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
