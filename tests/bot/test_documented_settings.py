"""README.md's configuration tables are generated from the settings classes; this keeps the two equal."""

import re
from pathlib import Path

import pytest

from bot.settings import SECTIONS
from bot.settings_docs import BEGIN, END, settings_markdown, with_settings_tables
from server.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_tables_are_the_generated_ones() -> None:
    text = README.read_text(encoding="utf-8")
    # Fix: `frontdoor settings --markdown --write README.md`
    assert with_settings_tables(text) == text


def test_every_variable_of_every_section_is_documented_with_a_meaning() -> None:
    markdown = settings_markdown()
    for section in SECTIONS:
        assert section.doc_title, f"{section.__name__} has no doc_title"
        for name, info in section.model_fields.items():
            if name in dict(section.sections()):
                continue
            assert f"`{section.env_names(name)[0]}`" in markdown
            assert info.description, f"{section.__name__}.{name} has no description"


def test_the_command_prints_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "--markdown"]) == 0
    assert capsys.readouterr().out.strip() == settings_markdown()


def test_writing_replaces_only_the_marked_part(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{BEGIN}\nold table\n{END}\n\nafter\n", encoding="utf-8")
    assert main(["settings", "--markdown", "--write", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith(f"# title\n\n{BEGIN}\n") and text.endswith(f"{END}\n\nafter\n")
    assert "old table" not in text and "`FD_WECHAT_ENCODING_MODE`" in text


# Set by the front door for the Rasa process it starts (endpoints.yml reads them), never by an operator.
RASA_CHILD_VARIABLES = {
    *("FD_ACTIONS_URL", "FD_TRACKER_DIALECT", "FD_TRACKER_URL", "FD_TRACKER_DB"),
    *("FD_LOCK_STORE_TYPE", "FD_LOCK_STORE_HOST", "FD_LOCK_STORE_PORT", "FD_LOCK_STORE_DB", "FD_LOCK_STORE_PASSWORD"),
}
NOT_CODE = {".venv", ".venv-rasa", "tests", "var", "node_modules"}


def test_every_fd_variable_the_code_names_is_in_the_tables() -> None:
    markdown = settings_markdown()
    root = README.parent
    named: dict[str, Path] = {}
    for path in root.rglob("*.py"):
        if NOT_CODE.isdisjoint(path.relative_to(root).parts):
            for match in re.finditer(r"\bFD_[A-Z0-9_]*_[A-Z0-9]+\b", path.read_text(encoding="utf-8")):
                named.setdefault(match.group(0), path)
    undocumented = {name: str(path) for name, path in named.items() if f"`{name}`" not in markdown}
    assert undocumented.keys() <= RASA_CHILD_VARIABLES, undocumented
