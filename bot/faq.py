"""The FAQ as customers' chats see it before they type: a few common questions to offer as buttons.

Thin: checks the query and asks the knowledge base (`KnowledgeBaseService.starter_questions`, `kb/starters.py`),
which picks the questions and caches them. Public and the same for everyone, so shared caches may keep it a minute.
"""

from __future__ import annotations

from aiohttp import web

from bot.keys import KB, SERVICE_RECORD
from kb.constants import STARTER_CACHE_S, STARTER_MAX_QUESTIONS
from kb.language import SUPPORTED_LANGUAGES
from web.exceptions import BadRequest
from web.http import int_param
from web.openapi import PUBLIC, STRINGS, documented, integer, obj, string

routes = web.RouteTableDef()

DEFAULT_STARTERS = 4


@routes.get("/api/v1/faq/starters")
@documented(
    PUBLIC,
    "Common questions to offer a new chat",
    query={"language": string(enum=SUPPORTED_LANGUAGES), "limit": integer(minimum=1, maximum=STARTER_MAX_QUESTIONS)},
    result=obj(language=string(enum=SUPPORTED_LANGUAGES), questions=STRINGS, required=["language", "questions"]),
)
async def starter_questions(request: web.Request) -> web.Response:
    """Up to `limit` (default 4) published FAQ questions in `language` (required), the ones the bot answered most
    often lately first, one per category before a second of any. A chat shows them as buttons under its greeting;
    a click sends the question as the customer's message."""
    language = request.query.get("language", "")
    if language not in SUPPORTED_LANGUAGES:
        raise BadRequest(f"'language' must be one of {', '.join(SUPPORTED_LANGUAGES)}", "bad_language")
    limit = int_param(request.query.get("limit"), "limit", DEFAULT_STARTERS, 1, STARTER_MAX_QUESTIONS)
    questions = await request.app[KB].starter_questions(request.app[SERVICE_RECORD], language, limit)
    return web.json_response(
        {"language": language, "questions": questions},
        headers={"Cache-Control": f"public, max-age={int(STARTER_CACHE_S)}"},
    )
