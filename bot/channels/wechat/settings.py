"""Settings for one WeChat Official Account. Built once by the caller and passed in; never reads the environment."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.channels.wechat.constants import IDLE_CLOSE_S, MAX_BODY_BYTES, PASSIVE_REPLY_DEADLINE_S
from bot.channels.wechat.exceptions import InvalidSettings
from i18n import bilingual


class EncodingMode(StrEnum):
    """The account's message encryption mode as configured in the WeChat admin console."""

    PLAINTEXT = "plaintext"
    COMPATIBLE = "compatible"
    SAFE = "safe"


# Said before the customer's language is known, so in both languages (see `i18n.bilingual`).
DEFAULT_WELCOME_TEXT = bilingual("Welcome! Ask me anything, or type 'human' to reach an agent.")
DEFAULT_VOICE_FALLBACK_TEXT = bilingual("Sorry, I couldn't make out that voice message. Please type it.")
DEFAULT_IMAGE_ACK_TEXT = bilingual("Thanks, we've received your picture and added it to your conversation.")
DEFAULT_UNSUPPORTED_TEXT = bilingual("Sorry, I can only read text, voice and pictures here.")


@dataclass(frozen=True)
class WeChatSettings:
    """One Official Account.

    `menu_payloads` maps a CLICK menu EventKey to what the customer "said": an intent payload such as
    `/ask_question` or plain FAQ text. `reply_deadline_s` is how long a POST waits for the pipeline before
    answering `success` and delivering through the customer-service API instead.
    """

    token: str
    app_id: str
    app_secret: str
    encoding_aes_key: str = ""
    encoding_mode: EncodingMode = EncodingMode.PLAINTEXT
    api_base_url: str = "https://api.weixin.qq.com"
    reply_deadline_s: float = PASSIVE_REPLY_DEADLINE_S
    idle_close_s: float = IDLE_CLOSE_S
    max_body_bytes: int = MAX_BODY_BYTES
    menu_payloads: Mapping[str, str] = field(default_factory=dict)
    subscribe_payload: str = "/greet"
    welcome_text: str = DEFAULT_WELCOME_TEXT
    voice_fallback_text: str = DEFAULT_VOICE_FALLBACK_TEXT
    image_ack_text: str = DEFAULT_IMAGE_ACK_TEXT
    unsupported_text: str = DEFAULT_UNSUPPORTED_TEXT

    def __post_init__(self) -> None:
        if not self.token or not self.app_id:
            raise InvalidSettings("WeChat token and AppID are required")
        if not isinstance(self.encoding_mode, EncodingMode):
            object.__setattr__(self, "encoding_mode", EncodingMode(self.encoding_mode))
        if self.encoding_mode is not EncodingMode.PLAINTEXT:
            aes_key(self.encoding_aes_key)
        if self.reply_deadline_s <= 0:
            raise InvalidSettings("reply_deadline_s must be positive")
        if self.idle_close_s <= 0:
            raise InvalidSettings("idle_close_s must be positive")


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind a 43-character EncodingAESKey (WeChat drops the base64 '=' padding)."""
    if len(encoding_aes_key) != 43:
        raise InvalidSettings("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSettings("EncodingAESKey is not valid base64") from exc
    if len(key) != 32:
        raise InvalidSettings("EncodingAESKey must decode to 32 bytes")
    return key
