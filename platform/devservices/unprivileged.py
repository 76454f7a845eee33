"""``python -m devservices.unprivileged -- COMMAND [ARG...]``: run a platform process (``make run``'s Celery
worker and beat) as an unprivileged account when started as root; started by anyone else, just run it.

Run as root, the command runs as the account the embedded servers use (:func:`service_user`: the owner of
``<state>/worker``, else ``$LLMOPS_SERVICE_USER``, default ``nobody``), with no supplementary groups and a
private, writable home, ``<state>/worker``. It reads the same settings as the web process: the platform's
settings are loaded here once as root, which generates any development secret still missing, and the
account's group is then let read ``<state>/secrets`` (folder 0750, files 0640, still owned by root), whatever
secrets the settings keep there.

Where that account cannot run the program at all (a Python installed in root's private home, as pyenv
does), the command runs as root after a one-line warning naming the folder in the way, so ``make run`` still
works. The code sandbox drops to its own account only when the worker runs as root; under this account it
runs code as the worker's user, still in a separate, resource-limited process that may not fork.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from devservices.embedded.accounts import (
    SERVICE_USER_ENV,
    RunAs,
    ensure_owned_folder,
    require_reachable,
    service_user,
)
from devservices.embedded.errors import EmbeddedError
from devservices.embedded.folder import checkout_dir, ensure_state_dir, is_inside, state_dir

USAGE = "usage: python -m devservices.unprivileged -- COMMAND [ARG...]"
HOME_FOLDER = "worker"
SECRETS_FOLDER = "secrets"


def programs(command: str) -> list[Path]:
    """The file ``command`` names and, for a script, its interpreter: what the account must be able to run."""
    found = shutil.which(command)
    if found is None:
        return []  # exec fails with a clear line
    path = Path(os.path.realpath(found))
    try:
        with open(path, "rb") as handle:
            first = handle.readline(512)
    except OSError:
        return [path]
    interpreter = first[2:].split()[:1] if first.startswith(b"#!") else []
    return [path, *(Path(os.path.realpath(os.fsdecode(name))) for name in interpreter)]


def blocked(who: RunAs, command: str) -> Path | None:
    """The first program or folder ``who`` cannot reach (the checkout, the command, its interpreter)."""
    for path in (checkout_dir(), *programs(command)):
        try:
            require_reachable(path, who, executable=path.is_file())
        except EmbeddedError:
            return path
    return None


def load_settings() -> None:
    """Load the platform's settings as root: any development secret still missing is generated now."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmops.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.SECRET_KEY  # noqa: B018 (the first attribute read loads every settings module)
    except EmbeddedError:
        raise
    except (ImproperlyConfigured, ValueError) as exc:  # a malformed variable: the settings name it
        raise EmbeddedError(str(exc)) from exc


def share_secrets(state: Path, who: RunAs) -> None:
    """Let ``who``'s group read ``<state>/secrets``; root keeps owning them, nobody else gains anything."""
    folder = state / SECRETS_FOLDER
    if not folder.is_dir():
        return
    for path in [folder, *sorted(folder.iterdir())]:
        if not os.path.lexists(path):  # a secret's temporary file, gone since the listing
            continue
        if path.is_symlink() or not is_inside(path, state) or not (path.is_dir() or path.is_file()):
            raise EmbeddedError(
                f"refusing to share {path}: it is not a plain file of the state folder; remove it"
            )
        with contextlib.suppress(FileNotFoundError):  # the same, gone since the check
            os.chown(path, -1, who.gid)
            os.chmod(path, 0o750 if path.is_dir() else 0o640)


def prepare_account(command: Sequence[str]) -> RunAs | None:
    """``None`` when the command runs as the caller; otherwise the account, ready to run it."""
    state = state_dir()
    home = state / HOME_FOLDER
    who = service_user(owner_of=home)
    if who is None:
        return None
    unreachable = blocked(who, command[0])
    if unreachable is not None:
        print(
            f"warning: {command[0]} runs as root: the unprivileged user {who.name!r} cannot reach "
            f"{unreachable}; install Python and the checkout where other users can read them (or set "
            f"{SERVICE_USER_ENV} to a user who can) to run it unprivileged",
            file=sys.stderr,
        )
        return None
    load_settings()
    ensure_owned_folder(ensure_state_dir(state), home, who)
    share_secrets(state, who)
    return who


def main(argv: Sequence[str] | None = None) -> int:
    """Exec the command (as the unprivileged account when root); returns only on an error."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        who = prepare_account(args)
    except EmbeddedError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    environment = dict(os.environ)
    if who is not None:
        home = state_dir() / HOME_FOLDER
        environment.update(HOME=str(home), USER=who.name, LOGNAME=who.name)
        who.become()
    try:
        os.execvpe(args[0], args, environment)
    except OSError as exc:
        print(f"error: cannot run {args[0]}: {exc.strerror}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main())
