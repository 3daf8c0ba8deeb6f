"""The FAQ editor: the `/editor` page, its JSON API under `/api/v1/kb/`, and `setup_editor(app)` mounting them.

Owns the routes and the Markdown preview (`bot.channels.formats.answer_html`: the HTML the web widget shows).
Handlers are thin: they check the editor role, parse, call the service, and map the store's errors to 4xx JSON. Must
never render customer text as HTML (the page uses textContent for it) and never change the index except through the
service.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.channels.formats import answer_html
from bot.keys import KB
from kb.constants import MAX_ANSWER_CHARS, MAX_CATEGORY_CHARS, MAX_IMPORT_BYTES, MAX_QUERY_CHARS, MAX_QUESTION_CHARS
from kb.io import FileFormat
from kb.language import SUPPORTED_LANGUAGES
from kb.service import ImportFailed, KnowledgeBaseService, QuietSearch
from kb.store import EntryDraft, EntryNotFound, EntryStatus, FAQEntry, InvalidEntry, VersionConflict
from staff.auth import Role, current_member, require_role, staff_access
from staff.console import FAQ_DRAFTS, KB_SEARCH
from staff.keys import STAFF
from staff.pages import STATIC_DIR, forbidden_page, set_csrf_cookie
from web.exceptions import BadRequest, Conflict, NotFound, PayloadTooLarge
from web.http import SECURITY_HEADERS, int_param, read_json_object, text_field
from web.openapi import BOOLEAN, STRINGS, documented, integer, obj, string

log = logging.getLogger(__name__)

MAX_IDS = 2000

EDITOR = staff_access(Role.EDITOR)
STATUS = string(enum=("", *(s.value for s in EntryStatus)))
LANGUAGE = string(enum=("", "auto", *SUPPORTED_LANGUAGES))
FORMAT = string(enum=[f.value for f in FileFormat])
EXPECTED = obj(expected_version=integer(minimum=1))
IDS = obj(ids={"type": "array", "items": string(), "minItems": 1, "maxItems": MAX_IDS}, required=["ids"])
# An entry as the editor writes it (`kb.store.EntryDraft.from_dict`).
ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["question"],
    "properties": {
        "question": string(max_length=MAX_QUESTION_CHARS),
        "answer": string(max_length=MAX_ANSWER_CHARS),
        "language": string(enum=SUPPORTED_LANGUAGES),
        "category": string(max_length=MAX_CATEGORY_CHARS),
        "paraphrases": STRINGS,
        "tags": STRINGS,
    },
}

routes = web.RouteTableDef()


@contextlib.contextmanager
def _domain_errors() -> Iterator[None]:
    try:
        yield
    except EntryNotFound as exc:
        raise NotFound(str(exc)) from exc
    except VersionConflict as exc:
        raise Conflict(str(exc), "version_conflict") from exc
    except InvalidEntry as exc:
        raise BadRequest(str(exc), "invalid_entry") from exc


async def _editor(request: web.Request) -> str:
    member = await require_role(request, request.app[STAFF], Role.EDITOR)
    return member.username


def _service(request: web.Request) -> KnowledgeBaseService:
    return request.app[KB]


def _status(value: object, name: str = "status") -> EntryStatus | None:
    if value in (None, ""):
        return None
    try:
        return EntryStatus(str(value))
    except ValueError as exc:
        raise BadRequest(f"{name} must be draft, published or archived", "bad_status") from exc


def _language(value: object, allow_auto: bool = True) -> str | None:
    if value in (None, "") or (allow_auto and value == "auto"):
        return None
    if value not in SUPPORTED_LANGUAGES:
        raise BadRequest(f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}", "bad_language")
    return str(value)


def _expected(data: dict[str, Any]) -> int | None:
    """The version the editor loaded: a change against any other is refused (409), so no edit is lost silently."""
    value = data.get("expected_version")
    return None if value is None else int_param(value, "expected_version", None, 1)


def _format(value: object) -> FileFormat:
    try:
        return FileFormat(str(value or "yaml").lower().replace("yml", "yaml"))
    except ValueError as exc:
        raise BadRequest("format must be csv or yaml", "bad_format") from exc


def _draft(data: dict[str, Any]) -> EntryDraft:
    with _domain_errors():
        return EntryDraft.from_dict(data)


def _ids(data: dict[str, Any]) -> list[str]:
    ids = data.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids) or len(ids) > MAX_IDS:
        raise BadRequest(f"'ids' must be a list of 1-{MAX_IDS} question ids", "bad_ids")
    return ids


async def _entry_json(service: KnowledgeBaseService, entry: FAQEntry) -> dict[str, Any]:
    data = entry.to_dict()
    counts = await service.feedback_counts([entry.id])
    data["feedback"] = counts[entry.id].to_dict() if entry.id in counts else {"helpful": 0, "unhelpful": 0}
    data["answer_html"] = answer_html(entry.answer)
    data["indexed"] = service.indexed(entry.id) is not None
    return data


# ----- the page -----
@routes.get("/editor")
async def editor_page(request: web.Request) -> web.StreamResponse:
    member = await current_member(request, request.app[STAFF])
    if member is None:
        raise web.HTTPFound(f"/login?next={quote('/editor')}")
    if not member.has(Role.EDITOR):
        return forbidden_page(Role.EDITOR)
    request.app[KB].warm_up()  # an editor is about to try questions: have the index ready
    response = web.FileResponse(STATIC_DIR / "editor.html", headers=SECURITY_HEADERS)
    set_csrf_cookie(request, response)
    return response


# ----- entries -----
@routes.get("/api/v1/kb/entries")
@documented(
    EDITOR,
    "List and search FAQ entries",
    query={
        "q": string(max_length=MAX_QUERY_CHARS),
        "status": STATUS,
        "language": LANGUAGE,
        "category": string(max_length=MAX_CATEGORY_CHARS),
        "limit": integer(minimum=1, maximum=500),
        "offset": integer(minimum=0),
    },
)
async def list_entries(request: web.Request) -> web.Response:
    await _editor(request)
    service = _service(request)
    query = request.query
    text = text_field(query, "q", MAX_QUERY_CHARS, required=False)
    entries, total = await service.store.list_entries(
        status=_status(query.get("status")),
        language=_language(query.get("language")),
        category=query.get("category") or None,
        text=text or None,
        limit=int_param(query.get("limit"), "limit", 100, 1, 500),
        offset=int_param(query.get("offset"), "offset", 0),
    )
    counts = await service.feedback_counts([e.id for e in entries])
    items = []
    for entry in entries:
        data = entry.to_dict()
        data["feedback"] = counts[entry.id].to_dict() if entry.id in counts else {"helpful": 0, "unhelpful": 0}
        items.append(data)
    return web.json_response({"entries": items, "total": total, "categories": await service.store.categories()})


@routes.post("/api/v1/kb/entries")
@documented(
    EDITOR, "Create an entry", body={**ENTRY, "properties": {**ENTRY["properties"], "publish": BOOLEAN}}, status=201
)
async def create_entry(request: web.Request) -> web.Response:
    author = await _editor(request)
    data = await read_json_object(request)
    service = _service(request)
    with _domain_errors():
        entry = await service.create(_draft(data), author, publish=bool(data.get("publish")))
    return web.json_response(await _entry_json(service, entry), status=201)


@routes.get("/api/v1/kb/entries/{entry_id}")
@documented(EDITOR, "Read an entry")
async def get_entry(request: web.Request) -> web.Response:
    await _editor(request)
    service = _service(request)
    with _domain_errors():
        entry = await service.get(request.match_info["entry_id"])
    return web.json_response(await _entry_json(service, entry))


@routes.put("/api/v1/kb/entries/{entry_id}")
@documented(
    EDITOR,
    "Change an entry",
    body={**ENTRY, "properties": {**ENTRY["properties"], **EXPECTED["properties"], "status": STATUS}},
)
async def update_entry(request: web.Request) -> web.Response:
    author = await _editor(request)
    data = await read_json_object(request)
    service = _service(request)
    with _domain_errors():
        entry = await service.update(
            request.match_info["entry_id"],
            _draft(data),
            author,
            expected_version=_expected(data),
            status=_status(data.get("status")),
        )
    return web.json_response(await _entry_json(service, entry))


async def _set_status(request: web.Request, status: EntryStatus) -> web.Response:
    author = await _editor(request)
    data = await read_json_object(request)
    service = _service(request)
    with _domain_errors():
        entry = await service.set_status(
            request.match_info["entry_id"], status, author, expected_version=_expected(data)
        )
    return web.json_response(await _entry_json(service, entry))


@routes.post("/api/v1/kb/entries/{entry_id}/publish")
@documented(EDITOR, "Publish an entry", body=EXPECTED)
async def publish_entry(request: web.Request) -> web.Response:
    return await _set_status(request, EntryStatus.PUBLISHED)


@routes.post("/api/v1/kb/entries/{entry_id}/archive")
@documented(EDITOR, "Archive an entry", body=EXPECTED)
async def archive_entry(request: web.Request) -> web.Response:
    return await _set_status(request, EntryStatus.ARCHIVED)


@routes.post("/api/v1/kb/entries/{entry_id}/unpublish")
@documented(EDITOR, "Take an entry back to draft", body=EXPECTED)
async def unpublish_entry(request: web.Request) -> web.Response:
    return await _set_status(request, EntryStatus.DRAFT)


@routes.get("/api/v1/kb/entries/{entry_id}/revisions")
@documented(EDITOR, "An entry's revisions")
async def list_revisions(request: web.Request) -> web.Response:
    await _editor(request)
    with _domain_errors():
        revisions = await _service(request).revisions(request.match_info["entry_id"])
    return web.json_response({"revisions": [r.to_dict() for r in revisions]})


@routes.get("/api/v1/kb/entries/{entry_id}/diff")
@documented(
    EDITOR, "The difference between two revisions", query={"from": integer(minimum=1), "to": integer(minimum=1)}
)
async def diff_revisions(request: web.Request) -> web.Response:
    await _editor(request)
    entry_id = request.match_info["entry_id"]
    service = _service(request)
    with _domain_errors():
        current = await service.get(entry_id)
        to_version = int_param(request.query.get("to"), "to", current.version, 1)
        from_version = int_param(request.query.get("from"), "from", max(1, to_version - 1), 1)
        diff = await service.diff(entry_id, from_version, to_version)
    return web.json_response(diff.to_dict())


@routes.post("/api/v1/kb/entries/{entry_id}/restore")
@documented(
    EDITOR,
    "Restore a revision",
    body={**EXPECTED, "properties": {**EXPECTED["properties"], "version": integer(minimum=1)}, "required": ["version"]},
)
async def restore_revision(request: web.Request) -> web.Response:
    author = await _editor(request)
    data = await read_json_object(request)
    version = int_param(data.get("version"), "version", None, 1)
    service = _service(request)
    with _domain_errors():
        entry = await service.restore(request.match_info["entry_id"], version, author, expected_version=_expected(data))
    return web.json_response(await _entry_json(service, entry))


# ----- preview, try it, status -----
@routes.post("/api/v1/kb/preview")
@documented(EDITOR, "Render an answer's Markdown", body=obj(markdown=string(max_length=MAX_ANSWER_CHARS)))
async def preview(request: web.Request) -> web.Response:
    await _editor(request)
    data = await read_json_object(request)
    markdown = text_field(data, "markdown", MAX_ANSWER_CHARS, required=False)
    return web.json_response({"html": answer_html(markdown)})


@routes.post("/api/v1/kb/try")
@documented(
    EDITOR,
    "Ask the knowledge base a question",
    body=obj(query=string(max_length=MAX_QUERY_CHARS), language=LANGUAGE, required=["query"]),
)
async def try_query(request: web.Request) -> web.Response:
    await _editor(request)
    data = await read_json_object(request)
    query = text_field(data, "query", MAX_QUERY_CHARS)
    started = time.perf_counter()
    result = await _service(request).lookup(query, _language(data.get("language")))
    body = result.to_dict()
    body["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    # What the page needs to say why, in the editor's language: the thresholds the decision was made against.
    in_force = (await _service(request).thresholds()).get(result.language)
    body["thresholds"] = in_force.to_dict() if in_force else None
    body["ambiguity_ratio"] = _service(request).settings.retrieval.ambiguity_ratio
    return web.json_response(body)


@routes.get("/api/v1/kb/status")
@documented(EDITOR, "The knowledge base's index and thresholds")
async def kb_status(request: web.Request) -> web.Response:
    await _editor(request)
    return web.json_response(await _service(request).status())


# ----- import / export -----
@routes.get("/api/v1/kb/export")
@documented(
    EDITOR,
    "Export entries as YAML or CSV",
    query={"format": FORMAT, "status": STATUS, "language": LANGUAGE},
    media_type=("application/yaml", "text/csv"),
)
async def export_entries(request: web.Request) -> web.Response:
    await _editor(request)
    file_format = _format(request.query.get("format"))
    text = await _service(request).export(
        file_format, _status(request.query.get("status")), _language(request.query.get("language"))
    )
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    content_type = "text/csv" if file_format is FileFormat.CSV else "application/yaml"
    return web.Response(
        text=text,
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="faq-{stamp}.{file_format.value}"'},
    )


@routes.post("/api/v1/kb/import")
@documented(
    EDITOR,
    "Import entries from YAML or CSV",
    query={"format": FORMAT, "status": STATUS},
    body=string(),
    body_media_type="text/plain",
)
async def import_entries(request: web.Request) -> web.Response:
    author = await _editor(request)
    file_format = _format(request.query.get("format"))
    if request.content_length is not None and request.content_length > MAX_IMPORT_BYTES:
        raise PayloadTooLarge("import file too large")
    raw = await request.clone(client_max_size=MAX_IMPORT_BYTES).read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("the file must be UTF-8 text", "bad_encoding") from exc
    try:
        with _domain_errors():
            report = await _service(request).import_text(
                text, file_format, author, default_status=_status(request.query.get("status")) or EntryStatus.DRAFT
            )
    except ImportFailed as exc:
        return web.json_response(
            {"error": {"code": "invalid_import", "message": str(exc), "problems": [p.to_dict() for p in exc.problems]}},
            status=400,
        )
    return web.json_response(report.to_dict())


# ----- unanswered questions -----
@routes.get("/api/v1/kb/unanswered")
@documented(EDITOR, "Questions the bot could not answer, grouped", query={"language": LANGUAGE})
async def unanswered(request: web.Request) -> web.Response:
    await _editor(request)
    groups = await _service(request).unanswered_groups(_language(request.query.get("language")))
    return web.json_response({"groups": [g.to_dict() for g in groups]})


@routes.post("/api/v1/kb/unanswered/draft")
@documented(EDITOR, "Draft an entry from unanswered questions", body=IDS, status=201)
async def draft_from_unanswered(request: web.Request) -> web.Response:
    author = await _editor(request)
    data = await read_json_object(request)
    service = _service(request)
    with _domain_errors():
        entry = await service.draft_from_unanswered(_ids(data), author)
    return web.json_response(await _entry_json(service, entry), status=201)


@routes.post("/api/v1/kb/unanswered/dismiss")
@documented(EDITOR, "Dismiss unanswered questions", body=IDS)
async def dismiss_unanswered(request: web.Request) -> web.Response:
    await _editor(request)
    data = await read_json_object(request)
    return web.json_response({"dismissed": await _service(request).dismiss_unanswered(_ids(data))})


# ----- wiring -----
async def _editor_context(app: web.Application) -> AsyncIterator[None]:
    """The console's KB suggestions and FAQ drafts come from the front door's KB service (bot.knowledge)."""
    app[KB_SEARCH] = QuietSearch(app[KB])
    app[FAQ_DRAFTS] = app[KB]
    yield


def setup_editor(app: web.Application) -> None:
    """Mount the FAQ editor and its API (after the front door's KB context)."""
    app.cleanup_ctx.append(_editor_context)
    app.add_routes(routes)


__all__ = ["routes", "setup_editor"]
