"""An inner-product index over L2-normalised vectors, keyed by integer ids, that can add, replace and remove.

Owns one encoder's vectors, each held once. Must never encode text or know about FAQ entries; the caller maps ids
to questions.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

FLAT = "flat"
HNSW = "hnsw"
_MIN_CAPACITY = 64


class DenseIndex:
    """Exact (flat) or approximate (HNSW) inner-product search with stable int64 ids.

    Flat keeps the vectors in one contiguous float32 matrix (row → id array, id → row map) and searches it in place
    with `faiss.knn`; removal moves the last row into the hole, so it is exact and O(1), and `vectors(ids)` is one
    fancy-index gather. At 200,000 × 384 one query reads 300 MB, which is memory-bandwidth bound.

    HNSW keeps the vectors only inside faiss's graph storage, at append-only positions (row = position). The graph
    cannot delete, so removed or replaced ids are tombstoned, filtered out of results, and the graph is rebuilt
    from the live rows when a third of it is dead.
    """

    def __init__(self, dim: int, kind: str = FLAT, hnsw_m: int = 32) -> None:
        if kind not in (FLAT, HNSW):
            raise ValueError(f"unknown dense index kind {kind!r}; expected {FLAT!r} or {HNSW!r}")
        self.dim = dim
        self.kind = kind
        self._hnsw_m = hnsw_m
        self._lock = threading.RLock()
        self._row: dict[int, int] = {}  # id -> row
        self._ids = np.empty(0, dtype=np.int64)  # row -> id; -1 marks an HNSW tombstone
        self._size = 0  # rows in use (flat: all live; HNSW: live + dead)
        self._matrix = np.empty((0, dim), dtype=np.float32)  # flat only
        self._graph: faiss.IndexHNSWFlat | None = self._new_graph() if kind == HNSW else None

    def _new_graph(self) -> faiss.IndexHNSWFlat:
        graph = faiss.IndexHNSWFlat(self.dim, self._hnsw_m, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efSearch = 128
        return graph

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, item: object) -> bool:
        return item in self._row

    @property
    def nbytes(self) -> int:
        """Bytes of vector storage in use (not counting spare capacity or the HNSW graph's links)."""
        return self._size * self.dim * 4

    def ids(self) -> list[int]:
        """The live ids, in row order."""
        with self._lock:
            return [int(i) for i in self._ids[: self._size] if i >= 0]

    def _reserve(self, extra: int) -> None:
        needed = self._size + extra
        if needed <= len(self._ids):
            return
        # Doubling keeps appends amortised O(1); untouched capacity is never written, so it costs address space,
        # not resident memory.
        capacity = max(needed, 2 * len(self._ids), _MIN_CAPACITY)
        ids = np.full(capacity, -1, dtype=np.int64)
        ids[: self._size] = self._ids[: self._size]
        self._ids = ids
        if self._graph is None:
            matrix = np.empty((capacity, self.dim), dtype=np.float32)
            matrix[: self._size] = self._matrix[: self._size]
            self._matrix = matrix

    def _shrink(self) -> None:
        if self._graph is None and len(self._ids) > 4 * max(self._size, _MIN_CAPACITY):
            capacity = max(2 * self._size, _MIN_CAPACITY)
            self._ids = self._ids[:capacity].copy()
            self._matrix = self._matrix[:capacity].copy()

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Add or replace vectors under `ids` (a repeated id keeps its last vector)."""
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if not len(ids):
            return
        with self._lock:
            if self._graph is not None:
                self._add_hnsw([int(i) for i in ids], matrix)
                return
            rows = np.empty(len(ids), dtype=np.int64)
            appended = 0
            for j, raw in enumerate(ids):
                key = int(raw)
                row = self._row.get(key)
                if row is None:
                    row = self._size + appended
                    self._row[key] = row
                    appended += 1
                rows[j] = row
            self._reserve(appended)
            # Replacement overwrites the row in place; numpy assigns repeated rows in order, so the last one wins.
            self._matrix[rows] = matrix
            self._ids[rows] = np.asarray(ids, dtype=np.int64)
            self._size += appended

    def _add_hnsw(self, ids: list[int], matrix: np.ndarray) -> None:
        assert self._graph is not None
        dead = [self._row[i] for i in ids if i in self._row]
        self._reserve(len(ids))
        start = self._size
        for offset, key in enumerate(ids):
            old = self._row.get(key)
            if old is not None and old >= start:  # repeated within this batch
                dead.append(old)
            self._row[key] = start + offset
        self._graph.add(matrix)
        self._ids[start : start + len(ids)] = ids
        self._size += len(ids)
        if dead:
            self._ids[np.asarray(dead, dtype=np.int64)] = -1
            self._maybe_rebuild()

    def remove(self, ids: Sequence[int]) -> int:
        """Remove `ids`; returns how many were present."""
        removed = 0
        with self._lock:
            for raw in ids:
                row = self._row.pop(int(raw), None)
                if row is None:
                    continue
                removed += 1
                if self._graph is not None:
                    self._ids[row] = -1
                    continue
                last = self._size - 1
                if row != last:
                    moved = int(self._ids[last])
                    self._matrix[row] = self._matrix[last]
                    self._ids[row] = moved
                    self._row[moved] = row
                self._ids[last] = -1
                self._size = last
            if removed:
                if self._graph is not None:
                    self._maybe_rebuild()
                else:
                    self._shrink()
        return removed

    def _maybe_rebuild(self) -> None:
        dead = self._size - len(self._row)
        if dead * 3 <= self._size:
            return
        live = np.flatnonzero(self._ids[: self._size] >= 0)
        vectors = self._gather_rows(live)
        ids = self._ids[live]
        self._graph = self._new_graph()
        self._ids = np.empty(0, dtype=np.int64)
        self._size = 0
        self._row = {}
        if len(ids):
            self._add_hnsw([int(i) for i in ids], vectors)

    def _gather_rows(self, rows: np.ndarray) -> np.ndarray:
        if self._graph is not None:
            if not len(rows):
                return np.zeros((0, self.dim), dtype=np.float32)
            out: np.ndarray = self._graph.reconstruct_batch(np.ascontiguousarray(rows, dtype=np.int64))
        else:
            out = self._matrix[rows]
        return out

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors for `ids`, in that order (zero rows for unknown ids)."""
        with self._lock:
            get = self._row.get
            rows = np.fromiter((get(i, -1) for i in ids), dtype=np.int64, count=len(ids))
            known = rows >= 0
            if known.all():
                return self._gather_rows(rows)
            out = np.zeros((len(ids), self.dim), dtype=np.float32)
            out[known] = self._gather_rows(rows[known])
            return out

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` (scores, ids) per query row, best first; missing slots have id -1."""
        matrix = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        with self._lock:
            live = len(self._row)
            if live == 0 or k <= 0:
                empty = np.zeros((matrix.shape[0], 0))
                return empty.astype(np.float32), empty.astype(np.int64)
            if self._graph is None:
                scores, rows = faiss.knn(
                    matrix, self._matrix[: self._size], min(k, self._size), metric=faiss.METRIC_INNER_PRODUCT
                )
                return scores, np.where(rows >= 0, self._ids[rows], -1)
            dead = self._size - live
            scores, rows = self._graph.search(matrix, min(k + dead, self._size))
            ids = np.where(rows >= 0, self._ids[rows], -1)
        if not dead:
            return scores[:, :k], ids[:, :k]
        keep_scores = np.full((matrix.shape[0], k), -np.inf, dtype=np.float32)
        keep_ids = np.full((matrix.shape[0], k), -1, dtype=np.int64)
        for row in range(matrix.shape[0]):
            good = ids[row] >= 0
            good_ids, good_scores = ids[row][good][:k], scores[row][good][:k]
            keep_ids[row, : len(good_ids)] = good_ids
            keep_scores[row, : len(good_scores)] = good_scores
        return keep_scores, keep_ids

    def save(self, path: Path) -> None:
        """One .npz of ids, vectors (row-aligned), dim and kind; the same format as before vectors were held once."""
        with self._lock:
            rows = np.flatnonzero(self._ids[: self._size] >= 0)
            ids = self._ids[rows].copy()
            matrix = self._gather_rows(rows) if len(rows) else np.zeros((0, self.dim), np.float32)
        np.savez(path, ids=ids, vectors=matrix, dim=np.int64(self.dim), kind=np.array(self.kind))

    @classmethod
    def load(cls, path: Path, kind: str | None = None) -> DenseIndex:
        """Read what `save` wrote; `kind` rebuilds it as another kind (flat ↔ HNSW) from the stored vectors."""
        with np.load(path, allow_pickle=False) as data:
            index = cls(int(data["dim"]), kind=kind or str(data["kind"]))
            ids = [int(i) for i in data["ids"]]
            if ids:
                index.add(ids, data["vectors"])
        return index
