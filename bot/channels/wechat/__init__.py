"""WeChat Official Account (公众号) connector: signed/encrypted pushes in, passive or CS-API replies out.

Mount with `setup_wechat(app, settings, pipeline, ...)`; agent replies go through `app[WECHAT_CHANNEL]`.
"""

from bot.channels.wechat.api import (
    AccessTokenHolder,
    AccessTokenStore,
    CustomerServiceClient,
    MemoryAccessTokenStore,
    RedisAccessTokenStore,
    service_window_remaining_s,
)
from bot.channels.wechat.channel import (
    WECHAT_CHANNEL,
    WECHAT_CS_CLIENT,
    WECHAT_INBOUND,
    WeChatChannel,
    setup_wechat,
    wechat_routes,
)
from bot.channels.wechat.crypto import MessageCrypto, sha1_signature, verify_signature
from bot.channels.wechat.dedup import MemoryDeduplicator, MessageDeduplicator, RedisDeduplicator
from bot.channels.wechat.exceptions import (
    AccessTokenError,
    APITransportError,
    BodyTooLarge,
    InboundRejected,
    InvalidAppId,
    InvalidCiphertext,
    InvalidSettings,
    InvalidSignature,
    MalformedMessage,
    OutsideServiceWindow,
    QuotaExceeded,
    TokenStoreError,
    WeChatAPIError,
    WeChatError,
)
from bot.channels.wechat.inbound import InboundPipeline, TurnState, UnionIdHook, UnsubscribeHook, WeChatInbound
from bot.channels.wechat.settings import EncodingMode, WeChatConfig, WeChatSettings

__all__ = [
    "WECHAT_CHANNEL",
    "WECHAT_CS_CLIENT",
    "WECHAT_INBOUND",
    "APITransportError",
    "AccessTokenError",
    "AccessTokenHolder",
    "AccessTokenStore",
    "BodyTooLarge",
    "CustomerServiceClient",
    "EncodingMode",
    "InboundPipeline",
    "InboundRejected",
    "InvalidAppId",
    "InvalidCiphertext",
    "InvalidSettings",
    "InvalidSignature",
    "MalformedMessage",
    "MemoryAccessTokenStore",
    "MemoryDeduplicator",
    "MessageCrypto",
    "MessageDeduplicator",
    "OutsideServiceWindow",
    "QuotaExceeded",
    "RedisAccessTokenStore",
    "RedisDeduplicator",
    "TokenStoreError",
    "TurnState",
    "UnionIdHook",
    "UnsubscribeHook",
    "WeChatAPIError",
    "WeChatChannel",
    "WeChatConfig",
    "WeChatError",
    "WeChatInbound",
    "WeChatSettings",
    "service_window_remaining_s",
    "setup_wechat",
    "sha1_signature",
    "verify_signature",
    "wechat_routes",
]
