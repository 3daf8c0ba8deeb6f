from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.decision import Decision
from kb.encoders import HashingEncoder
from kb.evaluation import auroc, read_queries, run_evaluation
from kb.settings import RetrievalSettings
from server.cli import main as frontdoor_main


def test_auroc_is_one_when_every_in_scope_confidence_is_higher() -> None:
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.5], [0.5]) == 0.5
    assert auroc([0.5], []) is None


def test_an_evaluation_on_the_fixture_reports_every_metric(
    fixture_paths: tuple[Path, Path], settings: RetrievalSettings, encoders: dict[str, HashingEncoder]
) -> None:
    kb_path, queries_path = fixture_paths
    report = run_evaluation(kb_path, queries_path, settings, encoders)
    assert report.n_queries == len(read_queries(queries_path))
    assert report.n_out_of_scope == 1
    assert report.top1 >= 0.6
    assert report.recall5 >= report.top1
    assert report.oos_auroc is not None
    total = report.answered_correctly + report.answered_wrongly + report.clarify + report.not_found
    assert total == pytest.approx(1.0)


def test_frontdoor_kb_eval_prints_json_as_its_last_line(
    fixture_paths: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    kb_path, queries_path = fixture_paths
    argv = ["kb", "eval", "--kb", str(kb_path), "--queries", str(queries_path), "--json"]
    assert frontdoor_main([*argv, "--encoders-en", "hashing", "--encoders-zh", "hashing"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    data = json.loads(last)
    for key in (
        "top1",
        "recall5",
        "mrr",
        "oos_auroc",
        "answered_correctly",
        "answered_wrongly",
        "clarify",
        "not_found",
        "p50_ms",
        "p95_ms",
        "n_queries",
        "settings",
    ):
        assert key in data
    assert data["settings"]["encoders"]["en"] == ["hashing"]
    assert Decision.ANSWER.value == "answer"
