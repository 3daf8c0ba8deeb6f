"""Staff accounts and sessions: agents, supervisors and editors log in; customers never do.

Passwords are hashed with scrypt; a session is a random token in an HttpOnly, SameSite=Strict cookie whose hash is
stored, so a database leak yields no usable session. State-changing staff requests must also come from our own
origin. This module must never see customers' tokens: those belong to the chat API.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web
from sqlalchemy import Column, ForeignKey, Table, Text, delete, func, insert, select
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata
from backends.sql import Database, upsert
from web.exceptions import Forbidden, NotAuthorised
from web.tokens import token_hash

SESSION_COOKIE = "fd_session"
SESSION_TTL_S = 12 * 3600
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}

staff = Table(
    "staff",
    metadata,
    Column("username", Text, primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("roles", Text, nullable=False),  # comma-separated Role values
    Column("created_at", DOUBLE_PRECISION, nullable=False),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("username", Text, ForeignKey("staff.username", ondelete="CASCADE"), nullable=False),
    Column("expires_at", DOUBLE_PRECISION, nullable=False),
)


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    EDITOR = "editor"
    ADMIN = "admin"


@dataclass(frozen=True)
class StaffMember:
    username: str
    display_name: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        # A supervisor can do what an agent does; an admin can do everything.
        return role in self.roles or Role.ADMIN in self.roles or (role is Role.AGENT and Role.SUPERVISOR in self.roles)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


class StaffDirectory:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def add(self, username: str, password: str, roles: Iterable[Role], display_name: str = "") -> StaffMember:
        role_set = frozenset(roles)
        statement = upsert(self._db, staff).values(
            username=username,
            display_name=display_name or username,
            password_hash=hash_password(password),
            roles=",".join(sorted(r.value for r in role_set)),
            created_at=self._clock(),
        )
        await self._db.execute(
            statement.on_conflict_do_update(
                index_elements=[staff.c.username],
                set_={
                    "display_name": statement.excluded.display_name,
                    "password_hash": statement.excluded.password_hash,
                    "roles": statement.excluded.roles,
                },
            )
        )
        return StaffMember(username, display_name or username, role_set)

    async def count(self) -> int:
        return int(await self._db.fetchval(select(func.count()).select_from(staff)))

    async def get(self, username: str) -> StaffMember | None:
        row = await self._db.fetchrow(
            select(staff.c.username, staff.c.display_name, staff.c.roles).where(staff.c.username == username)
        )
        if row is None:
            return None
        return StaffMember(row["username"], row["display_name"], frozenset(Role(r) for r in row["roles"].split(",")))

    async def members(self) -> list[StaffMember]:
        rows = await self._db.fetch(select(staff.c.username).order_by(staff.c.username))
        return [m for row in rows if (m := await self.get(row["username"])) is not None]

    async def login(self, username: str, password: str) -> str | None:
        """A new session token, or None when the name or password is wrong."""
        row = await self._db.fetchrow(select(staff.c.password_hash).where(staff.c.username == username))
        if row is None or not verify_password(password, row["password_hash"]):
            return None
        token = secrets.token_urlsafe(32)
        await self._db.execute(
            insert(staff_sessions).values(
                token_hash=token_hash(token), username=username, expires_at=self._clock() + SESSION_TTL_S
            )
        )
        return token

    async def member_for_session(self, token: str) -> StaffMember | None:
        row = await self._db.fetchrow(
            select(staff_sessions.c.username).where(
                staff_sessions.c.token_hash == token_hash(token), staff_sessions.c.expires_at > self._clock()
            )
        )
        return await self.get(row["username"]) if row else None

    async def logout(self, token: str) -> None:
        await self._db.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == token_hash(token)))


async def current_member(request: web.Request, directory: StaffDirectory) -> StaffMember | None:
    token = request.cookies.get(SESSION_COOKIE)
    return await directory.member_for_session(token) if token else None


async def require_member(request: web.Request, directory: StaffDirectory) -> StaffMember:
    """The logged-in member, whatever their roles; raises NotAuthorised / Forbidden otherwise.

    Requests that change state must come from our own pages: a foreign Origin is refused even with a cookie.
    """
    member = await current_member(request, directory)
    if member is None:
        raise NotAuthorised("log in first")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            raise Forbidden("cross-origin request refused")
    return member


async def require_role(request: web.Request, directory: StaffDirectory, role: Role) -> StaffMember:
    """The logged-in member holding `role`; raises NotAuthorised / Forbidden otherwise (and for a state-changing
    request from a foreign Origin, as `require_member`)."""
    member = await require_member(request, directory)
    if not member.has(role):
        raise Forbidden(f"needs the {role.value} role")
    return member
