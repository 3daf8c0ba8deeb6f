"""What the latency benchmarks share: the nearest-rank percentile their JSON lines report."""

from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q`-th percentile (0-100) of `values` (not empty): the sorted value at rank round(q% of n-1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
