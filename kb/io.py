"""Reading and writing FAQ entries as CSV and YAML, for editors' bulk edits and the starter FAQ.

Owns the two file formats (one row / one mapping per entry) and `ImportRecord`. Must never write to the store: the
service validates every record first and applies the import only when all of them are good.

CSV columns: id, language, category, status, question, paraphrases (one per line), answer, tags (comma-separated).
Cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR) are written with a leading apostrophe, which
reading removes again, so an export opened in Excel is inert and still round-trips.
YAML: a mapping with `entries:`, a list of {id, language, category, status, question, paraphrases, answer, tags}.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

from kb.constants import MAX_IMPORT_ENTRIES
from kb.store import EntryDraft, EntryStatus, FAQEntry, InvalidEntry, check_entry_id

CSV_COLUMNS = ("id", "language", "category", "status", "question", "paraphrases", "answer", "tags")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class FileFormat(StrEnum):
    CSV = "csv"
    YAML = "yaml"


@dataclass(frozen=True)
class ImportRecord:
    """One entry as a file describes it: `entry_id` empty means a new entry, `status` None keeps the current one."""

    row: int
    draft: EntryDraft
    entry_id: str = ""
    status: EntryStatus | None = None


@dataclass(frozen=True)
class ImportProblem:
    row: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "message": self.message}


def _protect(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _unprotect(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2] and cell[1:].startswith(_FORMULA_STARTS) else cell


def entry_record(entry: FAQEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "language": entry.language,
        "category": entry.category,
        "status": entry.status.value,
        "question": entry.question,
        "paraphrases": list(entry.paraphrases),
        "answer": entry.answer,
        "tags": list(entry.tags),
    }


def write_csv(entries: Iterable[FAQEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        record = entry_record(entry)
        record["paraphrases"] = "\n".join(entry.paraphrases)
        record["tags"] = ",".join(entry.tags)
        writer.writerow([_protect(str(record[c])) for c in CSV_COLUMNS])
    return out.getvalue()


def write_yaml(entries: Iterable[FAQEntry]) -> str:
    document = {"entries": [entry_record(e) for e in entries]}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000)


def write_entries(entries: Sequence[FAQEntry], file_format: FileFormat) -> str:
    return write_csv(entries) if file_format is FileFormat.CSV else write_yaml(entries)


def _record(row: int, data: dict[str, Any]) -> ImportRecord:
    raw_status = data.get("status")
    status: EntryStatus | None = None
    if raw_status not in (None, ""):
        try:
            status = EntryStatus(str(raw_status).strip().lower())
        except ValueError as exc:
            raise InvalidEntry(f"status must be draft, published or archived, not {raw_status!r}") from exc
    entry_id = str(data.get("id") or "").strip()
    if entry_id:
        check_entry_id(entry_id)
    draft = EntryDraft.from_dict({k: v for k, v in data.items() if k not in ("id", "status")}).normalised()
    return ImportRecord(row=row, draft=draft, entry_id=entry_id, status=status)


def read_csv(text: str) -> tuple[list[ImportRecord], list[ImportProblem]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    missing = {"question", "answer", "language"} - set(reader.fieldnames or ())
    if missing:
        return [], [ImportProblem(1, f"missing column(s): {', '.join(sorted(missing))}")]
    records: list[ImportRecord] = []
    problems: list[ImportProblem] = []
    rows = enumerate(reader, start=2)
    while True:
        try:
            number, row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # a cell over the csv module's field limit (131,072 characters), a stray NUL…
            problems.append(ImportProblem(reader.line_num, f"not a readable CSV row: {exc}"))
            break
        if number - 1 > MAX_IMPORT_ENTRIES:
            problems.append(ImportProblem(number, f"more than {MAX_IMPORT_ENTRIES} entries"))
            break
        cells = {k: _unprotect(v or "") for k, v in row.items() if k is not None}
        data: dict[str, Any] = dict(cells)
        data["paraphrases"] = [p for p in cells.get("paraphrases", "").split("\n") if p.strip()]
        data["tags"] = [t for t in cells.get("tags", "").split(",") if t.strip()]
        try:
            records.append(_record(number, data))
        except InvalidEntry as exc:
            problems.append(ImportProblem(number, str(exc)))
    return records, problems


class _FAQLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases: an FAQ file needs none, and a few hundred bytes of nested aliases expand
    into gigabytes once anything walks the document (the "billion laughs" attack)."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in an FAQ file", mark)
        return super().compose_node(parent, index)


def read_yaml(text: str) -> tuple[list[ImportRecord], list[ImportProblem]]:
    try:
        document = yaml.load(text, Loader=_FAQLoader)  # noqa: S506 - a SafeLoader that also refuses aliases
    except yaml.YAMLError as exc:
        return [], [ImportProblem(0, f"not valid YAML: {exc}")]
    except RecursionError:
        return [], [ImportProblem(0, "not valid YAML: nested too deeply")]
    items = document.get("entries") if isinstance(document, dict) else document
    if not isinstance(items, list):
        return [], [ImportProblem(0, "expected a list of entries (or a mapping with 'entries:')")]
    if len(items) > MAX_IMPORT_ENTRIES:
        return [], [ImportProblem(0, f"more than {MAX_IMPORT_ENTRIES} entries")]
    records: list[ImportRecord] = []
    problems: list[ImportProblem] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.append(ImportProblem(number, "each entry must be a mapping"))
            continue
        try:
            records.append(_record(number, {str(k): v for k, v in item.items()}))
        except InvalidEntry as exc:
            problems.append(ImportProblem(number, str(exc)))
    return records, problems


def read_entries(text: str, file_format: FileFormat) -> tuple[list[ImportRecord], list[ImportProblem]]:
    """Records and problems (row numbers: CSV lines counting the header as 1, YAML list positions from 1)."""
    records, problems = read_csv(text) if file_format is FileFormat.CSV else read_yaml(text)
    seen: dict[str, int] = {}
    for record in records:
        if record.entry_id:
            if record.entry_id in seen:
                problems.append(ImportProblem(record.row, f"id {record.entry_id} also on row {seen[record.entry_id]}"))
            seen[record.entry_id] = record.row
    return records, problems
