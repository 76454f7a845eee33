"""One lock per state folder, so concurrent start/stop commands take turns."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from devservices.embedded.errors import EmbeddedError
from devservices.embedded.folder import STATE_DIR_ENV, ensure_state_dir

LOCK_TIMEOUT_S = 180.0


@contextlib.contextmanager
def locked(state: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold ``<state>/.lock`` so concurrent start/stop commands on one state folder take turns."""
    path = ensure_state_dir(state) / ".lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except PermissionError:
        raise EmbeddedError(
            f"the state folder {state} belongs to another user (uid {os.stat(state).st_uid}); run as that "
            f"user, or set {STATE_DIR_ENV} to a folder of your own"
        ) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EmbeddedError(
                        f"another devservices.embedded command has held {path} for {timeout:.0f} s; "
                        "wait for it to finish or stop it"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
