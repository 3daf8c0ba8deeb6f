"""Signatures and message crypto, against WeChat's published vectors and wechatpy."""

from __future__ import annotations

import base64

import pytest
import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

from bot.channels.wechat.crypto import MessageCrypto, sha1_signature, verify_signature
from bot.channels.wechat.exceptions import InvalidAppId, InvalidCiphertext, InvalidSettings, InvalidSignature
from bot.channels.wechat.settings import WeChatSettings

# Tencent's sample for the Official Account message crypto (WXBizMsgCrypt "Sample.py", published with the docs).
SAMPLE_TOKEN = "spamtest"
SAMPLE_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_APP_ID = "wx2c2769f8efd9abc2"
SAMPLE_TIMESTAMP = "1409735669"
SAMPLE_NONCE = "1320562132"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9F"
    "rXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+"
    "WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0"
    "EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
SAMPLE_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
    "<CreateTime>1409735668</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[abcdteT]]></Content>\n"
    "<MsgId>6054768590064713728</MsgId>\n"
    "</xml>"
)

# The encryption vector from wechatpy's tests (same cipher; the WeCom CorpID takes the AppID's place), with the
# random 16-byte prefix fixed so the ciphertext is deterministic.
ENC_TOKEN = "123456"
ENC_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
ENC_APP_ID = "wx49f0ab532d5d035a"
ENC_TIMESTAMP = "1411525903"
ENC_NONCE = "461056294"
ENC_PLAINTEXT = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
ENC_EXPECTED = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObv"
    "esEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NR"
    "rrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oa"
    "zPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)
ENC_EXPECTED_SIGNATURE = "407518b7649e86ef23978113f92d27afa9296533"


def sample_crypto() -> MessageCrypto:
    return MessageCrypto(SAMPLE_TOKEN, SAMPLE_AES_KEY, SAMPLE_APP_ID)


def test_url_signature_matches_the_published_vector() -> None:
    assert sha1_signature("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    verify_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test")


def test_url_signature_with_one_changed_character_is_rejected() -> None:
    with pytest.raises(InvalidSignature):
        verify_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe", "1410685589", "test")


def test_url_signature_with_non_ascii_garbage_is_rejected_not_crashed() -> None:
    with pytest.raises(InvalidSignature):
        verify_signature("test", "签名", "1410685589", "test")


def test_tencent_sample_message_decrypts_to_the_published_plaintext() -> None:
    plain = sample_crypto().verify_and_decrypt(SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT)
    assert plain.decode("utf-8") == SAMPLE_PLAINTEXT


def test_tencent_sample_msg_signature_is_reproduced() -> None:
    assert sample_crypto().sign(SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT) == SAMPLE_MSG_SIGNATURE


def test_encryption_with_a_fixed_prefix_matches_the_published_ciphertext() -> None:
    crypto = MessageCrypto(ENC_TOKEN, ENC_AES_KEY, ENC_APP_ID)
    encrypt = crypto.encrypt(ENC_PLAINTEXT.encode(), random_prefix=b"1234567890123456")
    assert encrypt == ENC_EXPECTED
    assert crypto.sign(ENC_TIMESTAMP, ENC_NONCE, encrypt) == ENC_EXPECTED_SIGNATURE


def test_our_ciphertext_decrypts_with_wechatpy() -> None:
    ours = sample_crypto()
    encrypt = ours.encrypt("<xml><Content><![CDATA[你好]]></Content></xml>".encode())
    signature = ours.sign("1500000000", "42", encrypt)
    theirs = WeChatCrypto(SAMPLE_TOKEN, SAMPLE_AES_KEY, SAMPLE_APP_ID)
    assert theirs.decrypt_message({"Encrypt": encrypt}, signature, "1500000000", "42") == (
        "<xml><Content><![CDATA[你好]]></Content></xml>"
    )


@pytest.mark.parametrize("length", [0, 1, 11, 31, 32, 33, 200])
def test_wechatpy_ciphertext_of_any_length_decrypts_with_ours(length: int) -> None:
    message = "x" * length
    theirs = WeChatCrypto(SAMPLE_TOKEN, SAMPLE_AES_KEY, SAMPLE_APP_ID)
    envelope = xmltodict.parse(theirs.encrypt_message(message, "7", "1500000000"))["xml"]
    plain = sample_crypto().verify_and_decrypt(envelope["MsgSignature"], "1500000000", "7", envelope["Encrypt"])
    assert plain == message.encode()


def test_a_message_for_another_app_id_is_rejected_by_both_implementations() -> None:
    other = MessageCrypto(SAMPLE_TOKEN, SAMPLE_AES_KEY, "wx0000000000000000")
    encrypt = other.encrypt(b"<xml/>")
    with pytest.raises(InvalidAppId):
        sample_crypto().decrypt(encrypt)
    with pytest.raises(InvalidAppIdException):
        WeChatCrypto(SAMPLE_TOKEN, SAMPLE_AES_KEY, SAMPLE_APP_ID).decrypt_message(
            {"Encrypt": encrypt}, sample_crypto().sign("1", "2", encrypt), "1", "2"
        )


def test_a_tampered_msg_signature_is_rejected_before_decryption() -> None:
    with pytest.raises(InvalidSignature):
        sample_crypto().verify_and_decrypt("0" * 40, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT)


def test_a_tampered_ciphertext_fails_the_msg_signature() -> None:
    tampered = "A" + SAMPLE_ENCRYPT[1:]
    with pytest.raises(InvalidSignature):
        sample_crypto().verify_and_decrypt(SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE, tampered)


@pytest.mark.parametrize(
    "encrypt",
    [
        pytest.param(base64.b64encode(base64.b64decode(SAMPLE_ENCRYPT)[:-16]).decode(), id="last-block-dropped"),
        pytest.param(base64.b64encode(base64.b64decode(SAMPLE_ENCRYPT)[:-5]).decode(), id="partial-block"),
        pytest.param(base64.b64encode(base64.b64decode(SAMPLE_ENCRYPT)[:16]).decode(), id="one-block"),
        pytest.param("", id="empty"),
        pytest.param("not base64!!", id="not-base64"),
        pytest.param("密文", id="non-ascii"),
    ],
)
def test_truncated_or_garbled_ciphertext_raises_invalid_ciphertext(encrypt: str) -> None:
    with pytest.raises(InvalidCiphertext):
        sample_crypto().decrypt(encrypt)


def test_a_plaintext_declaring_more_bytes_than_it_holds_is_truncated() -> None:
    crypto = sample_crypto()
    # A plaintext built by hand whose length field claims 1000 bytes.
    key = base64.b64decode(SAMPLE_AES_KEY + "=")
    plain = b"r" * 16 + (1000).to_bytes(4, "big") + b"<xml/>" + SAMPLE_APP_ID.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    encrypt = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    with pytest.raises(InvalidCiphertext):
        crypto.decrypt(encrypt)


def test_bad_padding_raises_invalid_ciphertext() -> None:
    key = base64.b64decode(SAMPLE_AES_KEY + "=")
    plain = b"r" * 16 + (6).to_bytes(4, "big") + b"<xml/>" + SAMPLE_APP_ID.encode()
    plain += b"\x00" * (32 - len(plain) % 32)  # zero is never a valid PKCS#7 pad byte
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    encrypt = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    with pytest.raises(InvalidCiphertext):
        sample_crypto().decrypt(encrypt)


@pytest.mark.parametrize("key", ["short", "!" * 43, SAMPLE_AES_KEY + "A"])
def test_settings_reject_an_unusable_encoding_aes_key(key: str) -> None:
    with pytest.raises(InvalidSettings):
        WeChatSettings(token="t", app_id="wx1", app_secret="s", encoding_aes_key=key, encoding_mode="safe")  # type: ignore[arg-type]
