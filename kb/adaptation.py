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
    as the KB grows. SciPy's L-BFGS with an analytic gradient, so the serving process needs no torch; training
    500 rows × 1,300 features × 150 entries takes about a second on one core.
    """
    from scipy.optimize import minimize

    entry_ids = tuple(sorted(set(labels)))
    column = {e: i for i, e in enumerate(entry_ids)}
    x = np.ascontiguousarray(features, dtype=np.float32)
    rows = np.arange(len(labels))
    targets = np.array([column[label] for label in labels], dtype=np.int64)
    n, dim = x.shape
    classes = len(entry_ids)
    penalty = 1.0 / (2.0 * inverse_l2 * max(n, 1))

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights = theta[: dim * classes].reshape(dim, classes).astype(np.float32)
        logits = x @ weights + theta[dim * classes :].astype(np.float32)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        total = exp.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - logits[rows, targets]) + penalty * np.sum(weights * weights))
        residual = exp / total
        residual[rows, targets] -= 1.0
        residual /= max(n, 1)
        gradient = np.concatenate([(x.T @ residual + 2.0 * penalty * weights).ravel(), residual.sum(axis=0)])
        return loss, gradient.astype(np.float64)

    result = minimize(
        loss_and_gradient,
        np.zeros(dim * classes + classes),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "maxcor": 20, "gtol": 1e-6, "ftol": 1e-12},
    )
    theta = result.x.astype(np.float32)
    return LinearHead(
        entry_ids, theta[: dim * classes].reshape(dim, classes).copy(), theta[dim * classes :].copy(), version
    )
