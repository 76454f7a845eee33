"""Names, ports, folders and URLs of the local models; every value can be set from the environment.

Nothing here starts a process or writes a file (except :func:`models_dir` and friends when asked to create).
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

from devservices.embedded.errors import ConfigError
from devservices.embedded.folder import state_dir
from devservices.embedded.ports import LOOPBACK, port_from_env
from devservices.localmodels.errors import LocalModelsError

CHAT_PORT_ENV = "LLMOPS_CHAT_MODEL_PORT"
EMBEDDING_PORT_ENV = "LLMOPS_EMBEDDING_MODEL_PORT"
WHEEL_CACHE_ENV = "LLMOPS_WHEEL_CACHE"
#: The chat server (an OpenAI base URL, ``.../v1``) the embeddings server's ``/v1/rerank`` asks.
RERANK_CHAT_URL_ENV = "LLMOPS_RERANK_CHAT_URL"
DEFAULT_CHAT_PORT = 8091
DEFAULT_EMBEDDING_PORT = 8092

#: The model name clients send to the plumbing chat server (llama-server's ``--alias``): Gemma 3 270M, a base
#: model, fast, for tests of streaming, usage and errors; useless for answers.
CHAT_MODEL = "gemma3-270m"
#: The instruction model ``make run`` serves (demo and default judge): Qwen2.5-Coder-1.5B-Instruct, Q4_K_M.
INSTRUCT_MODEL = "qwen2.5-coder-1.5b-instruct"
#: The model name clients send to the embedding server.
EMBEDDING_MODEL = "all-minilm-l6-v2"
EMBEDDING_DIMENSIONS = 384
#: The default embedding model for new knowledge bases: Universal Sentence Encoder multilingual v3.
MULTILINGUAL_EMBEDDING_MODEL = "use-multilingual-v3"
MULTILINGUAL_EMBEDDING_DIMENSIONS = 512
#: The rerank model the embeddings server serves at ``/v1/rerank``: the instruction model on the chat server
#: scoring P("是/yes") per passage (``devservices.localmodels.llm_reranker``).
RERANK_MODEL = "qwen-rerank"

GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
INSTRUCT_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
TOKENIZER_NAME = "tokenizer.json"

HOST = LOOPBACK


def _port(name: str, default: int) -> int:
    try:
        return port_from_env(name, default)
    except ConfigError as exc:
        raise LocalModelsError(str(exc)) from None


def chat_port() -> int:
    """``$LLMOPS_CHAT_MODEL_PORT`` or 8091: where ``serve-chat`` (and so ``make run``) listens."""
    return _port(CHAT_PORT_ENV, DEFAULT_CHAT_PORT)


def embedding_port() -> int:
    """``$LLMOPS_EMBEDDING_MODEL_PORT`` or 8092: where ``serve-embeddings`` listens."""
    return _port(EMBEDDING_PORT_ENV, DEFAULT_EMBEDDING_PORT)


def base_url(port: int) -> str:
    """The OpenAI-client base URL (ending in ``/v1``) of a local server on ``port``."""
    return f"http://{HOST}:{port}/v1"


def chat_server_url() -> str:
    """Base URL (``http://127.0.0.1:<port>/v1``) of the chat server that ``serve-chat`` runs by default."""
    return base_url(chat_port())


def embedding_server_url() -> str:
    """Base URL (``http://127.0.0.1:<port>/v1``) of the embedding server ``serve-embeddings`` runs."""
    return base_url(embedding_port())


def rerank_chat_url() -> str:
    """``$LLMOPS_RERANK_CHAT_URL``, else the local chat server (``make run`` serves the instruction model there)."""
    raw = os.environ.get(RERANK_CHAT_URL_ENV, "").strip()
    return raw.rstrip("/") if raw else chat_server_url()


def models_dir(state: Path | None = None) -> Path:
    """``<state folder>/models``: the assembled GGUF and the tokenizer live here (per checkout)."""
    return (state if state is not None else state_dir()) / "models"


def gguf_path(state: Path | None = None) -> Path:
    """Where ``ensure`` assembles the Gemma 3 270M GGUF."""
    return models_dir(state) / GGUF_NAME


def instruct_gguf_path(state: Path | None = None) -> Path:
    """Where ``ensure`` assembles the Qwen2.5-Coder-1.5B-Instruct GGUF."""
    return models_dir(state) / INSTRUCT_GGUF_NAME


def tokenizer_path(state: Path | None = None) -> Path:
    """Where ``ensure`` puts all-MiniLM-L6-v2's ``tokenizer.json``."""
    return models_dir(state) / EMBEDDING_MODEL / TOKENIZER_NAME


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/llmops`` or ``~/.cache/llmops``: per machine, so it outlives any checkout."""
    raw = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(raw) if raw else Path.home() / ".cache"
    return base.expanduser().absolute() / "llmops"


def wheel_cache_root() -> Path:
    """``$LLMOPS_WHEEL_CACHE`` or ``~/.cache/llmops/wheels``; a per-CPU subfolder is added by the caller."""
    raw = os.environ.get(WHEEL_CACHE_ENV, "").strip()
    if raw:
        return Path(os.path.abspath(os.path.expanduser(raw)))
    return user_cache_dir() / "wheels"


def download_cache_dir() -> Path:
    """Where files taken out of downloaded packages are kept, so a fresh checkout needs no network."""
    return user_cache_dir() / "downloads"


def platform_tag() -> str:
    """``linux_x86_64`` and the like: the wheel platform tag of this interpreter."""
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")
