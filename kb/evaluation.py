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
    # The same outcomes over the out-of-scope messages only (every answer there is a wrong one).
    out_of_scope: dict[str, float] = field(default_factory=dict)
    # language -> the out-of-scope outcomes of that language's messages (languages with any).
    out_of_scope_per_language: dict[str, dict[str, float]] = field(default_factory=dict)
    # Of the clarify questions asked about in-scope messages, the share that offered the right entry.
    clarify_right_offered: float | None = None
    # Why each message was answered, clarified or passed on: reason code -> count (kb.decision.Reason).
    reasons: dict[str, int] = field(default_factory=dict)
    # Wrong-answer rate against answer rate, one point per distinct confidence (see `risk_coverage`).
    risk_coverage: list[dict[str, float]] = field(default_factory=list)
    # The thresholds each language decided with, and where they came from (kb.abstention.Thresholds).
    thresholds: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data.pop("risk_coverage", None)  # a curve, written as CSV (`write_risk_coverage_csv`)
        return data


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
    decisions_csv: Path | None = None,
) -> EvalReport:
    """Run each query once, one at a time (as the bot does), and compute the metrics."""
    results: list[KBResult] = []
    latencies: list[float] = []
    for item in queries:
        started = time.perf_counter()
        results.append(retriever.search(item.query, item.language if use_query_language and item.language else None))
        latencies.append((time.perf_counter() - started) * 1000.0)
    if decisions_csv is not None:
        write_decisions_csv(queries, results, decisions_csv)
    report = score_results(queries, results, latencies, retriever.settings, index_seconds, adapt_seconds)
    report.thresholds = {lang: t.to_dict() for lang, t in retriever.thresholds().items()}
    return report


@dataclass
class _Outcomes:
    """Counts of the four outcomes over some subset of the messages."""

    n: int = 0
    answered_correctly: int = 0
    answered_wrongly: int = 0
    clarify: int = 0
    clarify_right_offered: int = 0
    not_found: int = 0
    hits: list[float] = field(default_factory=list)

    def add(self, item: EvalQuery, result: KBResult) -> None:
        ids = [c.entry_id for c in result.candidates]
        best = ids[0] if ids else ""
        self.n += 1
        if item.entry_id:
            self.hits.append(float(best == item.entry_id))
        if result.decision is Decision.ANSWER:
            if item.entry_id and best == item.entry_id:
                self.answered_correctly += 1
            else:
                self.answered_wrongly += 1
        elif result.decision is Decision.CLARIFY:
            self.clarify += 1
            self.clarify_right_offered += bool(item.entry_id) and item.entry_id in ids[: _offered(result)]
        else:
            self.not_found += 1

    def rates(self) -> dict[str, float]:
        n = max(self.n, 1)
        rates = {
            "n": float(self.n),
            "answered_correctly": self.answered_correctly / n,
            "answered_wrongly": self.answered_wrongly / n,
            "clarify": self.clarify / n,
            "clarify_contains_correct": self.clarify_right_offered / n,
            "not_found": self.not_found / n,
        }
        if self.hits:
            rates["top1"] = float(np.mean(self.hits))
        return rates


def _offered(result: KBResult) -> int:
    return result.offered or len(result.candidates)


def risk_coverage(queries: Sequence[EvalQuery], results: Sequence[KBResult]) -> list[dict[str, float]]:
    """What answering every message whose confidence reaches each threshold would give, over all messages.

    One row per distinct confidence, highest first: the threshold, the answer rate (coverage), the wrong-answer
    rate (answered wrongly / all messages, the risk), the right-answer rate, and the precision of the answers.
    Ambiguity is ignored here (the top candidate is taken as the answer), so an operator reads the curve of the
    confidence alone and picks the answer threshold at the point they can live with.
    """
    confidence = np.array([r.confidence for r in results], dtype=np.float64)
    right = np.array(
        [
            bool(q.entry_id) and bool(r.candidates) and r.candidates[0].entry_id == q.entry_id
            for q, r in zip(queries, results, strict=True)
        ]
    )
    order = np.argsort(-confidence, kind="mergesort")
    n = max(len(results), 1)
    rows: list[dict[str, float]] = []
    correct = 0
    for rank, index in enumerate(order):
        answered = rank + 1
        correct += int(right[index])
        last_of_tie = rank + 1 == len(order) or confidence[order[rank + 1]] < confidence[index]
        if last_of_tie:
            rows.append(
                {
                    "threshold": round(float(confidence[index]), 6),
                    "answer_rate": answered / n,
                    "wrong_rate": (answered - correct) / n,
                    "right_rate": correct / n,
                    "precision": correct / answered,
                }
            )
    return rows


def write_risk_coverage_csv(rows: Sequence[Mapping[str, float]], path: Path) -> None:
    fields = ("threshold", "answer_rate", "wrong_rate", "right_rate", "precision")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{row[k]:.6f}" for k in fields})


def write_decisions_csv(queries: Sequence[EvalQuery], results: Sequence[KBResult], path: Path) -> None:
    """One line per message: what was decided and why, and whether it was right (for reading a run, not scoring)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["query", "faq_id", "language", "decision", "reason", "confidence", "top", "offered", "outcome"]
        )
        for item, result in zip(queries, results, strict=True):
            ids = [c.entry_id for c in result.candidates]
            top = ids[0] if ids else ""
            offered = ids[: _offered(result)] if result.decision is Decision.CLARIFY else ids[:1]
            if result.decision is Decision.ANSWER:
                outcome = "right" if item.entry_id and top == item.entry_id else "wrong"
            elif result.decision is Decision.CLARIFY:
                outcome = "offered" if item.entry_id and item.entry_id in offered else "not_offered"
            else:
                outcome = "passed_on"
            writer.writerow(
                [
                    item.query,
                    item.entry_id,
                    result.language,
                    result.decision.value,
                    result.reason,
                    f"{result.confidence:.4f}",
                    top,
                    " ".join(offered) if result.decision is not Decision.NOT_FOUND else "",
                    outcome,
                ]
            )


def _out_of_scope_rates(outcomes: _Outcomes) -> dict[str, float]:
    """The outcomes of out-of-scope messages: every answer there is a wrong one, so no right-answer rates."""
    rates = outcomes.rates() if outcomes.n else {}
    for key in ("answered_correctly", "clarify_contains_correct", "top1"):
        rates.pop(key, None)
    return rates


def score_results(
    queries: Sequence[EvalQuery],
    results: Sequence[KBResult],
    latencies_ms: Sequence[float],
    settings: RetrievalSettings,
    index_seconds: float = 0.0,
    adapt_seconds: float = 0.0,
) -> EvalReport:
    top1 = recall5 = rr = 0.0
    in_conf: list[float] = []
    out_conf: list[float] = []
    overall = _Outcomes()
    out_of_scope = _Outcomes()
    in_scope = _Outcomes()
    per_lang: dict[str, _Outcomes] = {}
    oos_per_lang: dict[str, _Outcomes] = {}
    reasons: dict[str, int] = {}
    for item, result in zip(queries, results, strict=True):
        ids = [c.entry_id for c in result.candidates]
        best = ids[0] if ids else ""
        overall.add(item, result)
        per_lang.setdefault(result.language, _Outcomes()).add(item, result)
        reasons[result.reason or result.decision.value] = reasons.get(result.reason or result.decision.value, 0) + 1
        if item.entry_id:
            in_scope.add(item, result)
            in_conf.append(result.confidence)
            top1 += best == item.entry_id
            recall5 += item.entry_id in ids[:5]
            rr += 1.0 / (ids.index(item.entry_id) + 1) if item.entry_id in ids else 0.0
        else:
            out_of_scope.add(item, result)
            oos_per_lang.setdefault(result.language, _Outcomes()).add(item, result)
            out_conf.append(result.confidence)
    n = max(len(queries), 1)
    n_in = len(in_conf)
    lat = np.asarray(latencies_ms or [0.0])
    languages = {}
    for lang, outcomes in per_lang.items():
        languages[lang] = outcomes.rates()
    oos_rates = _out_of_scope_rates(out_of_scope)
    oos_languages = {lang: _out_of_scope_rates(outcomes) for lang, outcomes in sorted(oos_per_lang.items())}
    return EvalReport(
        n_queries=len(queries),
        n_in_scope=n_in,
        n_out_of_scope=len(out_conf),
        top1=top1 / n_in if n_in else 0.0,
        recall5=recall5 / n_in if n_in else 0.0,
        mrr=rr / n_in if n_in else 0.0,
        oos_auroc=auroc(in_conf, out_conf),
        answered_correctly=overall.answered_correctly / n,
        answered_wrongly=overall.answered_wrongly / n,
        clarify=overall.clarify / n,
        clarify_contains_correct=overall.clarify_right_offered / n,
        not_found=overall.not_found / n,
        p50_ms=float(np.percentile(lat, 50)),
        p95_ms=float(np.percentile(lat, 95)),
        index_seconds=index_seconds,
        adapt_seconds=adapt_seconds,
        per_language=languages,
        out_of_scope=oos_rates,
        out_of_scope_per_language=oos_languages,
        clarify_right_offered=(in_scope.clarify_right_offered / in_scope.clarify) if in_scope.clarify else None,
        reasons=dict(sorted(reasons.items())),
        risk_coverage=risk_coverage(queries, results),
        settings=settings.to_dict(),
    )


def run_evaluation(
    kb_path: Path,
    queries_path: Path,
    settings: RetrievalSettings,
    encoders: Mapping[str, Encoder] | None = None,
    *,
    use_query_language: bool = False,
    decisions_csv: Path | None = None,
) -> EvalReport:
    entries = read_kb(kb_path)
    queries = read_queries(queries_path)
    retriever, index_s, adapt_s = build_retriever(entries, settings, encoders)
    try:
        return evaluate(
            retriever,
            queries,
            use_query_language=use_query_language,
            index_seconds=index_s,
            adapt_seconds=adapt_s,
            decisions_csv=decisions_csv,
        )
    finally:
        retriever.close()
