"""Parsing pushes (defusedxml only) and rendering replies, checked against wechatpy's parser."""

from __future__ import annotations

import pytest
from wechatpy import parse_message as wechatpy_parse

from bot.channels.wechat.exceptions import MalformedMessage
from bot.channels.wechat.messages import (
    ImageMessage,
    MenuClickEvent,
    OtherMessage,
    SubscribeEvent,
    TextMessage,
    UnsubscribeEvent,
    VoiceMessage,
    cdata,
    format_replies,
    parse_fields,
    parse_message,
    text_reply_xml,
)
from conversations.models import Button, Message, Sender
from tests.wechat.wechat_fakes import (
    ACCOUNT,
    BARE_DTD,
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    OPENID,
    event_xml,
    image_xml,
    text_xml,
    voice_xml,
)


def parse(xml: str) -> object:
    return parse_message(parse_fields(xml.encode()))


def test_text_push_becomes_a_text_message_with_msg_id() -> None:
    message = parse(text_xml("你好 hello"))
    assert message == TextMessage(
        to_user=ACCOUNT,
        from_user=OPENID,
        create_time=1409735668,
        msg_type="text",
        msg_id="6054768590064713728",
        content="你好 hello",
    )


def test_voice_push_carries_recognition_when_present() -> None:
    message = parse(voice_xml("查询订单"))
    assert isinstance(message, VoiceMessage) and message.recognition == "查询订单"


def test_voice_push_without_recognition_has_none() -> None:
    message = parse(voice_xml(None))
    assert isinstance(message, VoiceMessage) and message.recognition is None


def test_image_push_keeps_pic_url_and_media_id() -> None:
    message = parse(image_xml())
    assert isinstance(message, ImageMessage)
    assert (message.pic_url, message.media_id) == ("http://mmbiz.example/pic.jpg", "media-img-1")


def test_subscribe_by_qr_code_keeps_the_scene_key() -> None:
    message = parse(event_xml("subscribe", "qrscene_campaign42"))
    assert isinstance(message, SubscribeEvent) and message.scene == "campaign42"


def test_plain_subscribe_has_no_scene() -> None:
    message = parse(event_xml("subscribe"))
    assert isinstance(message, SubscribeEvent) and message.scene is None


def test_unsubscribe_and_click_events_are_typed() -> None:
    assert isinstance(parse(event_xml("unsubscribe")), UnsubscribeEvent)
    click = parse(event_xml("CLICK", "MENU_FAQ"))
    assert isinstance(click, MenuClickEvent) and click.event_key == "MENU_FAQ"


def test_unknown_types_and_events_are_other_messages() -> None:
    assert isinstance(parse(event_xml("VIEW", "https://example.com")), OtherMessage)
    video = text_xml("x").replace("[text]", "[video]")
    assert isinstance(parse(video), OtherMessage)


def test_events_are_deduplicated_by_sender_time_and_event() -> None:
    first = parse(event_xml("subscribe", create_time=100))
    again = parse(event_xml("subscribe", create_time=100))
    later = parse(event_xml("subscribe", create_time=101))
    assert first.dedup_key == again.dedup_key != later.dedup_key  # type: ignore[attr-defined]


def test_messages_are_deduplicated_by_msg_id() -> None:
    assert parse(text_xml("a", msg_id="1")).dedup_key == parse(text_xml("b", msg_id="1")).dedup_key  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(BARE_DTD, id="dtd"),
        pytest.param(b"<xml><Content>unclosed</xml>", id="malformed"),
        pytest.param(b"\x00\xff\xfe\x89PNG\r\n\x1a\n" * 20, id="binary"),
        pytest.param(b"", id="empty"),
        pytest.param(b"<root><MsgType>text</MsgType></root>", id="wrong-root"),
        pytest.param("<xml><Content>\udcff</Content></xml>".encode("utf-8", "surrogatepass"), id="bad-utf8"),
        # Characters XML 1.0 cannot carry, as references: a NUL, a lone surrogate, a terminal escape.
        pytest.param(text_xml("x").replace("<Content><![CDATA[x]]>", "<Content>x&#0;y").encode(), id="nul-ref"),
        pytest.param(text_xml("x").replace("<Content><![CDATA[x]]>", "<Content>&#xD800;").encode(), id="surrogate-ref"),
        pytest.param(text_xml("x").replace("<Content><![CDATA[x]]>", "<Content>&#x1b;[2J").encode(), id="escape-ref"),
        pytest.param(text_xml("x").replace("x", "x\x00y").encode(), id="raw-nul"),
    ],
)
def test_hostile_or_broken_xml_is_rejected_as_malformed(body: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse_fields(body)


def test_xml_nested_thousands_deep_is_malformed_not_a_recursion_error() -> None:
    body = b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>"
    with pytest.raises(MalformedMessage):
        parse_message(parse_fields(body))


@pytest.mark.parametrize(
    "xml",
    [
        "<xml><MsgType>text</MsgType></xml>",
        "<xml><FromUserName>a</FromUserName><CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>",
        # A time past 64 bits, and one in Arabic-Indic digits (which `int` reads).
        event_xml("subscribe").replace("1409735670", "9" * 25),
        event_xml("subscribe").replace("1409735670", "\u0661\u0664\u0660\u0669"),
    ],
    ids=["no-sender", "time-not-a-number", "time-beyond-64-bits", "time-in-other-digits"],
)
def test_pushes_missing_required_fields_are_malformed(xml: str) -> None:
    with pytest.raises(MalformedMessage):
        parse(xml)


def test_cdata_splits_the_terminator_so_text_survives_a_real_parser() -> None:
    hostile = "a]]>b<c>&amp;]]]]>"
    reply = text_reply_xml(OPENID, ACCOUNT, hostile, 1500000000)
    parsed = wechatpy_parse(reply)
    assert parsed.content == hostile
    assert parse_fields(reply.encode())["Content"] == hostile


def test_cdata_drops_characters_xml_cannot_carry() -> None:
    assert cdata("a\x00b\x1bc") == "<![CDATA[abc]]>"


def test_text_reply_is_read_by_wechatpy_as_from_the_account_to_the_customer() -> None:
    parsed = wechatpy_parse(text_reply_xml(OPENID, ACCOUNT, "您好", 1500000000))
    assert (parsed.type, parsed.source, parsed.target, parsed.content) == ("text", ACCOUNT, OPENID, "您好")


def bot(text: str, *buttons: Button, sender: Sender = Sender.BOT, custom: dict[str, object] | None = None) -> Message:
    return Message(
        id=text or "m",
        conversation_id="c1",
        seq=1,
        sender=sender,
        text=text,
        created_at=0.0,
        buttons=buttons,
        custom=dict(custom or {}),
    )


def test_several_replies_join_into_one_text_with_numbered_buttons() -> None:
    replies = [
        bot("Here is the answer."),
        bot(
            "Did this help?",
            Button("Yes", '/kb_feedback{"helpful":"yes"}'),
            Button("No", '/kb_feedback{"helpful":"no"}'),
        ),
        bot("", sender=Sender.EVENT, custom={"kb": {}}),
        bot("", custom={"handoff": {"reason": "kb_not_found"}}),
    ]
    assert format_replies(replies) == "Here is the answer.\n\nDid this help?\n1. Yes\n2. No"
