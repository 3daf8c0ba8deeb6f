"""MiniLM on ONNX Runtime (fp32 and int8 weights) against torch: one query's forward pass (interleaved, so every
runtime sees the same machine load), batch throughput, memory, export time, agreement with torch's vectors, and
nearest-question top-1 on English evaluation sets. Prints a summary and, as its last line, one JSON object.

Usage: .venv/bin/python bench/encoder_runtime.py --set ../shared/eval/banking77 --set ../shared/eval/clinc150
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.kb_latency import percentile, rss_mb
from kb.encoders import ENCODER_RUNTIMES, TORCH, Encoder, sentence_encoder
from kb.evaluation import read_kb, read_queries
from kb.onnx_export import onnx_file_name

# ONNX first: torch's import alone adds hundreds of MB, which would otherwise be charged to whatever comes after it.
ORDER = [r for r in ENCODER_RUNTIMES if r != TORCH] + [TORCH]


def nearest_question_top1(encoder: Encoder, set_dir: Path) -> tuple[float, float]:
    """Top-1 of the stock encoder's nearest KB question over in-scope queries, and texts/s encoding the KB."""
    entries = read_kb(set_dir / "kb.csv")
    owners = [e.entry_id for e in entries for _ in e.questions]
    texts = [q for e in entries for q in e.questions]
    started = time.perf_counter()
    matrix = encoder.encode(texts)
    per_s = len(texts) / (time.perf_counter() - started)
    queries = [q for q in read_queries(set_dir / "queries.csv") if q.entry_id]
    best = np.argmax(encoder.encode([q.query for q in queries]) @ matrix.T, axis=1)
    return float(np.mean([owners[i] == q.entry_id for i, q in zip(best, queries, strict=True)])), per_s


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", dest="sets", type=Path, action="append", default=[], help="an eval set folder")
    parser.add_argument("--n-queries", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    probe_set = args.sets[0] if args.sets else Path(__file__).resolve().parents[1] / "tests/kb/fixtures"
    probe = next(probe_set.glob("queries.csv"))
    queries = [q.query for q in read_queries(probe)][: args.n_queries]
    results: dict[str, dict[str, object]] = {}
    encoders: dict[str, Encoder] = {}
    with tempfile.TemporaryDirectory(prefix="frontdoor-onnx-bench-") as exports:
        for runtime in ORDER:
            before = rss_mb()
            started = time.perf_counter()
            encoders[runtime] = sentence_encoder(runtime=runtime, threads=args.threads, export_root=exports)
            encoders[runtime].encode(["warm up"])
            results[runtime] = {"ready_s": time.perf_counter() - started, "rss_added_mb": rss_mb() - before}
            files = list(Path(exports).glob(f"*/{onnx_file_name(runtime)}")) if runtime != TORCH else []
            results[runtime]["onnx_mb"] = files[0].stat().st_size / 2**20 if files else None
        timings: dict[str, list[float]] = {runtime: [] for runtime in ORDER}
        for query in queries:
            for runtime in ORDER:
                started = time.perf_counter()
                encoders[runtime].encode([query])
                timings[runtime].append((time.perf_counter() - started) * 1000.0)
        reference = encoders[TORCH].encode(queries)
        for runtime in ORDER:
            agreement = np.sum(encoders[runtime].encode(queries) * reference, axis=1)
            results[runtime] |= {
                "forward_p50_ms": percentile(timings[runtime], 50),
                "forward_p95_ms": percentile(timings[runtime], 95),
                "p50_vs_torch": percentile(timings[runtime], 50) / percentile(timings[TORCH], 50),
                "cosine_to_torch_min": float(agreement.min()),
                "cosine_to_torch_mean": float(agreement.mean()),
            }
            for set_dir in args.sets:
                top1, per_s = nearest_question_top1(encoders[runtime], set_dir)
                results[runtime][f"{set_dir.name}_top1"] = top1
                results[runtime][f"{set_dir.name}_encode_texts_per_s"] = per_s
            print(f"{runtime}: {results[runtime]}")
    machine = {"cpus": __import__("os").cpu_count(), "python": platform.python_version(), "machine": platform.machine()}
    print(json.dumps({"threads": args.threads, "n_queries": len(queries), "runtimes": results, "machine": machine}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
