"""The one free-text rule every entry point uses."""

from __future__ import annotations

import pytest

from conversations.text import InvalidText, TextProblem, checked_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  hello  ", "hello"),
        ("line one\nline two\ttabbed\r\n", "line one\nline two\ttabbed"),
        ("退货 🙂 e\u0301", "退货 🙂 e\u0301"),  # CJK, emoji (a surrogate pair in UTF-16, one code point here), accents
        ("zero\u200bwidth joiner\u200d", "zero\u200bwidth joiner\u200d"),  # format characters are text
        ("x" * 10, "x" * 10),
    ],
)
def test_ordinary_text_is_kept_stripped(value: str, expected: str) -> None:
    assert checked_text(value, max_chars=10 if value == "x" * 10 else 100) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (5, TextProblem.NOT_A_STRING),
        (None, TextProblem.NOT_A_STRING),
        (["a"], TextProblem.NOT_A_STRING),
        ("   ", TextProblem.EMPTY),
        ("x" * 11, TextProblem.TOO_LONG),
        ("a\x00b", TextProblem.CONTROL_CHARACTER),
        ("bell\x07", TextProblem.CONTROL_CHARACTER),
        ("esc\x1b[2J", TextProblem.CONTROL_CHARACTER),
        ("del\x7f", TextProblem.CONTROL_CHARACTER),
        ("c1\x9b", TextProblem.CONTROL_CHARACTER),
        ("half \ud83d pair", TextProblem.LONE_SURROGATE),
        ("\udc00 low half", TextProblem.LONE_SURROGATE),
    ],
)
def test_bad_text_is_refused_with_its_problem(value: object, problem: TextProblem) -> None:
    with pytest.raises(InvalidText) as raised:
        checked_text(value, max_chars=10)
    assert raised.value.problem is problem
    assert str(raised.value)


def test_optional_text_may_be_empty_but_not_bad() -> None:
    assert checked_text("  ", max_chars=5, required=False) == ""
    with pytest.raises(InvalidText):
        checked_text("\x00", max_chars=5, required=False)


def test_length_counts_after_stripping() -> None:
    assert checked_text("  abc  ", max_chars=3) == "abc"
