"""Latency histograms over fixed log-spaced bounds: mergeable by adding counts, so percentiles roll up.

Bucket 0 holds 0 ms; bucket ``k >= 1`` holds values in ``[2**((k-1)/4), 2**(k/4))`` ms (four buckets per
doubling), the last one everything above. A percentile read from a histogram is the geometric middle of its
bucket: within about 9 % of the true value, at any level of aggregation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

BUCKETS = 96  # the last starts at 2**(94/4) ms, about 3.4 hours (run durations too)
_PER_DOUBLING = 4


def bucket_of(value_ms: float) -> int:
    """The histogram bucket of one value."""
    if value_ms < 1:
        return 0
    return min(BUCKETS - 1, 1 + math.floor(_PER_DOUBLING * math.log2(value_ms)))


def empty() -> list[int]:
    """A histogram with no values."""
    return [0] * BUCKETS


def merge(histograms: Iterable[Sequence[int]]) -> list[int]:
    """The histogram of all values of ``histograms`` (short or empty ones count as zeros)."""
    total = empty()
    for histogram in histograms:
        for index, count in enumerate(histogram):
            total[index] += count
    return total


def percentile(histogram: Sequence[int], fraction: float) -> float | None:
    """The value at ``fraction`` (0.5 for p50) of the histogram's values, None when it has none."""
    count = sum(histogram)
    if count == 0:
        return None
    rank = max(1, math.ceil(fraction * count))
    seen = 0
    for index, n in enumerate(histogram):
        seen += n
        if seen >= rank:
            return bucket_middle(index)
    return bucket_middle(len(histogram) - 1)


def bucket_middle(index: int) -> float:
    """The value a bucket stands for: the geometric middle of its bounds (0 for bucket 0)."""
    if index == 0:
        return 0.0
    low, high = 2 ** ((index - 1) / _PER_DOUBLING), 2 ** (index / _PER_DOUBLING)
    return round(math.sqrt(low * high), 1)


_MIDDLES = np.array([bucket_middle(i) for i in range(BUCKETS)])


def percentiles(matrix: np.ndarray[Any, Any], fraction: float) -> list[float | None]:
    """The ``fraction`` percentile of each row's histogram (None for an empty one), as :func:`percentile`."""
    cumulative = matrix.cumsum(axis=1)
    totals = cumulative[:, -1]
    ranks = np.maximum(1, np.ceil(fraction * totals))
    index = (cumulative >= ranks[:, None]).argmax(axis=1)
    return [value if t else None for value, t in zip(_MIDDLES[index].tolist(), totals.tolist(), strict=True)]


def group_sums(values: np.ndarray[Any, Any], ids: np.ndarray[Any, Any], count: int) -> np.ndarray[Any, Any]:
    """The rows of ``values`` summed per group id (``ids[i]`` is row i's group): sorted, then one reduceat
    (``np.add.at`` is an order of magnitude slower)."""
    out = np.zeros((count, values.shape[1]), dtype=np.int64)
    if len(ids):
        order = np.argsort(ids, kind="stable")
        ordered = ids[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        out[ordered[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out
