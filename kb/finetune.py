"""Encoder adaptation: fine-tune a sentence-transformers model on the knowledge base's own entry groups.

Owns `FineTuneSettings`, `kb_fingerprint`, `fine_tune_encoder`, `fine_tune_in_subprocess` and `prune_models`.
The recipe is supervised contrastive learning (Khosla et al. 2020, the L_out form): the texts of one entry (its
questions and its answer text) are pulled together and away from every other entry's texts in the batch. It learns
only from the knowledge base, never from customer queries. Must never touch an index: the retriever decides when
to run it and swaps the result in.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from kb.encoders import ONNX_RUNTIMES, TORCH, bundled_minilm_path
from kb.onnx_export import export_onnx, onnx_file_name
from kb.spawned import run_spawned


@dataclass(frozen=True)
class FineTuneSettings:
    """The recipe chosen on banking77 / clinc150 (docs/benchmarks.md); minutes of CPU for a few hundred entries."""

    epochs: int = 5
    learning_rate: float = 5e-5
    temperature: float = 0.1
    entries_per_batch: int = 16  # each brings all its texts, so a batch holds ~16 entries x their paraphrases
    max_seq_length: int = 64
    weight_decay: float = 0.01
    warmup_share: float = 0.1
    seed: int = 0
    threads: int | None = None  # torch threads while training (None: leave torch's setting alone)


def kb_fingerprint(groups: Sequence[Sequence[str]], base: str, settings: FineTuneSettings) -> str:
    """A content hash naming one fine-tuned model: same entries, base model and recipe -> same model."""
    # Threads change how fast a model trains, not what it learns: a run with --threads reuses the cached model.
    canonical = json.dumps(
        [sorted(groups), base, repr(replace(settings, threads=None))], ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _supcon_loss(embeddings: Any, labels: Any, temperature: float) -> Any:
    import torch
    import torch.nn.functional as functional

    z = functional.normalize(embeddings, dim=-1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(z.shape[0], dtype=torch.bool)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    per_anchor = log_prob.masked_fill(~positives, 0.0).sum(1) / positives.sum(1).clamp(min=1)
    return -per_anchor[positives.any(1)].mean()


def fine_tune_encoder(
    groups: Sequence[Sequence[str]],
    out_dir: Path,
    settings: FineTuneSettings,
    base_model: str | Path | None = None,
    runtime: str = TORCH,
) -> Path:
    """Train on `groups` (one list of texts per entry) starting from `base_model`; the model is saved in `out_dir`,
    with its ONNX export beside it when `runtime` serves ONNX (torch is loaded here anyway).

    Writes to a sibling temporary directory and renames it into place, so a half-written model is never loaded.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    usable = [list(dict.fromkeys(t for t in group if t.strip())) for group in groups]
    usable = [group for group in usable if group]
    if len(usable) < 2:
        raise ValueError("fine-tuning needs at least two entries")
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    path = Path(base_model) if base_model else bundled_minilm_path()
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    model.max_seq_length = settings.max_seq_length
    per_batch = max(2, settings.entries_per_batch)
    steps_per_epoch = (len(usable) + per_batch - 1) // per_batch
    total = max(1, steps_per_epoch * settings.epochs)
    warmup = max(1, int(settings.warmup_share * total))
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (total - s) / max(1, total - warmup))
    )
    order = list(range(len(usable)))
    model.train()
    for _ in range(settings.epochs):
        random.shuffle(order)
        for start in range(0, len(order), per_batch):
            chosen = order[start : start + per_batch]
            if len(chosen) < 2:  # a lone entry has no negatives: borrow one from elsewhere
                chosen = [*chosen, random.choice([e for e in order if e not in chosen])]
            texts = [text for e in chosen for text in usable[e]]
            labels = torch.tensor([e for e in chosen for _ in usable[e]])
            embeddings = model(model.preprocess(texts))["sentence_embedding"]
            loss = _supcon_loss(embeddings, labels, settings.temperature)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
    model.eval()
    out_dir = Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save(str(staging))
    if runtime in ONNX_RUNTIMES:
        export_onnx(staging, staging / onnx_file_name(runtime), runtime, model=model)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir


def fine_tune_in_subprocess(
    groups: Sequence[Sequence[str]],
    out_dir: Path,
    settings: FineTuneSettings,
    base_model: str | Path | None = None,
    runtime: str = TORCH,
) -> Path:
    """`fine_tune_encoder` in a fresh child process (see `run_spawned`)."""
    plain = [list(group) for group in groups]
    return run_spawned(fine_tune_encoder, plain, Path(out_dir), settings, base_model, runtime)


def prune_models(root: Path, keep: set[Path], spare: int = 2) -> list[Path]:
    """Delete model directories under `root` except `keep` and the `spare` newest others; returns what went.

    Every edit yields a new content hash, so without pruning each one would leave ~90 MB behind. The spares cover
    a replica sharing `root` that has not caught up yet (a replica whose model is gone rebuilds from the store).
    """
    kept = {path.resolve() for path in keep}
    others = [p for p in root.iterdir() if p.is_dir() and p.resolve() not in kept] if root.is_dir() else []
    others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    removed = others[spare:]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed
