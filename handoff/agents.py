"""Human agents: who they are, what they can handle, whether they are here, and how busy they are.

Owns agent profiles, presence and the eligibility rule (which skill queues an agent serves). Load is the number
of conversations an agent owns (assigned or in wrap-up); it changes only inside ownership transitions, never here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, Protocol

from handoff.queue import general_skill, skill_of


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(frozen=True)
class AgentProfile:
    id: str
    display_name: str = ""
    skills: tuple[str, ...] = ()  # category groups: "refund_return", "billing", ...
    languages: tuple[str, ...] = ("en",)
    capacity: int = 3  # maximum concurrent chats

    @cached_property
    def _eligible(self) -> tuple[tuple[str, ...], frozenset[str]]:
        out: list[str] = []
        for language in self.languages:
            for skill in (general_skill(language), *(skill_of(language, group) for group in self.skills)):
                if skill not in out:
                    out.append(skill)
        return tuple(out), frozenset(out)

    def eligible_skills(self) -> list[str]:
        """Every queue this agent serves: each group in each language, plus each language's general fallback."""
        return list(self._eligible[0])

    def serves(self, skill: str) -> bool:
        return skill in self._eligible[1]


@dataclass(frozen=True)
class AgentStatus:
    profile: AgentProfile
    presence: Presence = Presence.OFFLINE
    load: int = 0
    last_assigned_at: float | None = None  # idle since; None = never assigned
    presence_since: float | None = None
    chats: tuple[str, ...] = field(default_factory=tuple)
    # When her last console socket closed (epoch s): within the presence grace period she keeps her presence and
    # chats but is offered no new ones. None while a console is open, or when she never opened one (the JSON API).
    disconnected_at: float | None = None

    @property
    def id(self) -> str:
        return self.profile.id

    @property
    def spare(self) -> int:
        return max(0, self.profile.capacity - self.load)

    @property
    def available(self) -> bool:
        """Routing may give her a new chat: online, with a free slot, and not gone from every console."""
        return self.presence is Presence.ONLINE and self.spare > 0 and self.disconnected_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.id,
            "display_name": self.profile.display_name,
            "skills": list(self.profile.skills),
            "languages": list(self.profile.languages),
            "capacity": self.profile.capacity,
            "presence": self.presence.value,
            "load": self.load,
            "last_assigned_at": self.last_assigned_at,
            "presence_since": self.presence_since,
            "chats": list(self.chats),
            "disconnected_at": self.disconnected_at,
        }


def online_count(agents: Iterable[AgentStatus], skill: str) -> int:
    return sum(1 for a in agents if a.presence is Presence.ONLINE and a.profile.serves(skill))


class AgentStore(Protocol):
    async def upsert_agent(self, profile: AgentProfile, now: float) -> AgentStatus:
        """Create or update a profile; presence, load and idle time survive an update."""

    async def get_agent(self, agent_id: str) -> AgentStatus | None: ...

    async def list_agents(self) -> list[AgentStatus]: ...

    async def count_online(self, skill: str) -> int:
        """Online agents (any load) who serve `skill`."""

    async def served_skills(self) -> set[str]:
        """Every skill queue at least one registered agent (online or not) serves."""

    async def set_presence(self, agent_id: str, presence: Presence, now: float) -> AgentStatus | None:
        """None for an unknown agent. Load is kept: going away stops new assignments, not current chats."""

    # Console presence: each open console socket (on any process) is counted, and expires unless renewed. An agent
    # with none left is `disconnected_at` the moment the last one closed: no new chats go to her, and her own stay
    # hers until the sweeper's `expire_presence` (after the grace period) sets her offline.

    async def console_opened(self, agent_id: str, socket_id: str, now: float, expires_at: float) -> bool:
        """The console socket `socket_id` (unique across processes) is open until `expires_at` (epoch s); calling
        again renews it (the heartbeat). The agent is connected: a grace period running ends with nothing changed
        and routing offers her chats again. False for an unknown agent."""

    async def console_closed(self, agent_id: str, socket_id: str, now: float) -> bool:
        """The socket closed. True when it was her last one open anywhere: she is `disconnected_at` `now`. A socket
        that is not open (closed already, or expired) changes nothing."""

    async def expire_consoles(self, now: float) -> list[str]:
        """Every socket whose expiry is at or before `now` (its process stopped renewing it) closes as with
        `console_closed` at `now`. Returns the agents who had their last socket among them."""

    async def expire_presence(self, disconnected_before: float, now: float) -> list[str]:
        """In one atomic step: every agent with no console socket open whose last one closed at or before
        `disconnected_before` is no longer disconnected, and goes offline at `now` unless she already is. Returns
        those set offline, oldest first; two callers at once never both get the same agent."""
