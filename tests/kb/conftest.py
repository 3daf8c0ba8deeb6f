"""Fixtures for the retrieval core (a tiny bilingual FAQ and a model-free encoder) and for the knowledge-base service
(`make_service`: services on the test database with fast settings, closed after the test)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from backends.sql import Database
from kb.encoders import HASHING, HashingEncoder
from kb.evaluation import read_kb
from kb.retrieval import HybridRetriever, IndexedEntry
from kb.service import KnowledgeBaseService
from kb.settings import RetrievalSettings
from tests.kb.editor_support import fast_encoders, fast_settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixture_paths() -> tuple[Path, Path]:
    return FIXTURES / "faq.csv", FIXTURES / "queries.csv"


@pytest.fixture
def entries() -> list[IndexedEntry]:
    return read_kb(FIXTURES / "faq.csv")


@pytest.fixture
def settings() -> RetrievalSettings:
    return RetrievalSettings(encoders={"en": (HASHING,), "zh": (HASHING,)})


@pytest.fixture
def encoders() -> dict[str, HashingEncoder]:
    return {HASHING: HashingEncoder(dim=512)}


@pytest.fixture
def retriever(
    entries: list[IndexedEntry], settings: RetrievalSettings, encoders: dict[str, HashingEncoder]
) -> HybridRetriever:
    built = HybridRetriever(settings, encoders)
    built.upsert_many(entries)
    built.adapt()
    return built


Factory = Callable[..., KnowledgeBaseService]


@pytest.fixture
async def make_service(database: Database) -> AsyncIterator[Factory]:
    made: list[KnowledgeBaseService] = []

    def make(**changes: Any) -> KnowledgeBaseService:
        service = KnowledgeBaseService(database, fast_settings(**changes), encoders=fast_encoders())
        made.append(service)
        return service

    yield make
    for service in made:
        await service.close()
