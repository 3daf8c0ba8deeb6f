"""WeChat's XML wire format: inbound pushes parsed into typed messages, passive replies rendered back.

Owns: XML parsing (defusedxml only; DTDs, entities and external references are refused), the typed message
classes, and rendering transcript `Message`s as WeChat text (buttons become numbered options).
Must never: parse XML with the standard library parser directly, or build XML by string formatting of unescaped
customer text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as StdET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET

from bot.channels.formats import plain_text, split_text
from bot.channels.wechat.exceptions import MalformedMessage
from conversations.models import Message, Sender

# Characters XML 1.0 cannot carry at all; customer or bot text containing them would make WeChat reject the reply.
_XML_ILLEGAL = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
QR_SCENE_PREFIX = "qrscene_"
# What WeChat puts in a text push for content it cannot pass on (stickers, red packets, some emoji, files from newer
# clients): shown to us as if the customer had typed it. Reported by operators of Official Accounts.
UNSUPPORTED_PLACEHOLDERS = frozenset(
    {"【收到不支持的消息类型，暂无法显示】", "[收到不支持的消息类型，暂无法显示]", "[Unsupported Message]"}
)
# The most a text message may carry, in UTF-8 bytes (WeChat's documented limit for passive replies and customer
# service text messages); longer answers are split.
MAX_TEXT_BYTES = 2048


@dataclass(frozen=True, kw_only=True)
class WeChatMessage:
    """Fields every push carries. `from_user` is the customer's OpenID; `to_user` the account's original id."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    msg_id: str | None = None
    event: str = ""

    @property
    def dedup_key(self) -> str:
        """Messages are keyed by MsgId; events carry none, so sender + CreateTime + Event stands in."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"event:{self.from_user}:{self.create_time}:{self.event}"


@dataclass(frozen=True, kw_only=True)
class TextMessage(WeChatMessage):
    content: str


@dataclass(frozen=True, kw_only=True)
class VoiceMessage(WeChatMessage):
    media_id: str
    format: str = ""
    recognition: str | None = None


@dataclass(frozen=True, kw_only=True)
class ImageMessage(WeChatMessage):
    pic_url: str
    media_id: str


@dataclass(frozen=True, kw_only=True)
class SubscribeEvent(WeChatMessage):
    """A follow (event "subscribe"), or a follower scanning a parametric QR code (event "scan"). `scene` is the QR
    code's scene key, when there is one."""

    scene: str | None = None


@dataclass(frozen=True, kw_only=True)
class UnsubscribeEvent(WeChatMessage):
    pass


@dataclass(frozen=True, kw_only=True)
class MenuClickEvent(WeChatMessage):
    event_key: str


@dataclass(frozen=True, kw_only=True)
class OtherMessage(WeChatMessage):
    """Anything else (video, location, link, stickers, VIEW/LOCATION events...): not handled beyond a polite reply."""


_SECONDS = re.compile(r"[0-9]{1,18}")


class _Common(TypedDict):
    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    msg_id: str | None


def parse_fields(body: bytes) -> dict[str, str]:
    """The direct children of `<xml>` as tag → text. Refuses DTDs, entities and anything not well-formed."""
    try:
        root: StdET.Element = DefusedET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise MalformedMessage(f"XML uses forbidden constructs: {type(exc).__name__}") from exc
    except (StdET.ParseError, ValueError, UnicodeError, LookupError) as exc:  # LookupError: an unknown encoding
        raise MalformedMessage("body is not well-formed XML") from exc
    if root.tag != "xml":
        raise MalformedMessage("root element is not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def parse_message(fields: dict[str, str]) -> WeChatMessage:
    """A typed message from the fields of a (decrypted) push."""
    if not _SECONDS.fullmatch(fields.get("CreateTime", "")):
        # `int` would also read other scripts' digits, and a number past 64 bits no store holds.
        raise MalformedMessage("CreateTime is not a time in seconds (ASCII digits, at most 18)")
    try:
        base: _Common = {
            "to_user": fields.get("ToUserName", ""),
            "from_user": fields["FromUserName"],
            "create_time": int(fields["CreateTime"]),
            "msg_type": fields["MsgType"].lower(),
            "msg_id": fields.get("MsgId") or None,
        }
    except (KeyError, ValueError) as exc:
        raise MalformedMessage("push lacks FromUserName, CreateTime or MsgType") from exc
    if not base["from_user"]:
        raise MalformedMessage("empty FromUserName")
    msg_type = base["msg_type"]
    if msg_type == "text":
        content = fields.get("Content", "")
        if content.strip() in UNSUPPORTED_PLACEHOLDERS:
            base["msg_type"] = "unsupported"
            return OtherMessage(**base)
        return TextMessage(**base, content=content)
    if msg_type == "voice":
        recognition = fields.get("Recognition", "").strip() or None
        return VoiceMessage(
            **base,
            media_id=fields.get("MediaId", ""),
            format=fields.get("Format", ""),
            recognition=recognition,
        )
    if msg_type == "image":
        return ImageMessage(**base, pic_url=fields.get("PicUrl", ""), media_id=fields.get("MediaId", ""))
    if msg_type == "event":
        return _parse_event(base, fields)
    return OtherMessage(**base)


def _parse_event(base: _Common, fields: dict[str, str]) -> WeChatMessage:
    event = fields.get("Event", "").lower()
    event_key = fields.get("EventKey", "")
    if event == "subscribe":
        scene = event_key[len(QR_SCENE_PREFIX) :] if event_key.startswith(QR_SCENE_PREFIX) else None
        return SubscribeEvent(**base, event=event, scene=scene or None)
    if event == "scan":  # a follower scanned a parametric QR code: the key is the scene itself, without the prefix
        return SubscribeEvent(**base, event=event, scene=event_key or None)
    if event == "unsubscribe":
        return UnsubscribeEvent(**base, event=event)
    if event == "click":
        return MenuClickEvent(**base, event=event, event_key=event_key)
    return OtherMessage(**base, event=event)


def cdata(text: str) -> str:
    """`text` as CDATA. `]]>` cannot appear inside a CDATA section, so it is split across two sections."""
    clean = _XML_ILLEGAL.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """A passive text reply. `to_user` is the customer's OpenID, `from_user` the account's original id."""
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )


def encrypted_reply_xml(encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> str:
    """The safe-mode envelope around an encrypted passive reply."""
    return (
        "<xml>"
        f"<Encrypt>{cdata(encrypt)}</Encrypt>"
        f"<MsgSignature>{cdata(msg_signature)}</MsgSignature>"
        f"<TimeStamp>{cdata(timestamp)}</TimeStamp>"
        f"<Nonce>{cdata(nonce)}</Nonce>"
        "</xml>"
    )


def visible_replies(messages: Sequence[Message]) -> list[Message]:
    """The messages a customer should see: machine `event` lines and payload-only messages are dropped."""
    return [m for m in messages if m.sender is not Sender.EVENT and (m.text.strip() or m.buttons)]


def format_message(message: Message) -> str:
    """One message as WeChat text: plain text (WeChat shows Markdown's marks as typed, so answers written in Markdown
    lose them, and links become bare addresses it makes clickable); buttons become a numbered list. May be longer
    than a text message may carry: `message_texts` splits it."""
    text = plain_text(message.text.strip())
    lines = [text] if text else []
    lines.extend(f"{i}. {button.title}" for i, button in enumerate(message.buttons, start=1))
    return "\n".join(lines)


def message_texts(messages: Sequence[Message]) -> list[str]:
    """The visible messages as WeChat text messages, in order, each within `MAX_TEXT_BYTES` (long ones split at
    clean breaks)."""
    return [piece for m in visible_replies(messages) for piece in split_text(format_message(m), MAX_TEXT_BYTES)]


def format_replies(messages: Sequence[Message]) -> str:
    """Several replies joined into one text, because a passive reply can carry only one message."""
    return "\n\n".join(format_message(m) for m in visible_replies(messages))
