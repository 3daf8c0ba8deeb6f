"""The message catalogues: complete in both languages, in step with the code, and served to browser code."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

import i18n
from bot.settings import Settings
from i18n import extract
from i18n.catalogue import DOMAINS, LOCALES, catalogue_path
from server.app import create_app

PLACEHOLDER = re.compile(r"\{(\w*)\}")
# A two-language table in code: `"zh": "中文…"` (Python), `zh: "中文…"` (JavaScript), or a `"zh": {` block of them.
# Texts belong in catalogues.
LANGUAGE_TABLE = re.compile(r"""["']?\bzh["']?\s*:\s*(?:\{\s*)?(?:["'`][^"'`\n]*[\u4e00-\u9fff]|\{\s*$)""")

Client = TestClient[aiohttp.web.Request, aiohttp.web.Application]


def read(locale: str, domain: str) -> Catalog:
    with catalogue_path(locale, domain).open("rb") as fileobj:
        return read_po(fileobj, locale=locale, domain=domain)


@pytest.fixture(scope="module")
def used() -> dict[str, set[str]]:
    """Every message id the code uses, per domain, as Babel's extraction finds it (what `make i18n` runs)."""
    return {domain: {str(m.id) for m in extract.template(domain) if m.id} for domain in DOMAINS}


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_the_code_uses_has_a_chinese_translation(domain: str, used: dict[str, set[str]]) -> None:
    assert used[domain], f"nothing extracted for {domain}: the extraction markers changed?"
    chinese = read(LOCALES["zh"], domain)
    missing = sorted(msgid for msgid in used[domain] if not (m := chinese.get(msgid)) or not m.string)
    assert not missing, f"run `make i18n` and translate these in {catalogue_path('zh_CN', domain)}: {missing}"


@pytest.mark.parametrize("locale", sorted(LOCALES.values()))
@pytest.mark.parametrize("domain", DOMAINS)
def test_catalogues_hold_exactly_the_messages_in_use_and_nothing_fuzzy_or_obsolete(
    domain: str, locale: str, used: dict[str, set[str]]
) -> None:
    catalogue = read(locale, domain)
    ids = {str(m.id) for m in catalogue if m.id}
    assert sorted(used[domain] - ids) == [], "missing: run `make i18n`"
    assert sorted(ids - used[domain]) == [], "no longer used: run `make i18n`"
    assert [m.id for m in catalogue if m.id and m.fuzzy] == []
    assert list(catalogue.obsolete) == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_translations_use_only_the_placeholders_of_their_message_id(domain: str) -> None:
    """A translation may leave a value out (Chinese often drops a name), never invent one `format` cannot fill."""
    for message in read(LOCALES["zh"], domain):
        if message.id and message.string:
            extra = set(PLACEHOLDER.findall(str(message.string))) - set(PLACEHOLDER.findall(str(message.id)))
            assert not extra, (message.id, extra)


def test_code_holds_no_two_language_tables() -> None:
    offenders = [
        f"{path.relative_to(extract.ROOT)}:{number}"
        for package in extract.PACKAGES
        for pattern in ("*.py", "*.js", "*.html")
        for path in (extract.ROOT / package).rglob(pattern)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if LANGUAGE_TABLE.search(line)
    ]
    assert offenders == []


def test_the_html_extractor_finds_element_texts_and_attributes(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        '<h1 data-i18n="Queue">Queue</h1>\n<input data-i18n-placeholder="Reply to the customer" placeholder="x">\n'
        '<span data-i18n-switch></span><b data-i18n="Save &amp; publish">x</b>',
        encoding="utf-8",
    )
    with page.open("rb") as fileobj:
        found = [(line, message) for line, _, message, _ in extract.extract_html(fileobj, (), (), {})]
    assert found == [(1, "Queue"), (2, "Reply to the customer"), (3, "Save & publish")]


def test_translate_picks_the_language_and_fills_named_placeholders() -> None:
    msgid = "You are number {position} in the queue for our team."
    assert i18n.translate("zh", msgid, position=3) == "您目前在人工客服队列中排第 3 位。"
    assert i18n.translate("zh-CN", msgid, position=3) == "您目前在人工客服队列中排第 3 位。"
    assert i18n.translate("en", msgid, position=3) == "You are number 3 in the queue for our team."
    assert i18n.translate("fr", msgid, position=3) == "You are number 3 in the queue for our team."
    assert i18n.translate("zh", "A sentence nobody translated.") == "A sentence nobody translated."


def test_bilingual_says_english_then_chinese() -> None:
    assert i18n.bilingual("Sorry, I can only read text, voice and pictures here.") == (
        "Sorry, I can only read text, voice and pictures here.\n抱歉，目前仅支持文字、语音和图片消息。"
    )


def test_the_package_exports_what_it_names() -> None:
    assert sorted(set(i18n.__all__)) == sorted(i18n.__all__)
    for name in i18n.__all__:
        assert hasattr(i18n, name), name


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(Settings(var_dir=tmp_path)))) as client:
        yield client


async def test_browser_catalogues_are_served_as_json(client: Client) -> None:
    response = await client.get("/i18n/staff/zh.json")
    assert response.status == 200 and response.content_type == "application/json"
    assert (await response.json())["Agent console"] == "坐席工作台"
    assert await (await client.get("/i18n/widget/en.json")).json() == {}
    assert (await client.get("/i18n/messages/zh.json")).status == 404


async def test_the_widget_script_carries_both_languages_catalogues(client: Client) -> None:
    source = await (await client.get("/widget.js")).text()
    assert "/*@catalogues@*/" not in source
    line = next(line for line in source.splitlines() if "var CATALOGUES = " in line)
    catalogues = json.loads(line.split("var CATALOGUES = ", 1)[1].rstrip(";"))
    assert catalogues["zh"]["Send"] == "发送" and catalogues["en"] == {}
