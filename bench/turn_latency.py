"""One bot turn through the front door against the same turn straight to Rasa's REST channel, and the front door
under 50 customers at once.

Starts the real stack (front door + Rasa with the current model) on loopback, then, in one run: sequential turns of
the four standard messages, each sent to the front door's JSON API and straight to Rasa (interleaved, so both see
the same machine state and the same model), then FAQ questions through the front door (distinct ones: see
`faq_questions`), then `concurrent_load`: 50 conversations × 10 turns of mixed scripts through the front door.
Prints one JSON object as its last line; `ratio_p50` = front door p50 / bare Rasa p50 (sequential, standard
messages).

Usage: .venv/bin/python bench/turn_latency.py [--turns 200] [--conversations 50] [--concurrent-turns 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.proc import cpu_s, rss_mib  # noqa: E402
from bench.stats import percentile  # noqa: E402
from bot.stack import Stack, running_stack  # noqa: E402

MESSAGES = ("hello", "你好", "thanks", "谢谢")
STARTER_FAQ = ROOT / "kb" / "demo" / "starter_faq.yml"


def faq_questions(language: str) -> list[str]:
    """Every question and paraphrase of the starter FAQ in `language` (about a hundred): distinct texts, so the KB's
    query cache does not answer them for free as it would a few repeated ones."""
    entries = yaml.safe_load(STARTER_FAQ.read_text(encoding="utf-8"))["entries"]
    return [q for e in entries if e["language"] == language for q in [e["question"], *e.get("paraphrases", [])]]


FAQ_EN, FAQ_ZH = faq_questions("en"), faq_questions("zh")
FAQ_QUESTIONS = tuple(q for pair in zip(FAQ_EN, FAQ_ZH, strict=False) for q in pair)
FORM_OPENINGS = {"en": "My blender arrived broken", "zh": "我的搅拌机到货就坏了"}
HANDOFF_REQUESTS = {"en": "I want to talk to a person", "zh": "我要找人工客服"}
TICKET = re.compile(r"FD-\d{6}")
# The stack's settings for a benchmark: the demo orders (the form's order number), and no per-conversation message
# limit (FD_LIMITS_MESSAGES_PER_CONVERSATION, 30/minute by default), which sequential turns would exceed.
BENCH_ENV = {"FD_INTAKE_DEMO_ORDERS": "1", "FD_LIMITS_MESSAGES_PER_CONVERSATION": "1000000/minute"}
# A fresh front door fine-tunes MiniLM on the starter FAQ (minutes of CPU in a child process), then re-encodes every
# entry in its own threads: turns measured meanwhile measure that. The models are cached by KB content, so the runs
# share one cache (var/ is not in git) and each waits for its front door to log one of these lines.
KB_MODELS_CACHE = ROOT / "var" / "bench-kb-models"
KB_SETTLED_LINES = ("fine-tuned encoders now serving", "knowledge-base adaptation failed")
KB_SETTLE_TIMEOUT_S = 900.0
# "Quiet": under 5 % of a core over 3 s (an idle front door uses well under 1 %).
QUIET_WINDOW_S, QUIET_CPU_SHARE = 3.0, 0.05


def share_kb_models(var_dir: Path) -> Path:
    """Points the stack's `var_dir/kb-models` (where the front door caches fine-tuned encoders) at KB_MODELS_CACHE;
    returns `var_dir`."""
    KB_MODELS_CACHE.mkdir(parents=True, exist_ok=True)
    var_dir.mkdir(parents=True, exist_ok=True)
    (var_dir / "kb-models").symlink_to(KB_MODELS_CACHE, target_is_directory=True)
    return var_dir


async def kb_settled(stack: Stack, timeout_s: float = KB_SETTLE_TIMEOUT_S) -> float:
    """Waits until the front door of `stack` has logged the end of its KB's background adaptation (or until
    `timeout_s`, when FD_KB_FINE_TUNE is off or it is still running) and then until it is quiet: after the swap it
    re-encodes and saves the index for half a minute or so, at most of a core, which would otherwise be charged to
    the first turns measured. Returns the seconds waited."""
    started = time.monotonic()
    log = stack.var_dir / "frontdoor.log"
    while time.monotonic() - started < timeout_s:
        text = await asyncio.to_thread(log.read_text, encoding="utf-8", errors="replace")
        if any(line in text for line in KB_SETTLED_LINES):
            break
        await asyncio.sleep(2)
    while time.monotonic() - started < timeout_s:
        before = cpu_s(stack.frontdoor_pid)
        await asyncio.sleep(QUIET_WINDOW_S)
        if cpu_s(stack.frontdoor_pid) - before < QUIET_CPU_SHARE * QUIET_WINDOW_S:
            break
    return round(time.monotonic() - started, 1)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "mean_ms": round(statistics.fmean(values), 2),
    }


class Conversation(Protocol):
    async def start(self) -> None: ...

    async def turn(self, text: str) -> float: ...


class FrontDoorConversation:
    """A customer of the front door's JSON API."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.url = ""
        self.headers: dict[str, str] = {}

    async def start(self) -> None:
        async with self.http.post(f"{self.base}/api/v1/conversations", json={}) as response:
            data = await response.json()
        self.url = f"{self.base}/api/v1/conversations/{data['conversation_id']}/messages"
        self.headers = {"Authorization": f"Bearer {data['customer_token']}"}

    async def say(self, text: str, payload: str | None = None) -> tuple[float, int, list[dict[str, Any]]]:
        """(milliseconds, HTTP status, the messages answered)."""
        body: dict[str, Any] = {"text": text} | ({"payload": payload} if payload else {})
        started = time.perf_counter()
        async with self.http.post(self.url, json=body, headers=self.headers) as response:
            answer = await response.json()
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, response.status, answer.get("messages", []) if isinstance(answer, dict) else []

    async def turn(self, text: str) -> float:
        elapsed, status, messages = await self.say(text)
        assert status == 200 and messages, (status, messages)
        return elapsed


class RasaConversation:
    """A sender of Rasa's REST channel, with no metadata (as `rasa shell` or a bare client sends)."""

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


async def sequential(
    http: aiohttp.ClientSession, stack: Stack, turns: int, texts: Sequence[str] = MESSAGES, *, rasa: bool = True
) -> dict[str, list[float]]:
    """`turns` turns on each side (the front door; Rasa too unless `rasa` is False), cycling through `texts`; a new
    conversation every 20 turns on both sides (a conversation's tracker grows with every turn, and real ones are
    short)."""
    results: dict[str, list[float]] = {"frontdoor": [], "rasa": []}
    sides: list[tuple[Conversation, str]] = []
    for i in range(turns):
        if i % 20 == 0:
            sides = [(FrontDoorConversation(http, stack.frontdoor_url), "frontdoor")]
            if rasa:
                sides.append((RasaConversation(http, stack.rasa_url), "rasa"))
            for conversation, _ in sides:
                await conversation.start()
        # Alternate which goes first so neither side always gets a warm cache.
        for conversation, name in sides if i % 2 else reversed(sides):
            results[name].append(await conversation.turn(texts[i % len(texts)]))
    return results


# -- 50 customers at once ---------------------------------------------------------------------------------------------

# What a customer says next: (text, button payload or None) from the conversation's number, the turn's index and
# the previous answer.
Script = Callable[[int, int, list[dict[str, Any]]], tuple[str, str | None]]


def chat(texts: Sequence[str], turns: int) -> Script:
    """`texts` in turn, each conversation starting `turns` further on (so FAQ questions differ between customers)."""
    return lambda c, i, _: (texts[(c * turns + i) % len(texts)], None)


def faq_chat(greeting: str, questions: Sequence[str], thanks: str, turns: int) -> Script:
    """A greeting, questions, thanks at the end."""
    ask = chat(questions, turns)
    return lambda c, i, last: (greeting, None) if i == 0 else (thanks, None) if i == turns - 1 else ask(c, i, last)


def ending_in_handoff(questions: Sequence[str], request: str, turns: int) -> Script:
    """Questions, and at the last turn a request for a person (the bot is silent after it: queued)."""
    ask = chat(questions, turns)
    return lambda c, i, last: (request, None) if i == turns - 1 else ask(c, i, last)


def form(language: str) -> Script:
    """Reports a broken blender and follows the issue form as a cooperative customer: the first button offered
    (the suggested category, urgency), else an answer for the question asked; after the ticket, thanks."""

    def next_turn(_: int, i: int, last: list[dict[str, Any]]) -> tuple[str, str | None]:
        if i == 0:
            return FORM_OPENINGS[language], None
        text = " ".join(str(m.get("text") or "") for m in last)
        buttons = [b for m in last for b in m.get("buttons") or []]
        if TICKET.search(text) or not last:
            return ("thanks" if language == "en" else "谢谢"), None
        if buttons:
            return str(buttons[0]["title"]), str(buttons[0]["payload"])
        lowered = text.lower()
        if "order" in lowered or "订单" in text:
            return "1000000001", None
        if "email" in lowered or "phone" in lowered or "contact" in lowered or "联系" in text or "邮箱" in text:
            return "buyer@example.com", None
        return ("It does not turn on at all" if language == "en" else "完全无法开机"), None

    return next_turn


def mixed_scripts(turns: int) -> dict[str, Script]:
    """The mix, one script per conversation in turn: greetings, FAQ questions in English and in Chinese, the issue
    form in each language, and a chat that ends in a request for a person."""
    return {
        "greetings": chat(MESSAGES, turns),
        "faq_en": faq_chat("hello", FAQ_EN, "thanks", turns),
        "faq_zh": faq_chat("你好", FAQ_ZH, "谢谢", turns),
        "form_en": form("en"),
        "form_zh": form("zh"),
        "handoff": ending_in_handoff(FAQ_EN[::-1], HANDOFF_REQUESTS["en"], turns),
    }


async def concurrent_load(
    http: aiohttp.ClientSession, frontdoor_url: str, conversations: int = 50, turns: int = 10
) -> dict[str, Any]:
    """`conversations` customers of the front door at `frontdoor_url` at once, each sending `turns` messages of its
    script (`mixed_scripts`, one after the other: each waits for its answer). Returns the latency summary of every
    turn (milliseconds), the throughput (`turns_per_s`: turns answered / wall seconds from the first send to the
    last answer), `errors` (turns not answered 200) and each script's p50.

    Reusable against any front door (one Rasa or several behind it): pass its base URL."""
    scripts = mixed_scripts(turns)
    names = list(scripts)
    customers = [FrontDoorConversation(http, frontdoor_url) for _ in range(conversations)]
    await asyncio.gather(*(c.start() for c in customers))

    async def run(number: int, customer: FrontDoorConversation, script: Script) -> list[tuple[float, int]]:
        done: list[tuple[float, int]] = []
        last: list[dict[str, Any]] = []
        for i in range(turns):
            text, payload = script(number // len(names), i, last)
            elapsed, status, last = await customer.say(text, payload)
            done.append((elapsed, status))
        return done

    started = time.perf_counter()
    results = await asyncio.gather(*(run(i, c, scripts[names[i % len(names)]]) for i, c in enumerate(customers)))
    wall_s = time.perf_counter() - started
    latencies = [ms for batch in results for ms, _ in batch]
    by_script: dict[str, list[float]] = {}
    for i, batch in enumerate(results):
        by_script.setdefault(names[i % len(names)], []).extend(ms for ms, _ in batch)
    return summary(latencies) | {
        "turns_per_s": round(len(latencies) / wall_s, 1),
        "errors": sum(1 for batch in results for _, status in batch if status != 200),
        "p50_ms_by_script": {name: round(percentile(ms, 50), 1) for name, ms in by_script.items()},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200, help="sequential turns per side, standard and FAQ each")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--concurrent-turns", type=int, default=10, help="turns per concurrent conversation")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(ROOT, share_kb_models(Path(tmp)), os.environ, BENCH_ENV) as stack,
    ):
        settle_s = await kb_settled(stack)
        load_before = os.getloadavg()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:
            # Warm-up (graphs, pools, SQLite pages), with questions the measured turns ask last, if at all.
            await sequential(http, stack, 20, MESSAGES + FAQ_QUESTIONS[::-1])
            seq = await sequential(http, stack, args.turns)
            # Through the front door only: the same question straight to Rasa would find the KB's query cache warm.
            faq = await sequential(http, stack, args.turns, FAQ_QUESTIONS, rasa=False)
            conc = await concurrent_load(http, stack.frontdoor_url, args.conversations, args.concurrent_turns)
        memory = {"frontdoor_rss_mib": rss_mib(stack.frontdoor_pid), "rasa_rss_mib": rss_mib(stack.rasa_pid)}
    fd, rasa = summary(seq["frontdoor"]), summary(seq["rasa"])
    faq_fd = summary(faq["frontdoor"])
    result = {
        "benchmark": "turn_latency",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "load_average": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "kb_settle_wait_s": settle_s,
        "sequential": {"frontdoor": fd, "rasa": rasa, "faq_frontdoor": faq_fd},
        "concurrent": conc | {"conversations": args.conversations, "turns_each": args.concurrent_turns},
        "memory": memory,
        "frontdoor_p50_ms": fd["p50_ms"],
        "frontdoor_p95_ms": fd["p95_ms"],
        "rasa_p50_ms": rasa["p50_ms"],
        "faq_p50_ms": faq_fd["p50_ms"],
        "concurrent_turns_per_s": conc["turns_per_s"],
        "concurrent_p50_ms": conc["p50_ms"],
        "concurrent_p95_ms": conc["p95_ms"],
        "ratio_p50": round(fd["p50_ms"] / rasa["p50_ms"], 3),
        "targets": {"frontdoor_p50_ms": 80, "faq_p50_ms": 150, "concurrent_turns_per_s": 30, "concurrent_p95_ms": 2000},
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
