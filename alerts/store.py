"""Staff alerts in SQL: `AlertStore.add` writes one row per recipient; members list, count and mark read their own.

A recipient is a username or `role:<role>`; a member sees the alerts addressed to their username and to each role
they hold (the caller passes the roles). Read state lives in its own table, one row per (alert, member), so a role
alert is read by each member separately. Alerts older than `max_age_s` are neither shown nor counted, and `prune`
deletes them. Works on SQLite and PostgreSQL through `backends.sql`. Must never import web code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, literal, select, tuple_
from sqlalchemy.types import DOUBLE_PRECISION, Text

from alerts.exceptions import InvalidAlert
from alerts.models import ROLE_PREFIX, Alert, AlertKind, recipients_of, sla_title
from alerts.tables import staff_alert_reads, staff_alerts
from backends.sql import Database, Row, upsert

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Long enough for a member back from a fortnight's leave to find what happened; short enough that a new supervisor
# does not inherit months of their role's alerts as unread.
MAX_AGE_S = 14 * 24 * 3600.0


# The columns one `add` call gives all its rows: a member addressed by name and by role sees the alert once.
_SAME_ALERT = (
    staff_alerts.c.created_at,
    staff_alerts.c.kind,
    staff_alerts.c.title,
    staff_alerts.c.params,
    staff_alerts.c.link,
)


def _alert(row: Row) -> Alert:
    return Alert(
        id=int(row["id"]),
        recipient=row["recipient"],
        kind=row["kind"],
        title=row["title"],
        params=json.loads(row["params"]),
        link=row["link"],
        created_at=float(row["created_at"]),
        read_at=None if row["read_at"] is None else float(row["read_at"]),
    )


def _checked_recipients(recipients: Sequence[str]) -> list[str]:
    """Without empty names and repeats, in order: a watcher may pass `[ticket.assignee or "", team.lead or ""]`."""
    if isinstance(recipients, str):
        raise InvalidAlert("recipients must be a sequence of names, not one string")
    out: list[str] = []
    for recipient in recipients:
        if not isinstance(recipient, str):
            raise InvalidAlert(f"a recipient must be a string, not {recipient!r}")
        if not recipient:
            continue
        if recipient == ROLE_PREFIX or recipient != recipient.strip() or not recipient.isprintable():
            raise InvalidAlert(f"recipient {recipient!r} names no one")
        if recipient not in out:
            out.append(recipient)
    return out


def _checked_link(link: str) -> str:
    """Same-site paths only: the staff pages put it in an href, where `javascript:` or `//evil` would be a hole."""
    if link and (not link.startswith("/") or link.startswith("//") or "\\" in link or not link.isprintable()):
        raise InvalidAlert(f"an alert links to a path on this site, not {link[:80]!r}")
    return link


class AlertStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time, *, max_age_s: float = MAX_AGE_S) -> None:
        self._db = db
        self._clock = clock
        self._max_age_s = max_age_s

    async def add(
        self, recipients: Sequence[str], kind: str, title: str, params: Mapping[str, Any] | None = None, link: str = ""
    ) -> list[Alert]:
        """One alert per distinct recipient (blank ones are skipped), committed together; [] when none is left.

        `title` is an English message id (mark it with `N_`), filled from `params` (JSON values) when read; `link`
        is a same-site path ("/console/tickets/FD-000123") or "". Raises InvalidAlert for a bad title, recipient,
        link or parameter."""
        names = _checked_recipients(recipients)
        if not title or not isinstance(title, str):
            raise InvalidAlert("an alert needs a title (an English message id)")
        values = dict(params or {})
        try:
            params_json = json.dumps(values, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise InvalidAlert(f"alert parameters must be JSON values: {exc}") from exc
        link = _checked_link(link)
        if not names:
            return []
        now = self._clock()
        alerts: list[Alert] = []
        async with self._db.transaction() as tx:
            for name in names:
                alert_id = await tx.fetchval(
                    insert(staff_alerts)
                    .values(
                        recipient=name,
                        kind=str(kind),
                        title=title,
                        params=params_json,
                        link=link,
                        created_at=now,
                    )
                    .returning(staff_alerts.c.id)
                )
                alerts.append(Alert(int(alert_id), name, str(kind), title, values, link, now, None))
        return alerts

    async def notify(self, recipients: Sequence[str], kind: str, params: Mapping[str, Any], link: str) -> None:
        """The SLA watcher's `intake.sla_watch.StaffNotifier`: `add` with the SLA title for `kind` and the clock in
        `params["metric"]`. Raises ValueError for a kind that is not an SLA alert."""
        alert_kind = AlertKind(kind)
        await self.add(recipients, alert_kind, sla_title(alert_kind, str(params.get("metric", ""))), params, link)

    def _visible(self, username: str, roles: Iterable[str], *, unread_only: bool) -> Select[Any]:
        """The member's alerts joined to their own read row (NULL: unread), still within `max_age_s`."""
        reads = staff_alert_reads
        joined = staff_alerts.outerjoin(
            reads, and_(reads.c.alert_id == staff_alerts.c.id, reads.c.username == username)
        )
        conditions: list[ColumnElement[bool]] = [
            staff_alerts.c.recipient.in_(recipients_of(username, roles)),
            staff_alerts.c.created_at >= self._clock() - self._max_age_s,
        ]
        if unread_only:
            conditions.append(reads.c.read_at.is_(None))
        return select(staff_alerts, reads.c.read_at).select_from(joined).where(*conditions)

    async def for_member(
        self, username: str, roles: Iterable[str], *, unread_only: bool = False, limit: int = DEFAULT_LIMIT
    ) -> list[Alert]:
        """The member's alerts, newest first, at most `limit` (1 to MAX_LIMIT); `roles` are the role names they hold
        ("supervisor", "agent")."""
        limit = max(1, min(limit, MAX_LIMIT))
        query = self._visible(username, roles, unread_only=unread_only)
        # One alert reaches a member once even when it was addressed to them twice (a team lead who is also a
        # supervisor): rows of one `add` share their key; the newest row stands for them, unread if any copy is.
        rows = await self._db.fetch(query.order_by(staff_alerts.c.id.desc()).limit(limit * 3))
        alerts: dict[tuple[Any, ...], Alert] = {}
        for row in rows:
            key = tuple(row[c.name] for c in _SAME_ALERT)
            alert = _alert(row)
            kept = alerts.setdefault(key, alert)
            if kept is not alert and alert.read_at is None and kept.read_at is not None:
                alerts[key] = replace(kept, read_at=None)
        return list(alerts.values())[:limit]

    async def unread_count(self, username: str, roles: Iterable[str]) -> int:
        distinct = self._visible(username, roles, unread_only=True).with_only_columns(*_SAME_ALERT).distinct()
        return int(await self._db.fetchval(select(func.count()).select_from(distinct.subquery())))

    async def mark_read(self, username: str, roles: Iterable[str], ids: Iterable[int] | None = None) -> int:
        """Marks the member's unread alerts read: those in `ids`, or all of them when `ids` is None. Ids that are not
        the member's, or already read, are ignored. Returns how many were marked; safe to repeat or race."""
        query = self._visible(username, roles, unread_only=True)
        if ids is not None:
            wanted = sorted({int(i) for i in ids})
            if not wanted:
                return 0
            # Every copy of a wanted alert (see `for_member`) is read with it.
            same = select(*_SAME_ALERT).where(staff_alerts.c.id.in_(wanted))
            query = query.where(tuple_(*_SAME_ALERT).in_(same))
        now = self._clock()
        rows = query.with_only_columns(staff_alerts.c.id, literal(username, Text), literal(now, DOUBLE_PRECISION))
        statement = (
            upsert(self._db, staff_alert_reads)
            .from_select(["alert_id", "username", "read_at"], rows)
            .on_conflict_do_nothing()
        )
        return await self._db.execute(statement)

    async def prune(self) -> int:
        """Deletes the alerts older than `max_age_s` with their read rows; returns how many alerts went."""
        cutoff = self._clock() - self._max_age_s
        old = select(staff_alerts.c.id).where(staff_alerts.c.created_at < cutoff)
        async with self._db.transaction() as tx:
            await tx.execute(delete(staff_alert_reads).where(staff_alert_reads.c.alert_id.in_(old)))
            return await tx.execute(delete(staff_alerts).where(staff_alerts.c.created_at < cutoff))


__all__ = ["DEFAULT_LIMIT", "MAX_AGE_S", "MAX_LIMIT", "AlertStore"]
