"""WeChat request signatures and the safe/compatible-mode message cipher.

Owns: URL/POST `signature`, `msg_signature`, AES-256-CBC encrypt/decrypt of message bodies with the AppID check.
Must never: log or return key material, compare signatures with `==`, or decrypt before the signature is checked
(callers use `verify_and_decrypt`; `decrypt` alone exists for known-answer tests).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wechat.exceptions import InvalidAppId, InvalidCiphertext, InvalidSignature
from bot.channels.wechat.settings import aes_key

# WeChat pads to 32-byte blocks (not AES's 16), so PKCS#7 pad values run 1..32.
PAD_BLOCK_BYTES = 32
RANDOM_PREFIX_BYTES = 16
LENGTH_BYTES = 4
AES_BLOCK_BYTES = 16


def sha1_signature(*parts: str) -> str:
    """SHA-1 hex of the parts sorted and concatenated: WeChat's one signature scheme."""
    # SHA-1 is fixed by WeChat's protocol; the security comes from the shared token, not our choice of hash.
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324


def verify_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    """Checks the `signature` query parameter of a GET verification or a POST push."""
    expected = sha1_signature(token, timestamp, nonce)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        raise InvalidSignature("signature mismatch")


class MessageCrypto:
    """Encrypts and decrypts message bodies for one account (safe and compatible modes)."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        self._token = token
        self._key = aes_key(encoding_aes_key)
        self._app_id = app_id.encode("utf-8")

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:AES_BLOCK_BYTES]))

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return sha1_signature(self._token, timestamp, nonce, encrypt)

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = self.sign(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode("ascii"), msg_signature.encode("utf-8", "replace")):
            raise InvalidSignature("msg_signature mismatch")

    def verify_and_decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> bytes:
        self.verify(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def encrypt(self, message: bytes, *, random_prefix: bytes | None = None) -> str:
        """Base64 ciphertext of random16 + big-endian length + message + AppID, PKCS#7-padded to 32 bytes.

        `random_prefix` is only for known-answer tests; production always uses fresh random bytes.
        """
        prefix = os.urandom(RANDOM_PREFIX_BYTES) if random_prefix is None else random_prefix
        if len(prefix) != RANDOM_PREFIX_BYTES:
            raise ValueError("random_prefix must be 16 bytes")
        plain = prefix + struct.pack(">I", len(message)) + message + self._app_id
        pad = PAD_BLOCK_BYTES - len(plain) % PAD_BLOCK_BYTES
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """The message inside `encrypt`. Raises InvalidCiphertext or InvalidAppId; never returns partial data."""
        try:
            raw = base64.b64decode(encrypt.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise InvalidCiphertext("Encrypt is not base64") from exc
        if not raw or len(raw) % AES_BLOCK_BYTES:
            raise InvalidCiphertext("ciphertext is not whole AES blocks (truncated?)")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= PAD_BLOCK_BYTES or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
            raise InvalidCiphertext("bad padding")
        content = plain[RANDOM_PREFIX_BYTES:-pad]
        if len(content) < LENGTH_BYTES:
            raise InvalidCiphertext("plaintext too short")
        (length,) = struct.unpack(">I", content[:LENGTH_BYTES])
        if LENGTH_BYTES + length > len(content):
            raise InvalidCiphertext("declared length exceeds plaintext (truncated?)")
        message = content[LENGTH_BYTES : LENGTH_BYTES + length]
        app_id = content[LENGTH_BYTES + length :]
        if not hmac.compare_digest(app_id, self._app_id):
            raise InvalidAppId("message is for another AppID")
        return message
