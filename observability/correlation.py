"""Correlation ids of the work in progress (request id, conversation id), kept in `contextvars`.

Owns the context keys and the rule for accepting a caller's request id. The values live in structlog's context
variables, so every log line written while they are bound carries them, whichever logger wrote it, and asyncio tasks
started meanwhile inherit them. Must never hold anything secret: these values end up in logs and in Rasa's tracker.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = "request_id"
CONVERSATION_ID = "conversation_id"
# A caller's id is kept only if it is short and plain: it goes into every log line and back out in a header.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(value: str | None) -> str | None:
    """The caller's request id when it is safe to log and echo, else None (the caller then gets a new one)."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return None


def correlation() -> dict[str, str]:
    """The ids bound now (any of request_id, conversation_id), to pass on to another process."""
    bound = structlog.contextvars.get_contextvars()
    return {key: str(bound[key]) for key in (REQUEST_ID, CONVERSATION_ID) if bound.get(key)}


@contextmanager
def bind_turn(*, request_id: str | None = None, conversation_id: str | None = None) -> Iterator[None]:
    """Binds the given ids for the duration of the block and restores the previous ones after it."""
    values = {REQUEST_ID: request_id, CONVERSATION_ID: conversation_id}
    with structlog.contextvars.bound_contextvars(**{k: v for k, v in values.items() if v}):
        yield
