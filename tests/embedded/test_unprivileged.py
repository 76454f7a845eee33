"""``python -m devservices.unprivileged``: ``make run``'s worker and beat do not run as root.

The root-only tests start the launcher as root, as ``make run`` does on a fresh machine, with a private
state folder; the child reports what it is and what it can do.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = pwd.getpwnam("nobody")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root drops privileges")


def reachable_by_nobody(path: Path) -> bool:
    try:
        probe = subprocess.run(
            [path, "-c", "pass"], user=NOBODY.pw_uid, group=NOBODY.pw_gid, extra_groups=[], check=False
        )
    except PermissionError:
        return False
    return probe.returncode == 0


def python_for_nobody() -> Path | None:
    """An interpreter of this Python version that ``nobody`` can run (pyenv's, under /root, is not one)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (
        Path(os.path.realpath(sys.executable)),
        Path("/usr/bin") / version,
        Path("/usr/local/bin") / version,
    ):
        if candidate.is_file() and reachable_by_nobody(candidate):
            return candidate
    return None


IS_ROOT = os.geteuid() == 0
NOBODYS_PYTHON = python_for_nobody() if IS_ROOT else None
VENV_REACHABLE = IS_ROOT and Path(os.path.realpath(sys.executable)) == NOBODYS_PYTHON

# What the worker needs: the platform's settings (secrets included) and a working code node. (Without
# django.setup(): the interpreter nobody can run here may be older than some installed packages support.)
CHILD = """
import asyncio, json, os
from django.conf import settings
from workflows import SandboxLimits, SubprocessSandbox
result = asyncio.run(SubprocessSandbox().run(
    "def main(x):\\n    return {'y': x * 2}", {"x": 21}, SandboxLimits()))
print(json.dumps({
    "uid": os.geteuid(), "groups": os.getgroups(), "home": os.environ["HOME"],
    "secret_key": settings.SECRET_KEY, "keys": settings.LLMOPS_ENCRYPTION_KEYS,
    "database_url": settings.DATABASE_URL, "redis_url": settings.REDIS_URL,
    "code": [result.ok, result.outputs],
}))
"""
SETTINGS = (
    "import json; from django.conf import settings; "
    "print(json.dumps([settings.SECRET_KEY, settings.LLMOPS_ENCRYPTION_KEYS, settings.DATABASE_URL]))"
)


@pytest.fixture
def state() -> Iterator[Path]:
    """A state folder the unprivileged account can reach (pytest's tmp_path is 0700 when root)."""
    base = Path(tempfile.mkdtemp(prefix="llmops-unprivileged-test-"))
    os.chmod(base, 0o755)
    yield base / "state"
    shutil.rmtree(base, ignore_errors=True)


def clean_environment() -> dict[str, str]:
    """This process's environment without the platform's settings (as on a fresh machine's ``make run``)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LLMOPS_") and k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }


def launch(state: Path, *command: str, **variables: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **clean_environment(),
        "LLMOPS_STATE_DIR": str(state),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'platform'}",
        "DJANGO_SETTINGS_MODULE": "llmops.settings",
        **variables,
    }
    if NOBODYS_PYTHON is not None:  # the packages of this virtual environment, for another interpreter
        site = os.pathsep.join(path for path in sys.path if path.endswith("site-packages"))
        environment["PYTHONPATH"] += os.pathsep + site
    return subprocess.run(
        [sys.executable, "-m", "devservices.unprivileged", "--", *command],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_a_command_it_prints_its_usage(state: Path) -> None:
    done = launch(state)
    assert done.returncode == 2
    assert done.stderr.strip() == "usage: python -m devservices.unprivileged -- COMMAND [ARG...]"


def test_a_missing_command_fails_with_one_line(state: Path) -> None:
    done = launch(state, "no-such-command-here")
    assert done.returncode == 127
    assert done.stderr.strip().startswith("error: cannot run no-such-command-here")


@pytest.mark.skipif(NOBODYS_PYTHON is None, reason="needs root and a Python that nobody can run")
def test_as_root_the_worker_runs_unprivileged_with_its_settings_and_code_node(state: Path) -> None:
    # given: the settings as root (make run's migrate) generate the development secrets, root's 0600 files
    as_root = subprocess.run(
        [sys.executable, "-c", SETTINGS],
        cwd=ROOT,
        env={
            **clean_environment(),
            "LLMOPS_STATE_DIR": str(state),
            "DJANGO_SETTINGS_MODULE": "llmops.settings",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    secret_key, keys, database_url = json.loads(as_root.stdout)
    # when: the worker's command starts through the launcher
    done = launch(state, str(NOBODYS_PYTHON), "-c", CHILD)
    # then: it runs as the servers' account, with no extra groups, a private home, and the same settings
    assert done.returncode == 0, done.stderr
    child = json.loads(done.stdout)
    assert child["uid"] == NOBODY.pw_uid and child["groups"] == []
    home = Path(child["home"])
    assert home == state / "worker"
    assert home.stat().st_uid == NOBODY.pw_uid and stat.S_IMODE(home.stat().st_mode) == 0o700
    assert (child["secret_key"], child["keys"], child["database_url"]) == (secret_key, keys, database_url)
    # and: the code node still runs user code
    assert child["code"] == [True, {"y": 42}]


@pytest.mark.skipif(NOBODYS_PYTHON is None, reason="needs root and a Python that nobody can run")
def test_as_root_the_secrets_are_shared_with_the_accounts_group_only(state: Path) -> None:
    done = launch(state, str(NOBODYS_PYTHON), "-c", "pass")
    assert done.returncode == 0, done.stderr
    secrets = state / "secrets"
    for path in [secrets, *secrets.iterdir()]:
        info = path.stat()
        assert (info.st_uid, info.st_gid) == (0, NOBODY.pw_gid)
        assert stat.S_IMODE(info.st_mode) == (0o750 if path.is_dir() else 0o640)
    assert {"secret_key", "encryption_key", "postgres-password", "redis-password"} <= {
        path.name for path in secrets.iterdir()
    }


@pytest.mark.skipif(not IS_ROOT or VENV_REACHABLE, reason="needs root and a Python nobody cannot run")
def test_as_root_a_python_nobody_can_run_keeps_the_worker_running_as_root_with_a_warning(state: Path) -> None:
    done = launch(state, sys.executable, "-c", "import os; print(os.geteuid())")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
    warning = done.stderr.strip()
    assert warning.startswith(
        f"warning: {sys.executable} runs as root: the unprivileged user 'nobody' cannot reach"
    )
    assert "\n" not in warning
