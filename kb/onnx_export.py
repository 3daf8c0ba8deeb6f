"""Turn a sentence-transformers model directory into an ONNX file that `kb.encoders.OnnxSentenceEncoder` serves.

Owns `onnx_file_name`, `export_onnx` and `export_in_subprocess`. Only the transformer is exported (token ids in,
hidden states out); pooling and normalisation stay in numpy, so one graph serves every pooling the encoder reads
from the model's own config. Torch is needed here and only here: the serving process exports in a child and never
imports it when an export already exists.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from kb.encoders import ONNX_INT8, ONNX_RUNTIMES
from kb.spawned import run_spawned

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The legacy (TorchScript) exporter: it needs no onnxscript and handles BERT's dynamic batch and length axes.
_OPSET = 17


def onnx_file_name(runtime: str) -> str:
    """The file an ONNX runtime variant lives in, beside a model or in an export directory."""
    if runtime not in ONNX_RUNTIMES:
        raise ValueError(f"not an ONNX runtime: {runtime!r}")
    return "model.int8.onnx" if runtime == ONNX_INT8 else "model.onnx"


def export_onnx(model_dir: Path, out_path: Path, runtime: str, model: Any = None) -> Path:
    """Export the transformer of the model in `model_dir` (or the loaded `model`) to `out_path`.

    `onnx-int8` adds dynamic int8 quantisation of the weights. Written beside and renamed into place, so a reader
    never opens half a file.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    if model is None:
        model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    transformer = model[0].auto_model.eval()

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    sample = model[0].tokenizer(["an example", "another example sentence"], padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    staging = out_path.with_name(f"{out_path.name}.{os.getpid()}.partial")
    # The tracer warns that BERT's masking branches become constants: for an encoder they are (no cache, a mask
    # always given), and tests compare the exported vectors with torch's on padded batches and truncated text.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            HiddenStates().eval(),
            tuple(sample[name] for name in ONNX_INPUTS),
            str(staging),
            input_names=list(ONNX_INPUTS),
            output_names=["hidden_states"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*ONNX_INPUTS, "hidden_states")},
            opset_version=_OPSET,
            dynamo=False,
        )
    if runtime == ONNX_INT8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantised = staging.with_name(staging.name + ".int8")
        quantize_dynamic(str(staging), str(quantised), weight_type=QuantType.QInt8)
        os.replace(quantised, staging)
    os.replace(staging, out_path)
    return out_path


def export_in_subprocess(model_dir: Path, out_path: Path, runtime: str) -> Path:
    """`export_onnx` in a spawned child, so the serving process never loads torch for it."""
    return run_spawned(export_onnx, Path(model_dir), Path(out_path), runtime)
