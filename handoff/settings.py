"""The handoff's environment variables: routing timeouts, the sweeper, abandoned queue places and the policy's
thresholds.

Owns `HandoffConfig` (the `FD_HANDOFF_*` variables, composed into the front door's settings as `Settings.handoff`),
which builds the `RoutingSettings` of `HandoffService` (on the one business calendar and SLA policy it is handed:
opening hours are intake's `FD_CALENDAR_*`) and the `HandoffSettings` of `HandoffPolicy`. Must never read the
environment itself: the process entry point builds it once (`Settings.from_env(os.environ)`), tests build it with
keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field

from backends.settings import EnvSettings
from conversations.models import Tier
from handoff.constants import ABANDON_AFTER_S, KEY_PREFIX, MAX_HEAD_START_S, PRESENCE_GRACE_S, SWEEP_INTERVAL_S
from handoff.routing import DEFAULT_DEDICATED_TIERS, DEFAULT_TIER_HEAD_START_S, RoutingSettings
from handoff.triggers import HandoffSettings
from intake.calendar import BusinessCalendar
from intake.sla import SlaPolicy

_TIERS = ", ".join(t.value for t in Tier)


def tier_head_starts(value: str) -> dict[str, float]:
    """`"silver:60,gold:180,vip:600"` -> {"silver": 60.0, …}; a tier left out has none. Raises ValueError."""
    starts: dict[str, float] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        name, _, seconds = part.partition(":")
        name = name.strip().lower()
        if name not in {t.value for t in Tier}:
            raise ValueError(f"unknown tier {name!r} (known: {_TIERS})")
        try:
            starts[name] = float(seconds)
        except ValueError as exc:
            raise ValueError(f"{part!r}: want tier:seconds, e.g. vip:600") from exc
        if not 0 <= starts[name] <= MAX_HEAD_START_S:
            raise ValueError(f"{part!r}: a head start is 0 to {MAX_HEAD_START_S:.0f} seconds")
    return starts


def tier_names(value: str) -> frozenset[str]:
    """`"vip,gold"` -> the tiers; `none` (or empty): none. Raises ValueError for an unknown tier."""
    names = frozenset(p.strip().lower() for p in value.split(",") if p.strip()) - {"none"}
    unknown = sorted(names - {t.value for t in Tier})
    if unknown:
        raise ValueError(f"unknown tiers {unknown} (known: {_TIERS})")
    return names


def _checked(parse: Callable[[str], object]) -> Callable[[str], str]:
    """A pydantic after-validator: the text stays as given, once `parse` accepts it (its ValueError says why not)."""

    def check(value: str) -> str:
        parse(value)
        return value

    return check


class HandoffConfig(EnvSettings):
    """The `FD_HANDOFF_*` variables."""

    model_config = EnvSettings.config("FD_HANDOFF_")
    doc_title = "Human handoff (`handoff/settings.py`)"

    unanswered_timeout_s: float = Field(
        90.0,
        gt=0,
        description="An assigned conversation the agent does not answer within this goes back to the queue.",
    )
    wrap_up_timeout_s: float = Field(
        300.0, gt=0, description="Longest wrap-up before the bot takes the conversation back."
    )
    auto_assign: bool = Field(
        True, description="`0` = pull mode: agents claim or pull from the queue; nothing is assigned automatically."
    )
    presence_grace_s: float = Field(
        PRESENCE_GRACE_S,
        ge=0,
        description="An agent whose last staff page closes (a reload, a closed tab, a restart; every agent's staff "
        "page holds a console socket, the Tickets page too) gets no new chats but keeps her presence and her chats "
        "this long; only when no page of hers opens again, on any replica, within it does she go offline and her "
        "assigned chats go back to the queue. Choosing offline is still immediate.",
    )
    sweep_interval_s: float = Field(
        SWEEP_INTERVAL_S,
        gt=0,
        description="How often queue positions, unanswered assignments, wrap-ups and silent customers are checked.",
    )
    reconcile_s: float = Field(
        5.0,
        gt=0,
        description="How often one replica checks the live state (Redis) against the durable record: rebuilds the "
        "queues, assignments and the owning agents' presence when Redis came back empty, and queues the handoffs "
        "asked for while it was away.",
    )
    abandon_after_s: float = Field(
        ABANDON_AFTER_S,
        gt=0,
        description="A customer waiting in the queue with no message and no open chat window for this long has "
        "left: the conversation is abandoned and the bot answers their next message. WeChat customers, who have no "
        "chat window to show, keep their place until `FD_WECHAT_IDLE_CLOSE_S`.",
    )
    key_prefix: str = Field(
        KEY_PREFIX,
        min_length=1,
        description="Redis key prefix of the handoff state (to share one Redis between deployments).",
    )
    nlu_confidence_threshold: float = Field(
        0.4,
        ge=0,
        le=1,
        description="An intent below this confidence hands off when the knowledge base could not answer either.",
    )
    not_found_limit: int = Field(
        2, ge=1, description="Knowledge-base misses in a row before the conversation goes to a human."
    )
    kb_no_match_confidence: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A miss below this knowledge-base confidence hands off at once (`0` turns that off, leaving "
        "only the misses in a row).",
    )

    tier_head_start: Annotated[str, AfterValidator(_checked(tier_head_starts))] = Field(
        ",".join(f"{tier}:{seconds:.0f}" for tier, seconds in DEFAULT_TIER_HEAD_START_S.items() if seconds),
        description="How much earlier than they arrived a waiting customer of each tier is served, within their "
        f"priority: `tier:seconds` pairs ({_TIERS}); a tier left out waits in plain arrival order (`standard:0`: "
        "every tier does). A customer who has waited longer than the head start still goes first, so nobody waits "
        "forever.",
    )
    dedicated_tiers: Annotated[str, AfterValidator(_checked(tier_names))] = Field(
        ",".join(sorted(DEFAULT_DEDICATED_TIERS)),
        description="Tiers whose chats wait in the dedicated queue `<language>:vip` (served by agents with the "
        "`vip` skill) when some agent has that skill; `none`: no dedicated queue.",
    )

    def routing(self, calendar: BusinessCalendar | None = None, sla: SlaPolicy | None = None) -> RoutingSettings:
        """The settings of `HandoffService`: agents' opening hours are `calendar` and a chat's SLA is `sla`, the
        front door's one business calendar and intake's SLA policy (round the clock and the default policy when
        not given)."""
        return RoutingSettings(
            unanswered_timeout_s=self.unanswered_timeout_s,
            wrap_up_timeout_s=self.wrap_up_timeout_s,
            assign_on_enqueue=self.auto_assign,
            presence_grace_s=self.presence_grace_s,
            calendar=calendar if calendar is not None else BusinessCalendar(),
            sla=sla if sla is not None else SlaPolicy(calendar=calendar),
            tier_head_start_s=tier_head_starts(self.tier_head_start),
            dedicated_tiers=tier_names(self.dedicated_tiers),
        )

    def policy(self) -> HandoffSettings:
        """The thresholds of `HandoffPolicy`; the rest keep their defaults."""
        return HandoffSettings(
            nlu_confidence_threshold=self.nlu_confidence_threshold,
            not_found_limit=self.not_found_limit,
            kb_no_match_confidence=self.kb_no_match_confidence or None,
        )
