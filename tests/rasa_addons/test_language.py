"""Which language a message sets the `language` slot to (rasa_addons.language, run by Rasa's NLU component and
REST channel): the front door's metadata, else words that decide it, else nothing (the slot keeps its value)."""

from __future__ import annotations

import ast
import sys
from typing import Any

import pytest

import rasa_addons
from rasa_addons.language import KB_LANGUAGE_FILE, language_entity, message_language


def test_the_package_exports_its_public_names() -> None:
    assert sorted(rasa_addons.__all__) == ["LANGUAGE_ENTITY", "language_entity", "message_language"]


@pytest.mark.parametrize(
    ("text", "metadata", "expected"),
    [
        ("hello", {"lang": "zh"}, "zh"),
        ("我的搅拌机坏了", {}, "zh"),
        ("my blender is broken", None, "en"),
        ("1000000001", {}, None),
        ("🙂🙂", {}, None),
        ("thanks", {}, None),  # one Latin word says nothing: a Chinese customer may type it
        ('/kb_feedback{"helpful":"yes"}', {}, None),  # a button click says nothing about the language
        ('/kb_feedback{"helpful":"yes"}', {"lang": "en"}, "en"),
        ("🙂", {"lang": "fr"}, None),
    ],
)
def test_language_comes_from_metadata_else_the_words_else_stays(
    text: str, metadata: dict[str, Any] | None, expected: str | None
) -> None:
    assert message_language(text, metadata) == expected


@pytest.mark.parametrize(
    "text",
    [
        "wang.fang@example.cn",
        "  wang.fang@example.cn 。",
        "https://shop.example.com/orders/FD-000001?tab=items",
        "www.example.cn",
        "example.cn",
        "FD-000001",
        "+86 138-0013-8000",
        "A1B2C3D4",
        "12345 ???!",
        "👍🙂",
    ],
)
def test_text_without_real_words_leaves_the_language_as_it_was(text: str) -> None:
    # The bot asked 我们该怎么联系您？ and the customer answered with an email: still a Chinese conversation.
    assert message_language(text, {}) is None


def test_real_words_beside_an_email_decide() -> None:
    assert message_language("please write to wang.fang@example.cn", {}) == "en"
    assert message_language("我的邮箱是wang.fang@example.cn", {}) == "zh"


def test_the_entity_spans_the_message_and_names_its_extractor() -> None:
    assert language_entity("你好", None, "LanguageEntityExtractor") == {
        "entity": "language",
        "value": "zh",
        "start": 0,
        "end": 2,
        "extractor": "LanguageEntityExtractor",
    }
    assert language_entity("ok", None, "LanguageEntityExtractor") is None


def test_kb_language_stays_loadable_by_rasas_python() -> None:
    """Rasa (Python 3.10) loads kb/language.py by path, outside the kb package: it may import only the standard
    library, and nothing newer than 3.10 offers."""
    tree = ast.parse(KB_LANGUAGE_FILE.read_text(encoding="utf-8"), feature_version=(3, 10))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
