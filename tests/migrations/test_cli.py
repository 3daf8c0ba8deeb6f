"""`frontdoor db upgrade` brings the configured database to the newest revision, and says which that is."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import backends
import migrations
from server.cli import main


def test_db_upgrade_creates_the_schema_and_prints_the_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FD_DATABASE_URL", f"sqlite:///{tmp_path / 'fd.db'}")
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0  # nothing left to do the second time
    assert capsys.readouterr().out.splitlines() == [f"database at revision {migrations.head_revision()}"] * 2
    with sqlite3.connect(tmp_path / "fd.db") as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"alembic_version", "customers", "kb_entries", "intake_tickets", "staff"} <= tables


def test_every_exported_name_exists() -> None:
    for package in (backends, migrations):
        for name in package.__all__:
            assert hasattr(package, name), f"{package.__name__}.{name}"
        assert len(set(package.__all__)) == len(package.__all__)
