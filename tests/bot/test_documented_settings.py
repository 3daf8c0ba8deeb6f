from pathlib import Path

from bot.settings import ENVIRONMENT
from kb.service import ENVIRONMENT as KB_ENVIRONMENT

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_front_door_and_kb_setting_is_in_the_readme() -> None:
    missing = [name for name in (*ENVIRONMENT, *KB_ENVIRONMENT) if f"`{name}`" not in README]
    assert missing == []
