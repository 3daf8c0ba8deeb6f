"""A faiss inner-product index over L2-normalised vectors, keyed by integer ids, that can add and remove.

Owns one encoder's vectors. Must never encode text or know about FAQ entries; the caller maps ids to questions.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

FLAT = "flat"
HNSW = "hnsw"


class DenseIndex:
    """Exact (flat) or approximate (HNSW) inner-product search with stable int64 ids.

    Flat is exact and supports true removal; at 100,000 questions × 384 dimensions one query costs a few
    milliseconds on two cores, which is inside the latency budget. HNSW cannot delete, so removed ids are
    tombstoned and filtered out, and the graph is rebuilt when a third of it is dead.
    """

    def __init__(self, dim: int, kind: str = FLAT, hnsw_m: int = 32) -> None:
        self.dim = dim
        self.kind = kind
        self._hnsw_m = hnsw_m
        self._lock = threading.RLock()
        self._vectors: dict[int, np.ndarray] = {}
        self._dead: set[int] = set()
        self._index = self._new_index()

    def _new_index(self) -> faiss.Index:
        if self.kind == HNSW:
            inner = faiss.IndexHNSWFlat(self.dim, self._hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efSearch = 128
            return faiss.IndexIDMap2(inner)
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, item: object) -> bool:
        return item in self._vectors

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Add or replace vectors under `ids`."""
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        id_array = np.asarray(ids, dtype=np.int64)
        with self._lock:
            replaced = [i for i in ids if i in self._vectors]
            if replaced:
                self.remove(replaced)
            self._index.add_with_ids(matrix, id_array)
            for i, row in zip(ids, matrix, strict=True):
                self._vectors[int(i)] = row
                self._dead.discard(int(i))

    def remove(self, ids: Sequence[int]) -> int:
        """Remove `ids`; returns how many were present."""
        with self._lock:
            present = [int(i) for i in ids if int(i) in self._vectors]
            for i in present:
                del self._vectors[i]
            if not present:
                return 0
            if self.kind == HNSW:
                self._dead.update(present)
                if len(self._dead) * 3 > self._index.ntotal:
                    self._rebuild()
            else:
                self._index.remove_ids(np.asarray(present, dtype=np.int64))  # type: ignore[arg-type]
            return len(present)

    def _rebuild(self) -> None:
        self._index = self._new_index()
        self._dead.clear()
        if self._vectors:
            ids = np.fromiter(self._vectors.keys(), dtype=np.int64, count=len(self._vectors))
            self._index.add_with_ids(np.stack([self._vectors[int(i)] for i in ids]), ids)

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors for `ids` (zero rows for unknown ids)."""
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for row, i in enumerate(ids):
            vector = self._vectors.get(int(i))
            if vector is not None:
                out[row] = vector
        return out

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` (scores, ids) per query row; missing slots have id -1."""
        matrix = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        with self._lock:
            live = len(self._vectors)
            if live == 0 or k <= 0:
                empty = np.zeros((matrix.shape[0], 0))
                return empty.astype(np.float32), empty.astype(np.int64)
            fetch = min(k + len(self._dead), self._index.ntotal)
            scores, ids = self._index.search(matrix, fetch)
            dead = self._dead
        if dead:
            keep_scores = np.full((matrix.shape[0], k), -np.inf, dtype=np.float32)
            keep_ids = np.full((matrix.shape[0], k), -1, dtype=np.int64)
            for row in range(matrix.shape[0]):
                mask = np.array([i not in dead and i >= 0 for i in ids[row]], dtype=bool)
                good_ids, good_scores = ids[row][mask][:k], scores[row][mask][:k]
                keep_ids[row, : len(good_ids)] = good_ids
                keep_scores[row, : len(good_scores)] = good_scores
            return keep_scores, keep_ids
        return scores[:, :k], ids[:, :k]

    def save(self, path: Path) -> None:
        with self._lock:
            ids = np.fromiter(self._vectors.keys(), dtype=np.int64, count=len(self._vectors))
            matrix = np.stack([self._vectors[int(i)] for i in ids]) if len(ids) else np.zeros((0, self.dim), np.float32)
        np.savez(path, ids=ids, vectors=matrix, dim=np.int64(self.dim), kind=np.array(self.kind))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        with np.load(path, allow_pickle=False) as data:
            index = cls(int(data["dim"]), kind=str(data["kind"]))
            ids = [int(i) for i in data["ids"]]
            if ids:
                index.add(ids, data["vectors"])
        return index
