"""The customer record across channels (customer 360): identities, proofs, merges and what agents edit.

One SQL implementation for SQLite and PostgreSQL (SQLAlchemy Core over `conversations.tables`). A customer is one
row of `customers` with any number of identities (conversations/identity.py): the channels' own (a web visitor,
a WeChat OpenID) arrive on first sight (`ConversationStore.customer_for_identity`); emails, phones, the shop's
customer id and a WeChat UnionID are linked only when proven (`link_proven`: an order number plus the phone or email
on that order, checked with the order system). Two records become one by `merge` — an agent's decision, or a proof
that finds the identity already on another record — which moves identities, conversations, satisfaction surveys
and, through the `CustomerMover`s it is given (intake's tickets), everything else that keeps a customer id, in one
transaction, and
writes a `customer_merges` row that explains it. A merged record keeps its row with `merged_into` set, so an old id
(in a Rasa tracker, a ticket link) still reads as the surviving record.

Must never decide what proves an identity (the actions do, with intake's `Order.proven_by`) or talk to customers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import and_, func, insert, or_, select, update

from backends.sql import SQL, Database, Row, upsert
from conversations.exceptions import CustomerMerged, SameCustomer, UnknownCustomer
from conversations.identity import IdentityKey, IdentityKind, email_key, phone_key
from conversations.models import Customer, CustomerMerge, Identity, IdentitySource, MergeReason, Tier
from conversations.profile import MAX_TAGS, ProfileChanges
from conversations.store import customer_of, new_id
from conversations.surveys import handoff_surveys
from conversations.tables import conversations, customer_merges, customers, identities

SEARCH_LIMIT = 20
CSAT_SHOWN = 20


class CustomerMover(Protocol):
    """Another store that keeps customer ids (intake's `TicketStore.move_customer`): inside the merge's
    transaction `tx` it moves every row of `source_id` to `target_id`, noting `actor` and the time `at` (epoch s),
    and returns how many rows moved."""

    async def move_customer(self, tx: SQL, source_id: str, target_id: str, *, actor: str, at: float) -> int: ...


@dataclass(frozen=True)
class LinkOutcome:
    """What `link_proven` did: the record the customer now lives on (`customer_id`, a different one when a proof
    merged them), the keys newly linked, and the merges it made."""

    customer_id: str
    linked: tuple[IdentityKey, ...] = ()
    merges: tuple[CustomerMerge, ...] = field(default_factory=tuple)


def _identity(row: Row) -> Identity:
    return Identity(
        kind=row["channel"],
        value=row["external_id"],
        customer_id=row["customer_id"],
        created_at=float(row["created_at"]),
        source=IdentitySource(row["source"]),
        verified_at=float(row["verified_at"]) if row["verified_at"] is not None else None,
        detail=json.loads(row["detail"] or "{}"),
    )


def _merge(row: Row) -> CustomerMerge:
    return CustomerMerge(
        id=row["id"],
        source_id=row["source_id"],
        target_id=row["target_id"],
        actor=row["actor"],
        reason=MergeReason(row["reason"]),
        detail=json.loads(row["detail"] or "{}"),
        moved=json.loads(row["moved"] or "{}"),
        at=float(row["at"]),
    )


def _combined(target: Customer, source: Customer) -> dict[str, Any]:
    """The surviving record's columns after a merge: its own values win, the merged one fills what it lacks; the
    higher tier, both sets of tags (the target's first) and both preferences (the target's win) are kept."""
    tags = list(target.tags) + [t for t in source.tags if t not in target.tags]
    tier = max(Tier.parse(target.tier), Tier.parse(source.tier), key=lambda t: t.rank)
    return {
        "display_name": target.display_name or source.display_name,
        "email": target.email or source.email,
        "phone": target.phone or source.phone,
        "language": target.language or source.language,
        "tier": tier.value,
        "tags": json.dumps(tags[:MAX_TAGS], ensure_ascii=False),
        "preferences": json.dumps({**source.preferences, **target.preferences}, ensure_ascii=False),
        "unsubscribed": int(target.unsubscribed or source.unsubscribed),
    }


class CustomerRecords:
    """`movers`: name → CustomerMover (e.g. {"tickets": TicketStore}); each name is a key of a merge's `moved`."""

    def __init__(
        self,
        db: Database,
        *,
        movers: Mapping[str, CustomerMover] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._movers = dict(movers or {})
        self._clock = clock

    # -- reads -------------------------------------------------------------------------------------------------------

    async def get(self, customer_id: str) -> Customer:
        """The record `customer_id` lives on (itself, or the one it was merged into). Raises UnknownCustomer."""
        row = await self._db.fetchrow(select(customers).where(customers.c.id == customer_id))
        if row is not None and row["merged_into"]:
            row = await self._db.fetchrow(select(customers).where(customers.c.id == row["merged_into"]))
        if row is None:
            raise UnknownCustomer(customer_id)
        return customer_of(row)

    async def names(self, customer_ids: Sequence[str]) -> dict[str, str]:
        """{customer id: what staff know them by}: the display name, else the email, else the phone; ids with none of
        these, and unknown ids, are left out (the caller shows the id). One query for a page of tickets."""
        wanted = sorted({cid for cid in customer_ids if cid})
        if not wanted:
            return {}
        columns = (customers.c.id, customers.c.display_name, customers.c.email, customers.c.phone)
        rows = await self._db.fetch(select(*columns).where(customers.c.id.in_(wanted)))
        found = {row["id"]: row["display_name"] or row["email"] or row["phone"] for row in rows}
        return {cid: name for cid, name in found.items() if name}

    async def identities_of(self, customer_id: str) -> list[Identity]:
        """The record's identities, oldest first."""
        rows = await self._db.fetch(
            select(identities)
            .where(identities.c.customer_id == customer_id)
            .order_by(identities.c.created_at, identities.c.channel, identities.c.external_id)
        )
        return [_identity(row) for row in rows]

    async def keys_of(self, customer_id: str) -> set[IdentityKey]:
        """Every key that identifies the customer: their identities, and the email and phone on their record."""
        customer = await self.get(customer_id)
        keys = {IdentityKey(i.kind, i.value) for i in await self.identities_of(customer.id)}
        for key in (email_key(customer.email), phone_key(customer.phone)):
            if key is not None:
                keys.add(key)
        return keys

    async def merges_into(self, customer_id: str) -> list[CustomerMerge]:
        """Every merge that made this record what it is (including merges into records later merged into it),
        newest first: the record's explanation."""
        merged = select(customers.c.id).where(customers.c.merged_into == customer_id)
        rows = await self._db.fetch(
            select(customer_merges)
            .where(or_(customer_merges.c.target_id == customer_id, customer_merges.c.target_id.in_(merged)))
            .order_by(customer_merges.c.at.desc(), customer_merges.c.id)
        )
        return [_merge(row) for row in rows]

    async def search(self, text: str, limit: int = SEARCH_LIMIT) -> list[Customer]:
        """Records (never merged ones) whose id, name, email or phone contains `text`, or that hold it as an
        identity (an email or phone in any spelling, an OpenID); most recently created first."""
        text = text.strip()
        if not text:
            return []
        keys = [k for k in (email_key(text), phone_key(text)) if k is not None]
        held = select(identities.c.customer_id).where(
            or_(
                identities.c.external_id == text,
                *(and_(identities.c.channel == k.kind, identities.c.external_id == k.value) for k in keys),
            )
        )
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await self._db.fetch(
            select(customers)
            .where(
                customers.c.merged_into.is_(None),
                or_(
                    customers.c.id == text,
                    customers.c.id.in_(held),
                    *(
                        func.lower(column).like(pattern, escape="\\")
                        for column in (customers.c.display_name, customers.c.email, customers.c.phone)
                    ),
                ),
            )
            .order_by(customers.c.created_at.desc())
            .limit(limit)
        )
        return [customer_of(row) for row in rows]

    async def csat_of(self, customer_id: str, limit: int = CSAT_SHOWN) -> list[dict[str, Any]]:
        """The customer's satisfaction ratings, newest first — after a live chat, and the follow-up after a resolved
        ticket (`ticket` set): conversation, agent, score (1–5), comment and when they rated."""
        surveys = handoff_surveys
        rows = await self._db.fetch(
            select(surveys)
            .join(conversations, conversations.c.id == surveys.c.conversation_id)
            .where(conversations.c.customer_id == customer_id, surveys.c.score.is_not(None))
            .order_by(surveys.c.rated_at.desc())
            .limit(limit)
        )
        return [
            {
                "conversation_id": row["conversation_id"],
                "agent_id": row["agent_id"],
                "score": int(row["score"]),
                "comment": row["comment"],
                "ticket": row["ticket"],
                "rated_at": row["rated_at"],
            }
            for row in rows
        ]

    # -- agents' changes -----------------------------------------------------------------------------------------------

    async def update(self, customer_id: str, changes: ProfileChanges) -> Customer:
        """Applies checked changes (conversations/profile.py: `checked_changes`). Raises UnknownCustomer, and
        CustomerMerged for a record that lives on as another (the caller edits that one)."""
        values = changes.columns()
        for name in ("tags", "preferences"):
            if name in values:
                value = values[name]
                values[name] = json.dumps(list(value) if name == "tags" else dict(value), ensure_ascii=False)
        if "tier" in values:
            values["tier"] = Tier(values["tier"]).value
        async with self._db.transaction() as tx:
            current = await self._locked(tx, customer_id)
            if values:
                await tx.execute(
                    update(customers).where(customers.c.id == current.id).values(**values, updated_at=self._clock())
                )
            row = await tx.fetchrow(select(customers).where(customers.c.id == current.id))
        assert row is not None  # locked above
        return customer_of(row)

    async def save_contact(self, customer_id: str, contact: IdentityKey) -> bool:
        """A contact the customer gave (the issue form) fills the record's empty email or phone field, so the next
        form does not ask again. An existing value stays (an agent may have set it). True when saved."""
        try:
            customer = await self.get(customer_id)
        except UnknownCustomer:
            return False
        return await self._fill_contact(self._db, customer.id, contact, self._clock())

    @staticmethod
    async def _fill_contact(sql: SQL, customer_id: str, contact: IdentityKey, now: float) -> bool:
        if contact.kind not in (IdentityKind.EMAIL, IdentityKind.PHONE):
            return False
        column = customers.c.email if contact.kind == IdentityKind.EMAIL else customers.c.phone
        changed = await sql.execute(
            update(customers)
            .where(customers.c.id == customer_id, column == "")
            .values({column.name: contact.value, "updated_at": now})
        )
        return changed > 0

    # -- proofs and merges ---------------------------------------------------------------------------------------------

    async def link_proven(
        self,
        customer_id: str,
        keys: Sequence[IdentityKey],
        *,
        detail: Mapping[str, Any],
        source: IdentitySource = IdentitySource.PROOF,
        reason: MergeReason = MergeReason.ORDER_PROOF,
    ) -> LinkOutcome:
        """Links proven `keys` to the customer. A key another record already holds is the same person proving it
        twice: this record is merged into that one (`reason`, `detail` recorded), which lives on. Idempotent: a
        key the record already holds only gains its verification. A proven email or phone also fills the record's
        empty contact field. Raises UnknownCustomer."""
        now = self._clock()
        linked: list[IdentityKey] = []
        merges: list[CustomerMerge] = []
        async with self._db.transaction() as tx:
            current = (await self._resolved(tx, customer_id)).id
            for key in keys:
                # Insert-if-absent: two customers proving one phone at once both try; one row wins, and the other
                # customer then finds it held and merges into its holder.
                inserted = await tx.execute(
                    upsert(tx, identities)
                    .values(
                        channel=key.kind,
                        external_id=key.value,
                        customer_id=current,
                        created_at=now,
                        source=source.value,
                        verified_at=now,
                        detail=json.dumps(dict(detail), ensure_ascii=False),
                    )
                    .on_conflict_do_nothing(index_elements=[identities.c.channel, identities.c.external_id])
                )
                if inserted:
                    linked.append(key)
                    await self._fill_contact(tx, current, key, now)
                    continue
                holder = await tx.fetchval(
                    select(identities.c.customer_id).where(
                        identities.c.channel == key.kind, identities.c.external_id == key.value
                    )
                )
                holder_id = (await self._resolved(tx, str(holder))).id
                if holder_id == current:
                    await self._fill_contact(tx, current, key, now)
                    await tx.execute(
                        update(identities)
                        .where(
                            identities.c.channel == key.kind,
                            identities.c.external_id == key.value,
                            identities.c.verified_at.is_(None),
                        )
                        .values(verified_at=now, source=source.value, detail=json.dumps(dict(detail)))
                    )
                    continue
                why = {**detail, "identity": key.to_dict()}
                merges.append(await self._merge(tx, current, holder_id, actor="system", reason=reason, detail=why))
                current = holder_id
                await self._fill_contact(tx, current, key, now)
        return LinkOutcome(current, tuple(linked), tuple(merges))

    async def merge(self, source_id: str, target_id: str, *, actor: str, note: str = "") -> CustomerMerge:
        """An agent's merge: `source_id` moves into `target_id`, which lives on. Raises UnknownCustomer,
        SameCustomer (itself), CustomerMerged (either was already merged into another: merge that one)."""
        async with self._db.transaction() as tx:
            return await self._merge(
                tx, source_id, target_id, actor=actor, reason=MergeReason.AGENT, detail={"note": note}
            )

    async def _merge(
        self, tx: SQL, source_id: str, target_id: str, *, actor: str, reason: MergeReason, detail: Mapping[str, Any]
    ) -> CustomerMerge:
        if source_id == target_id:
            raise SameCustomer(source_id)
        # Both rows locked in one order (PostgreSQL; SQLite's transaction holds the whole file), so two merges of
        # the same pair in opposite directions never both pass the checks below.
        rows = {
            row["id"]: row
            for row in await tx.fetch(
                select(customers)
                .where(customers.c.id.in_(sorted({source_id, target_id})))
                .order_by(customers.c.id)
                .with_for_update()
            )
        }
        for customer_id in (source_id, target_id):
            row = rows.get(customer_id)
            if row is None:
                raise UnknownCustomer(customer_id)
            if row["merged_into"]:
                raise CustomerMerged(customer_id, row["merged_into"])
        source, target = customer_of(rows[source_id]), customer_of(rows[target_id])
        now = self._clock()
        moved = {
            "identities": await tx.execute(
                update(identities).where(identities.c.customer_id == source.id).values(customer_id=target.id)
            ),
            "conversations": await tx.execute(
                update(conversations).where(conversations.c.customer_id == source.id).values(customer_id=target.id)
            ),
            # An open follow-up question is found by its customer: the answer may come from the other channel now.
            "surveys": await tx.execute(
                update(handoff_surveys).where(handoff_surveys.c.customer_id == source.id).values(customer_id=target.id)
            ),
        }
        for name, mover in self._movers.items():
            moved[name] = await mover.move_customer(tx, source.id, target.id, actor=actor, at=now)
        await tx.execute(
            update(customers).where(customers.c.id == target.id).values(**_combined(target, source), updated_at=now)
        )
        await tx.execute(
            update(customers).where(customers.c.id == source.id).values(merged_into=target.id, updated_at=now)
        )
        # Records merged into the source earlier now live on the target: `merged_into` stays one hop.
        await tx.execute(update(customers).where(customers.c.merged_into == source.id).values(merged_into=target.id))
        record = CustomerMerge(new_id("merge"), source.id, target.id, actor, reason, dict(detail), moved, now)
        await tx.execute(
            insert(customer_merges).values(
                id=record.id,
                source_id=record.source_id,
                target_id=record.target_id,
                actor=record.actor,
                reason=record.reason.value,
                detail=json.dumps(dict(record.detail), ensure_ascii=False),
                moved=json.dumps(dict(record.moved)),
                at=record.at,
            )
        )
        return record

    async def _resolved(self, tx: SQL, customer_id: str) -> Customer:
        row = await tx.fetchrow(select(customers).where(customers.c.id == customer_id))
        if row is not None and row["merged_into"]:
            row = await tx.fetchrow(select(customers).where(customers.c.id == row["merged_into"]))
        if row is None:
            raise UnknownCustomer(customer_id)
        return customer_of(row)

    async def _locked(self, tx: SQL, customer_id: str) -> Customer:
        row = await tx.fetchrow(select(customers).where(customers.c.id == customer_id).with_for_update())
        if row is None:
            raise UnknownCustomer(customer_id)
        if row["merged_into"]:
            raise CustomerMerged(customer_id, row["merged_into"])
        return customer_of(row)
