"""The state folder: where everything the embedded servers write lives.

That is ``$LLMOPS_STATE_DIR`` or ``<checkout>/.llmops``: data, logs, pid files and generated passwords. The
platform's settings compute the same folder from the same variable (for their own generated secrets and static
files); nothing in this package changes a file outside it.
"""

from __future__ import annotations

import os
from pathlib import Path

from devservices.embedded.errors import EmbeddedError

STATE_DIR_ENV = "LLMOPS_STATE_DIR"

_PACKAGE_DIR = Path(__file__).resolve().parent


def checkout_dir() -> Path:
    """The repository root (the folder holding ``manage.py``), or the working directory when installed."""
    candidate = _PACKAGE_DIR.parents[
        2
    ]  # platform/devservices/embedded -> platform/devservices -> platform -> checkout
    if (candidate / "manage.py").exists():
        return candidate
    return Path.cwd()


def state_dir() -> Path:
    """``$LLMOPS_STATE_DIR`` (made absolute) or ``<checkout>/.llmops``. Creates nothing."""
    raw = os.environ.get(STATE_DIR_ENV, "").strip()
    if raw:
        return Path(os.path.abspath(os.path.expanduser(raw)))
    return checkout_dir() / ".llmops"


def ensure_state_dir(state: Path) -> Path:
    """Create the state folder (world-traversable, so an unprivileged server user can reach its own parts)."""
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        try:
            state.mkdir(mode=0o755)
        except FileExistsError:
            pass
        else:
            os.chmod(state, 0o755)  # the folder is ours: undo a restrictive umask
            (state / ".gitignore").write_text(
                "# Created by devservices.embedded: local state, never committed.\n*\n"
            )
    except OSError as exc:
        raise EmbeddedError(
            f"cannot create the state folder {state}: {exc.strerror}; "
            f"set {STATE_DIR_ENV} to a writable folder"
        ) from exc
    if not state.is_dir():
        raise EmbeddedError(f"the state folder {state} is not a folder; remove it or set {STATE_DIR_ENV}")
    return state


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` really lies inside ``folder`` (symbolic links resolved)."""
    return Path(os.path.realpath(path)).is_relative_to(Path(os.path.realpath(folder)))
