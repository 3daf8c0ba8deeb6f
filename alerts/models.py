"""What a staff alert is: who it is for, what kind, its title (an English message id and the values that fill it),
where it links, and whether the member reading it has read it.

Titles are translated when an alert is read, not when it is written, so each member sees it in the language they
use now and a catalogue fix reaches old alerts too. Must never import web code or query storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from i18n import LANGUAGES, N_, gettext

ROLE_PREFIX = "role:"


class AlertKind(StrEnum):
    """What an alert is about. Stored as text: a reader meeting a kind it does not know still shows the alert."""

    SLA_AT_RISK = "sla_at_risk"  # a ticket's SLA clock reaches its warning time: the assignee and team lead hear
    SLA_BREACHED = "sla_breached"  # a ticket's SLA clock runs out: the supervisors and team lead hear
    FOLLOW_UP_TASK = "follow_up_task"  # a follow-up after resolution went badly: the supervisors hear
    KPI_BREACH = "kpi_breach"  # a KPI misses its target over the analytics' rolling window: the supervisors hear


# A KPI breach's title: {kpi} the KPI's name (a message id, translated when read), {value} and {target} worded in
# the KPI's unit, {op} "<=" or ">=".
KPI_BREACH_TITLE = N_("{kpi} missed its target: {value} over the last days, target {op} {target}")


def role_recipient(role: str) -> str:
    """`role_recipient("supervisor")` → `"role:supervisor"`: everyone holding the role gets the alert."""
    return f"{ROLE_PREFIX}{role}"


SUPERVISORS = role_recipient("supervisor")
AGENTS = role_recipient("agent")


def recipients_of(username: str, roles: Iterable[str]) -> list[str]:
    """Every recipient that reaches a member: their username and one `role:<role>` per role they hold."""
    return [username, *(role_recipient(role) for role in sorted(set(roles)))]


# The SLA alerts' titles, one per (kind, clock); the clock names are intake's `SlaMetric` values. Each takes
# {number}, the ticket number. "" is the fallback for a clock this table does not know yet.
SLA_TITLES: Mapping[tuple[str, str], str] = {
    (AlertKind.SLA_AT_RISK, "first_response"): N_("Ticket {number}: the first response is due soon"),
    (AlertKind.SLA_AT_RISK, "next_reply"): N_("Ticket {number}: a reply to the customer is due soon"),
    (AlertKind.SLA_AT_RISK, "resolution"): N_("Ticket {number}: the resolution is due soon"),
    (AlertKind.SLA_AT_RISK, ""): N_("Ticket {number} is at risk of missing its SLA"),
    (AlertKind.SLA_BREACHED, "first_response"): N_("Ticket {number} missed its first-response target"),
    (AlertKind.SLA_BREACHED, "next_reply"): N_("Ticket {number} missed its reply target"),
    (AlertKind.SLA_BREACHED, "resolution"): N_("Ticket {number} missed its resolution target"),
    (AlertKind.SLA_BREACHED, ""): N_("Ticket {number} missed its SLA"),
}


def sla_title(kind: AlertKind, metric: str) -> str:
    """The title (message id) of an SLA alert of `kind` for the clock `metric` ("first_response", …)."""
    return SLA_TITLES.get((kind, metric)) or SLA_TITLES[(kind, "")]


class _Params(dict[str, Any]):
    """Leaves a placeholder the parameters lack as it is: an alert always reads, even with a value missing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# Parameters whose values are message ids themselves, translated with the title (a KPI's name).
TRANSLATED_PARAMS = frozenset({"kpi"})


def render(language: str, title: str, params: Mapping[str, Any]) -> str:
    """The title in `language` (English when the catalogue has none), its {placeholders} filled from `params`
    (those in `TRANSLATED_PARAMS` translated too)."""
    text = gettext(language, title)
    values = {
        key: gettext(language, value) if key in TRANSLATED_PARAMS and isinstance(value, str) else value
        for key, value in params.items()
    }
    try:
        return text.format_map(_Params(values))
    except (IndexError, ValueError, AttributeError):  # a stray brace or a positional {} in a translation
        return text


@dataclass(frozen=True)
class Alert:
    """One alert as one member sees it: `read_at` is when *that member* read it (None: unread).

    `title` is the English message id; `params` fill its placeholders; `link` is a same-site path or "".
    Times are epoch seconds."""

    id: int
    recipient: str
    kind: str
    title: str
    params: dict[str, Any] = field(default_factory=dict)
    link: str = ""
    created_at: float = 0.0
    read_at: float | None = None

    @property
    def read(self) -> bool:
        return self.read_at is not None

    def title_in(self, language: str) -> str:
        return render(language, self.title, self.params)

    def to_dict(self, language: str = "en") -> dict[str, Any]:
        """The alert for the staff pages: `title` in `language`, and `titles` in every language so a page can switch
        language without asking again."""
        return {
            "id": self.id,
            "recipient": self.recipient,
            "kind": self.kind,
            "title": self.title_in(language),
            "titles": {lang: self.title_in(lang) for lang in LANGUAGES},
            "title_id": self.title,
            "params": self.params,
            "link": self.link,
            "created_at": self.created_at,
            "read_at": self.read_at,
            "read": self.read,
        }
