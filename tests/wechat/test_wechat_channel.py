"""The WeChat endpoint end to end: wechatpy plays WeChat's servers, a fake API records CS sends, a fake pipeline
plays the conversation pipeline."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient

import bot.channels.wechat as wechat_package
from bot.channels.base import InboundMessage
from bot.channels.wechat import (
    WECHAT_CHANNEL,
    EncodingMode,
    InboundPipeline,
    OutsideServiceWindow,
    WeChatError,
    WeChatSettings,
    setup_wechat,
)
from bot.channels.wechat.constants import DEDUP_KEY
from conversations.models import Button, Conversation, Message, Sender
from tests.wechat.wechat_fakes import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    OPENID,
    TOKEN,
    FakeWeChatAPI,
    WeChatSim,
    event_xml,
    image_xml,
    text_xml,
    voice_xml,
)

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]
LOGGER = "bot.channels.wechat.channel"


class FakePipeline:
    """Records every turn and answers "You said: ..." (or what it is told), optionally slowly or gated."""

    def __init__(
        self,
        *,
        delay_s: float = 0.0,
        gate: asyncio.Event | None = None,
        replies: list[Message] | None = None,
        error: Exception | None = None,
    ) -> None:
        self.received: list[InboundMessage] = []
        self.delay_s = delay_s
        self.gate = gate
        self.replies = replies
        self.error = error

    async def receive(self, inbound: InboundMessage) -> list[Message]:
        self.received.append(inbound)
        if self.gate is not None:
            await self.gate.wait()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        if self.replies is not None:
            return self.replies
        return [reply(f"You said: {inbound.text}")]


def reply(text: str, *buttons: Button, sender: Sender = Sender.BOT, custom: dict[str, Any] | None = None) -> Message:
    return Message(
        id=f"m-{text}",
        conversation_id="c1",
        seq=1,
        sender=sender,
        text=text,
        created_at=0.0,
        buttons=buttons,
        custom=custom or {},
    )


def make_settings(api_base_url: str, **overrides: Any) -> WeChatSettings:
    settings = WeChatSettings(
        token=TOKEN,
        app_id=APP_ID,
        app_secret=APP_SECRET,
        encoding_aes_key=AES_KEY,
        api_base_url=api_base_url,
        reply_deadline_s=2.0,
        menu_payloads={"MENU_ASK": "/ask_question", "MENU_HOURS": "What are your opening hours?"},
    )
    return replace(settings, **overrides)


@pytest.fixture
def sim() -> WeChatSim:
    return WeChatSim()


@pytest.fixture
def unsubscribed() -> list[str]:
    return []


@pytest.fixture
def start(
    aiohttp_client: ClientFactory, wechat_api: tuple[FakeWeChatAPI, str], unsubscribed: list[str]
) -> Callable[..., Awaitable[TestClient[web.Request, web.Application]]]:
    """Starts an app with the connector mounted at /wechat."""
    _, base_url = wechat_api

    async def on_unsubscribe(openid: str) -> None:
        unsubscribed.append(openid)

    async def _start(
        pipeline: InboundPipeline, redis: aioredis.Redis | None = None, **overrides: Any
    ) -> TestClient[web.Request, web.Application]:
        app = web.Application()
        setup_wechat(app, make_settings(base_url, **overrides), pipeline, redis=redis, on_unsubscribe=on_unsubscribe)
        return await aiohttp_client(app)

    return _start


async def post(client: TestClient[web.Request, web.Application], push: tuple[dict[str, str], bytes]) -> tuple[int, str]:
    query, body = push
    response = await client.post("/wechat", params=query, data=body)
    return response.status, await response.text()


# URL verification.


async def test_get_with_a_valid_signature_echoes_echostr(start: Callable[..., Any], sim: WeChatSim) -> None:
    client = await start(FakePipeline())
    response = await client.get("/wechat", params={**sim.query(), "echostr": "8761234567"})
    assert (response.status, await response.text()) == (200, "8761234567")


@pytest.mark.parametrize("broken", ["tampered", "missing"])
async def test_get_with_a_bad_or_missing_signature_is_forbidden_and_logged(
    start: Callable[..., Any], sim: WeChatSim, caplog: pytest.LogCaptureFixture, broken: str
) -> None:
    client = await start(FakePipeline())
    query = {**sim.query(), "echostr": "8761234567"}
    if broken == "tampered":
        query["signature"] = "0" * 40
    else:
        del query["signature"]
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = await client.get("/wechat", params=query)
    assert response.status == 403 and "8761234567" not in await response.text()
    assert "rejected" in caplog.text


# Passive replies.


async def test_plaintext_text_push_gets_a_passive_reply_wechat_can_read(
    start: Callable[..., Any], sim: WeChatSim
) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline)
    status, body = await post(client, sim.plain_push(text_xml("where is my order?")))
    assert status == 200
    parsed = sim.read_reply(body, encrypted=False)
    assert (parsed.type, parsed.target, parsed.content) == ("text", OPENID, "You said: where is my order?")
    [inbound] = pipeline.received
    assert (inbound.channel, inbound.sender_id, inbound.text, inbound.kind) == (
        "wechat",
        OPENID,
        "where is my order?",
        "text",
    )
    assert inbound.message_id == "6054768590064713728"


async def test_safe_mode_push_is_decrypted_and_the_reply_encrypted(start: Callable[..., Any], sim: WeChatSim) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline, encoding_mode=EncodingMode.SAFE)
    status, body = await post(client, sim.encrypted_push(text_xml("你好")))
    assert status == 200 and "<Encrypt>" in body and "你好" not in body
    assert sim.read_reply(body, encrypted=True).content == "You said: 你好"


async def test_compatible_mode_accepts_encrypted_and_plaintext_pushes(
    start: Callable[..., Any], sim: WeChatSim
) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline, encoding_mode=EncodingMode.COMPATIBLE)
    _, encrypted_body = await post(client, sim.encrypted_push(text_xml("one", msg_id="1"), compatible=True))
    _, plain_body = await post(client, sim.plain_push(text_xml("two", msg_id="2")))
    assert sim.read_reply(encrypted_body, encrypted=True).content == "You said: one"
    assert sim.read_reply(plain_body, encrypted=False).content == "You said: two"


async def test_safe_mode_refuses_a_plaintext_push(start: Callable[..., Any], sim: WeChatSim) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline, encoding_mode=EncodingMode.SAFE)
    status, _ = await post(client, sim.plain_push(text_xml("sneaky")))
    assert status == 400 and pipeline.received == []


async def test_several_replies_become_one_text_with_numbered_buttons_and_no_event_lines(
    start: Callable[..., Any], sim: WeChatSim
) -> None:
    replies = [
        reply("Our return window is 30 days."),
        reply("Was this helpful?", Button("Yes", "/kb_feedback"), Button("No", "/kb_feedback")),
        reply("", sender=Sender.EVENT, custom={"kb": {"decision": "answer"}}),
    ]
    client = await start(FakePipeline(replies=replies))
    _, body = await post(client, sim.plain_push(text_xml("returns?")))
    content = sim.read_reply(body, encrypted=False).content
    assert content == "Our return window is 30 days.\n\nWas this helpful?\n1. Yes\n2. No"


async def test_reply_text_containing_the_cdata_terminator_survives(start: Callable[..., Any], sim: WeChatSim) -> None:
    client = await start(FakePipeline(replies=[reply("a]]>b <xml> & c")]))
    _, body = await post(client, sim.plain_push(text_xml("x")))
    assert sim.read_reply(body, encrypted=False).content == "a]]>b <xml> & c"
    assert "]]]]><![CDATA[>" in body


# Retries and the 5-second rule.


async def test_three_concurrent_identical_pushes_get_exactly_one_answer(
    start: Callable[..., Any], sim: WeChatSim, wechat_api: tuple[FakeWeChatAPI, str]
) -> None:
    pipeline = FakePipeline(delay_s=0.2)
    client = await start(pipeline)
    push = sim.plain_push(text_xml("once please"))
    results = await asyncio.gather(*(post(client, push) for _ in range(3)))
    bodies = [body for status, body in results if status == 200]
    assert len(bodies) == 3
    answers = [b for b in bodies if b != "success"]
    assert len(answers) == 1
    assert sim.read_reply(answers[0], encrypted=False).content == "You said: once please"
    assert len(pipeline.received) == 1
    assert wechat_api[0].sends == []


async def test_a_retry_after_the_answer_is_answered_from_the_first_result(
    start: Callable[..., Any], sim: WeChatSim
) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline, encoding_mode=EncodingMode.SAFE)
    first = await post(client, sim.encrypted_push(text_xml("same", msg_id="42")))
    retry = await post(client, sim.encrypted_push(text_xml("same", msg_id="42")))
    assert len(pipeline.received) == 1
    assert sim.read_reply(first[1], encrypted=True).content == sim.read_reply(retry[1], encrypted=True).content


@pytest.mark.slow
async def test_a_slow_pipeline_gets_success_at_once_and_the_answer_later_through_the_api(
    start: Callable[..., Any], sim: WeChatSim, wechat_api: tuple[FakeWeChatAPI, str]
) -> None:
    fake, _ = wechat_api
    pipeline_s = 6.0
    pipeline = FakePipeline(delay_s=pipeline_s)
    client = await start(pipeline, reply_deadline_s=0.5)
    push = sim.plain_push(text_xml("slow question"))
    began = time.monotonic()
    status, body = await post(client, push)
    answered_s = time.monotonic() - began
    assert (status, body) == (200, "success")
    assert answered_s < pipeline_s / 4
    # WeChat's retry while the pipeline is still busy gets "success" too, and no second turn.
    assert await post(client, push) == (200, "success")
    await fake.wait_for_sends(1)
    assert fake.sends == [{"touser": OPENID, "msgtype": "text", "text": {"content": "You said: slow question"}}]
    assert len(pipeline.received) == 1


async def test_replies_missing_the_deadline_are_each_sent_through_the_api(
    start: Callable[..., Any], sim: WeChatSim, wechat_api: tuple[FakeWeChatAPI, str]
) -> None:
    fake, _ = wechat_api
    gate = asyncio.Event()
    pipeline = FakePipeline(gate=gate, replies=[reply("first"), reply("second", Button("Agent", "/request_human"))])
    client = await start(pipeline, reply_deadline_s=0.1)
    assert await post(client, sim.plain_push(text_xml("q"))) == (200, "success")
    gate.set()
    await fake.wait_for_sends(2)
    assert [s["text"]["content"] for s in fake.sends] == ["first", "second\n1. Agent"]


async def test_a_late_reply_outside_the_service_window_is_logged_not_raised(
    start: Callable[..., Any], sim: WeChatSim, wechat_api: tuple[FakeWeChatAPI, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, _ = wechat_api
    fake.send_errcodes = [45015]
    gate = asyncio.Event()
    client = await start(FakePipeline(gate=gate), reply_deadline_s=0.05)
    with caplog.at_level(logging.WARNING, logger="bot.channels.wechat.inbound"):
        assert await post(client, sim.plain_push(text_xml("q"))) == (200, "success")
        gate.set()
        for _ in range(200):
            if "not delivered" in caplog.text:
                break
            await asyncio.sleep(0.01)
    assert "not delivered" in caplog.text and "45015" in caplog.text


async def test_a_failing_pipeline_answers_success_not_500(
    start: Callable[..., Any], sim: WeChatSim, caplog: pytest.LogCaptureFixture
) -> None:
    client = await start(FakePipeline(error=RuntimeError("rasa down")))
    with caplog.at_level(logging.ERROR):
        assert await post(client, sim.plain_push(text_xml("q"))) == (200, "success")
    assert "pipeline failed" in caplog.text


async def test_replicas_sharing_redis_answer_a_push_once(
    start: Callable[..., Any], sim: WeChatSim, redis_client: aioredis.Redis
) -> None:
    pipeline = FakePipeline()
    replica_a = await start(pipeline, redis=redis_client)
    replica_b = await start(pipeline, redis=redis_client)
    push = sim.plain_push(text_xml("hello", msg_id="777"))
    first = await post(replica_a, push)
    second = await post(replica_b, push)
    assert first[1] != "success" and second == (200, "success")
    assert len(pipeline.received) == 1


# Rejections: a clear 4xx, a log line, no pipeline turn, and the server keeps working.


def truncated_push(sim: WeChatSim) -> tuple[dict[str, str], bytes]:
    """A genuine ciphertext cut short mid-block (as a proxy with a body limit would), correctly signed."""
    _, body = sim.encrypted_push(text_xml("x"))
    encrypt = body.decode().split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    return sim.signed_encrypt_push(base64.b64encode(base64.b64decode(encrypt)[:-5]).decode())


def wrong_app_push(sim: WeChatSim) -> tuple[dict[str, str], bytes]:
    return WeChatSim(app_id="wx0000000000000000").encrypted_push(text_xml("x"))


def tampered_signature_push(sim: WeChatSim) -> tuple[dict[str, str], bytes]:
    query, body = sim.plain_push(text_xml("x"))
    return {**query, "signature": "f" * 40}, body


def tampered_msg_signature_push(sim: WeChatSim) -> tuple[dict[str, str], bytes]:
    query, body = sim.encrypted_push(text_xml("x"))
    return {**query, "msg_signature": "0" * 40}, body


NESTED = b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>"
SURROGATE_REF = text_xml("x").replace("<Content><![CDATA[x]]>", "<Content>&#xD800;").encode()
HUGE_TIME = text_xml("x").replace("1409735668", "9" * 25).encode()


def signed(body: bytes) -> Callable[[WeChatSim], tuple[dict[str, str], bytes]]:
    return lambda sim: (sim.query(), body)


@pytest.mark.parametrize(
    ("make_push", "mode", "status"),
    [
        pytest.param(tampered_signature_push, EncodingMode.PLAINTEXT, 403, id="tampered-signature"),
        pytest.param(lambda sim: ({}, text_xml("x").encode()), EncodingMode.PLAINTEXT, 403, id="no-signature"),
        pytest.param(tampered_msg_signature_push, EncodingMode.SAFE, 403, id="tampered-msg-signature"),
        pytest.param(wrong_app_push, EncodingMode.SAFE, 403, id="wrong-app-id"),
        pytest.param(truncated_push, EncodingMode.SAFE, 400, id="truncated-ciphertext"),
        pytest.param(lambda sim: sim.signed_encrypt_push("%%%not-base64%%%"), EncodingMode.SAFE, 400, id="not-base64"),
        pytest.param(signed(b"<xml><Content>half"), EncodingMode.PLAINTEXT, 400, id="malformed-xml"),
        pytest.param(signed(BILLION_LAUGHS), EncodingMode.PLAINTEXT, 400, id="billion-laughs"),
        pytest.param(signed(EXTERNAL_ENTITY), EncodingMode.PLAINTEXT, 400, id="external-entity"),
        pytest.param(signed(bytes(range(256)) * 4), EncodingMode.PLAINTEXT, 400, id="binary"),
        pytest.param(signed(b"<xml>" + b"a" * (65 * 1024) + b"</xml>"), EncodingMode.PLAINTEXT, 413, id="oversized"),
        pytest.param(signed(b"<xml><MsgType>text</MsgType></xml>"), EncodingMode.PLAINTEXT, 400, id="missing-fields"),
        pytest.param(signed(NESTED), EncodingMode.PLAINTEXT, 400, id="nested"),
        pytest.param(signed(SURROGATE_REF), EncodingMode.PLAINTEXT, 400, id="lone-surrogate"),
        pytest.param(signed(HUGE_TIME), EncodingMode.PLAINTEXT, 400, id="time-beyond-64-bits"),
        pytest.param(
            signed(b'<?xml version="1.0" encoding="x-no-such"?><xml/>'), EncodingMode.PLAINTEXT, 400, id="encoding"
        ),
    ],
)
async def test_bad_pushes_are_rejected_with_a_4xx_and_a_log_line(
    start: Callable[..., Any],
    sim: WeChatSim,
    caplog: pytest.LogCaptureFixture,
    make_push: Callable[[WeChatSim], tuple[dict[str, str], bytes]],
    mode: EncodingMode,
    status: int,
) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline, encoding_mode=mode)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert (await post(client, make_push(sim)))[0] == status
    assert "wechat push rejected" in caplog.text
    assert pipeline.received == []
    good = sim.encrypted_push(text_xml("still alive")) if mode is EncodingMode.SAFE else sim.plain_push(text_xml("ok"))
    assert (await post(client, good))[0] == 200


async def test_an_oversized_chunked_body_is_cut_off_at_the_limit(start: Callable[..., Any], sim: WeChatSim) -> None:
    client = await start(FakePipeline())

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"a" * 1024

    response = await client.post("/wechat", params=sim.query(), data=chunks())
    assert response.status == 413


# Message and event kinds.


async def test_unsubscribe_calls_the_hook_and_sends_nothing(
    start: Callable[..., Any], sim: WeChatSim, unsubscribed: list[str]
) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline)
    assert await post(client, sim.plain_push(event_xml("unsubscribe"))) == (200, "success")
    assert unsubscribed == [OPENID] and pipeline.received == []


async def test_subscribe_by_qr_code_reaches_the_pipeline_with_its_scene_and_gets_a_welcome(
    start: Callable[..., Any], sim: WeChatSim
) -> None:
    pipeline = FakePipeline(replies=[])
    client = await start(pipeline)
    _, body = await post(client, sim.plain_push(event_xml("subscribe", "qrscene_store_7")))
    [inbound] = pipeline.received
    assert (inbound.kind, inbound.payload, inbound.metadata["wechat"]["scene"]) == ("subscribe", "/greet", "store_7")
    assert sim.read_reply(body, encrypted=False).content == make_settings("").welcome_text


async def test_a_follower_scanning_a_parametric_qr_code_is_greeted_with_the_scene(
    start: Callable[..., Any], sim: WeChatSim
) -> None:
    pipeline = FakePipeline(replies=[])
    client = await start(pipeline)
    _, body = await post(client, sim.plain_push(event_xml("SCAN", "store_7")))
    [inbound] = pipeline.received
    assert (inbound.kind, inbound.payload, inbound.metadata["wechat"]["scene"]) == ("scan", "/greet", "store_7")
    assert sim.read_reply(body, encrypted=False).content == make_settings("").welcome_text


async def test_payloads_the_account_configured_need_no_button_but_typed_ones_do(
    start: Callable[..., Any], sim: WeChatSim
) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline)
    await post(client, sim.plain_push(event_xml("subscribe")))
    await post(client, sim.plain_push(event_xml("CLICK", "MENU_ASK", create_time=1409735680)))
    await post(client, sim.plain_push(text_xml("/request_human")))
    assert [(m.payload, m.trusted_payload) for m in pipeline.received] == [
        ("/greet", True),
        ("/ask_question", True),
        (None, False),
    ]


@pytest.mark.parametrize("placeholder", ["【收到不支持的消息类型，暂无法显示】", "[Unsupported Message]"])
async def test_a_sticker_placeholder_is_not_a_question(
    start: Callable[..., Any], sim: WeChatSim, placeholder: str
) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline)
    _, body = await post(client, sim.plain_push(text_xml(placeholder)))
    assert pipeline.received == []
    assert sim.read_reply(body, encrypted=False).content == make_settings("").unsupported_text


async def test_markdown_answers_reach_wechat_as_plain_text_with_bare_links(
    start: Callable[..., Any], sim: WeChatSim
) -> None:
    answer = "**Returns** are free within 7 days.\n- Print the label\n- See [the policy](https://shop.example/returns)"
    client = await start(FakePipeline(replies=[reply(answer)]))
    _, body = await post(client, sim.plain_push(text_xml("returns?")))
    assert sim.read_reply(body, encrypted=False).content == (
        "Returns are free within 7 days.\n• Print the label\n• See the policy: https://shop.example/returns"
    )


async def test_an_answer_longer_than_a_text_message_is_sent_in_order_in_pieces(
    start: Callable[..., Any], sim: WeChatSim, wechat_api: tuple[FakeWeChatAPI, str]
) -> None:
    fake, _ = wechat_api
    paragraphs = [f"第{i}段。" + "退货说明很长。" * 60 for i in range(1, 4)]  # about 1.3 KB of UTF-8 each
    client = await start(FakePipeline(replies=[reply("\n\n".join(paragraphs))]))
    assert await post(client, sim.plain_push(text_xml("退货"))) == (200, "success")
    await fake.wait_for_sends(3)
    sent = [s["text"]["content"] for s in fake.sends]
    assert sent == paragraphs
    assert all(len(text.encode("utf-8")) <= 2048 for text in sent)


async def test_menu_click_maps_its_key_to_an_intent_payload(start: Callable[..., Any], sim: WeChatSim) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline)
    await post(client, sim.plain_push(event_xml("CLICK", "MENU_ASK")))
    await post(client, sim.plain_push(event_xml("CLICK", "MENU_HOURS", create_time=1409735680)))
    ask, hours = pipeline.received
    assert (ask.kind, ask.payload, ask.text) == ("menu", "/ask_question", "/ask_question")
    assert (hours.payload, hours.text) == (None, "What are your opening hours?")


async def test_an_unmapped_menu_key_is_ignored(start: Callable[..., Any], sim: WeChatSim) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline)
    assert await post(client, sim.plain_push(event_xml("CLICK", "MENU_UNKNOWN"))) == (200, "success")
    assert pipeline.received == []


async def test_voice_with_recognition_is_handled_as_its_text(start: Callable[..., Any], sim: WeChatSim) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline)
    _, body = await post(client, sim.plain_push(voice_xml("我要退货")))
    assert pipeline.received[0].text == "我要退货" and pipeline.received[0].kind == "voice"
    assert sim.read_reply(body, encrypted=False).content == "You said: 我要退货"


async def test_voice_without_recognition_asks_the_customer_to_type(start: Callable[..., Any], sim: WeChatSim) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline)
    _, body = await post(client, sim.plain_push(voice_xml(None)))
    assert pipeline.received == []
    assert sim.read_reply(body, encrypted=False).content == make_settings("").voice_fallback_text


async def test_image_is_attached_to_the_turn_and_acknowledged(start: Callable[..., Any], sim: WeChatSim) -> None:
    pipeline = FakePipeline(replies=[])
    client = await start(pipeline)
    _, body = await post(client, sim.plain_push(image_xml()))
    [inbound] = pipeline.received
    assert inbound.kind == "image"
    assert inbound.attachments == ({"type": "image", "url": "http://mmbiz.example/pic.jpg", "media_id": "media-img-1"},)
    assert sim.read_reply(body, encrypted=False).content == make_settings("").image_ack_text


async def test_unsupported_message_types_get_a_polite_reply(start: Callable[..., Any], sim: WeChatSim) -> None:
    pipeline = FakePipeline()
    client = await start(pipeline)
    _, body = await post(client, sim.plain_push(text_xml("x").replace("[text]", "[location]")))
    assert pipeline.received == []
    assert sim.read_reply(body, encrypted=False).content == make_settings("").unsupported_text


# The ChannelAdapter used for agent replies.


def conversation(external_id: str = OPENID) -> Conversation:
    return Conversation(
        id="c1", customer_id="cu1", channel="wechat", language="zh", created_at=0.0, external_id=external_id
    )


async def test_channel_delivers_each_visible_message_through_the_cs_api(
    start: Callable[..., Any], wechat_api: tuple[FakeWeChatAPI, str]
) -> None:
    fake, _ = wechat_api
    client = await start(FakePipeline())
    channel = client.app[WECHAT_CHANNEL]
    assert channel.name == "wechat"
    await channel.deliver(
        conversation(), [reply("An agent here.", sender=Sender.AGENT), reply("", sender=Sender.EVENT, custom={"x": 1})]
    )
    assert fake.sends == [{"touser": OPENID, "msgtype": "text", "text": {"content": "An agent here."}}]


async def test_channel_surfaces_the_48_hour_window(
    start: Callable[..., Any], wechat_api: tuple[FakeWeChatAPI, str]
) -> None:
    wechat_api[0].send_errcodes = [45015]
    client = await start(FakePipeline())
    with pytest.raises(OutsideServiceWindow):
        await client.app[WECHAT_CHANNEL].deliver(conversation(), [reply("hello?", sender=Sender.AGENT)])


async def test_channel_refuses_a_conversation_without_an_openid(start: Callable[..., Any]) -> None:
    client = await start(FakePipeline())
    with pytest.raises(WeChatError):
        await client.app[WECHAT_CHANNEL].deliver(conversation(external_id=""), [reply("hi")])


def test_package_exports_exist() -> None:
    assert sorted(wechat_package.__all__) == sorted(set(wechat_package.__all__))
    for name in wechat_package.__all__:
        assert hasattr(wechat_package, name), name


async def test_a_dead_claim_store_still_answers_the_customer(
    aiohttp_client: ClientFactory,
    wechat_api: tuple[FakeWeChatAPI, str],
    sim: WeChatSim,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    app = web.Application()
    setup_wechat(app, make_settings(wechat_api[1]), FakePipeline(), redis=dead)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.ERROR):
        status, body = await post(client, sim.plain_push(text_xml("anyone there?")))
    await dead.aclose()
    assert status == 200 and sim.read_reply(body, encrypted=False).content == "You said: anyone there?"
    assert "dedup store failed" in caplog.text


async def test_redis_can_come_from_an_earlier_cleanup_ctx_by_app_key(
    aiohttp_client: ClientFactory, wechat_api: tuple[FakeWeChatAPI, str], sim: WeChatSim, redis_client: aioredis.Redis
) -> None:
    redis_key = web.AppKey("redis", aioredis.Redis)

    async def redis_context(app: web.Application) -> AsyncIterator[None]:
        app[redis_key] = redis_client
        yield

    app = web.Application()
    app.cleanup_ctx.append(redis_context)
    setup_wechat(app, make_settings(wechat_api[1]), FakePipeline(), redis=redis_key)
    client = await aiohttp_client(app)
    assert (await post(client, sim.plain_push(text_xml("via key", msg_id="31337"))))[0] == 200
    assert await redis_client.exists(DEDUP_KEY.format(app_id=APP_ID, message_key="msg:31337"))


async def test_a_long_agent_reply_is_delivered_in_pieces_wechat_accepts(
    start: Callable[..., Any], wechat_api: tuple[FakeWeChatAPI, str]
) -> None:
    fake, _ = wechat_api
    client = await start(FakePipeline())
    paragraphs = ["**第一段**。" + "请按说明退货。" * 60, "第二段。" + "我们会尽快处理。" * 60]  # 1.3 and 1.4 KB
    await client.app[WECHAT_CHANNEL].deliver(conversation(), [reply("\n\n".join(paragraphs), sender=Sender.AGENT)])
    sent = [s["text"]["content"] for s in fake.sends]
    assert sent == [paragraphs[0].replace("**", ""), paragraphs[1]]
    assert all(len(text.encode("utf-8")) <= 2048 for text in sent)
