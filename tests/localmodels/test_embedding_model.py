"""The real embedding model: all-MiniLM-L6-v2 (int8 ONNX) behind an OpenAI-compatible /v1/embeddings."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import openai
import pytest
from langchain_openai import OpenAIEmbeddings

from devservices.localmodels import (
    EMBEDDING_DIMENSIONS,
    EMBEDDING_MODEL,
    MULTILINGUAL_EMBEDDING_DIMENSIONS,
    MULTILINGUAL_EMBEDDING_MODEL,
)
from devservices.localmodels.embedding_server import MAX_INPUTS


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="local", max_retries=0)


def _embed(url: str, texts: list[str], **kwargs: Any) -> np.ndarray:
    reply = _client(url).embeddings.create(model=EMBEDDING_MODEL, input=texts, **kwargs)
    assert [item.index for item in reply.data] == list(range(len(texts)))
    return np.array([item.embedding for item in reply.data])


def test_embeddings_are_384_dimensional_unit_vectors(local_embedding_model_url: str) -> None:
    reply = _client(local_embedding_model_url).embeddings.create(
        model=EMBEDDING_MODEL,
        input=["The cat sat on the mat.", "Quarterly revenue grew."],
        encoding_format="float",
    )

    vectors = np.array([item.embedding for item in reply.data])
    assert vectors.shape == (2, EMBEDDING_DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert reply.model == EMBEDDING_MODEL
    assert reply.usage.prompt_tokens == reply.usage.total_tokens > 4


def test_base64_encoding_decodes_to_the_same_vectors(local_embedding_model_url: str) -> None:
    texts = ["The cat sat on the mat."]
    # The openai SDK asks for base64 when encoding_format is not given, and decodes it itself.
    assert np.allclose(
        _embed(local_embedding_model_url, texts),
        _embed(local_embedding_model_url, texts, encoding_format="float"),
        atol=1e-6,
    )


def test_similar_sentences_score_closer_than_unrelated_ones(local_embedding_model_url: str) -> None:
    cat, kitten, markets = _embed(
        local_embedding_model_url,
        [
            "A cat is sleeping on the sofa.",
            "A kitten naps on the couch.",
            "Stock markets fell sharply today.",
        ],
    )

    assert cat @ kitten > 0.5
    assert cat @ kitten > cat @ markets + 0.3
    assert cat @ kitten > kitten @ markets + 0.3


def test_batch_input_preserves_order(local_embedding_model_url: str) -> None:
    texts = ["short", "a somewhat longer sentence about the weather in spring", "mid length words", "x y"]

    batch = _embed(local_embedding_model_url, texts)
    one_by_one = np.array([_embed(local_embedding_model_url, [text])[0] for text in texts])

    assert np.allclose(batch, one_by_one, atol=1e-4)


def test_a_single_string_input_gives_one_embedding(local_embedding_model_url: str) -> None:
    reply = _client(local_embedding_model_url).embeddings.create(model=EMBEDDING_MODEL, input="hello world")

    assert len(reply.data) == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"model": EMBEDDING_MODEL, "input": ""}, "empty"),
        ({"model": EMBEDDING_MODEL, "input": []}, "must not be empty"),
        ({"model": EMBEDDING_MODEL, "input": ["fine", "  "]}, "input[1]"),
        ({"model": EMBEDDING_MODEL, "input": {"text": "hi"}}, "string or an array"),
        ({"model": EMBEDDING_MODEL, "input": ["fine", None]}, "must be a string"),
        ({"model": EMBEDDING_MODEL, "input": [[101, 102]]}, "token arrays"),
        ({"model": EMBEDDING_MODEL, "input": ["x"] * (MAX_INPUTS + 1)}, "at most"),
        ({"model": EMBEDDING_MODEL, "input": "hi", "dimensions": 128}, "384"),
        ({"model": EMBEDDING_MODEL, "input": "hi", "encoding_format": "int8"}, "encoding_format"),
        ({"input": "hi"}, "model"),
    ],
)
def test_bad_input_gives_400_with_an_openai_error_body(
    local_embedding_model_url: str, payload: dict[str, object], message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        _client(local_embedding_model_url).post("/embeddings", body=payload, cast_to=object)

    assert raised.value.status_code == 400
    error = raised.value.body
    assert isinstance(error, dict) and error["type"] == "invalid_request_error"
    assert message in error["message"]


def test_unknown_model_gives_404(local_embedding_model_url: str) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        _client(local_embedding_model_url).embeddings.create(model="text-embedding-3-large", input="hi")

    assert isinstance(raised.value.body, dict) and raised.value.body["code"] == "model_not_found"


def test_models_and_health_endpoints(local_embedding_model_url: str) -> None:
    client = _client(local_embedding_model_url)

    assert [model.id for model in client.models.list()] == [MULTILINGUAL_EMBEDDING_MODEL, EMBEDDING_MODEL]
    assert httpx.get(local_embedding_model_url.removesuffix("/v1") + "/health").json() == {"status": "ok"}


def test_langchain_openai_embeddings_work_with_ctx_length_check_off(local_embedding_model_url: str) -> None:
    # ignore: base_url and api_key are pydantic aliases, which the pydantic plugin leaves out of __init__.
    embedder = OpenAIEmbeddings(  # type: ignore[call-arg]
        base_url=local_embedding_model_url,
        api_key="local",
        model=EMBEDDING_MODEL,
        check_embedding_ctx_length=False,  # else LangChain sends tiktoken ids, meaningless to MiniLM
    )

    documents = embedder.embed_documents(["first document", "second document"])
    query = embedder.embed_query("first document")

    assert len(documents) == 2 and len(documents[0]) == EMBEDDING_DIMENSIONS
    assert np.allclose(documents[0], query, atol=1e-5)


def test_multilingual_model_matches_chinese_and_cross_language_meaning(
    local_embedding_model_url: str,
) -> None:
    # given: a Chinese question, the Chinese passage answering it, its English translation and an off-topic one
    texts = [
        "向量数据库怎样加速相似度检索？",
        "向量数据库用近似最近邻索引（例如 HNSW）加速相似度检索。",
        "A vector database speeds up similarity search with an approximate nearest-neighbour index such as HNSW.",
        "红烧肉要用冰糖炒出糖色，再加酱油慢炖一个小时。",
    ]
    # when
    reply = _client(local_embedding_model_url).embeddings.create(
        model=MULTILINGUAL_EMBEDDING_MODEL, input=texts
    )
    vectors = np.array([item.embedding for item in reply.data])
    # then: 512-dim unit vectors; both answers (Chinese and English) are nearer the question than the recipe
    assert vectors.shape == (4, MULTILINGUAL_EMBEDDING_DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    question, answer_zh, answer_en, recipe = vectors
    assert question @ answer_zh > question @ recipe + 0.2
    assert question @ answer_en > question @ recipe + 0.2
    assert reply.usage.prompt_tokens > 0
