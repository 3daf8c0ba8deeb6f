"""Staff accounts and sessions: agents, supervisors and editors log in; customers never do.

Passwords are hashed with scrypt (in a worker thread: each check costs tens of milliseconds of CPU); a session is a
random token in an HttpOnly, SameSite=Strict cookie whose hash is stored, so a database leak yields no usable session.
An unknown username costs the same hash work as a known one, so timing tells no one which names exist. Setting a
password or disabling an account ends the member's sessions; a disabled account keeps its hash behind a `!` (as Unix
does), so enabling it restores the old password. State-changing staff requests must come from our own origin and
carry the session's CSRF token (`X-CSRF-Token`, which the pages read from the `fd_csrf` cookie). This module must
never see customers' tokens: those belong to the chat API.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web
from sqlalchemy import Column, ForeignKey, Table, Text, Update, delete, func, insert, literal, select, update
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata
from backends.sql import Database, upsert
from bot.keys import SETTINGS
from web.exceptions import Forbidden, NotAuthorised
from web.openapi import Access, Security
from web.tokens import token_hash

log = logging.getLogger(__name__)

SESSION_COOKIE = "fd_session"
SESSION_TTL_S = 12 * 3600
# The session's CSRF token: readable by our pages (not HttpOnly), sent back in the header on every state change.
CSRF_COOKIE = "fd_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# Checked when the username is unknown, so that answer costs the same scrypt work; no password hashes to all zeros.
_DUMMY_HASH = f"scrypt${'00' * 16}${'00' * 64}"
# A disabled account's stored hash starts with this (Unix's locked-password mark); no scrypt hash does.
DISABLED_MARK = "!"

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


# How the OpenAPI document says a staff member proves who they are: the session cookie `/login` sets, and on every
# state change the CSRF token (the fd_csrf cookie's value) in a header.
STAFF_SESSION = Security("staffSession", {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE})
CSRF = Security("csrfToken", {"type": "apiKey", "in": "header", "name": CSRF_HEADER}, writes_only=True)


def staff_access(role: Role | None = None) -> Access:
    """What the OpenAPI document says of an operation for logged-in staff holding `role` (None: any member)."""
    return Access(f"staff with the {role.value} role" if role else "any logged-in staff member", (STAFF_SESSION, CSRF))


@dataclass(frozen=True)
class StaffMember:
    username: str
    display_name: str
    roles: frozenset[Role]
    disabled: bool = False

    def has(self, role: Role) -> bool:
        # A supervisor can do what an agent does; an admin can do everything.
        return role in self.roles or Role.ADMIN in self.roles or (role is Role.AGENT and Role.SUPERVISOR in self.roles)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: derived from its secret, so every replica knows it without storing it, and a
    cookie planted by another site (a sibling subdomain) cannot stand in for it."""
    return hmac.new(session_token.encode("utf-8", "surrogatepass"), b"fd-csrf", hashlib.sha256).hexdigest()


class StaffDirectory:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def add(self, username: str, password: str, roles: Iterable[Role], display_name: str = "") -> StaffMember:
        """Adds the member, or updates an existing one (name, roles, password): a password set ends every session of
        theirs. A disabled member stays disabled (with the new password once enabled)."""
        role_set = frozenset(roles)
        existing = await self._db.fetchval(select(staff.c.password_hash).where(staff.c.username == username))
        disabled = isinstance(existing, str) and existing.startswith(DISABLED_MARK)
        new_hash = await asyncio.to_thread(hash_password, password)
        statement = upsert(self._db, staff).values(
            username=username,
            display_name=display_name or username,
            password_hash=DISABLED_MARK + new_hash if disabled else new_hash,
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
        await self.end_sessions(username)
        return StaffMember(username, display_name or username, role_set, disabled)

    async def end_sessions(self, username: str) -> None:
        """Logs the member out everywhere: their next request is 401, their open console closes."""
        await self._db.execute(delete(staff_sessions).where(staff_sessions.c.username == username))

    async def disable(self, username: str) -> bool:
        """Nobody can log in as this member any more and their sessions end at once; False when there is no such
        member. Disabling twice changes nothing."""
        found = await self._set_disabled(
            username,
            update(staff)
            .where(staff.c.username == username, ~staff.c.password_hash.startswith(DISABLED_MARK))
            .values(password_hash=literal(DISABLED_MARK) + staff.c.password_hash),
        )
        await self.end_sessions(username)
        return found

    async def enable(self, username: str) -> bool:
        """The member can log in again with the password they had; False when there is no such member."""
        return await self._set_disabled(
            username,
            update(staff)
            .where(staff.c.username == username, staff.c.password_hash.startswith(DISABLED_MARK))
            .values(password_hash=func.substr(staff.c.password_hash, len(DISABLED_MARK) + 1)),
        )

    async def _set_disabled(self, username: str, statement: Update) -> bool:
        await self._db.execute(statement)
        return await self.get(username) is not None

    async def count(self) -> int:
        return int(await self._db.fetchval(select(func.count()).select_from(staff)))

    async def get(self, username: str) -> StaffMember | None:
        row = await self._db.fetchrow(
            select(staff.c.username, staff.c.display_name, staff.c.roles, staff.c.password_hash).where(
                staff.c.username == username
            )
        )
        if row is None:
            return None
        return StaffMember(
            row["username"],
            row["display_name"],
            frozenset(Role(r) for r in row["roles"].split(",")),
            row["password_hash"].startswith(DISABLED_MARK),
        )

    async def members(self) -> list[StaffMember]:
        rows = await self._db.fetch(select(staff.c.username).order_by(staff.c.username))
        return [m for row in rows if (m := await self.get(row["username"])) is not None]

    async def login(self, username: str, password: str) -> str | None:
        """A new session token, or None when the name or password is wrong or the account is disabled. Every answer
        costs one scrypt check, whether the name exists or not."""
        stored = await self._db.fetchval(select(staff.c.password_hash).where(staff.c.username == username))
        known = isinstance(stored, str)
        disabled = known and stored.startswith(DISABLED_MARK)
        checked = stored.removeprefix(DISABLED_MARK) if known else _DUMMY_HASH
        if not await asyncio.to_thread(verify_password, password, checked) or not known:
            return None
        if disabled:
            log.info("login refused: %r is disabled", username[:64])
            return None
        token = secrets.token_urlsafe(32)
        await self._db.execute(
            insert(staff_sessions).values(
                token_hash=token_hash(token), username=username, expires_at=self._clock() + SESSION_TTL_S
            )
        )
        return token

    async def member_for_session(self, token: str) -> StaffMember | None:
        """The member of a live session; None when it is unknown, expired or ended, or the member is disabled."""
        row = await self._db.fetchrow(
            select(staff_sessions.c.username).where(
                staff_sessions.c.token_hash == token_hash(token), staff_sessions.c.expires_at > self._clock()
            )
        )
        member = await self.get(row["username"]) if row else None
        return member if member is not None and not member.disabled else None

    async def logout(self, token: str) -> None:
        await self._db.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == token_hash(token)))


async def current_member(request: web.Request, directory: StaffDirectory) -> StaffMember | None:
    token = request.cookies.get(SESSION_COOKIE)
    return await directory.member_for_session(token) if token else None


def same_origin(request: web.Request, public_url: str) -> bool:
    """Whether the request's `Origin`, when it has one, is this site: the address it was sent to or the public URL
    (behind a TLS proxy the two differ in scheme). A browser sends Origin on every cross-site POST and WebSocket."""
    origin = request.headers.get("Origin")
    return origin is None or origin in (f"{request.scheme}://{request.host}", public_url.rstrip("/"))


def check_csrf(request: web.Request) -> None:
    """Forbidden `csrf` unless the request carries its session's CSRF token: a cookie alone never changes state, even
    from a client that sends no Origin."""
    token = request.cookies.get(SESSION_COOKIE, "")
    given = request.headers.get(CSRF_HEADER, "").encode("utf-8", "surrogatepass")
    if not token or not hmac.compare_digest(given, csrf_token(token).encode()):
        raise Forbidden(f"missing or wrong CSRF token (send the {CSRF_COOKIE} cookie's value as {CSRF_HEADER})", "csrf")


async def require_member(request: web.Request, directory: StaffDirectory) -> StaffMember:
    """The logged-in member, whatever their roles; raises NotAuthorised / Forbidden otherwise.

    Requests that change state must come from our own pages: a foreign Origin is refused even with a cookie, and the
    session's CSRF token must come with them (Forbidden `csrf`).
    """
    member = await current_member(request, directory)
    if member is None:
        raise NotAuthorised("log in first")
    if request.method not in SAFE_METHODS:
        if not same_origin(request, request.app[SETTINGS].effective_public_url):
            raise Forbidden("cross-origin request refused")
        check_csrf(request)
    return member


async def require_role(request: web.Request, directory: StaffDirectory, role: Role) -> StaffMember:
    """The logged-in member holding `role`; raises NotAuthorised / Forbidden otherwise (and for a state-changing
    request from a foreign Origin, as `require_member`)."""
    member = await require_member(request, directory)
    if not member.has(role):
        raise Forbidden(f"needs the {role.value} role")
    return member
