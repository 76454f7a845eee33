"""Who runs the servers (and the worker) when a command runs as root, and the files handed over to them.

Run as root, the embedded servers, the Celery worker and beat drop to an unprivileged account: the owner of
their existing folder, else ``$LLMOPS_SERVICE_USER`` (default ``nobody``). Only paths inside the state
folder are ever chowned or chmodded; anything outside is only checked.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devservices.embedded.errors import ConfigError, EmbeddedError
from devservices.embedded.folder import STATE_DIR_ENV, is_inside

SERVICE_USER_ENV = "LLMOPS_SERVICE_USER"
DEFAULT_SERVICE_USER = "nobody"


@dataclass(frozen=True)
class RunAs:
    """The unprivileged account a server runs under when this command runs as root."""

    uid: int
    gid: int
    name: str

    def popen_kwargs(self) -> dict[str, Any]:
        """``subprocess`` arguments that start a child as this account, with no supplementary groups."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def become(self) -> None:
        """Drop this process to the account for good (the same change ``popen_kwargs`` makes in a child)."""
        os.setgroups([])
        os.setgid(self.gid)
        os.setuid(self.uid)


def service_user(owner_of: Path | None = None) -> RunAs | None:
    """``None`` when not root (servers run as the caller); otherwise the account to drop to.

    An existing server folder owned by a normal user keeps being run by that user; a fresh one is run by
    ``$LLMOPS_SERVICE_USER`` (default ``nobody``, with its primary group, ``nogroup`` on Debian).
    """
    if os.geteuid() != 0:
        return None
    if owner_of is not None:
        try:
            info = os.stat(owner_of)
        except FileNotFoundError:
            pass
        else:
            if info.st_uid != 0:
                try:
                    name = pwd.getpwuid(info.st_uid).pw_name
                except KeyError:
                    name = str(info.st_uid)
                return RunAs(info.st_uid, info.st_gid, name)
    name = os.environ.get(SERVICE_USER_ENV, "").strip() or DEFAULT_SERVICE_USER
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ConfigError(
            f"run as root, the embedded servers drop to the unprivileged user {name!r}, which does not "
            f"exist; create it, set {SERVICE_USER_ENV} to an existing unprivileged user, "
            "or run as a normal user"
        ) from None
    if entry.pw_uid == 0:
        raise ConfigError(f"{SERVICE_USER_ENV}={name!r} is root; name an unprivileged user")
    return RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name)


def _allowed(info: os.stat_result, who: RunAs, bits: tuple[int, int, int]) -> bool:
    user_bit, group_bit, other_bit = bits
    if info.st_uid == who.uid:
        return bool(info.st_mode & user_bit)
    if info.st_gid == who.gid:
        return bool(info.st_mode & group_bit)
    return bool(info.st_mode & other_bit)


_EXEC = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)


def require_reachable(path: Path, who: RunAs, *, executable: bool = False) -> None:
    """Fail with a clear line unless ``who`` can traverse every folder down to ``path`` (and run it).

    Only checks; never changes a permission (fixing folders outside the state folder is the user's call).
    """
    path = Path(os.path.abspath(path))
    folders = [*reversed(path.parents)]
    if path.is_dir():
        folders.append(path)
    for folder in folders:
        try:
            info = os.stat(folder)
        except FileNotFoundError:
            break
        if not _allowed(info, who, _EXEC):
            raise EmbeddedError(
                f"run as root, the embedded servers run as {who.name!r}, who cannot enter {folder} "
                f"(mode {stat.filemode(info.st_mode)}); allow it (chmod o+x {folder}), set {STATE_DIR_ENV} "
                "to a folder it can reach, or run as a normal user"
            )
    if executable and path.is_file() and not _allowed(os.stat(path), who, _EXEC):
        raise EmbeddedError(
            f"run as root, the embedded servers run as {who.name!r}, who cannot execute {path}; "
            "reinstall the virtual environment with readable files or run as a normal user"
        )


def hand_over(state: Path, path: Path, who: RunAs | None, mode: int) -> None:
    """Give ``path`` (which must lie inside the state folder) to the server account, with ``mode``."""
    if path.is_symlink() or not is_inside(path, state):
        raise EmbeddedError(
            f"refusing to change {path}: it is (or links to) something outside the state folder {state}; "
            "remove it"
        )
    if who is not None:
        os.chown(path, who.uid, who.gid)
    os.chmod(path, mode)


def ensure_owned_folder(state: Path, folder: Path, who: RunAs | None) -> None:
    """Create ``folder`` inside the state folder, private to the server account."""
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.stat(folder)
    owner = who.uid if who is not None else os.geteuid()
    if info.st_uid != owner or stat.S_IMODE(info.st_mode) != 0o700:
        if who is None and info.st_uid != owner:
            raise EmbeddedError(
                f"{folder} belongs to uid {info.st_uid}, not to you (uid {owner}); run as that user, or "
                f"delete {folder} to start afresh (its data is lost)"
            )
        hand_over(state, folder, who, 0o700)


def prepare_log(state: Path, name: str, who: RunAs | None, rotate_bytes: int = 10 * 1024 * 1024) -> Path:
    """``<state>/logs/<name>``, writable by the server account; rotated once past ``rotate_bytes``."""
    logs = state / "logs"
    logs.mkdir(mode=0o755, exist_ok=True)
    path = logs / name
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > rotate_bytes:
            os.replace(path, logs / f"{name}.1")
    if not path.exists():
        path.touch(mode=0o600)
    hand_over(state, path, who, 0o600)
    return path


def write_private(state: Path, path: Path, text: str, who: RunAs | None) -> None:
    """Atomically write ``text`` to ``path`` (0600, owned by the server account)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        hand_over(state, Path(tmp), who, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
