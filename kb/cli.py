"""`frontdoor kb eval`: evaluate the retriever on a KB CSV and a queries CSV.

Owns the command's arguments and its output (a table, and with --json one JSON object as the last line). Must never
train on the queries and never write into the repository; the optional embedding cache goes where the caller says.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from kb.encoders import ENCODER_RUNTIMES, DiskCachedEncoder, Encoder
from kb.evaluation import EvalReport, run_evaluation, write_risk_coverage_csv
from kb.finetune import FineTuneSettings
from kb.settings import RetrievalSettings


def add_kb_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `frontdoor kb eval` (the lead mounts this on the main CLI)."""
    defaults = RetrievalSettings()
    parser.add_argument("--kb", required=True, type=Path, help="kb.csv: faq_id,question,answer,lang")
    parser.add_argument("--queries", required=True, type=Path, help="queries.csv: query,faq_id,lang")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument(
        "--encoders-en",
        default=",".join(defaults.encoders["en"]),
        help="comma-separated encoders for English (minilm, e5, use, hashing)",
    )
    parser.add_argument(
        "--encoders-zh", default=",".join(defaults.encoders["zh"]), help="comma-separated encoders for Chinese"
    )
    parser.add_argument("--minilm-path", default=None, help="a local sentence-transformers model directory")
    parser.add_argument("--threads", type=int, default=None, help="encoder threads")
    parser.add_argument(
        "--encoder-runtime", choices=ENCODER_RUNTIMES, default=defaults.encoder_runtime, help="how MiniLM runs"
    )
    # Tuning flags override every language's own value (docs/benchmarks.md lists the per-language defaults).
    parser.add_argument("--answer-threshold", type=float, default=None)
    parser.add_argument("--clarify-threshold", type=float, default=None)
    parser.add_argument("--hubness-penalty", type=float, default=None)
    for signal in ("dense-max", "centroid", "lexical", "characters", "head"):
        parser.add_argument(f"--weight-{signal}", type=float, default=None)
    parser.add_argument("--no-head", action="store_true", help="skip the KB-trained head (adaptation)")
    parser.add_argument("--no-answer-text", action="store_true", help="index questions only")
    parser.add_argument("--no-fine-tune", action="store_true", help="keep the stock encoders (no adaptation)")
    parser.add_argument(
        "--use-query-language",
        action="store_true",
        help="trust the queries' lang column instead of detecting the language",
    )
    parser.add_argument(
        "--risk-coverage-csv",
        type=Path,
        default=None,
        help="write the risk-coverage curve (wrong-answer rate against answer rate, per threshold) as CSV",
    )
    parser.add_argument(
        "--decisions-csv",
        type=Path,
        default=None,
        help="write each message's decision, its reason and its outcome as CSV",
    )
    parser.add_argument(
        "--embedding-cache",
        type=Path,
        default=None,
        help="directory for cached vectors between runs (outside the repository)",
    )


_WEIGHT_FLAGS = {
    "weight_dense_max": "dense_max",
    "weight_centroid": "dense_centroid",
    "weight_lexical": "lexical",
    "weight_characters": "characters",
    "weight_head": "head",
}


def settings_from_args(args: argparse.Namespace) -> RetrievalSettings:
    paths = {"minilm": args.minilm_path} if args.minilm_path else {}
    settings = RetrievalSettings(
        encoders={
            "en": tuple(n for n in args.encoders_en.split(",") if n),
            "zh": tuple(n for n in args.encoders_zh.split(",") if n),
        },
        encoder_paths=paths,
        encoder_threads=args.threads,
        encoder_runtime=args.encoder_runtime,
        train_head=not args.no_head,
        use_answer_text=not args.no_answer_text,
        fine_tune=None if args.no_fine_tune else FineTuneSettings(threads=args.threads),
        # Fine-tuned models are cached by KB content next to the cached vectors, so a re-run skips training.
        fine_tune_dir=str(args.embedding_cache / "fine-tuned") if args.embedding_cache else None,
    )
    flags = {"answer_threshold", "clarify_threshold", "hubness_penalty"}
    changes = {name: getattr(args, name) for name in flags if getattr(args, name) is not None}
    weights = {field: getattr(args, flag) for flag, field in _WEIGHT_FLAGS.items() if getattr(args, flag) is not None}
    if args.no_head:
        weights["head"] = 0.0
    tuned = {
        lang: replace(tuning, **changes, weights=replace(tuning.weights, **weights))
        for lang, tuning in settings.tuning.items()
    }
    return replace(settings, tuning=tuned)


def _outcomes(rates: dict[str, float]) -> str:
    text = (
        f"right {rates.get('answered_correctly', 0.0):.3f} / wrong {rates.get('answered_wrongly', 0.0):.3f} / "
        f"clarify {rates.get('clarify', 0.0):.3f} / not found {rates.get('not_found', 0.0):.3f}"
    )
    return text + (f" (top-1 {rates['top1']:.3f})" if "top1" in rates else "")


def _oos_outcomes(rates: dict[str, float]) -> str:
    """Out-of-scope outcomes as "answered / clarify / not found" (any answer there is wrong)."""
    return "n/a" if not rates else " / ".join(f"{rates[k]:.3f}" for k in ("answered_wrongly", "clarify", "not_found"))


def format_table(report: EvalReport) -> str:
    offered = report.clarify_right_offered
    rows = [
        ("queries (in scope / out of scope)", f"{report.n_queries} ({report.n_in_scope} / {report.n_out_of_scope})"),
        ("top-1 accuracy", f"{report.top1:.3f}"),
        ("recall@5", f"{report.recall5:.3f}"),
        ("MRR (top 5)", f"{report.mrr:.3f}"),
        ("OOS AUROC", "n/a" if report.oos_auroc is None else f"{report.oos_auroc:.3f}"),
        ("answered correctly", f"{report.answered_correctly:.3f}"),
        ("answered wrongly", f"{report.answered_wrongly:.3f}"),
        ("clarify (correct among offered)", f"{report.clarify:.3f} ({report.clarify_contains_correct:.3f})"),
        ("right entry offered, per clarify", "n/a" if offered is None else f"{offered:.3f}"),
        ("not found", f"{report.not_found:.3f}"),
        (
            "out of scope: answered / clarify / not found",
            _oos_outcomes(report.out_of_scope),
        ),
        *((f"language {lang}", _outcomes(rates)) for lang, rates in sorted(report.per_language.items())),
        *(
            (f"out of scope, language {lang}", _oos_outcomes(rates))
            for lang, rates in report.out_of_scope_per_language.items()
        ),
        ("reasons", ", ".join(f"{k} {v}" for k, v in report.reasons.items())),
        *(
            (
                f"thresholds {lang} (answer / clarify)",
                f"{t['answer']:.3f} / {t['clarify']:.3f} ({t['source']}, {t['questions']} questions, "
                f"expected wrong {t['expected_wrong_rate']:.3f})",
            )
            for lang, t in sorted(report.thresholds.items())
        ),
        ("latency p50 / p95 ms", f"{report.p50_ms:.1f} / {report.p95_ms:.1f}"),
        ("index / adapt seconds", f"{report.index_seconds:.1f} / {report.adapt_seconds:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def run_kb_eval(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    encoders: dict[str, Encoder] = {}
    cached: list[DiskCachedEncoder] = []
    if args.embedding_cache is not None:
        for name in {*settings.encoders["en"], *settings.encoders["zh"]}:
            wrapper = DiskCachedEncoder(settings.build_encoder(name), args.embedding_cache)
            encoders[name] = wrapper
            cached.append(wrapper)
    try:
        report = run_evaluation(
            args.kb,
            args.queries,
            settings,
            encoders,
            use_query_language=args.use_query_language,
            decisions_csv=args.decisions_csv,
        )
    finally:
        for wrapper in cached:
            wrapper.flush()
    if args.risk_coverage_csv is not None:
        write_risk_coverage_csv(report.risk_coverage, args.risk_coverage_csv)
    print(format_table(report))
    if args.json:
        data = report.to_dict()
        data.pop("per_language", None)
        data["per_language"] = report.per_language
        print(json.dumps(data, ensure_ascii=False, sort_keys=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frontdoor kb eval", description=__doc__.splitlines()[0] if __doc__ else "")
    add_kb_eval_arguments(parser)
    return run_kb_eval(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
