"""Fixtures for the retrieval core: a tiny bilingual FAQ and a model-free encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.encoders import HASHING, HashingEncoder
from kb.evaluation import read_kb
from kb.retrieval import HybridRetriever, IndexedEntry
from kb.settings import RetrievalSettings

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
