"""A WeChat customer's UnionID, when the account has one to give: after their first message the front door asks
WeChat (the fake user info API) and links it; the same UnionID already on a record (the same person through the
company's mini program) makes the two records one. Asked at most once a day per customer; a refusal changes
nothing for the customer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.keys import CONVERSATIONS, CUSTOMERS
from conversations.identity import IdentityKey
from conversations.models import IdentitySource, MergeReason
from tests.console.conftest import WeChatHarness, wechat_app
from tests.wechat.wechat_fakes import OPENID, FakeWeChatAPI

UNION_ID = "o6_bmasdasdsad6_2sgVt7hMZOPfL"


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return ""


@pytest.fixture
async def wechat(
    tmp_path: Path, rasa_url: str, backend: str, fake_api: tuple[FakeWeChatAPI, str]
) -> AsyncIterator[WeChatHarness]:
    async with wechat_app(tmp_path, rasa_url, backend, fake_api, union_id=True) as harness:
        yield harness


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Polls `check` until it holds (the UnionID is asked for in the background, after the customer's turn)."""
    for _ in range(100):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("it never happened")


async def test_the_same_union_id_makes_the_wechat_customer_and_the_mini_program_one(wechat: WeChatHarness) -> None:
    app = wechat.running.app
    store, records = app[CONVERSATIONS], app[CUSTOMERS]
    # Through the company's mini program (another AppID: another OpenID, the same UnionID) Wang Fang is already known.
    mini, _ = await store.customer_for_identity("miniprogram", "mini-openid")
    await records.link_proven(mini.id, [IdentityKey("wechat_union", UNION_ID)], detail={}, source=IdentitySource.WECHAT)
    wechat.api.union_ids[OPENID] = UNION_ID

    await wechat.push("你好", msg_id="7101")

    async def one_record() -> bool:
        return (await store.customer_for_identity("wechat", OPENID))[0].id == mini.id

    await eventually(one_record)
    (merge,) = await records.merges_into(mini.id)
    assert merge.reason is MergeReason.WECHAT_UNION and merge.detail["identity"]["value"] == UNION_ID
    await wechat.push("还在吗", msg_id="7102")
    await asyncio.sleep(0.3)  # time enough for a second ask, were one made
    assert wechat.api.user_info_calls == [OPENID]  # once a day is enough


async def test_an_account_that_may_not_ask_changes_nothing_for_the_customer(wechat: WeChatHarness) -> None:
    app = wechat.running.app
    wechat.api.user_info_errcode = 48001  # the account may not call user info
    raw = await wechat.push("你好", msg_id="7201")

    async def asked() -> bool:
        return wechat.api.user_info_calls == [OPENID]

    await eventually(asked)
    customer, _ = await app[CONVERSATIONS].customer_for_identity("wechat", OPENID)
    assert [i.kind for i in await app[CUSTOMERS].identities_of(customer.id)] == ["wechat"]
    assert raw  # the customer was answered as ever
