"""CPU calibration printed by every benchmark: how fast this machine was while it measured.

This 2-core VM's speed drifts with its host's load (105 ms when quiet, up to ~190 ms when busy, measured on
the same day), and every figure of a benchmark drifts with it: compare runs at a similar calibration.
"""

from __future__ import annotations

import time

QUIET_MS = 105


def cpu_calibration_ms() -> float:
    """Milliseconds of CPU for a fixed pure-Python loop, best of three."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        sum(i * i for i in range(3_000_000))
        best = min(best, (time.process_time() - started) * 1000)
    return best


def calibration_line(before: float, after: float) -> str:
    """The table line stating the calibration before and after the measurement."""
    return (
        f"cpu calibration: {before:.0f} ms before, {after:.0f} ms after "
        f"(a fixed Python loop; ~{QUIET_MS} ms on this VM when its host is quiet)"
    )
