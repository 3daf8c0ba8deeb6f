"""Where a bot turn's time goes: the real stack (front door + Rasa) with a sampling profiler in both processes.

Starts the stack as bench/turn_latency.py does, with bench/sampler on PYTHONPATH (its sitecustomize samples each
process's main thread), warms up, then runs phases through the front door — sequential turns of the four standard
messages, then of FAQ questions, then the peak of bench/turn_latency.py (`concurrent_load`: 50 customers at once
× 10 turns of the mixed scripts) — and reports per process and phase the busy milliseconds per turn, the CPU
milliseconds per turn (/proc, every thread) and the functions holding the most of that time (inclusive), as a
readable table and, as its last line, one JSON object.

Under the peak the sampler's "busy" also counts threads that are ready but wait for the interpreter lock or a core;
the CPU milliseconds are what the work costs.

Usage: .venv/bin/python bench/turn_profile.py [--turns 120] [--conversations 50] [--concurrent-turns 10] [--top 25]
       .venv/bin/python bench/turn_profile.py --cpu-only [--turns 100]   # CPU per turn only, without the sampler
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.proc import cpu_s  # noqa: E402
from bench.turn_latency import (  # noqa: E402
    BENCH_ENV,
    FAQ_QUESTIONS,
    MESSAGES,
    concurrent_load,
    kb_settled,
    sequential,
    share_kb_models,
)
from bot.stack import Stack, running_stack  # noqa: E402

SAMPLER = ROOT / "bench" / "sampler"
# A stack whose innermost frame is one of these is waiting (a loop for I/O, a worker for work, a thread for a child
# process), not working. aiosqlite's worker thread looks the same waiting and querying: it counts as waiting, so the
# front door's SQL shows only as the main thread's share of it.
IDLE_TOPS = (
    "select",
    "poll",
    "run_forever",
    "run_until_complete",
    "wait",
    "get",
    "_worker",
    "runners.py:serve",
    "_connection_worker_thread",
    "_wait_for_tstate_lock",
    "retrieval.py:fine_tune",
)
# Frames that most busy samples pass through (entry points, event loops, dispatch): they say nothing.
FRAMEWORK = (
    "thread:",
    "asyncio/",
    "<frozen runpy>",
    "server/cli.py:",
    "threading.py:",
    "futures/thread.py:",
    "aiohttp/web_protocol",
    "aiohttp/web_app",
    "aiohttp/web_middlewares",
    "sanic/",
    "server/runners.py",
    "bin/rasa:",
    "rasa/__main__.py",
    "cli/run.py",
    "core/run.py",
    "rasa/api.py",
    "connection_task:",
    "handle_request:",
    "dask/",
    "runner/dask.py",
    "engine/graph.py",
)
# Where a turn's time goes, by the innermost frame on the stack that names one of these (first match wins).
BUCKETS = {
    "action result validation (jsonschema)": ("jsonschema/",),
    "custom action call (Rasa side)": ("actions/action.py:",),
    "tracker store": ("core/tracker_store.py:", "sqlalchemy/"),
    "TED": ("ted_policy.py:",),
    "DIET": ("diet_classifier.py:",),
    "rule + memoization policies": ("rule_policy.py:", "memoization.py:"),
    "featurising (tokens, features, tracker states)": ("featurizers/", "tokenizers/", "trackers.py:", "domain.py:"),
    "knowledge base": ("kb/", "onnxruntime/"),
    "actions webhook (front door)": ("bot/actions_endpoint.py:", "rasa_sdk/"),
    "JSON": ("json/", "ujson", "orjson"),
    "logging": ("logging/", "structlog/"),
    "front door storage (SQL)": ("conversations/", "sqlalchemy/", "aiosqlite/", "record/"),
}


def busy(stacks: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in stacks.items() if not k.rsplit(";", 1)[-1].endswith(IDLE_TOPS)}


def largest(counts: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(counts.items(), key=lambda item: -item[1])


def inclusive(stacks: dict[str, float], top: int) -> list[tuple[str, float]]:
    """Functions by the busy seconds of the stacks that hold them (each counted once per stack), largest first."""
    counts: collections.defaultdict[str, float] = collections.defaultdict(float)
    for stack, seconds in stacks.items():
        for name in set(stack.split(";")):
            counts[name] += seconds
    return [(name, s) for name, s in largest(counts) if not name.startswith(FRAMEWORK)][:top]


def bucketed(stacks: dict[str, float]) -> list[tuple[str, float]]:
    """Busy seconds per bucket (BUCKETS, by a stack's innermost frame that names one), largest first."""
    counts: collections.defaultdict[str, float] = collections.defaultdict(float)
    for stack, seconds in stacks.items():
        frames = stack.split(";")
        found = next(
            (
                bucket
                for frame in reversed(frames)
                for bucket, patterns in BUCKETS.items()
                if any(p in frame for p in patterns)
            ),
            "other",
        )
        counts[found] += seconds
    return largest(counts)


def report(path: Path, ran: Phases, top: int) -> dict[str, Any] | None:
    """{phase: {"busy_ms_per_turn", "cpu_ms_per_turn", "buckets": {name: ms per turn}, "top": [[function, ms per
    turn, share]]}} for one process's dump; None for a dump that is not the front door's or Rasa's server (a child
    process)."""
    dump = json.loads(path.read_text(encoding="utf-8"))
    name = "rasa" if "rasa" in Path(dump["argv"][0]).name else "frontdoor" if dump["argv"][1:2] == ["serve"] else ""
    entry = ("server/cli.py:main", "rasa/__main__.py:main")
    if not name or not any(e in s for stacks in dump["phases"].values() for s in stacks for e in entry):
        return None
    out: dict[str, Any] = {"process": name}
    for phase, n in ran.turns.items():
        stacks = busy(dump["phases"].get(phase, {}))
        per_turn = 1000 / n  # seconds of the phase → milliseconds per turn
        total = sum(stacks.values())
        main = sum(v for k, v in stacks.items() if k.startswith("thread:MainThread;"))
        out[phase] = {
            "busy_ms_per_turn": round(total * per_turn, 1),
            "cpu_ms_per_turn": round(1000 * ran.cpu_s[phase][name] / n, 1),
            "main_thread_busy_ms_per_turn": round(main * per_turn, 1),
            "buckets": {k: round(v * per_turn, 1) for k, v in bucketed(stacks)},
            "top": [
                [f, round(c * per_turn, 1), round(c / total, 3) if total else 0.0] for f, c in inclusive(stacks, top)
            ],
        }
    return out


@dataclass(frozen=True)
class Phases:
    """What the driver ran: turns per phase, and each phase's CPU seconds per process ("frontdoor", "rasa")."""

    turns: dict[str, int]
    cpu_s: dict[str, dict[str, float]]


async def run_phases(stack: Stack, phase_file: Path, turns: int, conversations: int, concurrent_turns: int) -> Phases:
    """Runs the phases once the KB has settled, naming each in `phase_file` for the samplers (a tiny local write, so
    done inline)."""
    await kb_settled(stack)
    pids = {"frontdoor": stack.frontdoor_pid, "rasa": stack.rasa_pid}
    phases = {"standard": MESSAGES, "faq": FAQ_QUESTIONS}
    used: dict[str, dict[str, float]] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:

        async def phase(name: str, run: Callable[[], Awaitable[object]]) -> None:
            phase_file.write_text(name, encoding="utf-8")  # noqa: ASYNC240
            await asyncio.sleep(0.3)  # the samplers re-read the phase every 50 samples
            before = {process: cpu_s(pid) for process, pid in pids.items()}
            await run()
            used[name] = {process: cpu_s(pid) - before[process] for process, pid in pids.items()}

        # Through the front door only, a new conversation every 20 turns, as turn_latency.py measures them.
        await phase("warmup", lambda: sequential(http, stack, 20, MESSAGES + FAQ_QUESTIONS, rasa=False))
        for name, texts in phases.items():
            await phase(name, functools.partial(sequential, http, stack, turns, texts, rasa=False))
        if conversations:
            await phase(
                "concurrent",
                lambda: concurrent_load(http, stack.frontdoor_url, conversations, concurrent_turns),
            )
        phase_file.write_text("done", encoding="utf-8")  # noqa: ASYNC240
    counts = {name: turns for name in phases} | (
        {"concurrent": conversations * concurrent_turns} if conversations else {}
    )
    return Phases(counts, {name: used[name] for name in counts})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=120, help="turns per phase")
    parser.add_argument("--conversations", type=int, default=50, help="customers at once in the peak (0: no peak)")
    parser.add_argument("--concurrent-turns", type=int, default=10, help="turns per customer in the peak")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", type=Path, help="copy the raw dumps (collapsed stacks per phase) into this folder")
    parser.add_argument(
        "--cpu-only",
        action="store_true",
        help="no sampler (it costs CPU of its own): only each process's CPU ms per turn and phase",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile"
        sampled = {
            "PYTHONPATH": os.pathsep.join(filter(None, (str(SAMPLER), os.environ.get("PYTHONPATH")))),
            "BENCH_PROFILE_OUT": str(out),
        }
        env = {**os.environ, **({} if args.cpu_only else sampled)}
        with running_stack(ROOT, share_kb_models(Path(tmp) / "var"), env, BENCH_ENV) as stack:
            ran = asyncio.run(
                run_phases(stack, Path(f"{out}.phase"), args.turns, args.conversations, args.concurrent_turns)
            )
        turns = ran.turns
        if args.cpu_only:
            per_turn = {
                phase: {process: round(1000 * seconds / n, 1) for process, seconds in ran.cpu_s[phase].items()}
                for phase, n in turns.items()
            }
            cpu = {"benchmark": "turn_profile", "machine": machine(), "turns": turns, "cpu_ms_per_turn": per_turn}
            print(json.dumps(cpu))
            return
        # The processes write their dumps at exit; children (the KB's fine-tuning) have their own and are skipped.
        dumps = list(Path(tmp).glob("profile.*.json"))
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for dump in dumps:
                shutil.copy(dump, args.keep)
        reports = [report(p, ran, args.top) for p in dumps]
    processes = [r for r in reports if r is not None]
    for process in processes:
        for phase in turns:
            data = process[phase]
            print(
                f"\n{process['process']} — {phase}: busy {data['busy_ms_per_turn']} ms per turn (all threads), "
                f"main thread {data['main_thread_busy_ms_per_turn']} ms, CPU {data['cpu_ms_per_turn']} ms"
            )
            for bucket, ms in data["buckets"].items():
                print(f"  {ms:8.1f} ms  {bucket}")
            print("  top functions (inclusive):")
            for name, ms, share in data["top"]:
                print(f"  {ms:8.1f} ms  {share:6.1%}  {name}")
    print(json.dumps({"benchmark": "turn_profile", "machine": machine(), "turns": turns, "processes": processes}))


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    main()
