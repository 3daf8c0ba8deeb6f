"""Bearer secrets are stored as hashes: a leaked table gives no usable customer or staff token."""

from __future__ import annotations

import hashlib


def token_hash(token: str) -> str:
    """Hex SHA-256 of `token`: tokens are 256-bit random, so no salt or slow hash is needed. Never raises: a header or
    cookie holding bytes that are not UTF-8 (aiohttp keeps them as surrogates) hashes to something no token of ours
    matches, so the caller answers 401 like for any wrong token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
