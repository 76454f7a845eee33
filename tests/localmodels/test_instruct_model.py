"""The instruction model ``make run`` serves (Qwen2.5-Coder-1.5B-Instruct on llama.cpp): it answers in the
user's language, and as a judge through the gateway, with a JSON schema, it tells right answers from wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_openai import ChatOpenAI

from devservices.localmodels import INSTRUCT_MODEL
from llmops.accounts.models import Workspace
from llmops.providers.gateway import PlatformModelGateway
from tests.accounts.factories import WorkspaceFactory
from tests.providers.factories import ModelEndpointFactory, endpoint_config, publish
from workflows import CallContext, ChatMessage, ChatRequest

pytestmark = pytest.mark.integration

JUDGE_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "grade",
        "schema": {
            "type": "object",
            "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}},
            "required": ["score"],
        },
    },
}
JUDGE_PROMPT = (
    "You grade answers. Question: {question}\nReference answer: {reference}\nCandidate answer: {candidate}\n"
    "Score the candidate from 1 (wrong) to 5 (fully correct, same meaning as the reference)."
)


def _chat(url: str) -> ChatOpenAI:
    return ChatOpenAI(base_url=url, api_key="local", model=INSTRUCT_MODEL, temperature=0, max_tokens=60)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [("Write one sentence about cats.", "cat"), ("用一句话介绍熊猫。", "熊猫")],
)
def test_it_answers_an_instruction_with_a_sentence_in_the_users_language(
    local_instruct_model_url: str, prompt: str, expected: str
) -> None:
    answer = str(_chat(local_instruct_model_url).invoke(prompt).content).strip()
    assert expected in answer.lower()
    assert answer[-1] in ".!。！" and "<|im_end|>" not in answer
    if expected == "熊猫":  # the Chinese question is answered in Chinese
        assert sum("\u4e00" <= ch <= "\u9fff" for ch in answer) >= 5


@pytest.fixture
def judge(local_instruct_model_url: str) -> Workspace:
    workspace = WorkspaceFactory.create(slug="judging")
    endpoint = ModelEndpointFactory.create(
        workspace=workspace,
        slug="judge",
        draft=endpoint_config(
            provider_kind="llamacpp",
            model=INSTRUCT_MODEL,
            base_url=local_instruct_model_url,
            context_window=4096,
            # The 1.5B model on two shared cores: a loaded host can take well over the default 10 s.
            timeout_seconds=120,
        ),
    )
    publish(endpoint)
    return workspace


async def _grade(workspace: Workspace, **fields: str) -> Any:
    request = ChatRequest(
        model="judge",
        messages=(ChatMessage(role="user", content=JUDGE_PROMPT.format(**fields)),),
        context=CallContext(run_id="judge-run", node_id="judge"),
        parameters={"temperature": 0, "max_tokens": 30},
        response_format=JUDGE_SCHEMA,
    )
    result = await PlatformModelGateway(workspace=workspace, source="playground").chat(request)
    return json.loads(result.text)["score"]


@pytest.mark.django_db(transaction=True)
async def test_as_a_judge_it_scores_right_answers_high_and_wrong_ones_low(judge: Workspace) -> None:
    cases = {
        "right_en": ("What is the capital of France?", "Paris", "The capital of France is Paris."),
        "wrong_en": ("What is the capital of France?", "Paris", "The capital of France is Berlin."),
        "right_zh": ("水在标准大气压下多少度沸腾？", "100 摄氏度", "水在标准大气压下 100 摄氏度沸腾。"),
        "wrong_zh": ("水在标准大气压下多少度沸腾？", "100 摄氏度", "水在 50 摄氏度沸腾。"),
    }
    scores = {
        name: await _grade(judge, question=q, reference=ref, candidate=cand)
        for name, (q, ref, cand) in cases.items()
    }
    assert scores["right_en"] >= 4 and scores["right_zh"] >= 4, scores
    assert scores["wrong_en"] <= 2 and scores["wrong_zh"] <= 2, scores
