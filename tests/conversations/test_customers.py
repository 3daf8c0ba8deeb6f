"""The customer record across channels, on SQLite and PostgreSQL: proofs link identities (and merge the second
channel's record into the first), agents merge and edit records, every merge is recorded and explains itself."""

from __future__ import annotations

import asyncio

import pytest

from backends.sql import Database
from conversations.customers import CustomerRecords
from conversations.exceptions import CustomerMerged, InvalidProfile, SameCustomer, UnknownCustomer
from conversations.identity import IdentityKey, contact_key, phone_key
from conversations.models import IdentitySource, MergeReason
from conversations.profile import MAX_TAG_CHARS, MAX_TAGS, checked_changes
from conversations.store import ConversationStore
from conversations.surveys import SurveyStore
from intake.models import EventKind, Priority, TicketDraft
from intake.tickets import TicketStore

PHONE = IdentityKey("phone", "13800138001")
SHOP = IdentityKey("shop", "shop-1001")
PROOF = {"order_number": "1000000001", "contact": "***8001"}


@pytest.fixture
def tickets(database: Database) -> TicketStore:
    return TicketStore(database)


@pytest.fixture
def records(database: Database, tickets: TicketStore) -> CustomerRecords:
    return CustomerRecords(database, movers={"tickets": tickets})


@pytest.fixture
def store(database: Database) -> ConversationStore:
    return ConversationStore(database)


def test_one_contact_written_two_ways_is_one_key() -> None:
    assert contact_key("+86 138-0013-8001") == contact_key("13800138001") == contact_key("0086 13800138001") == PHONE
    assert contact_key("Alex.Chen@Example.com") == IdentityKey("email", "alex.chen@example.com")
    assert contact_key("call me maybe") is None
    assert PHONE.masked() == "***8001" and IdentityKey("email", "alex@example.com").masked() == "a***@example.com"


async def test_a_proof_links_the_contact_and_the_shop_account_to_the_customer(
    records: CustomerRecords, store: ConversationStore
) -> None:
    web, _ = await store.customer_for_identity("web", "visitor-hash")
    outcome = await records.link_proven(web.id, [PHONE, SHOP], detail=PROOF)
    assert (outcome.customer_id, set(outcome.linked), outcome.merges) == (web.id, {PHONE, SHOP}, ())
    identities = {(i.kind, i.value): i for i in await records.identities_of(web.id)}
    assert identities[("web", "visitor-hash")].source is IdentitySource.CHANNEL
    proven = identities[("phone", "13800138001")]
    assert proven.source is IdentitySource.PROOF and proven.verified_at is not None and proven.detail == PROOF
    assert {PHONE, SHOP} <= await records.keys_of(web.id)
    again = await records.link_proven(web.id, [PHONE], detail=PROOF)  # idempotent
    assert (again.linked, again.merges) == ((), ())


async def test_the_same_proof_on_wechat_makes_the_website_customer_and_the_wechat_one_one_record(
    records: CustomerRecords, store: ConversationStore, tickets: TicketStore
) -> None:
    web, _ = await store.customer_for_identity("web", "visitor-hash")
    await records.update(web.id, checked_changes({"display_name": "Alex Chen", "tags": ["early adopter"]}))
    web_chat = await store.create_conversation(web.id, "web")
    await records.link_proven(web.id, [PHONE, SHOP], detail=PROOF)

    wechat, _ = await store.customer_for_identity("wechat", "openid-alex", language="zh")
    wechat_chat = await store.create_conversation(wechat.id, "wechat")
    ticket = await tickets.create(
        TicketDraft(customer_id=wechat.id, conversation_id=wechat_chat.id), priority=Priority.NORMAL
    )
    outcome = await records.link_proven(wechat.id, [PHONE, SHOP], detail=PROOF)

    assert outcome.customer_id == web.id and len(outcome.merges) == 1
    (merge,) = outcome.merges
    assert (merge.source_id, merge.target_id, merge.actor, merge.reason) == (
        wechat.id,
        web.id,
        "system",
        MergeReason.ORDER_PROOF,
    )
    assert merge.detail["identity"] == {"kind": "phone", "value": "13800138001"}
    assert merge.detail["order_number"] == "1000000001"
    assert merge.moved == {"identities": 1, "conversations": 1, "surveys": 0, "tickets": 1}
    # The WeChat customer's next message finds the one record; their old id reads as it too.
    again, returning = await store.customer_for_identity("wechat", "openid-alex")
    assert (again.id, returning) == (web.id, True)
    assert (await store.get_customer(wechat.id)).id == web.id
    survivor = await records.get(web.id)
    assert (survivor.display_name, survivor.language, survivor.tags) == ("Alex Chen", "zh", ("early adopter",))
    assert {c.id for c in await store.conversations_of(web.id)} == {web_chat.id, wechat_chat.id}
    moved = await tickets.get(ticket.number, customer_id=web.id)
    assert moved is not None
    (event,) = [e for e in await tickets.timeline(ticket.number) if e.kind is EventKind.CUSTOMER_MERGED]
    assert event.data == {"from": wechat.id, "to": web.id} and not event.public
    assert [m.id for m in await records.merges_into(web.id)] == [merge.id]


async def test_an_agent_merge_moves_everything_keeps_the_better_values_and_is_explained(
    records: CustomerRecords, store: ConversationStore, tickets: TicketStore, database: Database
) -> None:
    keep, _ = await store.customer_for_identity("web", "v1")
    dupe, _ = await store.customer_for_identity("socketio", "s1")
    await records.update(keep.id, checked_changes({"tags": ["a"], "preferences": {"contact_channel": "email"}}))
    await records.update(
        dupe.id,
        checked_changes(
            {
                "display_name": "Bo",
                "tier": "gold",
                "tags": ["b", "a"],
                "email": "bo@example.com",
                "preferences": {"x": "1"},
            }
        ),
    )
    chat = await store.create_conversation(dupe.id, "socketio")
    survey = await SurveyStore(database).ask(chat.id, "ann", customer_id=dupe.id, channel="socketio")
    await SurveyStore(database).rate(survey.id, 4)
    await tickets.create(TicketDraft(customer_id=dupe.id), priority=Priority.LOW)

    merge = await records.merge(dupe.id, keep.id, actor="ann", note="same person, asked on the phone")

    assert (merge.actor, merge.reason, merge.detail) == (
        "ann",
        MergeReason.AGENT,
        {"note": "same person, asked on the phone"},
    )
    assert merge.moved == {"identities": 1, "conversations": 1, "surveys": 1, "tickets": 1}
    merged = await records.get(keep.id)
    assert (merged.display_name, merged.tier, merged.email, merged.tags) == ("Bo", "gold", "bo@example.com", ("a", "b"))
    assert merged.preferences == {"contact_channel": "email", "x": "1"}
    assert (await records.get(dupe.id)).id == keep.id
    assert [i.kind for i in await records.identities_of(keep.id)] == ["web", "socketio"]
    assert [t.customer_id for t in await tickets.list_for_customer(keep.id)] == [keep.id]
    assert [r["score"] for r in await records.csat_of(keep.id)] == [4]
    assert (await SurveyStore(database).get(survey.id)).customer_id == keep.id  # an open question follows them
    assert [m.to_dict()["reason"] for m in await records.merges_into(keep.id)] == ["agent"]


async def test_bad_merges_are_refused_and_change_nothing(records: CustomerRecords, store: ConversationStore) -> None:
    first, _ = await store.customer_for_identity("web", "v1")
    second, _ = await store.customer_for_identity("web", "v2")
    with pytest.raises(SameCustomer):
        await records.merge(first.id, first.id, actor="ann")
    with pytest.raises(UnknownCustomer):
        await records.merge(first.id, "cus_nobody", actor="ann")
    with pytest.raises(UnknownCustomer):
        await records.merge("cus_nobody", first.id, actor="ann")
    await records.merge(second.id, first.id, actor="ann")
    with pytest.raises(CustomerMerged) as merged:
        await records.merge(second.id, first.id, actor="ann")  # merged already: into what it became
    assert merged.value.into == first.id
    with pytest.raises(CustomerMerged):
        await records.merge(first.id, second.id, actor="ann")
    with pytest.raises(CustomerMerged):
        await records.update(second.id, checked_changes({"tier": "vip"}))
    assert len(await records.merges_into(first.id)) == 1


async def test_a_record_merged_into_one_that_is_merged_later_still_resolves_in_one_hop(
    records: CustomerRecords, store: ConversationStore
) -> None:
    a, _ = await store.customer_for_identity("web", "a")
    b, _ = await store.customer_for_identity("web", "b")
    c, _ = await store.customer_for_identity("web", "c")
    first = await records.merge(a.id, b.id, actor="ann")
    second = await records.merge(b.id, c.id, actor="bob")
    assert (await records.get(a.id)).id == c.id and (await store.get_customer(a.id)).id == c.id
    assert (await store.customer_for_identity("web", "a"))[0].id == c.id
    assert {m.id for m in await records.merges_into(c.id)} == {first.id, second.id}


async def test_two_agents_merging_a_pair_in_opposite_directions_at_once_leave_one_record(
    records: CustomerRecords, store: ConversationStore
) -> None:
    a, _ = await store.customer_for_identity("web", "a")
    b, _ = await store.customer_for_identity("web", "b")
    results = await asyncio.gather(
        records.merge(a.id, b.id, actor="ann"), records.merge(b.id, a.id, actor="bob"), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1 and isinstance(next(r for r in results if r not in winners), CustomerMerged)
    assert (await records.get(a.id)).id == (await records.get(b.id)).id == winners[0].target_id


async def test_two_customers_proving_one_phone_at_once_end_as_one_record(
    records: CustomerRecords, store: ConversationStore
) -> None:
    ids = [(await store.customer_for_identity("web", f"v{i}"))[0].id for i in range(4)]
    await asyncio.gather(*(records.link_proven(i, [PHONE], detail=PROOF) for i in ids))
    assert len({(await records.get(i)).id for i in ids}) == 1


async def test_agents_edit_name_tier_tags_and_preferences(records: CustomerRecords, store: ConversationStore) -> None:
    customer, _ = await store.customer_for_identity("web", "v")
    changed = await records.update(
        customer.id,
        checked_changes({"display_name": " Ann Li ", "tier": "vip", "tags": ["vip-event", "退款多", "vip-event"]}),
    )
    assert (changed.display_name, changed.tier, changed.tags) == ("Ann Li", "vip", ("vip-event", "退款多"))
    assert changed.updated_at is not None
    cleared = await records.update(customer.id, checked_changes({"tags": [], "display_name": ""}))
    assert (cleared.tags, cleared.display_name, cleared.tier) == ((), "", "vip")
    with pytest.raises(UnknownCustomer):
        await records.update("cus_nobody", checked_changes({"tier": "gold"}))


@pytest.mark.parametrize(
    ("change", "field", "too_long"),
    [
        ({"tags": ["x" * (MAX_TAG_CHARS + 1)]}, "tags", True),
        ({"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}, "tags", False),
        ({"tags": "vip"}, "tags", False),
        ({"tags": [""]}, "tags", False),
        ({"tags": ["two\nlines"]}, "tags", False),
        ({"tier": "diamond"}, "tier", False),
        ({"email": "not an email"}, "email", False),
        ({"phone": "12"}, "phone", False),
        ({"display_name": "n" * 81}, "display_name", True),
        ({"preferences": ["a"]}, "preferences", False),
        ({"merged_into": "cus_x"}, "merged_into", False),
    ],
)
def test_a_change_that_breaks_the_rules_names_its_field(change: dict[str, object], field: str, too_long: bool) -> None:
    with pytest.raises(InvalidProfile) as caught:
        checked_changes(change)
    assert (caught.value.field, caught.value.too_long) == (field, too_long)


async def test_a_contact_from_the_form_fills_only_an_empty_field(
    records: CustomerRecords, store: ConversationStore
) -> None:
    customer, _ = await store.customer_for_identity("web", "v")
    assert await records.save_contact(customer.id, IdentityKey("email", "a@example.com"))
    assert not await records.save_contact(customer.id, IdentityKey("email", "b@example.com"))
    assert await records.save_contact(customer.id, PHONE)
    assert not await records.save_contact("cus_nobody", PHONE)
    saved = await records.get(customer.id)
    assert (saved.email, saved.phone) == ("a@example.com", "13800138001")
    assert phone_key(saved.phone) in await records.keys_of(customer.id)


async def test_search_finds_records_by_name_contact_or_identity_but_never_a_merged_one(
    records: CustomerRecords, store: ConversationStore
) -> None:
    alex, _ = await store.customer_for_identity("wechat", "openid-alex")
    await records.update(alex.id, checked_changes({"display_name": "Alex Chen", "email": "alex@example.com"}))
    await records.link_proven(alex.id, [PHONE], detail=PROOF)
    other, _ = await store.customer_for_identity("web", "v")
    for query in ("alex", "ALEX@example.com", "+86 138 0013 8001", "openid-alex", alex.id):
        assert [c.id for c in await records.search(query)] == [alex.id], query
    assert await records.search("100%_") == [] and await records.search("  ") == []
    await records.merge(other.id, alex.id, actor="ann")
    assert await records.search(other.id) == []


async def test_names_give_staff_a_name_email_or_phone_for_a_page_of_customers_in_one_call(
    records: CustomerRecords, store: ConversationStore
) -> None:
    named, _ = await store.customer_for_identity("web", "v-named")
    emailed, _ = await store.customer_for_identity("web", "v-emailed")
    phoned, _ = await store.customer_for_identity("wechat", "openid-phoned")
    anonymous, _ = await store.customer_for_identity("web", "v-anonymous")
    await records.update(named.id, checked_changes({"display_name": "Alex Chen", "email": "alex@example.com"}))
    await records.update(emailed.id, checked_changes({"email": "bo@example.com"}))
    await records.update(phoned.id, checked_changes({"phone": "13800138001"}))
    ids = [named.id, emailed.id, phoned.id, anonymous.id, "cus_nobody", ""]
    assert await records.names(ids) == {named.id: "Alex Chen", emailed.id: "bo@example.com", phoned.id: "13800138001"}
    assert await records.names([]) == {}
