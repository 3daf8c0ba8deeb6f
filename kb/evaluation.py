"""Evaluating the retriever on a KB CSV and a queries CSV: ranking quality, out-of-scope detection, decisions, latency.

Owns reading the evaluation format (`faq_id,question,answer,lang` and `query,faq_id,lang`), building a retriever from
it, and the metrics. Must never train on the queries: only the KB reaches `HybridRetriever.adapt`.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb.decision import Decision, KBResult
from kb.encoders import Encoder
from kb.exceptions import EvaluationDataError
from kb.retrieval import HybridRetriever, IndexedEntry
from kb.settings import RetrievalSettings


@dataclass(frozen=True)
class EvalQuery:
    query: str
    entry_id: str  # "" when no entry answers it (out of scope)
    language: str


@dataclass
class EvalReport:
    n_queries: int
    n_in_scope: int
    n_out_of_scope: int
    top1: float
    recall5: float
    mrr: float
    oos_auroc: float | None
    answered_correctly: float
    answered_wrongly: float
    clarify: float
    clarify_contains_correct: float
    not_found: float
    p50_ms: float
    p95_ms: float
    index_seconds: float
    adapt_seconds: float
    per_language: dict[str, dict[str, float]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise EvaluationDataError(f"{path} is empty")
    missing = [c for c in required if c not in rows[0]]
    if missing:
        raise EvaluationDataError(f"{path} lacks columns {missing}")
    return rows


def read_kb(path: Path) -> list[IndexedEntry]:
    """Group `faq_id,question,answer,lang` rows into entries (rows sharing a faq_id are paraphrases)."""
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in _read_csv(path, ("faq_id", "question", "answer")):
        grouped.setdefault(row["faq_id"].strip(), []).append(row)
    entries = []
    for entry_id, rows in grouped.items():
        entries.append(
            IndexedEntry(
                entry_id=entry_id,
                questions=tuple(r["question"] for r in rows),
                answer=rows[0]["answer"],
                category=rows[0].get("category", "") or "",
                language=(rows[0].get("lang") or "en").strip(),
            )
        )
    return entries


def read_queries(path: Path) -> list[EvalQuery]:
    return [
        EvalQuery(r["query"], (r.get("faq_id") or "").strip(), (r.get("lang") or "").strip())
        for r in _read_csv(path, ("query", "faq_id"))
    ]


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """Probability that a random in-scope query gets higher confidence than a random out-of-scope one."""
    if not positive or not negative:
        return None
    scores = np.concatenate([np.asarray(positive, float), np.asarray(negative, float)])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores), dtype=float)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def build_retriever(
    entries: Sequence[IndexedEntry], settings: RetrievalSettings, encoders: Mapping[str, Encoder] | None = None
) -> tuple[HybridRetriever, float, float]:
    """Index `entries` and train the head; returns the retriever and the seconds each step took."""
    retriever = HybridRetriever(settings, encoders)
    started = time.perf_counter()
    retriever.upsert_many(entries)
    indexed = time.perf_counter()
    retriever.adapt()
    retriever.fine_tune()
    return retriever, indexed - started, time.perf_counter() - indexed


def evaluate(
    retriever: HybridRetriever,
    queries: Sequence[EvalQuery],
    *,
    use_query_language: bool = False,
    index_seconds: float = 0.0,
    adapt_seconds: float = 0.0,
) -> EvalReport:
    """Run each query once, one at a time (as the bot does), and compute the metrics."""
    results: list[KBResult] = []
    latencies: list[float] = []
    for item in queries:
        started = time.perf_counter()
        results.append(retriever.search(item.query, item.language if use_query_language and item.language else None))
        latencies.append((time.perf_counter() - started) * 1000.0)
    return score_results(queries, results, latencies, retriever.settings, index_seconds, adapt_seconds)


def score_results(
    queries: Sequence[EvalQuery],
    results: Sequence[KBResult],
    latencies_ms: Sequence[float],
    settings: RetrievalSettings,
    index_seconds: float = 0.0,
    adapt_seconds: float = 0.0,
) -> EvalReport:
    top1 = recall5 = rr = 0.0
    answered_ok = answered_bad = clarify = clarify_ok = not_found = 0
    in_conf: list[float] = []
    out_conf: list[float] = []
    per_lang: dict[str, list[float]] = {}
    for item, result in zip(queries, results, strict=True):
        ids = [c.entry_id for c in result.candidates]
        best = ids[0] if ids else ""
        if item.entry_id:
            in_conf.append(result.confidence)
            hit = best == item.entry_id
            top1 += hit
            recall5 += item.entry_id in ids[:5]
            rr += 1.0 / (ids.index(item.entry_id) + 1) if item.entry_id in ids else 0.0
            per_lang.setdefault(result.language, []).append(float(hit))
        else:
            out_conf.append(result.confidence)
        if result.decision is Decision.ANSWER:
            if item.entry_id and best == item.entry_id:
                answered_ok += 1
            else:
                answered_bad += 1
        elif result.decision is Decision.CLARIFY:
            clarify += 1
            clarify_ok += bool(item.entry_id) and item.entry_id in ids[: settings.clarify_max]
        else:
            not_found += 1
    n = len(queries)
    n_in = len(in_conf)
    lat = np.asarray(latencies_ms or [0.0])
    return EvalReport(
        n_queries=n,
        n_in_scope=n_in,
        n_out_of_scope=len(out_conf),
        top1=top1 / n_in if n_in else 0.0,
        recall5=recall5 / n_in if n_in else 0.0,
        mrr=rr / n_in if n_in else 0.0,
        oos_auroc=auroc(in_conf, out_conf),
        answered_correctly=answered_ok / n,
        answered_wrongly=answered_bad / n,
        clarify=clarify / n,
        clarify_contains_correct=clarify_ok / n,
        not_found=not_found / n,
        p50_ms=float(np.percentile(lat, 50)),
        p95_ms=float(np.percentile(lat, 95)),
        index_seconds=index_seconds,
        adapt_seconds=adapt_seconds,
        per_language={lang: {"top1": float(np.mean(v)), "n": float(len(v))} for lang, v in per_lang.items()},
        settings=settings.to_dict(),
    )


def run_evaluation(
    kb_path: Path,
    queries_path: Path,
    settings: RetrievalSettings,
    encoders: Mapping[str, Encoder] | None = None,
    *,
    use_query_language: bool = False,
) -> EvalReport:
    entries = read_kb(kb_path)
    queries = read_queries(queries_path)
    retriever, index_s, adapt_s = build_retriever(entries, settings, encoders)
    try:
        return evaluate(
            retriever, queries, use_query_language=use_query_language, index_seconds=index_s, adapt_seconds=adapt_s
        )
    finally:
        retriever.close()
