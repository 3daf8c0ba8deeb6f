"""Skill queues: which conversations wait for which agents, in what order, and for about how long.

A skill is `<language>:<category group>` (`zh:refund_return`), with `<language>:general` as every language's
fallback (and `<language>:vip`, the dedicated queue of the top customer tiers). Order is priority (urgent > high >
normal > low), then waiting time less the customer tier's head start (a VIP who arrived at 10:05 with a 10-minute
head start is served as if they had arrived at 09:55), packed into one sorted-set score.
Owns the ordering rule, the wait estimate and the `QueueStore` seam; must never change ownership (stores do that
inside `OwnershipStore.apply`, so a conversation is in a queue exactly when its state is `queued`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from handoff.constants import DEFAULT_HANDLE_TIME_S, GENERAL_GROUP, PRIORITY_SCORE_STEP
from intake.models import Priority


def queue_score(priority: str | Priority, enqueued_at: float, head_start_s: float = 0.0) -> int:
    """Lower is served first: the priority's band, then the arrival time (epoch s) less the tier's head start (s).
    Integer milliseconds keep ties in arrival order and stay exact in a double."""
    band = Priority.parse(priority).serve_order * PRIORITY_SCORE_STEP
    return band + int(enqueued_at * 1000) - int(head_start_s * 1000)


def skill_of(language: str, group: str) -> str:
    return f"{language or 'en'}:{group or GENERAL_GROUP}"


def general_skill(language: str) -> str:
    return skill_of(language, GENERAL_GROUP)


def split_skill(skill: str) -> tuple[str, str]:
    language, _, group = skill.partition(":")
    return language, group or GENERAL_GROUP


@dataclass(frozen=True)
class QueuedEntry:
    conversation_id: str
    skill: str
    score: int


@dataclass(frozen=True)
class QueuePosition:
    skill: str
    position: int  # 1 = next to be served
    length: int
    eta_s: float | None  # None while no eligible agent is online


def estimate_wait_s(position: int, handling_times_s: Sequence[float], agents_online: int) -> float | None:
    """Customers ahead (including this one) served in parallel by the eligible online agents, one average chat each.

    A deliberately simple model: it ignores agents' spare slots and chats already in progress, so it errs long,
    which is the kinder mistake to make in a promise to a customer.
    """
    if agents_online <= 0:
        return None
    average = sum(handling_times_s) / len(handling_times_s) if handling_times_s else DEFAULT_HANDLE_TIME_S
    return math.ceil(position / agents_online) * average


class QueueStore(Protocol):
    """Reads the skill queues; entries are added and removed only by ownership transitions."""

    async def skills(self) -> list[str]: ...

    async def lengths(self) -> Mapping[str, int]: ...

    async def head(self, skill: str, count: int = 1) -> list[QueuedEntry]:
        """The next `count` conversations to serve in `skill`, best first."""

    async def heads(self, skills: Sequence[str]) -> list[QueuedEntry]:
        """The next conversation of each non-empty queue among `skills` (one read, for pull_next)."""

    async def position(self, conversation_id: str, skill: str) -> tuple[int, int] | None:
        """(1-based position, queue length), or None if the conversation is not waiting in that queue."""

    async def oldest_enqueued_at(self, skill: str) -> float | None:
        """When the longest-waiting conversation in `skill` joined (any priority or tier); None if it is empty."""

    async def record_handling_time(self, skill: str, seconds: float) -> None: ...

    async def handling_times(self, skill: str) -> list[float]: ...
