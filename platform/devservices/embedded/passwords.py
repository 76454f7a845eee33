"""The servers' generated passwords, one file each under ``<state>/secrets`` (0600)."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from devservices.embedded.errors import EmbeddedError
from devservices.embedded.folder import STATE_DIR_ENV, ensure_state_dir


def read_secret(state: Path, name: str) -> str | None:
    """The stored secret ``name``, or ``None`` when it was never generated."""
    path = state / "secrets" / name
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        raise EmbeddedError(
            f"cannot read {path} (it belongs to another user); run as that user or set {STATE_DIR_ENV} "
            "to a folder of your own"
        ) from exc
    return value or None


def secret(state: Path, name: str) -> str:
    """The secret ``name`` from ``<state>/secrets``, generated once (0600) and stable afterwards.

    Creation is race-free: the value is written to a private temporary file that is then hard-linked into
    place, so a concurrent caller either wins the link or reads the winner's complete file.
    """
    existing = read_secret(state, name)
    if existing:
        return existing
    folder = ensure_state_dir(state) / "secrets"
    path = folder / name
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    except OSError as exc:
        raise EmbeddedError(f"cannot write {path}: {exc.strerror}; make {state} writable") from exc
    value = read_secret(state, name)
    if not value:
        raise EmbeddedError(
            f"{path} is empty; delete it (and the server data it protects) to generate a new one"
        )
    return value
