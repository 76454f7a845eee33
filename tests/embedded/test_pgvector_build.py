"""The embedded PostgreSQL's pgvector library is a portable build (the wheel's crashes CPUs without AVX-512)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devservices.embedded import EmbeddedError, postgres
from devservices.embedded.pgvector_build import ensure_portable_pgvector, is_portable, library

INSTALL = postgres.bin_dir().parent


def _fake_install(tmp_path: Path, control_version: str = "0.8.2") -> Path:
    """An install tree sharing the wheel's binaries and headers, with its own library and control file."""
    install = tmp_path / "pginstall"
    (install / "lib" / "postgresql").mkdir(parents=True)
    (install / "share" / "postgresql" / "extension").mkdir(parents=True)
    for name in ("bin", "include"):
        (install / name).symlink_to(INSTALL / name)
    (install / "lib" / "postgresql" / "pgxs").symlink_to(INSTALL / "lib" / "postgresql" / "pgxs")
    (install / "lib" / "postgresql" / "vector.so").write_bytes(b"the wheel's -march=native build")
    control = f"default_version = '{control_version}'\nmodule_pathname = '$libdir/vector'\n"
    (install / "share" / "postgresql" / "extension" / "vector.control").write_text(control)
    return install


def test_the_embedded_server_runs_the_portable_build() -> None:
    # make services (run before the suite) built it; the knowledge tests' vector casts depend on it.
    assert is_portable(INSTALL)


def test_a_wheel_library_is_replaced_once_and_a_reinstalled_one_is_noticed(tmp_path: Path) -> None:
    install = _fake_install(tmp_path)
    assert not is_portable(install)
    assert ensure_portable_pgvector(install) is True
    built = library(install).read_bytes()
    assert built.startswith(b"\x7fELF") and is_portable(install)
    assert ensure_portable_pgvector(install) is False  # later starts only check the stamp
    library(install).write_bytes(b"a reinstalled wheel brought its own library back")
    assert not is_portable(install)


def test_a_version_mismatch_is_refused_with_the_remedy(tmp_path: Path) -> None:
    install = _fake_install(tmp_path, control_version="0.9.0")
    with pytest.raises(EmbeddedError, match=r"installed pgvector is 0\.9\.0 .* vendored sources are 0\.8\.2"):
        ensure_portable_pgvector(install)
    assert library(install).read_bytes() == b"the wheel's -march=native build"


def test_a_missing_compiler_says_how_to_install_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install = _fake_install(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(EmbeddedError, match="apt-get install build-essential"):
        ensure_portable_pgvector(install)
