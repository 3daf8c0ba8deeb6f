"""The Rasa assistant's own checks: its training data validates and every test story (both languages) passes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.rasa_runtime import ensure_model, rasa_executable
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

RASA_ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def rasa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(rasa_executable(ROOT)), *args], cwd=ROOT, env=RASA_ENV, capture_output=True, text=True, check=False
    )


def test_training_data_is_consistent() -> None:
    result = rasa("data", "validate")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_every_test_story_passes(tmp_path: Path) -> None:
    model = ensure_model(ROOT)
    result = rasa("test", "core", "--stories", "tests/rasa", "--model", str(model), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    failed = (tmp_path / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert "None of the test stories failed" in failed, failed[:3000]
