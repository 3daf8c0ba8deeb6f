from __future__ import annotations

import numpy as np

from kb.hubness import neighbour_similarity


def _unit(rows: list[list[float]]) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_a_hub_resembling_everything_scores_highest() -> None:
    vectors = _unit([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    scores = neighbour_similarity(vectors, np.arange(4), k=2)
    assert int(np.argmax(scores)) == 0
    assert np.isclose(scores[0], 1 / np.sqrt(3))


def test_an_entrys_own_paraphrases_are_not_its_neighbours() -> None:
    vectors = _unit([[1, 0], [1, 0.01], [0, 1]])
    scores = neighbour_similarity(vectors, np.array([7, 7, 8]), k=1)
    assert scores[0] < 0.1  # its twin belongs to the same entry; the only foreign row is orthogonal


def test_a_lone_entry_and_blocks_agree_with_one_pass() -> None:
    rng = np.random.default_rng(0)
    vectors = _unit(rng.standard_normal((50, 8)).tolist())
    owners = np.repeat(np.arange(25), 2)
    assert np.allclose(neighbour_similarity(vectors, owners, 5), neighbour_similarity(vectors, owners, 5, block=7))
    assert neighbour_similarity(vectors[:1], np.array([0]), 5).tolist() == [0.0]
