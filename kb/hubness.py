"""Hubness statistics: how much each KB question resembles the questions of *other* entries.

Owns `neighbour_similarity`. In high-dimensional embedding spaces a few vectors ("hubs") sit close to almost
everything and win queries they do not answer; subtracting each question's mean similarity to its nearest
neighbours (CSLS, Lample et al. 2018, computed on the KB side only) evens the field. Must never see customer
queries: the statistic comes from the knowledge base alone.
"""

from __future__ import annotations

import numpy as np


def neighbour_similarity(vectors: np.ndarray, owners: np.ndarray, k: int, block: int = 1024) -> np.ndarray:
    """For each row of `vectors` (L2-normalised), the mean cosine to its `k` nearest rows with a different owner.

    `owners[i]` names the entry row i belongs to, so an entry's own paraphrases never count as neighbours. Rows
    with fewer than `k` foreign rows average what there is; a lone entry gets 0. Quadratic in rows, in blocks.
    """
    n = len(vectors)
    out = np.zeros(n, dtype=np.float32)
    if n == 0 or k <= 0:
        return out
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    owners = np.asarray(owners)
    for start in range(0, n, block):
        sims = matrix[start : start + block] @ matrix.T
        sims[owners[start : start + block, None] == owners[None, :]] = -np.inf
        take = min(k, n)
        top = -np.partition(-sims, take - 1, axis=1)[:, :take]
        finite = np.isfinite(top)
        counts = finite.sum(axis=1)
        totals = np.where(finite, top, 0.0).sum(axis=1)
        out[start : start + block] = np.where(counts > 0, totals / np.maximum(counts, 1), 0.0)
    return out
