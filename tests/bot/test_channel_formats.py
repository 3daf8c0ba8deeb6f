"""Each channel gets an answer's Markdown in a form it can show, and nothing hostile gets through any of them."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from bot.channels import formats
from bot.channels.formats import answer_html, plain_text, split_text, webchat_markdown

ANSWER = "**Returns** are free within 7 days.\n\n- Print the label\n- See [the policy](https://shop.example/returns)"
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java&#x09;script:alert(1))",  # an entity that becomes a tab, which browsers drop from a URL
    "[x](<java\tscript:alert(1)>)",
    "<javascript:alert(1)>",  # an autolink
    "[x][r]\n\n[r]: javascript:alert(1)",  # a reference definition
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    '<a href="javascript:alert(1)">x</a>',
    "![x](https://tracker.example/p.png)",
]


def test_the_widget_gets_the_answer_as_html() -> None:
    assert answer_html(ANSWER) == (
        "<p><strong>Returns</strong> are free within 7 days.</p>\n<ul>\n<li>Print the label</li>\n"
        '<li>See <a href="https://shop.example/returns" rel="noopener noreferrer nofollow">the policy</a></li>\n</ul>\n'
    )


def test_an_ordered_list_keeps_its_numbering() -> None:
    assert '<ol start="3">' in answer_html("3. third\n4. fourth")


class _Elements(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("markdown", HOSTILE)
def test_hostile_markdown_never_becomes_a_script_a_foreign_link_or_an_image_in_html(markdown: str) -> None:
    elements = _Elements(answer_html(markdown)).found
    assert {tag for tag, _ in elements} <= formats.ALLOWED_TAGS  # no script, no image
    assert all("href" not in attrs for _, attrs in elements)  # none of these goes to an http(s)/mailto address


def test_markdown_images_and_raw_html_never_survive() -> None:
    html = answer_html('![x](https://t.example/p.png) <img src=x onerror=alert(1)> <a href="x">y</a>')
    assert "<img" not in html and "<a " not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_rasa_webchat_gets_safe_markdown_unchanged() -> None:
    assert webchat_markdown(ANSWER) == ANSWER
    relative = "See [the policy](/returns) or [mail us](mailto:help@shop.example)."
    assert webchat_markdown(relative) == relative


def _links_and_images(markdown: str) -> list[str]:
    """What a permissive Markdown parser (like rasa-webchat's, link checks off) would make a link or image of."""
    parser = MarkdownIt("commonmark", {"html": True})
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    tokens = parser.parse(markdown)
    return [t.type for token in tokens for t in (token, *(token.children or ())) if t.type in {"link_open", "image"}]


@pytest.mark.parametrize("markdown", HOSTILE)
def test_rasa_webchat_gets_hostile_markdown_as_escaped_words(markdown: str) -> None:
    sent = webchat_markdown(markdown)
    assert sent != markdown
    assert _links_and_images(sent) == []
    assert "html_inline" not in {t.type for token in MarkdownIt().parse(sent) for t in token.children or ()}


def test_an_escaped_answer_still_reads_as_its_words() -> None:
    assert MarkdownIt().renderInline(webchat_markdown("Click [here](javascript:alert(1)) **now**")) == (
        "Click here: javascript:alert(1) now"
    )


def test_wechat_gets_plain_text_with_bare_links() -> None:
    assert plain_text(ANSWER) == (
        "Returns are free within 7 days.\n\n• Print the label\n• See the policy: https://shop.example/returns"
    )
    assert plain_text("![Label](https://shop.example/label.png)") == "Label: https://shop.example/label.png"


def test_a_long_text_splits_at_paragraphs_then_sentences_within_the_limit() -> None:
    paragraphs = ["退货说明。" * 100, "第二段。" * 100]  # 1,500 and 1,200 bytes
    assert split_text("\n\n".join(paragraphs), 2048) == paragraphs
    sentences = split_text("This is a sentence. " * 200, 1000)
    assert all(len(p.encode()) <= 1000 and p.endswith(".") for p in sentences)
    assert " ".join(sentences) == ("This is a sentence. " * 200).strip()


def test_text_without_breaks_is_cut_at_the_limit_never_inside_a_character() -> None:
    pieces = split_text("退" * 1000, 100)  # 3 bytes a character: 33 per piece
    assert {len(p) for p in pieces[:-1]} == {33} and "".join(pieces) == "退" * 1000


def test_the_exports_are_the_formats() -> None:
    assert set(formats.__all__) == {
        "ALLOWED_TAGS",
        "SAFE_SCHEMES",
        "answer_html",
        "plain_text",
        "split_text",
        "webchat_markdown",
    }
