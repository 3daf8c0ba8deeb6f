from __future__ import annotations

from pathlib import Path

import numpy as np

from kb.dense import HNSW, DenseIndex
from kb.encoders import HashingEncoder, normalise_rows
from kb.lexical import BM25Index


def test_bm25_ranks_the_document_sharing_rare_terms_first() -> None:
    index = BM25Index()
    index.add(1, ["refund", "card"])
    index.add(2, ["delivery", "card"])
    assert index.search(["refund"])[0][0] == 1


def test_bm25_removal_updates_document_frequencies_and_lengths() -> None:
    index = BM25Index()
    index.add(1, ["refund", "card"])
    index.add(2, ["refund", "late"])
    assert index.document_frequency("refund") == 2
    assert index.remove(1)
    assert index.document_frequency("refund") == 1
    assert index.document_frequency("card") == 0
    assert len(index) == 1
    assert index.average_length == 2.0
    assert [doc for doc, _ in index.search(["card", "refund"])] == [2]


def test_bm25_adding_an_existing_id_replaces_its_terms() -> None:
    index = BM25Index()
    index.add(1, ["refund"])
    index.add(1, ["delivery"])
    assert index.search(["refund"]) == []
    assert index.score(["delivery"], [1])[1] > 0


def test_bm25_state_round_trips() -> None:
    index = BM25Index()
    index.add(3, ["a", "a", "b"])
    again = BM25Index.from_state(index.to_state())
    assert again.score(["a"], [3]) == index.score(["a"], [3])


def test_removing_an_unknown_document_returns_false() -> None:
    assert not BM25Index().remove(7)


def _vectors(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    return normalise_rows(np.random.default_rng(seed).normal(size=(n, dim)))


def test_dense_index_finds_an_added_vector_and_forgets_a_removed_one() -> None:
    index = DenseIndex(8)
    vectors = _vectors(5)
    index.add([10, 11, 12, 13, 14], vectors)
    _, ids = index.search(vectors[2], 1)
    assert ids[0][0] == 12
    assert index.remove([12]) == 1
    _, ids = index.search(vectors[2], 5)
    assert 12 not in ids[0]
    assert len(index) == 4


def test_hnsw_index_filters_removed_ids() -> None:
    index = DenseIndex(8, kind=HNSW)
    vectors = _vectors(20, seed=1)
    index.add(list(range(20)), vectors)
    index.remove([3])
    _, ids = index.search(vectors[3], 3)
    assert 3 not in ids[0]


def test_dense_index_save_and_load_keep_ids_and_vectors(tmp_path: Path) -> None:
    index = DenseIndex(8)
    vectors = _vectors(3, seed=2)
    index.add([5, 6, 7], vectors)
    index.save(tmp_path / "dense.npz")
    loaded = DenseIndex.load(tmp_path / "dense.npz")
    assert np.allclose(loaded.vectors([6]), vectors[1:2])
    assert loaded.search(vectors[2], 1)[1][0][0] == 7


def test_hashing_encoder_returns_unit_float32_rows() -> None:
    out = HashingEncoder(dim=64).encode(["hello", "world"])
    assert out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
