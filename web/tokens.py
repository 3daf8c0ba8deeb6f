"""Bearer secrets are stored as hashes: a leaked table gives no usable customer or staff token."""

from __future__ import annotations

import hashlib


def token_hash(token: str) -> str:
    """Hex SHA-256 of `token`: tokens are 256-bit random, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()
