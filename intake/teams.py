"""Teams (departments) that own tickets: members, the skills they cover, a lead, and their own SLA targets.

Owns `Team` and `TeamStore` over the `intake_teams` / `intake_team_members` tables. A new ticket goes to the team
whose skills cover its category's handoff group (`team_for_category`), else to `DEFAULT_TEAM`; a team's targets
replace the policy's for the priorities they name (`policy_for`). Must never assign tickets or run clocks:
`intake.tickets` and `intake.sla_watch` do.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select

from backends.sql import Database, Row, upsert
from intake.exceptions import InvalidSettings, UnknownTeam
from intake.models import Priority
from intake.sla import SlaPolicy, SlaTarget
from intake.tables import intake_team_members, intake_teams

DEFAULT_TEAM = "support"
TEAM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_TEAM_NAME = 80
MAX_MEMBERS = 200

# The teams `frontdoor run` creates: one per handoff skill group, so routing and tickets agree out of the box.
DEMO_TEAMS: tuple[tuple[str, str, tuple[str, ...], str | None, tuple[str, ...]], ...] = (
    ("support", "Customer support", ("general",), "sam", ("ann", "bob", "sam")),
    ("technical", "Technical support", ("product_fault",), "sam", ("ann",)),
    ("logistics", "Logistics and returns", ("delivery", "refund_return"), "sam", ("bob",)),
    ("billing", "Billing and complaints", ("billing", "service_complaint"), "sam", ("ann", "bob")),
)


@dataclass(frozen=True)
class Team:
    """`skills` are handoff skill groups (`handoff.routing.DEFAULT_CATEGORY_GROUPS` values, or "general");
    `targets` override the SLA policy's targets per priority."""

    id: str
    name: str
    skills: tuple[str, ...] = ()
    lead: str | None = None
    members: tuple[str, ...] = ()
    targets: Mapping[Priority, SlaTarget] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not TEAM_ID.match(self.id):
            raise InvalidSettings(f"a team id is 1-40 lowercase letters, digits, '-' or '_': {self.id[:50]!r}")
        if not self.name.strip() or len(self.name) > MAX_TEAM_NAME:
            raise InvalidSettings(f"a team name is 1-{MAX_TEAM_NAME} characters")
        if len(self.members) > MAX_MEMBERS:
            raise InvalidSettings(f"a team has at most {MAX_MEMBERS} members")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "skills": list(self.skills),
            "lead": self.lead,
            "members": list(self.members),
            "targets": {p.value: str(t) for p, t in self.targets.items()},
        }


def parse_targets(raw: Mapping[str, str]) -> dict[Priority, SlaTarget]:
    """{"urgent": "1/4", …} -> targets. Raises InvalidSettings on an unknown priority or bad hours."""
    targets: dict[Priority, SlaTarget] = {}
    for key, value in raw.items():
        try:
            priority = Priority(key)
        except ValueError as exc:
            raise InvalidSettings(f"unknown priority {key[:20]!r}") from exc
        targets[priority] = SlaTarget.parse(str(value))
    return targets


def _team(row: Row, members: Iterable[str]) -> Team:
    return Team(
        id=row["id"],
        name=row["name"],
        skills=tuple(json.loads(row["skills"])),
        lead=row["lead"],
        members=tuple(sorted(members)),
        targets=parse_targets(json.loads(row["targets"])),
    )


class TeamStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def all(self) -> list[Team]:
        """Every team, by id."""
        rows = await self._db.fetch(select(intake_teams).order_by(intake_teams.c.id))
        members: dict[str, list[str]] = {}
        for m in await self._db.fetch(select(intake_team_members)):
            members.setdefault(m["team_id"], []).append(m["username"])
        return [_team(row, members.get(row["id"], ())) for row in rows]

    async def get(self, team_id: str) -> Team | None:
        row = await self._db.fetchrow(select(intake_teams).where(intake_teams.c.id == team_id))
        if row is None:
            return None
        members = await self._db.fetch(
            select(intake_team_members.c.username).where(intake_team_members.c.team_id == team_id)
        )
        return _team(row, (m["username"] for m in members))

    async def require(self, team_id: str) -> Team:
        """Raises UnknownTeam."""
        team = await self.get(team_id)
        if team is None:
            raise UnknownTeam(team_id)
        return team

    async def put(self, team: Team) -> Team:
        """Create or replace `team` and its member list in one transaction."""
        values = {
            "name": team.name.strip(),
            "skills": json.dumps(list(team.skills)),
            "lead": team.lead,
            "targets": json.dumps({p.value: str(t) for p, t in team.targets.items()}),
            "updated_at": self._clock(),
        }
        async with self._db.transaction() as tx:
            statement = upsert(tx, intake_teams).values(id=team.id, **values)
            await tx.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))
            await tx.execute(delete(intake_team_members).where(intake_team_members.c.team_id == team.id))
            members = sorted(set(team.members) | ({team.lead} if team.lead else set()))
            if members:
                await tx.execute(
                    insert(intake_team_members).values([{"team_id": team.id, "username": m} for m in members])
                )
        return await self.require(team.id)

    async def delete(self, team_id: str) -> bool:
        async with self._db.transaction() as tx:
            await tx.execute(delete(intake_team_members).where(intake_team_members.c.team_id == team_id))
            return await tx.execute(delete(intake_teams).where(intake_teams.c.id == team_id)) > 0

    async def teams_of(self, username: str) -> list[str]:
        """Ids of the teams `username` belongs to (a lead is a member)."""
        rows = await self._db.fetch(
            select(intake_team_members.c.team_id).where(intake_team_members.c.username == username)
        )
        return sorted(row["team_id"] for row in rows)

    async def team_for_group(self, group: str) -> str | None:
        """The first team (by id) whose skills cover handoff skill `group`, else `DEFAULT_TEAM` when it exists, else
        None (no teams configured: tickets stay unowned, as before teams existed)."""
        teams = await self.all()
        for team in teams:
            if group in team.skills:
                return team.id
        return DEFAULT_TEAM if any(t.id == DEFAULT_TEAM for t in teams) else None

    async def policy_for(self, team_id: str | None, base: SlaPolicy) -> SlaPolicy:
        """`base` with the team's own targets, or `base` itself for no team or an unknown one."""
        team = await self.get(team_id) if team_id else None
        return base.with_targets(team.targets) if team else base

    async def seed(self, teams: Iterable[Team]) -> None:
        """Create each team that does not exist yet; never touches an existing one (an admin's edits stand)."""
        for team in teams:
            if await self.get(team.id) is None:
                await self.put(team)


def demo_teams() -> list[Team]:
    return [Team(tid, name, skills, lead, members) for tid, name, skills, lead, members in DEMO_TEAMS]
