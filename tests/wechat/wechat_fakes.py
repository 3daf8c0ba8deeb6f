"""Test doubles for the WeChat side: a loopback fake of the WeChat server API, and a simulator that signs,
encrypts and decodes pushes exactly as WeChat does, using wechatpy (an implementation independent of ours).

wechatpy 1.8.18 imports cleanly on Python 3.11 with cryptography 50 (it picks its `cryptography` backend), so no
workaround is needed; its DeprecationWarnings are filtered in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import xmltodict
from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

WECHAT_REDIS_DB = 2
REDIS_URL = os.environ.get("FD_TEST_REDIS_URL", "redis://127.0.0.1:6379")

TOKEN = "spamtest"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx2c2769f8efd9abc2"
APP_SECRET = "s3cr3t-app-secret"
ACCOUNT = "gh_10f6c3c3ac5a"
OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"

# XML attacks: exponential entity expansion, an external entity reading a local file, an external DTD.
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><Content>&lol3;</Content></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><FromUserName>a</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content></xml>"""
BARE_DTD = (
    b"""<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml><MsgType>text</MsgType></xml>"""
)


def url_signature(token: str, timestamp: str, nonce: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return str(signer.signature)


def text_xml(content: str, msg_id: str = "6054768590064713728", openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(event: str, event_key: str = "", create_time: int = 1409735670, openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{event_key}]]></EventKey></xml>"
    )


def voice_xml(recognition: str | None, msg_id: str = "7001") -> str:
    rec = f"<Recognition><![CDATA[{recognition}]]></Recognition>" if recognition is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>1409735671</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
        f"<MediaId><![CDATA[media-voice-1]]></MediaId><Format><![CDATA[amr]]></Format>{rec}<MsgId>{msg_id}</MsgId></xml>"
    )


def image_xml(msg_id: str = "7002") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>1409735672</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://mmbiz.example/pic.jpg]]></PicUrl><MediaId><![CDATA[media-img-1]]></MediaId>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


class WeChatSim:
    """Builds pushes the way WeChat's servers do, and reads our replies the way they would."""

    def __init__(self, token: str = TOKEN, aes_key: str = AES_KEY, app_id: str = APP_ID) -> None:
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id)

    def query(self, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**9))
        return {
            "signature": url_signature(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": OPENID,
        }

    def plain_push(self, xml: str) -> tuple[dict[str, str], bytes]:
        return self.query(), xml.encode("utf-8")

    def encrypted_push(self, xml: str, *, compatible: bool = False) -> tuple[dict[str, str], bytes]:
        """Safe mode: the body holds only ToUserName and Encrypt; msg_signature signs Encrypt."""
        query = self.query()
        envelope = xmltodict.parse(self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"]))["xml"]
        query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        if compatible:
            inner = xml.replace("</xml>", "")
            body = f"{inner}<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
        else:
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
            )
        return query, body.encode("utf-8")

    def signed_encrypt_push(self, encrypt: str) -> tuple[dict[str, str], bytes]:
        """A push whose Encrypt is given verbatim but correctly signed (to reach decryption)."""
        query = self.query()
        signer = WeChatSigner()
        signer.add_data(self.token, query["timestamp"], query["nonce"], encrypt)
        query.update(encrypt_type="aes", msg_signature=str(signer.signature))
        body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        return query, body.encode("utf-8")

    def read_reply(self, body: str, *, encrypted: bool) -> Any:
        """Our passive reply as wechatpy's message object (decrypting and checking MsgSignature first)."""
        if encrypted:
            envelope = xmltodict.parse(body)["xml"]
            body = self.crypto.decrypt_message(body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        return parse_message(body)


@dataclass
class FakeWeChatAPI:
    """The slice of api.weixin.qq.com the connector calls, recording every call.

    `send_errcodes` are answered to CS sends in order (then 0), `template_errcodes` to template messages (recorded in
    `templates`). `reject_token(t)` makes sends with `t` fail with `stale_errcode` until a new token is fetched.
    User info answers the UnionID in `union_ids` (none for an OpenID not there), or `user_info_errcode` when set.
    """

    token_fetch_delay_s: float = 0.05
    stale_errcode: int = 40001
    token_fetches: int = 0
    sends: list[dict[str, Any]] = field(default_factory=list)
    send_tokens: list[str] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    send_errcodes: list[int] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    template_errcodes: list[int] = field(default_factory=list)
    rejected_tokens: set[str] = field(default_factory=set)
    current_token: str = ""
    token_errcode: int = 0
    expires_in_s: int = 7200
    sent: asyncio.Event = field(default_factory=asyncio.Event)
    union_ids: dict[str, str] = field(default_factory=dict)
    user_info_calls: list[str] = field(default_factory=list)
    user_info_errcode: int = 0

    def reject_token(self, token: str) -> None:
        self.rejected_tokens.add(token)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        app.router.add_get("/cgi-bin/user/info", self._user_info)
        app.router.add_post("/cgi-bin/message/template/send", self._template)
        return app

    async def _user_info(self, request: web.Request) -> web.Response:
        openid = request.query.get("openid", "")
        self.user_info_calls.append(openid)
        if request.query.get("access_token") != self.current_token:
            return web.json_response({"errcode": self.stale_errcode, "errmsg": "invalid credential"})
        if self.user_info_errcode:
            return web.json_response({"errcode": self.user_info_errcode, "errmsg": "api unauthorized"})
        info: dict[str, Any] = {"subscribe": 1, "openid": openid, "language": "zh_CN"}
        if openid in self.union_ids:
            info["unionid"] = self.union_ids[openid]
        return web.json_response(info)

    async def _token(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.token_fetch_delay_s)
        self.token_fetches += 1
        if self.token_errcode:
            return web.json_response({"errcode": self.token_errcode, "errmsg": "invalid appsecret"})
        assert request.query["grant_type"] == "client_credential"
        assert request.query["appid"] == APP_ID and request.query["secret"] == APP_SECRET
        self.current_token = f"token-{self.token_fetches}"
        return web.json_response({"access_token": self.current_token, "expires_in": self.expires_in_s})

    async def _send(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        raw = await request.read()
        self.raw_bodies.append(raw)
        self.send_tokens.append(token)
        if token in self.rejected_tokens or token != self.current_token:
            return web.json_response({"errcode": self.stale_errcode, "errmsg": "invalid credential"})
        errcode = self.send_errcodes.pop(0) if self.send_errcodes else 0
        if errcode:
            return web.json_response({"errcode": errcode, "errmsg": f"scripted {errcode}"})
        self.sends.append(json.loads(raw))
        self.sent.set()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _template(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        if token in self.rejected_tokens or token != self.current_token:
            return web.json_response({"errcode": self.stale_errcode, "errmsg": "invalid credential"})
        errcode = self.template_errcodes.pop(0) if self.template_errcodes else 0
        if errcode:
            return web.json_response({"errcode": errcode, "errmsg": f"scripted {errcode}"})
        self.templates.append(json.loads(await request.read()))
        self.sent.set()
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 200228332})

    async def wait_for_sends(self, count: int, timeout_s: float = 15.0) -> None:
        async def enough() -> None:
            while len(self.sends) < count:
                self.sent.clear()
                await self.sent.wait()

        await asyncio.wait_for(enough(), timeout_s)
