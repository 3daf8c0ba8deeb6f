"""MiniLM on ONNX Runtime with the real bundled model: the torch vectors, one export reused, int8 kept apart, and
torch when ONNX cannot serve a model."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from backends.exceptions import InvalidSettings
from kb.encoders import (
    HASHING,
    ONNX,
    ONNX_INT8,
    TORCH,
    OnnxSentenceEncoder,
    SentenceTransformerEncoder,
    bundled_minilm_path,
    sentence_encoder,
)
from kb.exceptions import IndexMismatch
from kb.retrieval import HybridRetriever, IndexedEntry
from kb.service import KBSettings
from kb.settings import KBConfig, RetrievalSettings

TEXTS = [
    "Where is my refund?",
    "我的退款什么时候到账",
    "?",
    "my parcel " * 400,  # past the model's 256-token limit: truncated the same way on both runtimes
]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return sentence_encoder(runtime=TORCH).encode(TEXTS)


def test_onnx_gives_the_torch_vectors_from_one_export(tmp_path: Path, torch_vectors: np.ndarray) -> None:
    encoder = sentence_encoder(runtime=ONNX, export_root=tmp_path)
    assert isinstance(encoder, OnnxSentenceEncoder) and encoder.name == "minilm" and encoder.dim == 384
    vectors = encoder.encode(TEXTS)
    assert np.min(np.sum(vectors * torch_vectors, axis=1)) > 0.9999
    (exported,) = tmp_path.glob("*/model.onnx")
    stamp = exported.stat().st_mtime_ns
    again = sentence_encoder(runtime=ONNX, export_root=tmp_path)
    assert exported.stat().st_mtime_ns == stamp  # found, not exported again
    assert np.allclose(again.encode(TEXTS[:1]), vectors[:1], atol=1e-6)


def test_int8_vectors_carry_another_name(tmp_path: Path, torch_vectors: np.ndarray) -> None:
    encoder = sentence_encoder(runtime=ONNX_INT8, export_root=tmp_path)
    assert encoder.name == "minilm+int8" and list(tmp_path.glob("*/model.int8.onnx"))
    assert np.min(np.sum(encoder.encode(TEXTS[:2]) * torch_vectors[:2], axis=1)) > 0.8  # close, not equal


def test_a_model_onnx_cannot_serve_runs_on_torch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = tmp_path / "cls-pooled"
    shutil.copytree(bundled_minilm_path(), model, ignore=shutil.ignore_patterns("*.safetensors"))
    (model / "model.safetensors").symlink_to(bundled_minilm_path() / "model.safetensors")
    pooling = model / "1_Pooling" / "config.json"
    pooling.write_text(pooling.read_text().replace('"pooling_mode_cls_token": false', '"pooling_mode_cls_token": true'))
    with caplog.at_level(logging.WARNING, logger="kb.encoders"):
        encoder = sentence_encoder(model, runtime=ONNX, export_dir=model)
    assert isinstance(encoder, SentenceTransformerEncoder) and "using torch" in caplog.text
    assert not (model / "model.onnx").exists()  # nothing exported that could not be served


def test_an_index_saved_with_int8_vectors_is_rebuilt_for_fp32_encoders(tmp_path: Path) -> None:
    int8 = RetrievalSettings(encoders={"en": (HASHING,)}, train_head=False, encoder_runtime=ONNX_INT8)
    retriever = HybridRetriever(int8)
    retriever.upsert(IndexedEntry("refund", ("Where is my refund?",), "Refunds", "", "en"))
    retriever.save(tmp_path)
    assert HybridRetriever.load(tmp_path, int8).search("refund").candidates[0].entry_id == "refund"
    with pytest.raises(IndexMismatch):
        HybridRetriever.load(tmp_path, RetrievalSettings(encoders={"en": (HASHING,)}, train_head=False))


def test_the_runtime_setting_and_where_exports_go(tmp_path: Path) -> None:
    default = KBSettings.from_config(KBConfig(), tmp_path).retrieval
    assert default.encoder_runtime == ONNX and default.onnx_dir == str(tmp_path / "kb-onnx")
    torch = KBConfig.from_env({"FD_KB_ENCODER_RUNTIME": "torch"})
    assert KBSettings.from_config(torch, tmp_path).retrieval.encoder_runtime == TORCH
    with pytest.raises(InvalidSettings, match="FD_KB_ENCODER_RUNTIME must be one of onnx, onnx-int8, torch"):
        KBConfig.from_env({"FD_KB_ENCODER_RUNTIME": "gpu"})


def test_the_front_doors_encoders_run_one_thread_a_call_unless_told(tmp_path: Path) -> None:
    assert KBSettings.from_config(KBConfig(), tmp_path).retrieval.encoder_threads == 1
    four = KBConfig.from_env({"FD_KB_ENCODER_THREADS": "4"})
    assert KBSettings.from_config(four, tmp_path).retrieval.encoder_threads == 4
    with pytest.raises(InvalidSettings, match="FD_KB_ENCODER_THREADS"):
        KBConfig.from_env({"FD_KB_ENCODER_THREADS": "0"})
