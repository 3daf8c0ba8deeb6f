"""Agent profiles of staff accounts (skills, languages, capacity), kept in SQL and registered in HandoffService.

The handoff store is live state (memory, or Redis that may be flushed); this table is the durable copy an admin
edits, through the console's admin API or `python -m handoff.profiles`. A staff member with the agent role and
no stored profile gets `default_profile`. Must never change presence, load or ownership: HandoffService owns those.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Column, Integer, Table, Text, select
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata
from backends.sql import Database, Row, upsert
from handoff.agents import AgentProfile
from handoff.constants import GENERAL_GROUP, VIP_GROUP
from handoff.routing import DEFAULT_CATEGORY_GROUPS

agent_profiles = Table(
    "agent_profiles",
    metadata,
    Column("username", Text, primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("skills", Text, nullable=False),  # JSON list
    Column("languages", Text, nullable=False),  # JSON list
    Column("capacity", Integer, nullable=False),
    Column("updated_at", DOUBLE_PRECISION, nullable=False),
)

LANGUAGES = ("en", "zh")
# The category groups, and the dedicated queue of the top customer tiers (handoff.routing: DEFAULT_DEDICATED_TIERS).
CATEGORY_SKILLS = tuple(sorted(set(DEFAULT_CATEGORY_GROUPS.values()) - {GENERAL_GROUP}))
ALL_SKILLS = (*CATEGORY_SKILLS, VIP_GROUP)
MAX_CAPACITY = 20

# The accounts `frontdoor run` creates (server/cli.py DEMO_STAFF, matched by username and display name so a real
# "ann" is never mistaken for the demo one): Ann covers everything in both languages, VIP customers included, Bob
# every category in English, Sam (a supervisor) steps in on general questions.
DEMO_AGENT_PROFILES: dict[tuple[str, str], AgentProfile] = {
    ("ann", "Ann (agent)"): AgentProfile("ann", "Ann", ALL_SKILLS, ("en", "zh"), 3),
    ("bob", "Bob (agent)"): AgentProfile("bob", "Bob", CATEGORY_SKILLS, ("en",), 3),
    ("sam", "Sam (supervisor)"): AgentProfile("sam", "Sam", (), ("en", "zh"), 2),
}


class InvalidProfile(ValueError):
    """A profile an admin asked for that routing could not use."""


def checked_profile(
    username: str, display_name: str, skills: Sequence[str], languages: Sequence[str], capacity: int
) -> AgentProfile:
    unknown = [s for s in skills if s not in ALL_SKILLS]
    if unknown:
        raise InvalidProfile(f"unknown skills {unknown}; known: {list(ALL_SKILLS)}")
    if not languages or any(lang not in LANGUAGES for lang in languages):
        raise InvalidProfile(f"languages must be a non-empty subset of {list(LANGUAGES)}")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidProfile(f"capacity must be 1..{MAX_CAPACITY}")
    return AgentProfile(
        username, display_name or username, tuple(dict.fromkeys(skills)), tuple(dict.fromkeys(languages)), capacity
    )


def default_profile(username: str, display_name: str) -> AgentProfile:
    """Until an admin says otherwise: general questions in both languages, three chats at once."""
    return AgentProfile(username, display_name or username, (), LANGUAGES, 3)


def _profile(row: Row) -> AgentProfile:
    return AgentProfile(
        row["username"],
        row["display_name"],
        tuple(json.loads(row["skills"])),
        tuple(json.loads(row["languages"])),
        int(row["capacity"]),
    )


class AgentProfileStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def get(self, username: str) -> AgentProfile | None:
        row = await self._db.fetchrow(select(agent_profiles).where(agent_profiles.c.username == username))
        return _profile(row) if row else None

    async def all(self) -> list[AgentProfile]:
        rows = await self._db.fetch(select(agent_profiles).order_by(agent_profiles.c.username))
        return [_profile(r) for r in rows]

    async def put(self, profile: AgentProfile) -> AgentProfile:
        statement = upsert(self._db, agent_profiles).values(
            username=profile.id,
            display_name=profile.display_name,
            skills=json.dumps(list(profile.skills)),
            languages=json.dumps(list(profile.languages)),
            capacity=profile.capacity,
            updated_at=self._clock(),
        )
        await self._db.execute(
            statement.on_conflict_do_update(
                index_elements=[agent_profiles.c.username],
                set_={
                    name: statement.excluded[name]
                    for name in ("display_name", "skills", "languages", "capacity", "updated_at")
                },
            )
        )
        return profile

    async def profile_for(self, username: str, display_name: str) -> AgentProfile:
        """The stored profile, else the demo account's, else the default."""
        stored = await self.get(username)
        if stored is not None:
            return stored
        return DEMO_AGENT_PROFILES.get((username, display_name)) or default_profile(username, display_name)
