"""Settings come only from the environment and fail at start-up naming the bad variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmops.settings import env

ROOT = Path(__file__).resolve().parents[2]


def _start_django(
    extra_env: dict[str, str], tmp_path: Path, code: str = ""
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("LLMOPS_") and k != "DJANGO_SETTINGS_MODULE"
    }
    environment = {
        **clean,
        "LLMOPS_STATE_DIR": str(tmp_path / "state"),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'platform'}",
        "DJANGO_SETTINGS_MODULE": "llmops.settings",
        **extra_env,
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LLMOPS_DEBUG", "maybe"),
        ("LLMOPS_MODE", "staging"),
        ("DATABASE_URL", "mysql://db/x"),
        ("REDIS_URL", "localhost:6379"),
        ("LLMOPS_DB_CONN_MAX_AGE", "soon"),
        ("LLMOPS_ENCRYPTION_KEYS", "not-a-key"),
    ],
)
def test_malformed_variable_stops_start_up_naming_it(variable: str, value: str, tmp_path: Path) -> None:
    done = _start_django({variable: value}, tmp_path)
    assert done.returncode != 0
    assert variable in done.stderr.strip().splitlines()[-1]


def test_production_mode_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    done = _start_django({"LLMOPS_MODE": "production"}, tmp_path)
    assert done.returncode != 0
    assert "LLMOPS_SECRET_KEY must be set" in done.stderr


def test_production_mode_starts_with_its_secrets(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    done = _start_django(
        {
            "LLMOPS_MODE": "production",
            "LLMOPS_SECRET_KEY": "x" * 50,
            "LLMOPS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        },
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "state" / "secrets" / "secret_key").exists()


def test_development_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    keys = [_start_django({}, tmp_path, code).stdout.strip() for _ in range(2)]
    assert keys[0] and keys[0] == keys[1]
    key_file = tmp_path / "state" / "secrets" / "secret_key"
    assert key_file.read_text().strip() == keys[0]
    assert key_file.stat().st_mode & 0o077 == 0


def test_secret_can_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "key"
    secret.write_text("from-file\n")
    monkeypatch.delenv("LLMOPS_SOMETHING", raising=False)
    monkeypatch.setenv("LLMOPS_SOMETHING_FILE", str(secret))
    assert env.env_str("LLMOPS_SOMETHING") == "from-file"


def test_unreadable_secret_file_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOPS_SOMETHING_FILE", "/nonexistent/key")
    with pytest.raises(env.SettingError, match="LLMOPS_SOMETHING_FILE"):
        env.env_str("LLMOPS_SOMETHING")


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False), ("FALSE", False)])
def test_booleans_accept_the_usual_spellings(
    raw: str, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMOPS_FLAG", raw)
    assert env.env_bool("LLMOPS_FLAG", not expected) is expected


def test_integer_out_of_range_names_the_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOPS_N", "0")
    with pytest.raises(env.SettingError, match=r"LLMOPS_N=0 is out of range \[1, None\]"):
        env.env_int("LLMOPS_N", 5, minimum=1)


def test_manage_py_reports_a_bad_variable_in_one_line(tmp_path: Path) -> None:
    environment = {**os.environ, "LLMOPS_STATE_DIR": str(tmp_path / "state"), "LLMOPS_DEBUG": "maybe"}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "error: LLMOPS_DEBUG='maybe' is not a boolean; use true or false"


def test_the_api_key_pepper_is_generated_in_development_and_must_be_given_in_production(
    tmp_path: Path,
) -> None:
    from cryptography.fernet import Fernet

    code = "from django.conf import settings; print(repr(settings.LLMOPS_API_KEY_PEPPER), settings.LLMOPS_READYZ_DETAIL)"
    development = _start_django({}, tmp_path, code).stdout.strip()
    assert development == f"{(tmp_path / 'state' / 'secrets' / 'api_key_pepper').read_text().strip()!r} True"
    production = {
        "LLMOPS_MODE": "production",
        "LLMOPS_SECRET_KEY": "x" * 50,
        "LLMOPS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    # without it: empty (digests fall back to the secret key; `manage.py check` warns), readyz terse
    assert _start_django(production, tmp_path / "p", code).stdout.strip() == "'' False"
    given = _start_django({**production, "LLMOPS_API_KEY_PEPPER": "p" * 40}, tmp_path / "q", code)
    assert given.stdout.strip() == f"{'p' * 40!r} False"
