"""The editor's calibration report: what the service record says about each language's thresholds, and applying
the proposal.

`GET /api/v1/kb/calibration?language=en` (the report: `kb.proposal.CalibrationReport.to_dict()` plus the thresholds
in force and the KB's own fit), `POST /api/v1/kb/calibration/{language}/apply` `{answer, clarify}` and
`POST /api/v1/kb/calibration/{language}/reset` (back to the KB's own fit). Editors only; the POSTs are refused from
another origin (`require_role`). Applying or resetting is a setting change: a "setting" annotation on the analytics
charts (`analytics.annotations.AnnotationStore`). Handlers are thin: the knowledge-base service computes, stores and
serves the thresholds.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from analytics.annotations import AnnotationStore
from bot.keys import DATABASE, INTAKE, KB, SERVICE_RECORD, SETTINGS
from kb.abstention import Thresholds
from kb.exceptions import InvalidThresholds
from kb.language import SUPPORTED_LANGUAGES
from staff.auth import Role, require_role, staff_access
from staff.keys import STAFF
from web.exceptions import BadRequest, NotFound
from web.http import read_json_object
from web.openapi import NUMBER, documented, obj, string

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
EDITOR = staff_access(Role.EDITOR)


def _language(value: object) -> str:
    if value not in SUPPORTED_LANGUAGES:
        raise BadRequest(f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}", "bad_language")
    return str(value)


def change_label(language: str, before: Thresholds, after: Thresholds, labelled: int | None) -> str:
    """The annotation's text: numbers and codes only, so it reads the same in either language."""
    basis = f" ({labelled} labelled decisions)" if labelled is not None else " (the KB's own fit)"
    return (
        f"KB thresholds {language}: answer {before.answer:.2f} → {after.answer:.2f}, "
        f"clarify {before.clarify:.2f} → {after.clarify:.2f}{basis}"
    )


async def _annotate(request: web.Request, label: str, author: str) -> dict[str, Any]:
    app = request.app
    store = AnnotationStore(app[DATABASE], app[SETTINGS].analytics.clocks(app[INTAKE].calendar))
    return await store.add("setting", label, author)


@routes.get("/api/v1/kb/calibration")
@documented(
    EDITOR,
    "The calibration report of a language's thresholds",
    query={"language": string(enum=SUPPORTED_LANGUAGES)},
)
async def calibration_report(request: web.Request) -> web.Response:
    await require_role(request, request.app[STAFF], Role.EDITOR)
    language = _language(request.query.get("language", "en"))
    service = request.app[KB]
    report = await service.calibration_report(request.app[SERVICE_RECORD], language, time.time())
    fitted = (await service.thresholds(fitted=True)).get(language)
    return web.json_response(
        report.to_dict()
        | {"days": service.settings.calibration.days, "fitted": fitted.to_dict() if fitted is not None else None}
    )


@routes.post("/api/v1/kb/calibration/{language}/apply")
@documented(
    EDITOR,
    "Apply answer and clarify thresholds to a language",
    body=obj(required=("answer", "clarify"), answer=NUMBER, clarify=NUMBER),
)
async def apply_thresholds(request: web.Request) -> web.Response:
    """Body {answer, clarify} (numbers in [0, 1], clarify ≤ answer; the page sends the proposal)."""
    member = await require_role(request, request.app[STAFF], Role.EDITOR)
    language = _language(request.match_info["language"])
    data = await read_json_object(request)
    service = request.app[KB]
    report = await service.calibration_report(request.app[SERVICE_RECORD], language, time.time())
    basis = {
        "decisions": report.decisions,
        "labelled": report.labelled,
        "target_wrong_rate": report.target_wrong_rate,
        "proposal": report.proposal.to_dict() if report.proposal is not None else None,
    }
    try:
        before, after = await service.apply_thresholds(
            language, data.get("answer"), data.get("clarify"), member.username, basis
        )
    except InvalidThresholds as exc:
        raise BadRequest(str(exc), "bad_thresholds") from exc
    annotation = await _annotate(request, change_label(language, before, after, report.labelled), member.username)
    log.info("kb thresholds applied", extra={"language": language, "answer": after.answer, "clarify": after.clarify})
    return web.json_response({"before": before.to_dict(), "after": after.to_dict(), "annotation": annotation})


@routes.post("/api/v1/kb/calibration/{language}/reset")
@documented(EDITOR, "Back to the KB's own thresholds for a language")
async def reset_thresholds(request: web.Request) -> web.Response:
    member = await require_role(request, request.app[STAFF], Role.EDITOR)
    language = _language(request.match_info["language"])
    changed = await request.app[KB].reset_thresholds(language)
    if changed is None:
        raise NotFound("no thresholds were applied to that language")
    before, after = changed
    annotation = await _annotate(request, change_label(language, before, after, None), member.username)
    log.info("kb thresholds reset", extra={"language": language})
    return web.json_response({"before": before.to_dict(), "after": after.to_dict(), "annotation": annotation})


def setup_calibration(app: web.Application) -> None:
    app.add_routes(routes)


__all__ = ["change_label", "routes", "setup_calibration"]
