"""BM25 over an inverted index that grows and shrinks one document at a time.

Owns term statistics and BM25 scoring for integer document ids. Must never tokenise (callers pass terms, so the
same tokeniser serves indexing and queries) and never know about FAQ entries.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any


class BM25Index:
    """Okapi BM25 with incremental `add`/`remove`; idf and average length are always current."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._postings: dict[str, dict[int, int]] = {}
        self._lengths: dict[int, int] = {}
        self._terms: dict[int, tuple[str, ...]] = {}
        self._total_length = 0
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._lengths)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._lengths

    @property
    def average_length(self) -> float:
        return self._total_length / len(self._lengths) if self._lengths else 0.0

    def document_frequency(self, term: str) -> int:
        return len(self._postings.get(term, ()))

    def add(self, doc_id: int, terms: Sequence[str]) -> None:
        """Index `terms` under `doc_id`, replacing whatever that id held before."""
        with self._lock:
            if doc_id in self._lengths:
                self.remove(doc_id)
            counts = Counter(terms)
            for term, tf in counts.items():
                self._postings.setdefault(term, {})[doc_id] = tf
            self._lengths[doc_id] = len(terms)
            self._terms[doc_id] = tuple(counts)
            self._total_length += len(terms)

    def remove(self, doc_id: int) -> bool:
        """Forget `doc_id`; False when it was not indexed."""
        with self._lock:
            if doc_id not in self._lengths:
                return False
            for term in self._terms.pop(doc_id):
                posting = self._postings.get(term)
                if posting is not None:
                    posting.pop(doc_id, None)
                    if not posting:
                        del self._postings[term]
            self._total_length -= self._lengths.pop(doc_id)
            return True

    def idf(self, term: str) -> float:
        n = len(self._lengths)
        df = self.document_frequency(term)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def _accumulate(self, terms: Sequence[str]) -> dict[int, float]:
        # The hot loop of every query, so BM25 is written out inline:
        # idf · tf · (k1 + 1) / (tf + k1 · (1 − b + b · len/avg)).
        k1, b = self.k1, self.b
        avg = self.average_length
        lengths = self._lengths
        scores: dict[int, float] = {}
        get = scores.get
        for term in set(terms):
            posting = self._postings.get(term)
            if not posting:
                continue
            idf = self.idf(term)
            for doc_id, tf in posting.items():
                norm = k1 * (1.0 - b + b * lengths[doc_id] / avg) if avg > 0 else k1
                scores[doc_id] = get(doc_id, 0.0) + idf * tf * (k1 + 1.0) / (tf + norm)
        return scores

    def search(self, terms: Sequence[str], limit: int | None = None) -> list[tuple[int, float]]:
        """Documents sharing a term with the query, best first (ties in first-seen order)."""
        with self._lock:
            scores = self._accumulate(terms)
        if limit is not None and limit < len(scores):
            return heapq.nlargest(limit, scores.items(), key=itemgetter(1))
        return sorted(scores.items(), key=itemgetter(1), reverse=True)

    def score(self, terms: Sequence[str], doc_ids: Iterable[int], source: int | None = None) -> dict[int, float]:
        """Exact BM25 for the given documents (0.0 for those sharing no term). `source`: a document the query's
        terms were taken from, scored as if they had never been added to it (the other documents' statistics stay
        as they are)."""
        with self._lock:
            k1, b = self.k1, self.b
            avg = self.average_length
            counts = Counter(terms)
            postings = [(term, self._postings[term], self.idf(term)) for term in counts if term in self._postings]
            out: dict[int, float] = {}
            for doc_id in doc_ids:
                total = 0.0
                length = self._lengths.get(doc_id)
                if length is not None:
                    own = doc_id == source
                    if own:
                        length -= len(terms)
                    norm = k1 * (1.0 - b + b * length / avg) if avg > 0 else k1
                    for term, posting, idf in postings:
                        tf = posting.get(doc_id, 0) - (counts[term] if own else 0)
                        if tf > 0:
                            total += idf * tf * (k1 + 1.0) / (tf + norm)
                out[doc_id] = total
            return out

    def max_score(self, terms: Sequence[str]) -> float:
        """What a document matching every query term once, at average length, would score: a scale for BM25."""
        with self._lock:
            return sum(self.idf(t) for t in set(terms) if t in self._postings)

    def to_state(self) -> dict[str, Any]:
        with self._lock:
            return {"k1": self.k1, "b": self.b, "docs": {str(d): list(self._doc_terms(d)) for d in self._lengths}}

    def _doc_terms(self, doc_id: int) -> list[str]:
        terms: list[str] = []
        for term in self._terms[doc_id]:
            terms.extend([term] * self._postings[term][doc_id])
        return terms

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BM25Index:
        index = cls(k1=float(state["k1"]), b=float(state["b"]))
        for doc_id, terms in state["docs"].items():
            index.add(int(doc_id), terms)
        return index
