"""Waiting on processes a test killed."""

from __future__ import annotations

import os
import time


def wait_until_dead(pid: int, timeout: float = 20.0) -> None:
    """Block until ``pid`` is gone: until then, a write it had under way (a heartbeat, a claim) could still
    land after a test backdates the row."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, f"process {pid} outlived SIGKILL"
        time.sleep(0.02)
