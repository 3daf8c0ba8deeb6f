"""Every error the WeChat connector raises. Handlers map these to status codes; nothing else is raised on purpose."""

from __future__ import annotations


class WeChatError(Exception):
    """Base class for WeChat connector errors."""


class InvalidSettings(WeChatError):
    """The account settings cannot work (missing token, bad EncodingAESKey)."""


class InboundRejected(WeChatError):
    """A push from WeChat (or someone pretending to be WeChat) that must not be processed."""

    status = 400


class InvalidSignature(InboundRejected):
    """`signature` or `msg_signature` does not match the account token."""

    status = 403


class InvalidAppId(InboundRejected):
    """The decrypted message names another AppID."""

    status = 403


class InvalidCiphertext(InboundRejected):
    """The Encrypt field is not base64, not whole AES blocks, badly padded or truncated."""


class MalformedMessage(InboundRejected):
    """The body is not a well-formed WeChat XML message, or uses DTDs/entities."""


class BodyTooLarge(InboundRejected):
    """The body is larger than the configured limit."""

    status = 413


class WeChatAPIError(WeChatError):
    """The WeChat server API answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class OutsideServiceWindow(WeChatAPIError):
    """errcode 45015: the customer last wrote more than 48 hours ago, so the CS API may not message them."""


class QuotaExceeded(WeChatAPIError):
    """errcode 45047: too many CS messages to this customer since their last message."""


class AccessTokenError(WeChatAPIError):
    """Fetching the access token failed (wrong AppSecret, IP not whitelisted, ...)."""


class TokenStoreError(WeChatError):
    """The shared access-token store (Redis) failed."""


class APITransportError(WeChatError):
    """The WeChat API could not be reached or answered something that is not JSON."""
