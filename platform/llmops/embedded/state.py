"""The state folder and the small operating-system helpers both embedded servers share.

Everything the embedded servers write lives in the state folder (``$LLMOPS_STATE_DIR`` or
``<checkout>/.llmops``): data, logs, pid files and generated passwords. Nothing here changes a file
outside that folder.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pwd
import secrets
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from llmops.embedded.errors import ConfigError, EmbeddedError

STATE_DIR_ENV = "LLMOPS_STATE_DIR"
SERVICE_USER_ENV = "LLMOPS_SERVICE_USER"
DEFAULT_SERVICE_USER = "nobody"
LOOPBACK = "127.0.0.1"
MIN_PORT = 1024
MAX_PORT = 65535
LOCK_TIMEOUT_S = 180.0

_PACKAGE_DIR = Path(__file__).resolve().parent


# --- the state folder -------------------------------------------------------------------------------------


def checkout_dir() -> Path:
    """The repository root (the folder holding ``manage.py``), or the working directory when installed."""
    candidate = _PACKAGE_DIR.parents[2]  # platform/llmops/embedded -> platform/llmops -> platform -> checkout
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
                "# Created by llmops.embedded: local state, never committed.\n*\n"
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


# --- configuration ----------------------------------------------------------------------------------------


def port_from_env(name: str, default: int) -> int:
    """A TCP port from the environment; unset or blank gives ``default``; anything else must be valid."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        port = int(raw.strip(), 10)
    except ValueError:
        port = -1
    if not MIN_PORT <= port <= MAX_PORT:
        raise ConfigError(
            f"{name}={raw!r} is not a valid port; set {name} to a free port between {MIN_PORT} and "
            f"{MAX_PORT} or unset it to use {default}"
        )
    return port


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


# --- who runs the servers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunAs:
    """The unprivileged account a server runs under when this command runs as root."""

    uid: int
    gid: int
    name: str

    def popen_kwargs(self) -> dict[str, Any]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


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


# --- processes and ports ----------------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process, whoever owns it."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    fields = text.rsplit(")", 1)[-1].split()
    return not fields or fields[0] not in ("Z", "X")


def process_name(pid: int) -> str | None:
    """The executable name of ``pid`` (``/proc/<pid>/comm``), or ``None`` where /proc is unavailable."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def is_process(pid: int, name: str) -> bool:
    """Whether ``pid`` is alive and runs ``name`` (trusting the pid where /proc cannot tell)."""
    if not pid_alive(pid):
        return False
    actual = process_name(pid)
    return actual is None or actual == name


def port_in_use(port: int) -> bool:
    """Whether a server could not bind ``127.0.0.1:port`` now (as PostgreSQL and Redis bind, SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 1.5, 0.2)


def service_env() -> dict[str, str]:
    """A small, predictable environment for server processes (English messages, UTC)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "TZ": "UTC"}


def run_tool(
    args: Sequence[str | Path], who: RunAs | None, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a server tool as ``who``; output goes through a file (a daemon child may keep pipes open)."""
    with tempfile.TemporaryFile("w+") as output:
        try:
            completed = subprocess.run(
                [str(arg) for arg in args],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=service_env(),
                start_new_session=True,
                umask=0o077,
                timeout=timeout,
                check=False,
                **(who.popen_kwargs() if who is not None else {}),
            )
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedError(
                f"{Path(str(args[0])).name} did not finish within {timeout:.0f} s; "
                f"see the logs in {cwd.parent}"
            ) from exc
        except OSError as exc:
            raise EmbeddedError(
                f"cannot run {args[0]}: {exc.strerror}; reinstall the project (pip install -e '.[dev]')"
            ) from exc
        output.seek(0)
        return subprocess.CompletedProcess(completed.args, completed.returncode, output.read(), "")


def package_dir(module: str, distribution: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = find_spec(module)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise EmbeddedError(
            f"the Python package {distribution!r} is not installed; run pip install -e '.[dev]' "
            "or set the service URL to use an external server"
        )
    return Path(locations[0])


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def log_since(path: Path, offset: int) -> list[str]:
    """The log lines written after byte ``offset``."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return []
    return [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]


# --- serialising commands ---------------------------------------------------------------------------------


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
                        f"another llmops.embedded command has held {path} for {timeout:.0f} s; "
                        "wait for it to finish or stop it"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


# --- reporting --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceStatus:
    """What one embedded server is doing, as read from its pid file (no network)."""

    name: str
    phase: str  # "running", "starting", "stopping", "stopped"
    pid: int | None = None
    port: int | None = None
    note: str = ""

    @property
    def running(self) -> bool:
        return self.phase == "running"

    @property
    def alive(self) -> bool:
        return self.phase in ("running", "starting", "stopping")

    def describe(self) -> str:
        if not self.alive:
            return f"{self.name}: stopped" + (f" ({self.note})" if self.note else "")
        where = f" on {LOOPBACK}:{self.port}" if self.port else ""
        return f"{self.name}: {self.phase}{where} (pid {self.pid})"
