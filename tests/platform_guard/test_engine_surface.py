"""The engine's public surface is enforced by a lint rule: these tests keep that rule complete."""

from __future__ import annotations

import tomllib
from pathlib import Path

import workflows

ROOT = Path(__file__).resolve().parents[2]


def _private_engine_modules() -> set[str]:
    engine = ROOT / "workflows"
    return {
        "workflows." + ".".join(path.relative_to(engine).with_suffix("").parts)
        for path in engine.rglob("_*.py")
        if path.name != "__init__.py"
    }


def _banned_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["ruff"]["lint"]["flake8-tidy-imports"]["banned-api"])


def test_every_private_engine_module_is_banned_outside_the_engine() -> None:
    # A new private module must join the ruff ban list, or the platform could start importing it.
    assert _private_engine_modules() - _banned_modules() == set()


def test_the_ban_list_names_only_modules_that_exist() -> None:
    assert _banned_modules() - _private_engine_modules() == set()


def test_every_public_name_is_importable_from_the_engine_package() -> None:
    missing = [name for name in workflows.__all__ if not hasattr(workflows, name)]
    assert missing == []
