"""`bench/analytics.py --small`: the synthetic history loads in bulk, projects, and every dashboard query answers;
its JSON line carries the keys docs/benchmarks.md reports."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.analytics import main_async, parse

KEYS = {
    "backend",
    "conversations",
    "events",
    "generate_s",
    "load_s",
    "project_s",
    "report_30d_p95_ms",
    "report_365d_p95_ms",
    "drill_p95_ms",
    "export_p95_ms",
    "export_download_p95_ms",
    "slowest_p95_ms",
    "target_p95_ms",
}


async def test_the_small_run_measures_every_query_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "bench.db"
    result = await main_async(parse(["--small", "--path", str(path)]))
    assert set(result) >= KEYS
    assert result["backend"] == "sqlite" and result["reps"] == 3
    assert 1800 <= result["conversations"] <= 2200  # about the 2,000 asked for
    with sqlite3.connect(path) as conn:
        (events,) = conn.execute("SELECT count(*) FROM service_events").fetchone()
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert events == result["events"]
    assert {"service_events_kind_at", "service_events_conversation"} <= indexes  # built again after the load
    assert result["missed_urgent_first_responses_365d"] >= 0 and result["export_30d_bytes"] > 1000
