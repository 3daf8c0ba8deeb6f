"""The KB-trained head: a softmax-regression layer over frozen sentence embeddings, one class per FAQ entry.

Owns training and applying the head. It learns only from the knowledge base itself (each entry's questions and
answer text labelled with the entry), never from customer queries or evaluation data. Must never encode text: the
retriever hands it the vectors it already stores, so retraining after an edit costs seconds, not a re-encode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LinearHead:
    """Weights `W` (features × entries) and bias `b`; `entry_ids[j]` names column j."""

    entry_ids: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    version: int

    def logits(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features @ self.weights + self.bias, dtype=np.float32)

    def save(self, path: Path) -> None:
        np.savez(
            path,
            entry_ids=np.array(self.entry_ids),
            weights=self.weights,
            bias=self.bias,
            version=np.int64(self.version),
        )

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                tuple(str(e) for e in data["entry_ids"]),
                data["weights"].astype(np.float32),
                data["bias"].astype(np.float32),
                int(data["version"]),
            )


def train_head(
    features: np.ndarray, labels: Sequence[str], *, inverse_l2: float = 10.0, max_iter: int = 200, version: int = 0
) -> LinearHead:
    """Fit multinomial logistic regression (L-BFGS, full batch) on `features` → `labels`.

    `inverse_l2` follows scikit-learn's `C`: the penalty is ||W||² / (2·C·n) per sample, so strength stays the same
    as the KB grows. torch is used only as an optimiser; training 500 rows × 1,300 features × 150 entries takes
    about a second on one core.
    """
    import torch

    entry_ids = tuple(sorted(set(labels)))
    column = {e: i for i, e in enumerate(entry_ids)}
    x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    y = torch.tensor([column[label] for label in labels], dtype=torch.long)
    n, dim = x.shape
    weights = torch.zeros((dim, len(entry_ids)), dtype=torch.float32, requires_grad=True)
    bias = torch.zeros(len(entry_ids), dtype=torch.float32, requires_grad=True)
    penalty = 1.0 / (2.0 * inverse_l2 * max(n, 1))
    optimiser = torch.optim.LBFGS(
        [weights, bias],
        lr=1.0,
        max_iter=max_iter,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-6,
        tolerance_change=1e-9,
    )

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weights + bias, y) + penalty * (weights * weights).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimiser.step(closure)  # type: ignore[no-untyped-call]
    return LinearHead(entry_ids, weights.detach().numpy().copy(), bias.detach().numpy().copy(), version)
