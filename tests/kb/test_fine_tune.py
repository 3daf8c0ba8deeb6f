"""Encoder adaptation with the real bundled MiniLM: one short epoch on a tiny KB, then swap (on ONNX), save and
load."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import kb.retrieval
from kb.encoders import MINILM, OnnxSentenceEncoder, SentenceTransformerEncoder
from kb.exceptions import IndexMismatch
from kb.finetune import FineTuneSettings, fine_tune_encoder, prune_models
from kb.retrieval import HybridRetriever, IndexedEntry
from kb.settings import RetrievalSettings

ENTRIES = [
    IndexedEntry("refund", ("Where is my refund?", "My money has not come back"), "Refund status", "", "en"),
    IndexedEntry("track", ("Where is my parcel?", "Track my order"), "Order tracking", "", "en"),
    IndexedEntry("password", ("I forgot my password", "Reset my login"), "Password reset", "", "en"),
    IndexedEntry("invoice", ("I need an invoice", "Send me a receipt"), "Invoices", "", "en"),
]


@pytest.fixture
def settings(tmp_path: Path) -> RetrievalSettings:
    return RetrievalSettings(
        encoders={"en": (MINILM,)},
        fine_tune=FineTuneSettings(epochs=1, entries_per_batch=4),
        fine_tune_dir=str(tmp_path / "models"),
    )


@pytest.fixture
def tuned(settings: RetrievalSettings) -> HybridRetriever:
    retriever = HybridRetriever(settings)
    retriever.upsert_many(ENTRIES)
    retriever.adapt()
    assert set(retriever.fine_tune()) == {"en"}
    return retriever


def test_the_fine_tuned_encoder_serves_queries_and_the_head_is_retrained(tuned: HybridRetriever) -> None:
    shard = tuned._shards["en"]
    assert MINILM in shard.tuned and Path(shard.tuned_paths[MINILM]).is_dir()
    # The child that trained it exported it too: the serving process runs it on ONNX without loading torch.
    assert (Path(shard.tuned_paths[MINILM]) / "model.onnx").is_file()
    assert isinstance(shard.tuned[MINILM].inner, OnnxSentenceEncoder)
    texts = ["Where is my refund?", "refund " * 100]  # the second is past the tuned model's 64-token limit
    on_torch = SentenceTransformerEncoder(shard.tuned_paths[MINILM]).encode(texts)
    assert np.min(np.sum(shard.tuned[MINILM].encode(texts) * on_torch, axis=1)) > 0.9999
    assert shard.head is not None
    assert tuned.search("has my refund been sent back").candidates[0].entry_id == "refund"
    assert tuned.search("where is my package").candidates[0].entry_id == "track"


def test_an_entry_added_after_the_swap_is_encoded_by_the_tuned_model(tuned: HybridRetriever) -> None:
    tuned.upsert(IndexedEntry("gift", ("Do you sell gift cards?",), "Gift cards", "", "en"))
    shard = tuned._shards["en"]
    expected = shard.tuned[MINILM].encode(["Do you sell gift cards?"])[0]
    stored = shard.questions[MINILM].vectors(shard.question_ids["gift"])[0]
    assert abs(float(stored @ expected) - 1.0) < 1e-4
    assert tuned.search("do you sell gift cards").candidates[0].entry_id == "gift"


def test_the_same_content_reuses_the_cached_model(
    tuned: HybridRetriever, settings: RetrievalSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(kb.retrieval, "fine_tune_in_subprocess", lambda *args: calls.append(args[1]))
    replica = HybridRetriever(settings)
    replica.upsert_many(ENTRIES)
    assert replica.fine_tune() == {"en": tuned._shards["en"].tuned_paths[MINILM]}
    assert calls == []
    assert tuned.fine_tune() == {}  # already in step with its entries


def test_save_and_load_keep_the_tuned_encoder_and_a_missing_model_forces_a_rebuild(
    tuned: HybridRetriever, settings: RetrievalSettings, tmp_path: Path
) -> None:
    tuned.save(tmp_path / "index")
    loaded = HybridRetriever.load(tmp_path / "index", settings)
    assert loaded._shards["en"].tuned_paths == tuned._shards["en"].tuned_paths
    query = "I can't log in, I lost my password"
    assert loaded.search(query).to_dict() == tuned.search(query).to_dict()
    shutil.rmtree(tuned._shards["en"].tuned_paths[MINILM])
    with pytest.raises(IndexMismatch):
        HybridRetriever.load(tmp_path / "index", settings)


def test_fine_tuning_needs_two_entries(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        fine_tune_encoder([["only one entry"]], tmp_path / "model", FineTuneSettings(epochs=1))


def test_pruning_keeps_the_models_in_use_and_the_newest_spares(tmp_path: Path) -> None:
    for age, name in enumerate(["a", "b", "c", "d", "e"]):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (1000.0 + age, 1000.0 + age))
    removed = prune_models(tmp_path, {tmp_path / "a"}, spare=2)
    assert sorted(p.name for p in removed) == ["b", "c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "d", "e"]
