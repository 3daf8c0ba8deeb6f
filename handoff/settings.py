"""The handoff's environment variables: routing timeouts, the sweeper, abandoned queue places and the policy's
thresholds.

Owns `HandoffConfig` (the `FD_HANDOFF_*` variables, composed into the front door's settings as `Settings.handoff`),
which builds the `RoutingSettings` of `HandoffService` (on the one business calendar and SLA policy it is handed:
opening hours are intake's `FD_CALENDAR_*`) and the `HandoffSettings` of `HandoffPolicy`. Must never read the
environment itself: the process entry point builds it once (`Settings.from_env(os.environ)`), tests build it with
keyword arguments.
"""

from __future__ import annotations

from pydantic import Field

from backends.settings import EnvSettings
from handoff.constants import ABANDON_AFTER_S, KEY_PREFIX, SWEEP_INTERVAL_S
from handoff.routing import RoutingSettings
from handoff.triggers import HandoffSettings
from intake.calendar import BusinessCalendar
from intake.sla import SlaPolicy


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
    sweep_interval_s: float = Field(
        SWEEP_INTERVAL_S,
        gt=0,
        description="How often queue positions, unanswered assignments, wrap-ups and silent customers are checked.",
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

    def routing(self, calendar: BusinessCalendar | None = None, sla: SlaPolicy | None = None) -> RoutingSettings:
        """The settings of `HandoffService`: agents' opening hours are `calendar` and a chat's SLA is `sla`, the
        front door's one business calendar and intake's SLA policy (round the clock and the default policy when
        not given)."""
        return RoutingSettings(
            unanswered_timeout_s=self.unanswered_timeout_s,
            wrap_up_timeout_s=self.wrap_up_timeout_s,
            assign_on_enqueue=self.auto_assign,
            calendar=calendar if calendar is not None else BusinessCalendar(),
            sla=sla if sla is not None else SlaPolicy(calendar=calendar),
        )

    def policy(self) -> HandoffSettings:
        """The thresholds of `HandoffPolicy`; the rest keep their defaults."""
        return HandoffSettings(
            nlu_confidence_threshold=self.nlu_confidence_threshold,
            not_found_limit=self.not_found_limit,
            kb_no_match_confidence=self.kb_no_match_confidence or None,
        )
