"""Shared by the FAQ store/editor/live tests: a model-free knowledge-base configuration that stays quick on 2 cores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from kb.encoders import HASHING, HashingEncoder
from kb.service import KBSettings
from kb.settings import KBConfig, RetrievalSettings

# The front door's `Settings.kb` for app tests: model-free encoders, no head training.
FAST_KB = KBConfig(encoders_en=(HASHING,), encoders_zh=(HASHING,), adapt=False)


def fast_settings(index_dir: Path | None = None, **changes: Any) -> KBSettings:
    retrieval = RetrievalSettings(encoders={"en": (HASHING,), "zh": (HASHING,)}, train_head=False)
    base = KBSettings(retrieval=retrieval, index_dir=index_dir, seed_demo=False, preload=False, persist_delay_s=0.05)
    return replace(base, **changes)


def fast_encoders() -> dict[str, HashingEncoder]:
    return {HASHING: HashingEncoder(dim=512)}
