"""Per-language NLU cross-validation for the front door's Rasa model.

Owns: splitting data/nlu into an English and a Chinese training set (each with the shared data/nlu/regex.yml),
running `rasa test nlu --cross-validation` on each with the project's config.yml, and summarising the reports.
Must never write inside the repository: every Rasa output goes to a temporary directory.

The last line printed is one JSON object (figures per language), so CI or a notebook can read it with
`tail -n 1`. Usage:

    .venv/bin/python bench/nlu_crossval.py                    # project config, 3 folds, en + zh
    .venv/bin/python bench/nlu_crossval.py --without-fallback --sweep 0.4,0.5,0.6,0.7,0.8

`--without-fallback` drops FallbackClassifier from the config so that raw DIET confidences come back, and
`--sweep` then reports, per candidate threshold, how many messages would fall back and how accurate the rest is:
that is how the FallbackClassifier threshold in config.yml was chosen.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
NLU_DIR = REPO_ROOT / "data" / "nlu"
SHARED_NLU_FILES = ("regex.yml",)
FALLBACK_INTENT = "nlu_fallback"
AVERAGE_ROWS = ("micro avg", "macro avg", "weighted avg", "accuracy")


def count_examples(path: Path) -> int:
    """Number of intent examples in one Rasa YAML NLU file (regexes, lookups and synonyms do not count)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    total = 0
    for block in document.get("nlu", []):
        if "intent" in block:
            total += sum(1 for line in block.get("examples", "").splitlines() if line.strip().startswith("- "))
    return total


def write_config(source: Path, target: Path, *, without_fallback: bool) -> None:
    """Copies the project config, making relative paths absolute (Rasa runs from a temp dir's point of view)."""
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    pipeline = []
    for component in config.get("pipeline", []):
        if without_fallback and component.get("name") == "FallbackClassifier":
            continue
        if component.get("dictionary_path"):
            component = {**component, "dictionary_path": str((REPO_ROOT / component["dictionary_path"]).resolve())}
        pipeline.append(component)
    config["pipeline"] = pipeline
    target.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def predictions(results_dir: Path) -> list[tuple[str, str, float]]:
    """(true intent, predicted intent, confidence) for every held-out message across all folds."""
    rows: list[tuple[str, str, float]] = []
    for name in ("intent_successes.json", "intent_errors.json"):
        for item in load_json(results_dir / name) or []:
            predicted = item.get("intent_prediction") or {}
            rows.append((item["intent"], predicted.get("name") or "", float(predicted.get("confidence") or 0.0)))
    return rows


def sweep(rows: list[tuple[str, str, float]], thresholds: list[float]) -> dict[str, dict[str, float]]:
    """For each threshold: share of messages sent to fallback, accuracy of the rest, and wrong answers let through.

    Only the top-1 confidence is stored in Rasa's reports, so FallbackClassifier's ambiguity_threshold is not
    simulated here.
    """
    out: dict[str, dict[str, float]] = {}
    total = len(rows) or 1
    for threshold in thresholds:
        accepted = [(gold, guess) for gold, guess, confidence in rows if confidence >= threshold]
        correct = sum(1 for gold, guess in accepted if gold == guess)
        out[f"{threshold:.2f}"] = {
            "fallback_rate": round(1 - len(accepted) / total, 4),
            "accuracy_on_accepted": round(correct / (len(accepted) or 1), 4),
            "misrouted_rate": round((len(accepted) - correct) / total, 4),
        }
    return out


def micro_f1(rows: Any) -> float:
    """Micro-averaged F1 recomputed from per-label precision, recall and support (Rasa reports them per label)."""
    true_positives = false_positives = false_negatives = 0.0
    for values in rows:
        support = float(values.get("support", 0))
        precision = float(values.get("precision", 0.0))
        hits = float(values.get("recall", 0.0)) * support
        true_positives += hits
        false_negatives += support - hits
        false_positives += hits / precision - hits if precision > 0 else 0.0
    denominator = 2 * true_positives + false_positives + false_negatives
    return round(2 * true_positives / denominator, 4) if denominator else 0.0


def summarise(results_dir: Path, rows: list[tuple[str, str, float]]) -> dict[str, Any]:
    report = load_json(results_dir / "intent_report.json") or {}
    total = len(rows) or 1
    summary: dict[str, Any] = {
        "intent_accuracy": round(float(report.get("accuracy", 0.0)), 4),
        "intent_macro_f1": round(float(report.get("macro avg", {}).get("f1-score", 0.0)), 4),
        "intent_weighted_f1": round(float(report.get("weighted avg", {}).get("f1-score", 0.0)), 4),
        "fallback_rate": round(sum(1 for _, guess, _ in rows if guess == FALLBACK_INTENT) / total, 4),
        "misrouted_rate": round(sum(1 for gold, guess, _ in rows if guess not in (gold, FALLBACK_INTENT)) / total, 4),
        "entity_f1": {},
        "entity_f1_by_type": {},
    }
    for path in sorted(results_dir.glob("*_report.json")):
        extractor = path.name.removesuffix("_report.json")
        if extractor in ("intent", "response_selection"):
            continue
        labels = {
            name: values
            for name, values in (load_json(path) or {}).items()
            if isinstance(values, dict) and name not in AVERAGE_ROWS and name != "no_entity"
        }
        # RegexEntityExtractor never predicts `product` or `helpful`; scoring it on them would only measure that.
        handled = {name: values for name, values in labels.items() if values.get("precision", 0.0) > 0} or labels
        summary["entity_f1"][extractor] = micro_f1(handled.values())
        summary["entity_f1_by_type"][extractor] = {
            name: round(float(values.get("f1-score", 0.0)), 4) for name, values in sorted(labels.items())
        }
    per_intent = [
        (name, float(values["f1-score"]))
        for name, values in report.items()
        if isinstance(values, dict) and "support" in values and name not in AVERAGE_ROWS
    ]
    worst = sorted(per_intent, key=lambda item: item[1])[:3]
    summary["weakest_intents"] = {name: round(float(f1), 4) for name, f1 in worst}
    return summary


def run_language(
    language: str, rasa: Path, config: Path, folds: int, workdir: Path, thresholds: list[float]
) -> dict[str, Any]:
    data_dir = workdir / f"nlu-{language}"
    data_dir.mkdir()
    shutil.copy(NLU_DIR / f"{language}.yml", data_dir / f"{language}.yml")
    for name in SHARED_NLU_FILES:
        shutil.copy(NLU_DIR / name, data_dir / name)
    results_dir = workdir / f"results-{language}"
    command = [
        str(rasa),
        "test",
        "nlu",
        "--nlu",
        str(data_dir),
        "--config",
        str(config),
        "--cross-validation",
        "--folds",
        str(folds),
        "--out",
        str(results_dir),
        "--successes",
        "--no-plot",
    ]
    print(f"[{language}] {' '.join(command)}", file=sys.stderr, flush=True)
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    started = time.monotonic()
    log_path = workdir / f"rasa-{language}.log"
    with log_path.open("w", encoding="utf-8") as log:
        completed = subprocess.run(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"rasa test nlu failed for {language} (exit {completed.returncode}):\n{tail}")
    rows = predictions(results_dir)
    result = {"examples": count_examples(NLU_DIR / f"{language}.yml"), **summarise(results_dir, rows)}
    if thresholds:
        result["threshold_sweep"] = sweep(rows, thresholds)
    result["wall_seconds"] = round(elapsed, 1)
    print(f"[{language}] {json.dumps(result, ensure_ascii=False)}", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rasa", type=Path, default=REPO_ROOT / ".venv-rasa" / "bin" / "rasa")
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "config.yml")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--languages", nargs="+", default=["en", "zh"], choices=["en", "zh"])
    parser.add_argument("--without-fallback", action="store_true", help="drop FallbackClassifier (raw confidences)")
    parser.add_argument("--sweep", default="", help="comma-separated thresholds to evaluate, e.g. 0.5,0.6,0.7")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    args = parser.parse_args(argv)

    thresholds = [float(value) for value in args.sweep.split(",") if value.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="nlu-crossval-"))
    try:
        config = workdir / "config.yml"
        write_config(args.config, config, without_fallback=args.without_fallback)
        started = time.monotonic()
        languages = {
            language: run_language(language, args.rasa, config, args.folds, workdir, thresholds)
            for language in args.languages
        }
        config_path = args.config.resolve()
        summary = {
            "command": f"rasa test nlu --cross-validation --folds {args.folds} (per language)",
            "config": str(config_path.relative_to(REPO_ROOT) if config_path.is_relative_to(REPO_ROOT) else config_path),
            "fallback_classifier": not args.without_fallback,
            "folds": args.folds,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "total_wall_seconds": round(time.monotonic() - started, 1),
            "languages": languages,
        }
        if args.keep:
            print(f"kept: {workdir}", file=sys.stderr)
        print(json.dumps(summary, ensure_ascii=False, sort_keys=True))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
