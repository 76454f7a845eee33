"""A reranker made of the local instruction model: relevance as the probability that it answers "是/yes".

No PyPI package here ships cross-encoder weights, so each (question, passage) pair is put to the chat server
(llama-server with Qwen2.5-Coder-1.5B-Instruct, ``make run``'s chat model) as a yes/no question, asking for
one token at temperature 0 with ``logprobs`` and ``top_logprobs: 10``. llama-server answers
``choices[0].logprobs.content[0].top_logprobs = [{"token": "是", "logprob": -0.06}, {"token": "yes", ...},
{"token": "否", ...}, ...]``, and the score is

    P(yes) = sum(p of yes-like tokens) / (sum(p of yes-like tokens) + sum(p of no-like tokens))

over those ten (yes-like: 是, 是的, 对, yes, Yes, " yes", ...; no-like: 否, 不, 不是, no, No, ...). Fallbacks:
an empty passage scores 0.0 without a call; a first token whose top ten hold neither kind (the model could
not decide) scores 0.5; a chat server that returns no logprobs at all is an error, not a score.

Cost: one forward pass over the passage per pair. The system prompt and the question come first, so
llama-server's prompt cache (``cache_prompt``) keeps them between the pairs of one query and only the
passage's tokens are new. A long passage is cut to :data:`DEFAULT_PASSAGE_TOKENS` tokens (counted by the chat
server's own ``/tokenize``): the window holding most of the question's words, so the sentence that answers is
what the model reads, or the head when no word matches. Even so a pair takes seconds on 2 cores: rerank a
short list (the top 10), not a whole candidate pool.
"""

from __future__ import annotations

import json
import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devservices.localmodels.config import INSTRUCT_MODEL
from devservices.localmodels.errors import LocalModelsError

PASSAGE_TOKENS_ENV = "LLMOPS_RERANK_PASSAGE_TOKENS"
#: Passage budget in the chat model's tokens. A pair costs the passage's tokens plus about 5 (the chat
#: template's tail): at the 45 prompt tokens/s documented for 2 idle cores about 0.9 s; measured on this
#: project's 2-core machines with llama-server's one thread, about 10 tokens/s and 4 s (README).
DEFAULT_PASSAGE_TOKENS = 32
QUESTION_TOKENS = 64
TOP_LOGPROBS = 10
CALL_TIMEOUT_S = 120.0

SYSTEM_PROMPT = (
    "你是检索相关性评审。如果文段包含问题的答案，回答“是”；否则回答“否”。只输出一个字。"
    "You judge search results: answer 是 (yes) if the passage contains the answer to the question,"
    " otherwise 否 (no)."
)
USER_TEMPLATE = "问题：{question}\n\n文段：{passage}"

YES_TOKENS = frozenset({"是", "是的", "对", "相关", "yes", "y", "true"})
NO_TOKENS = frozenset({"否", "不", "不是", "不对", "无", "没有", "不相关", "no", "n", "false"})
# Question words that say nothing about where in a long passage the answer is.
STOP_WORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "in", "is",
        "it", "of", "on", "or", "the", "that", "this", "to", "what", "when", "where", "which", "who", "why",
        "with", "的", "了", "是", "在", "吗", "呢", "和", "与", "什么", "哪些", "哪个", "怎么", "怎样", "如何",
        "多少", "为什么", "有", "会", "要",
    }
)  # fmt: skip
UNDECIDED_SCORE = 0.5
EMPTY_PASSAGE_SCORE = 0.0


class ChatServerError(Exception):
    """The chat server could not be asked (``status`` 503: down, or failing) or its answer cannot be read
    (502: no logprobs, not JSON)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class ChatServerRefused(ChatServerError):
    """The chat server answered a non-2xx status (``http_status``)."""

    def __init__(self, http_status: int, message: str) -> None:
        self.http_status = http_status
        super().__init__(503, message)


@dataclass(frozen=True)
class RerankScores:
    """One score in [0, 1] per passage (input order), the tokens the chat server read, and the wall time."""

    scores: list[float]
    total_tokens: int
    seconds: float
    pairs: int  # passages actually put to the model (empty ones are not)


def passage_tokens_from_env() -> int:
    """``$LLMOPS_RERANK_PASSAGE_TOKENS`` or :data:`DEFAULT_PASSAGE_TOKENS`."""
    raw = os.environ.get(PASSAGE_TOKENS_ENV, "").strip()
    if not raw:
        return DEFAULT_PASSAGE_TOKENS
    if raw.isascii() and raw.isdigit() and int(raw) > 0:
        return int(raw)
    raise LocalModelsError(f"{PASSAGE_TOKENS_ENV}={raw!r} is not a positive whole number; fix it or unset it")


def yes_probability(top_logprobs: Sequence[dict[str, Any]]) -> float:
    """P(yes) from the first token's top logprobs (see the module docstring); 0.5 when neither kind is there."""
    yes = no = 0.0
    for entry in top_logprobs:
        token = str(entry.get("token", "")).strip().lower()
        logprob = entry.get("logprob")
        if not isinstance(logprob, int | float) or not math.isfinite(logprob):
            continue
        if token in YES_TOKENS:
            yes += math.exp(logprob)
        elif token in NO_TOKENS:
            no += math.exp(logprob)
    if yes + no <= 0.0:
        return UNDECIDED_SCORE
    return yes / (yes + no)


def _word(piece: bytes) -> str:
    """A token's text as a word to compare: " Refund" and "refund" are different tokens but the same word."""
    return piece.decode("utf-8", errors="ignore").strip().lower()


def _focus(pieces: list[tuple[int, bytes]]) -> frozenset[str]:
    """The question's words worth looking for in a passage: not punctuation, not a stop word."""
    words = (_word(piece) for _, piece in pieces)
    return frozenset(word for word in words if any(c.isalnum() for c in word) and word not in STOP_WORDS)


def _best_window(tokens: list[str], size: int, focus: frozenset[str]) -> int:
    """The start of the ``size``-token window with the most distinct ``focus`` words (the first on a tie)."""
    counts: dict[str, int] = {}
    distinct = best = best_start = 0
    for end, token in enumerate(tokens):
        if token in focus:
            counts[token] = counts.get(token, 0) + 1
            distinct += counts[token] == 1
        start = end - size + 1
        if start > 0 and tokens[start - 1] in focus:  # the token that just left the window
            left = tokens[start - 1]
            counts[left] -= 1
            distinct -= counts[left] == 0
        if start >= 0 and distinct > best:
            best, best_start = distinct, start
    return best_start


class LLMReranker:
    """Scores passages for a question with the chat server at ``chat_url`` (an OpenAI base URL, ``.../v1``)."""

    def __init__(
        self,
        chat_url: str,
        chat_model: str = INSTRUCT_MODEL,
        passage_tokens: int = DEFAULT_PASSAGE_TOKENS,
        timeout: float = CALL_TIMEOUT_S,
    ) -> None:
        self.chat_url = chat_url.rstrip("/")
        # llama-server's /tokenize sits beside /v1, at the server's root.
        self.root_url = self.chat_url.removesuffix("/v1")
        self.chat_model = chat_model
        self.passage_tokens = passage_tokens
        self.timeout = timeout

    def score(self, question: str, passages: Sequence[str]) -> RerankScores:
        """P(yes) per passage, in input order; raises :class:`ChatServerError`."""
        started = time.perf_counter()
        question_pieces = self._pieces(question.strip())
        focus = _focus(question_pieces or [])
        question = self.excerpt(question.strip(), QUESTION_TOKENS, pieces=question_pieces)
        scores: list[float] = []
        tokens = pairs = 0
        for passage in passages:
            if not passage.strip():
                scores.append(EMPTY_PASSAGE_SCORE)
                continue
            score, used = self._judge(question, self.excerpt(passage.strip(), self.passage_tokens, focus))
            scores.append(score)
            tokens += used
            pairs += 1
        return RerankScores(scores, tokens, time.perf_counter() - started, pairs)

    def focus(self, question: str) -> frozenset[str]:
        """The words of ``question`` that :meth:`excerpt` looks for (by the chat server's tokenizer)."""
        return _focus(self._pieces(question.strip()) or [])

    def excerpt(
        self,
        text: str,
        budget: int,
        focus: frozenset[str] = frozenset(),
        pieces: list[tuple[int, bytes]] | None = None,
    ) -> str:
        """At most ``budget`` tokens of ``text`` (the chat server's tokenizer): the window holding the most
        distinct ``focus`` words (the question's), the first one on a tie: the head when nothing matches.

        A text of at most ``budget`` characters is kept whole without a call (a token is nearly always at least
        one character); a server without a usable ``/tokenize`` gets the first ``budget`` characters.
        """
        if len(text) <= budget:
            return text
        pieces = pieces if pieces is not None else self._pieces(text)
        if pieces is None:
            return text[:budget]
        if len(pieces) <= budget:
            return text
        start = _best_window([_word(piece) for _, piece in pieces], budget, focus)
        kept = b"".join(piece for _, piece in pieces[start : start + budget])
        return kept.decode("utf-8", errors="ignore").strip()

    def _pieces(self, text: str) -> list[tuple[int, bytes]] | None:
        """``text`` as (token id, bytes) pairs by llama-server's ``/tokenize``; ``None`` where it has none."""
        try:
            answer = self._post(f"{self.root_url}/tokenize", {"content": text, "with_pieces": True})
        except ChatServerError as exc:
            if exc.status == 503 and not isinstance(exc, ChatServerRefused):
                raise  # down (the chat call would fail the same way)
            return None  # no usable /tokenize: not llama-server
        try:
            # a piece that is not whole UTF-8 (half a character) comes as a list of byte values
            return [
                (
                    int(row["id"]),
                    row["piece"].encode() if isinstance(row["piece"], str) else bytes(row["piece"]),
                )
                for row in answer["tokens"]
            ]
        except (KeyError, TypeError, ValueError):
            return None

    def _judge(self, question: str, passage: str) -> tuple[float, int]:
        body = {
            "model": self.chat_model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": USER_TEMPLATE.format(question=question, passage=passage)},
            ],
            "temperature": 0,
            "max_tokens": 1,
            "logprobs": True,
            "top_logprobs": TOP_LOGPROBS,
            "cache_prompt": True,  # the system prompt and the question are the shared prefix
        }
        answer = self._post(f"{self.chat_url}/chat/completions", body)
        try:
            top = answer["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            if not isinstance(top, list):
                raise TypeError("top_logprobs is not a list")
        except (KeyError, IndexError, TypeError) as exc:
            raise ChatServerError(
                502, f"the chat server at {self.chat_url} returned no top_logprobs ({type(exc).__name__}: {exc})"
                "; it must support logprobs (llama-server does)",
            ) from None  # fmt: skip
        usage = answer.get("usage")
        used = usage.get("total_tokens") if isinstance(usage, dict) else None
        return yes_probability(top), used if isinstance(used, int) and used > 0 else 0

    def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise ChatServerRefused(
                exc.code, f"the chat server at {self.chat_url} answered HTTP {exc.code} to {url}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChatServerError(
                503, f"the chat server at {self.chat_url} is unreachable or too slow: {reason}"
            ) from None
        try:
            answer = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ChatServerError(
                502, f"the chat server at {self.chat_url} did not answer {url} with JSON"
            ) from None
        if not isinstance(answer, dict):
            raise ChatServerError(
                502, f"the chat server at {self.chat_url} did not answer {url} with a JSON object"
            )
        return answer
