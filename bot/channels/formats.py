"""How a bot message's text — FAQ answers are written in Markdown — reaches each channel in a form it can show.

- **Web widget** (and the editor's preview of it): HTML. Sent: sanitised HTML beside the text (`answer_html`).
  No size limit: the bubble grows.
- **Socket.IO** (rasa-webchat): Markdown, which its react-markdown renders with link checks turned off. Sent: the
  Markdown, or escaped plain text when it links anywhere but http(s)/mailto, embeds an image or raw HTML
  (`webchat_markdown`). No documented size limit; each paragraph is its own message, as Rasa sends them.
- **WeChat**: plain text, bare links clickable. Sent: `plain_text`, in pieces of at most 2048 UTF-8 bytes
  (`split_text`, at the cleanest break).

Owns the one Markdown parser configuration, the sanitiser's allow-lists and the splitting of long texts at clean
breaks. Must never let a script, an event handler, a `javascript:` (or any non-http(s)/mailto) link or an image reach
a customer's screen, whoever wrote the text: editors write answers, and bot messages may echo what a customer typed.
"""

from __future__ import annotations

import functools
import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from kb.constants import MAX_ANSWER_CHARS

# What answers may use: CommonMark without raw HTML, plus tables and strikethrough (the editor's preview shows it).
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])
ALLOWED_TAGS = frozenset(
    {
        *("p", "br", "strong", "em", "del", "a", "ul", "ol", "li", "code", "pre", "blockquote", "hr"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"),
    }
)
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


@functools.lru_cache(maxsize=512)  # the same few answers are shown over and over, to every customer who asks
def answer_html(markdown: str) -> str:
    """Markdown as HTML that is safe to insert: only `ALLOWED_TAGS`, no raw HTML, no images, no scripts, links only
    to absolute http(s)/mailto addresses (with rel="noopener noreferrer nofollow"). Text past `MAX_ANSWER_CHARS` is
    dropped."""
    html = _MARKDOWN.render(markdown[:MAX_ANSWER_CHARS])
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=_absolute_links,
        url_schemes=set(SAFE_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )


def _absolute_links(element: str, attribute: str, value: str) -> str | None:
    """Only absolute http(s)/mailto addresses stay links: the widget lives on other sites' pages, where a relative
    one would lead somewhere else (and the widget itself drops them too)."""
    if attribute != "href":
        return value
    scheme = _SCHEME.match(_URL_IGNORED.sub("", value))
    return value if scheme is not None and scheme.group(1).lower() in SAFE_SCHEMES else None


# A second parser, only to look: it keeps every link whatever its scheme (markdown-it's own check would quietly turn
# a `javascript:` link into text and hide it from us) and does not percent-encode destinations, so the check below
# sees what react-markdown will put in the href.
_INSPECTOR = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(["table", "strikethrough"])
_INSPECTOR.validateLink = lambda url: True  # type: ignore[method-assign]
_INSPECTOR.normalizeLink = lambda url: url  # type: ignore[method-assign]
# Browsers drop ASCII tabs and newlines inside a URL and trim control characters and spaces around it.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
# Characters that could start Markdown (or an HTML entity) in text meant to be shown as typed.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>!&#|~+\-])")


def _safe_destination(url: str) -> bool:
    """True for http(s)/mailto and relative links; False for any other scheme, however disguised."""
    scheme = _SCHEME.match(_URL_IGNORED.sub("", url))
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES


def _risky(token: Token) -> bool:
    if token.type in {"image", "html_inline", "html_block"}:
        return True
    href = token.attrGet("href") if token.type == "link_open" else None
    return isinstance(href, str) and not _safe_destination(href)


def webchat_markdown(markdown: str) -> str:
    """Markdown for rasa-webchat, which renders it itself (react-markdown) but with `transformLinkUri={null}`, so it
    would make a `javascript:` link clickable. Text whose links all go to http(s)/mailto (or relative addresses), with
    no image and no raw HTML, passes unchanged; anything else is sent as `plain_text` with every Markdown mark
    escaped, so it shows as words."""
    tokens = _INSPECTOR.parse(markdown)
    if not any(_risky(t) for token in tokens for t in (token, *(token.children or ()))):
        return markdown
    return _MARKDOWN_SPECIAL.sub(r"\\\1", plain_text(markdown))


_LINK = re.compile(r"!?\[([^\]\n]+)\]\((\S+?)\)")  # an image too: its alt text and address
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(\S(?:.*?\S)?)\1")
_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+", re.MULTILINE)


def plain_text(markdown: str) -> str:
    """The Markdown an FAQ answer may use, as plain text: `[text](url)` → "text: url" (a bare URL is clickable in
    WeChat; an image likewise), emphasis and code marks dropped, headings unmarked, bullets as "•". Plain text
    passes unchanged."""
    text = _LINK.sub(lambda m: m.group(2) if m.group(1) == m.group(2) else f"{m.group(1)}: {m.group(2)}", markdown)
    text = _EMPHASIS.sub(r"\2", text)
    text = _HEADING.sub("", text)
    return _BULLET.sub("• ", text)


# Where a long text may be cut, best first: a paragraph, a line, a sentence, a word.
_BREAKS = ("\n\n", "\n", "。", "！", "？", ". ", "! ", "? ", " ")


def split_text(text: str, max_bytes: int) -> list[str]:
    """`text` in pieces of at most `max_bytes` UTF-8 bytes, cut at the best break (`_BREAKS`) in the last two
    thirds of each piece, else at the limit, never inside a character. Blank pieces are dropped."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest.encode("utf-8")) > max_bytes:
        head = rest.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
        # The best kind of break found in the last two thirds; else the byte limit.
        found = (at + len(mark) for mark in _BREAKS if (at := head.rfind(mark)) > len(head) // 3)
        cut = next(found, len(head))
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    return [p for p in (*pieces, rest) if p]


__all__ = ["ALLOWED_TAGS", "SAFE_SCHEMES", "answer_html", "plain_text", "split_text", "webchat_markdown"]
