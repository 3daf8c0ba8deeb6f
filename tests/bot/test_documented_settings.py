"""README.md's configuration tables are generated from the settings classes; this keeps the two equal."""

from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import SECTIONS
from bot.settings_docs import BEGIN, END, settings_markdown, with_settings_tables

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
