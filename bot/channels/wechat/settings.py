"""Settings for one WeChat Official Account. Built once by the caller and passed in; never reads the environment.

Owns `WeChatSettings` (what the channel runs with) and `WeChatConfig` (the `FD_WECHAT_*` variables, composed into the
front door's settings as `Settings.wechat`; `account()` is the account they describe, or None when WeChat is off).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from backends.settings import EnvSettings
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


# A `TemplateNotice` field → the template key that carries it; the default fits the classic ticket-update template
# ({{first.DATA}} 工单号 {{keyword1.DATA}} 状态 {{keyword2.DATA}} {{remark.DATA}}).
TEMPLATE_NOTICE_FIELDS = ("title", "reference", "status", "text")
DEFAULT_TEMPLATE_FIELDS = {"title": "first", "reference": "keyword1", "status": "keyword2", "text": "remark"}


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
    learn_union_id: bool = False  # ask WeChat for each customer's UnionID (`/cgi-bin/user/info`)
    # The template message for a ticket's news outside the 48-hour window ("": none), the page a tap opens, and
    # which of the template's keys carries each field of a `TemplateNotice` (title, reference, status, text).
    template_id: str = ""
    template_url: str = ""
    template_fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATE_FIELDS))

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
        unknown = set(self.template_fields) - set(TEMPLATE_NOTICE_FIELDS)
        if unknown:
            raise InvalidSettings(f"template_fields names unknown notice fields: {sorted(unknown)}")


def template_fields(value: str) -> dict[str, str]:
    """`"title=first,reference=keyword1"` → {"title": "first", "reference": "keyword1"}. Raises ValueError."""
    fields: dict[str, str] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        name, sep, key = (s.strip() for s in part.partition("="))
        if not sep or not key or name not in TEMPLATE_NOTICE_FIELDS:
            raise ValueError(f"wants comma-separated FIELD=KEY pairs, FIELD one of {', '.join(TEMPLATE_NOTICE_FIELDS)}")
        fields[name] = key
    return fields


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


_DEFAULT_TEMPLATE_FIELDS_TEXT = ",".join(f"{name}={key}" for name, key in DEFAULT_TEMPLATE_FIELDS.items())


def _checked_template_fields(value: str) -> str:
    template_fields(value)
    return value


class WeChatConfig(EnvSettings):
    """The `FD_WECHAT_*` variables: one Official Account, mounted at /wechat when the token is set."""

    model_config = EnvSettings.config("FD_WECHAT_")
    doc_title = "WeChat Official Account (`bot/channels/wechat/settings.py`)"

    token: str = Field(
        "",
        description="WeChat Official Account token; setting it mounts the WeChat channel at `/wechat`.",
        json_schema_extra={"doc_default": "(empty: WeChat off)"},
    )
    app_id: str = Field("", description="WeChat AppID.")
    app_secret: str = Field("", description="WeChat AppSecret (customer-service message API).")
    encoding_aes_key: str = Field("", description="EncodingAESKey (43 characters; compatible and safe modes).")
    encoding_mode: EncodingMode = Field(
        EncodingMode.PLAINTEXT, description="`plaintext`, `compatible` or `safe`, as set in the WeChat admin console."
    )
    api_base_url: str = Field(
        "https://api.weixin.qq.com", pattern=r"^https?://", description="WeChat API base URL (a fake server in tests)."
    )
    idle_close_s: float = Field(
        IDLE_CLOSE_S,
        gt=0,
        description="A WeChat conversation whose customer has been silent this long is closed; their next message "
        "opens a new one (half of WeChat's 48-hour reply window, so agents can still follow up on the old one).",
    )
    union_id: bool = Field(
        False,
        description="Ask WeChat for each customer's UnionID (user info API; the account must be bound to a WeChat "
        "Open Platform) and link it to their record, so the same person on the company's other WeChat accounts "
        "and mini programs is one customer. At most once a day per customer and replica.",
    )
    template_id: str = Field(
        "",
        description="Template message (模板消息) that carries a ticket's news to a customer outside WeChat's 48-hour "
        "customer-service window.",
        json_schema_extra={"doc_default": "(empty: such news is recorded as failed)"},
    )
    template_url: str = Field(
        "", pattern=r"^(https?://.+)?$", description="Page the template message opens when tapped (optional)."
    )
    template_fields: Annotated[str, AfterValidator(_checked_template_fields)] = Field(
        _DEFAULT_TEMPLATE_FIELDS_TEXT,
        description="Which template key carries each part of the news: `title`, `reference` (the ticket number), "
        "`status` and `text`, as `FIELD=KEY` pairs.",
    )

    @model_validator(mode="after")
    def _account_is_complete(self) -> WeChatConfig:
        if self.token:
            if not self.app_id:
                raise ValueError("FD_WECHAT_APP_ID is required when FD_WECHAT_TOKEN is set")
            if self.encoding_mode is not EncodingMode.PLAINTEXT:
                try:
                    aes_key(self.encoding_aes_key)
                except InvalidSettings as exc:
                    raise ValueError(
                        f"FD_WECHAT_ENCODING_AES_KEY: {exc} (FD_WECHAT_ENCODING_MODE is {self.encoding_mode.value})"
                    ) from exc
        return self

    def account(self) -> WeChatSettings | None:
        """The account to mount, or None when WeChat is off (no token)."""
        if not self.token:
            return None
        return WeChatSettings(
            token=self.token,
            app_id=self.app_id,
            app_secret=self.app_secret,
            encoding_aes_key=self.encoding_aes_key,
            encoding_mode=self.encoding_mode,
            api_base_url=self.api_base_url,
            idle_close_s=self.idle_close_s,
            learn_union_id=self.union_id,
            template_id=self.template_id,
            template_url=self.template_url,
            template_fields=template_fields(self.template_fields),
        )
