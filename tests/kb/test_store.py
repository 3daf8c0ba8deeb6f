"""The FAQ store's contract, over SQLite and PostgreSQL: entries, statuses, revisions, diffs, restore, filters."""

from __future__ import annotations

import asyncio

import pytest

from backends.sql import Database
from kb.io import FileFormat, read_entries, write_entries
from kb.store import (
    EntryDraft,
    EntryNotFound,
    EntryStatus,
    FAQStore,
    InvalidEntry,
    RevisionAction,
    VersionConflict,
)

RETURNS = EntryDraft(
    question="How do I return an item?",
    answer="Open **My orders** and choose *Return*. [Guide](https://shop.example.com/returns)",
    language="en",
    category="Returns",
    paraphrases=("I want to send something back", "  How can   I return my order? ", "i want to send something back"),
    tags=("Returns", "policy"),
)


@pytest.fixture
async def store(database: Database) -> FAQStore:
    faq = FAQStore(database)
    return faq


async def test_a_new_entry_is_a_normalised_draft_at_version_one(store: FAQStore) -> None:
    entry = await store.create(RETURNS, "eve")
    assert entry.status is EntryStatus.DRAFT and entry.version == 1 and entry.author == "eve"
    assert entry.paraphrases == ("I want to send something back", "How can I return my order?")
    assert entry.category == "returns" and entry.tags == ("returns", "policy")
    assert await store.get(entry.id) == entry
    assert entry.questions[0] == "How do I return an item?"


async def test_every_change_is_a_revision_and_bumps_the_store_revision(store: FAQStore) -> None:
    before = await store.revision()
    entry = await store.create(RETURNS, "eve")
    edited = await store.update(entry.id, EntryDraft("How do I return a product?", "New answer", "en"), "sam")
    published = await store.publish(entry.id, "eve")
    archived = await store.archive(entry.id, "eve")
    assert [edited.version, published.version, archived.version] == [2, 3, 4]
    assert published.published_at is not None and archived.status is EntryStatus.ARCHIVED
    revisions = await store.revisions(entry.id)
    assert [r.version for r in revisions] == [4, 3, 2, 1]
    assert [r.action for r in revisions] == [
        RevisionAction.ARCHIVED,
        RevisionAction.PUBLISHED,
        RevisionAction.EDITED,
        RevisionAction.CREATED,
    ]
    assert revisions[2].author == "sam" and revisions[2].snapshot.question == "How do I return a product?"
    assert await store.revision() == before + 4


async def test_an_edit_that_changes_nothing_writes_no_revision(store: FAQStore) -> None:
    entry = await store.create(RETURNS, "eve")
    again = await store.update(entry.id, RETURNS, "sam")
    assert again == entry and len(await store.revisions(entry.id)) == 1


async def test_diff_names_each_changed_field_and_restore_brings_old_content_back(store: FAQStore) -> None:
    entry = await store.create(RETURNS, "eve", status=EntryStatus.PUBLISHED)
    changed = EntryDraft(
        "How do I return an item?",
        "Open My orders.\nThen print the label.",
        "en",
        "returns",
        ("Return a product",),
        ("returns",),
    )
    await store.update(entry.id, changed, "sam")
    diff = await store.diff(entry.id, 1, 2)
    fields = {c.field: c for c in diff.changes}
    assert set(fields) == {"answer", "paraphrases", "tags"}
    assert "+ Return a product" in fields["paraphrases"].lines
    assert "- I want to send something back" in fields["paraphrases"].lines
    assert any(line.startswith("+Then print the label.") for line in fields["answer"].lines)
    restored = await store.restore(entry.id, 1, "eve")
    assert restored.version == 3 and restored.status is EntryStatus.PUBLISHED
    assert restored.draft == entry.draft
    assert (await store.revisions(entry.id))[0].action is RevisionAction.RESTORED
    assert (await store.diff(entry.id, 1, 3)).changes == ()


async def test_a_stale_version_is_refused_so_no_edit_is_lost(store: FAQStore) -> None:
    entry = await store.create(RETURNS, "eve")
    await store.update(entry.id, EntryDraft("Q2", "A2", "en"), "ann", expected_version=1)
    with pytest.raises(VersionConflict):
        await store.update(entry.id, EntryDraft("Q3", "A3", "en"), "bob", expected_version=1)
    assert (await store.get(entry.id)).question == "Q2"


async def test_concurrent_edits_of_one_version_have_one_winner(store: FAQStore) -> None:
    entry = await store.create(RETURNS, "eve")

    async def edit(n: int) -> bool:
        try:
            await store.update(entry.id, EntryDraft(f"Question {n}", "A", "en"), f"e{n}", expected_version=1)
        except VersionConflict:
            return False
        return True

    results = await asyncio.gather(*(edit(n) for n in range(10)))
    assert sum(results) == 1
    assert (await store.get(entry.id)).version == 2 and len(await store.revisions(entry.id)) == 2


async def test_bad_entries_are_refused_with_a_reason(store: FAQStore) -> None:
    with pytest.raises(InvalidEntry, match="question"):
        await store.create(EntryDraft("  ", "A", "en"), "eve")
    with pytest.raises(InvalidEntry, match="language"):
        await store.create(EntryDraft("Q", "A", "fr"), "eve")
    with pytest.raises(InvalidEntry, match="answer"):
        await store.create(EntryDraft("Q", "", "en"), "eve", status=EntryStatus.PUBLISHED)
    draft = await store.create(EntryDraft("Q", "", "en"), "eve")
    with pytest.raises(InvalidEntry, match="answer"):
        await store.publish(draft.id, "eve")
    with pytest.raises(InvalidEntry, match="id"):
        await store.create(EntryDraft("Q", "A", "en"), "eve", entry_id="bad id!")
    with pytest.raises(EntryNotFound):
        await store.publish("faq_missing", "eve")
    with pytest.raises(EntryNotFound):
        await store.diff(draft.id, 1, 7)


async def test_listing_filters_by_status_language_category_and_text(store: FAQStore) -> None:
    returns = await store.create(RETURNS, "eve", status=EntryStatus.PUBLISHED)
    await store.create(EntryDraft("退款多久到账？", "5 个工作日", "zh", "refunds", ("钱什么时候退回来？",)), "eve")
    await store.create(EntryDraft("100% cotton_shirt?", "Yes", "en", "products"), "eve")
    published, total = await store.list_entries(status=EntryStatus.PUBLISHED)
    assert [e.id for e in published] == [returns.id] and total == 1
    assert [e.language for e in (await store.list_entries(language="zh"))[0]] == ["zh"]
    assert [e.category for e in (await store.list_entries(category="products"))[0]] == ["products"]
    assert [e.id for e in (await store.list_entries(text="SEND SOMETHING"))[0]] == [returns.id]  # in a paraphrase
    assert len((await store.list_entries(text="钱什么时候"))[0]) == 1
    assert len((await store.list_entries(text="100%"))[0]) == 1  # % and _ are literal, not wildcards
    assert len((await store.list_entries(text="cott_n"))[0]) == 0
    page, total = await store.list_entries(limit=2)
    assert len(page) == 2 and total == 3
    assert await store.categories() == ["products", "refunds", "returns"]


async def test_the_state_checksum_follows_what_is_published(store: FAQStore) -> None:
    empty = await store.state()
    entry = await store.create(RETURNS, "eve")
    draft_only = await store.state()
    assert draft_only.checksum == empty.checksum and draft_only.revision == empty.revision + 1
    await store.publish(entry.id, "eve")
    published = await store.state()
    assert published.checksum != empty.checksum and published.published == 1


async def test_csv_and_yaml_exports_read_back_to_the_same_entries(store: FAQStore) -> None:
    tricky = EntryDraft(
        "=SUM(A1) is that a formula?",
        '- a Markdown list\n- with "quotes", commas\n\n| and | a table |',
        "en",
        "weird",
        ("+ plus start", "@at start"),
        ("x", "y"),
    )
    entries = [
        await store.create(RETURNS, "eve", status=EntryStatus.PUBLISHED),
        await store.create(tricky, "eve"),
        await store.create(EntryDraft("保修期多长？", "**2 年**", "zh", "warranty", ("质保几年？",), ("保修",)), "eve"),
    ]
    for file_format in FileFormat:
        text = write_entries(entries, file_format)
        records, problems = read_entries(text, file_format)
        assert problems == []
        assert [(r.entry_id, r.status, r.draft) for r in records] == [(e.id, e.status, e.draft) for e in entries]
    csv_text = write_entries(entries, FileFormat.CSV)
    assert "\n'=SUM" in csv_text or ",'=SUM" in csv_text  # inert in a spreadsheet


def test_imports_report_every_bad_row_with_its_number() -> None:
    text = (
        "id,language,category,status,question,paraphrases,answer,tags\r\n"
        "ok-1,en,general,published,Fine?,,Yes,\r\n"
        "ok-2,fr,general,draft,Bad language,,Yes,\r\n"
        "ok-1,en,general,draft,Duplicate id,,Yes,\r\n"
        "bad id,en,general,sideways,Bad status,,Yes,\r\n"
    )
    records, problems = read_entries(text, FileFormat.CSV)
    assert [r.entry_id for r in records] == ["ok-1", "ok-1"]
    assert sorted(p.row for p in problems) == [3, 4, 5]
    _, missing = read_entries("question,answer\r\nQ,A\r\n", FileFormat.CSV)
    assert "language" in missing[0].message
    _, not_yaml = read_entries("entries: [unclosed", FileFormat.YAML)
    assert "YAML" in not_yaml[0].message


def test_hostile_import_files_are_problems_not_crashes() -> None:
    header = "language,category,question,answer\r\n"
    huge_cell = header + "en,general,Q," + "x" * 200_000 + "\r\n"
    records, problems = read_entries(huge_cell, FileFormat.CSV)
    assert records == [] and "CSV" in problems[0].message
    deep = "entries: " + "[" * 5000 + "]" * 5000
    assert "nested too deeply" in read_entries(deep, FileFormat.YAML)[1][0].message
    # A few hundred bytes that expand to 10^9 strings once anything walks them ("billion laughs").
    laughs = ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    laughs += [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    records, problems = read_entries("\n".join(laughs), FileFormat.YAML)
    assert records == [] and "aliases" in problems[0].message
