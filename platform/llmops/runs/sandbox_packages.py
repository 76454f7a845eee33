"""The package environment of code nodes: a ``pip install --target`` directory, separate from the platform's.

``LLMOPS_SANDBOX_PACKAGES`` names what code may import (default: the names in ``sandbox-requirements.txt``,
at the versions pinned there; an entry may pin its own, ``name==version``). ``manage.py sandbox_packages``
installs them into ``LLMOPS_SANDBOX_PACKAGES_DIR`` (``make install`` runs it; a manifest makes it a no-op
when nothing changed) and writes the environment's import index (see ``workflows.sandbox``). Workers only
read the directory: nothing is installed while runs run, and a list the directory does not satisfy is a
start-up error (the system check below), not a failure in the middle of a run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from workflows.sandbox import imported_modules, package_index_write

REQUIREMENTS = Path(__file__).with_name("sandbox-requirements.txt")
MANIFEST = ".sandbox-packages.json"
SETTING = "LLMOPS_SANDBOX_PACKAGES"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# Import names that differ from their distribution's name, for the import report and error messages.
IMPORT_NAMES = {
    "bs4": "beautifulsoup4",
    "yaml": "pyyaml",
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
}


class PackageEnvironmentError(Exception):
    """The package environment could not be built (pip's reason in the message)."""


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them (``JSON_Repair`` == ``json-repair``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(spec: str) -> str:
    match = _NAME.match(spec)
    if match is None:
        raise PackageEnvironmentError(f"{SETTING}: {spec!r} is not a package name")
    return match.group(1)


def pinned() -> dict[str, str]:
    """The requirements file: normalized name -> requirement line."""
    lines = (line.split("#")[0].strip() for line in REQUIREMENTS.read_text().splitlines())
    return {normalized(_name(line)): line for line in lines if line}


def requirement_specs(packages: list[str]) -> list[str]:
    """What pip installs for the configured names: the entry itself when it pins a version, else the pin."""
    pins = pinned()
    return [spec if spec.strip() != _name(spec) else pins.get(normalized(spec), spec) for spec in packages]


def installed(target: Path) -> set[str]:
    """Normalized names of the distributions in an environment."""
    if not target.is_dir():
        return set()
    return {normalized(p.name.split("-")[0]) for p in target.iterdir() if p.name.endswith(".dist-info")}


def environment_problems(*, packages: list[str], target: Path) -> list[str]:
    """Why ``target`` does not offer ``packages`` (empty when it does)."""
    if not packages:
        return []
    have = installed(target)
    missing = [_name(spec) for spec in packages if normalized(_name(spec)) not in have]
    if missing:
        return [
            f"{SETTING} names {', '.join(missing)}, not installed in the sandbox package environment {target}"
        ]
    if _manifest(target) != requirement_specs(packages):
        return [f"the sandbox package environment {target} was built for another {SETTING}"]
    return []


def environment_install(*, packages: list[str], target: Path) -> bool:
    """Install ``packages`` into ``target`` unless it was built for exactly them; True when it installed.

    Builds into a sibling directory and swaps it in, so a failed install leaves the old environment."""
    specs = requirement_specs(packages)
    if target.is_dir() and _manifest(target) == specs:
        return False
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    if specs:
        _pip_install(specs, building)
    building.mkdir(parents=True, exist_ok=True)
    package_index_write(str(building))
    (building / MANIFEST).write_text(json.dumps({"requirements": specs}))
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    building.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return True


def _pip_install(specs: list[str], target: Path) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-warn-conflicts", "--no-input", "--target", str(target), *specs]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        reason = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        shutil.rmtree(target, ignore_errors=True)
        raise PackageEnvironmentError(
            f"could not install the code nodes' packages ({SETTING}: {', '.join(specs)}): {reason}"
        )


def _manifest(target: Path) -> list[str] | None:
    try:
        return list(json.loads((target / MANIFEST).read_text())["requirements"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def code_imports(code: str, *, declared: list[str] | None = None) -> list[tuple[str, bool]]:
    """The packages (not the standard library) code imports, plus ``declared`` ones, each with whether code
    nodes may import it (``LLMOPS_SANDBOX_PACKAGES``, and what they depend on, which the environment holds)."""
    allowed = {normalized(_name(spec)) for spec in settings.LLMOPS_SANDBOX_PACKAGES}
    if allowed:
        allowed |= installed(Path(settings.LLMOPS_SANDBOX_PACKAGES_DIR))
    tops = {name.split(".")[0] for name in imported_modules(code, strings=False)}
    packages = {IMPORT_NAMES.get(top, top) for top in tops if top not in sys.stdlib_module_names}
    packages |= {_name(name) for name in declared or () if _NAME.match(name)}
    unique = {normalized(package): package for package in sorted(packages)}
    return [(package, key in allowed) for key, package in sorted(unique.items())]


@register()
def sandbox_packages_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The configured packages should be installed before workers start (nothing is installed mid-run). A
    warning, not an error: an image that has not built them (deploy/Dockerfile does not yet) still starts, and
    a code node importing a package fails with the message naming the setting."""
    problems = environment_problems(
        packages=settings.LLMOPS_SANDBOX_PACKAGES, target=Path(settings.LLMOPS_SANDBOX_PACKAGES_DIR)
    )
    return [
        Warning(problem, hint="run `manage.py sandbox_packages` (make install does)", id="llmops.runs.W001")
        for problem in problems
    ]
