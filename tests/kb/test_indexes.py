from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.dense import FLAT, HNSW, DenseIndex
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


def test_bm25_scores_a_query_against_its_source_as_if_it_had_never_been_added() -> None:
    # Document 1 is "refund card" + "refund late"; the query "refund late" was its second sentence. Without it, the
    # document is "refund card": it scores as document 3 does (the collection's statistics stay as they are).
    index = BM25Index()
    index.add(1, ["refund", "card", "refund", "late"])
    index.add(2, ["delivery", "card"])
    index.add(3, ["refund", "card"])
    without = index.score(["refund", "late"], [1, 2, 3], source=1)
    assert without[1] == pytest.approx(index.score(["refund", "late"], [3])[3])
    assert without[2] == index.score(["refund", "late"], [2])[2] == 0.0
    assert 0 < without[1] < index.score(["refund", "late"], [1])[1]


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


@pytest.mark.parametrize("kind", [FLAT, HNSW])
def test_dense_index_gathers_vectors_in_the_order_asked_with_zeros_for_unknown_ids(kind: str) -> None:
    index = DenseIndex(8, kind=kind)
    vectors = _vectors(4, seed=3)
    index.add([40, 41, 42, 43], vectors)
    out = index.vectors([43, 99, 40, 41])
    assert out.dtype == np.float32
    assert np.allclose(out, np.vstack([vectors[3], np.zeros(8), vectors[0], vectors[1]]))
    assert index.vectors([]).shape == (0, 8)


@pytest.mark.parametrize("kind", [FLAT, HNSW])
def test_dense_index_removal_from_the_middle_keeps_every_other_vector(kind: str) -> None:
    index = DenseIndex(8, kind=kind)
    vectors = _vectors(6, seed=4)
    index.add([0, 1, 2, 3, 4, 5], vectors)
    assert index.remove([1, 77, 3]) == 2
    assert len(index) == 4 and 1 not in index and 4 in index
    assert sorted(index.ids()) == [0, 2, 4, 5]
    assert np.allclose(index.vectors([5, 0, 4, 2]), vectors[[5, 0, 4, 2]])
    for i in (0, 2, 4, 5):
        assert index.search(vectors[i], 1)[1][0][0] == i
    assert index.remove([1]) == 0


@pytest.mark.parametrize("kind", [FLAT, HNSW])
def test_adding_an_existing_id_replaces_its_vector(kind: str) -> None:
    index = DenseIndex(8, kind=kind)
    old, new = _vectors(2, seed=5)
    index.add([7, 8], np.vstack([old, -old]))
    index.add([7], new[None, :])
    assert len(index) == 2
    assert np.allclose(index.vectors([7]), new[None, :])
    scores, ids = index.search(new, 2)
    assert ids[0][0] == 7 and np.isclose(scores[0][0], 1.0, atol=1e-5)
    assert list(ids[0]).count(7) == 1


@pytest.mark.parametrize("kind", [FLAT, HNSW])
def test_a_repeated_id_within_one_add_keeps_its_last_vector(kind: str) -> None:
    index = DenseIndex(8, kind=kind)
    vectors = _vectors(3, seed=6)
    index.add([1, 2, 1], vectors)
    assert len(index) == 2
    assert np.allclose(index.vectors([1, 2]), vectors[[2, 1]])


@pytest.mark.parametrize("kind", [FLAT, HNSW])
def test_dense_index_matches_a_dict_of_vectors_through_many_adds_and_removals(kind: str) -> None:
    rng = np.random.default_rng(8)
    index = DenseIndex(8, kind=kind)
    reference: dict[int, np.ndarray] = {}
    for step in range(60):
        ids = [int(i) for i in rng.choice(40, size=int(rng.integers(1, 6)), replace=False)]
        if step % 3 == 2:
            assert index.remove(ids) == sum(i in reference for i in ids)
            for i in ids:
                reference.pop(i, None)
        else:
            vectors = _vectors(len(ids), seed=100 + step)
            index.add(ids, vectors)
            reference.update(zip(ids, vectors, strict=True))
        assert len(index) == len(reference)
        assert sorted(index.ids()) == sorted(reference)
    known = sorted(reference)
    assert np.allclose(index.vectors(known), np.vstack([reference[i] for i in known]))
    query = _vectors(1, seed=999)[0]
    scores, ids = index.search(query, 5)
    exact = sorted(known, key=lambda i: -float(reference[i] @ query))[:5]
    assert list(ids[0]) == exact
    assert np.allclose(scores[0], [reference[i] @ query for i in exact], atol=1e-5)


@pytest.mark.parametrize("kind", [FLAT, HNSW])
def test_dense_index_round_trips_through_save_and_load(tmp_path: Path, kind: str) -> None:
    index = DenseIndex(8, kind=kind)
    vectors = _vectors(5, seed=9)
    index.add([10, 11, 12, 13, 14], vectors)
    index.remove([11])
    index.save(tmp_path / "dense.npz")
    loaded = DenseIndex.load(tmp_path / "dense.npz")
    assert loaded.kind == kind
    assert sorted(loaded.ids()) == [10, 12, 13, 14]
    assert np.allclose(loaded.vectors([14, 10]), vectors[[4, 0]])
    other = DenseIndex.load(tmp_path / "dense.npz", kind=HNSW if kind == FLAT else FLAT)
    assert other.kind != kind
    assert np.allclose(other.vectors([12, 13]), vectors[[2, 3]])
    assert other.search(vectors[3], 1)[1][0][0] == 13


def test_hnsw_rebuilds_its_graph_once_a_third_of_it_is_dead() -> None:
    index = DenseIndex(8, kind=HNSW)
    vectors = _vectors(9, seed=12)
    index.add(list(range(9)), vectors)
    index.remove([0, 1, 2])
    assert index.nbytes == 9 * 8 * 4  # three dead of nine: tombstoned, not yet rebuilt
    index.remove([3])
    assert index.nbytes == 5 * 8 * 4
    assert np.allclose(index.vectors([8, 4]), vectors[[8, 4]])
    assert index.search(vectors[6], 1)[1][0][0] == 6


def test_search_asks_for_no_more_than_the_index_holds() -> None:
    index = DenseIndex(8)
    index.add([1, 2], _vectors(2, seed=10))
    scores, ids = index.search(_vectors(2, seed=11), 10)
    assert scores.shape == ids.shape == (2, 2)
    assert DenseIndex(8).search(_vectors(1)[0], 3)[1].shape == (1, 0)


def test_hashing_encoder_returns_unit_float32_rows() -> None:
    out = HashingEncoder(dim=64).encode(["hello", "world"])
    assert out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
