"""Running chains: JSON parsing, window memory, moderation, pinned retrieval, tenancy, the engine adapter.

The model is the scripted OpenAI test server (a real HTTP peer that records requests): the base Gemma model
cannot be relied on to produce JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from llmops.accounts.models import User, Workspace
from llmops.chains.models import ChainMessage
from llmops.chains.runner import RETRIEVAL_SKIPPED, PlatformChainRunner
from llmops.core import versioning
from llmops.knowledge.models import Chunk
from llmops.knowledge.services import chunk_update
from llmops.knowledge.versions import knowledge_version_publish
from llmops.prompts.resolver import PlatformPromptResolver
from llmops.usage.models import UsageRecord
from tests.chains.conftest import MakeChain
from tests.conftest import client_for
from tests.knowledge.conftest import ingest_text
from tests.knowledge.factories import KnowledgeBaseFactory, embedding_endpoint
from tests.prompts.factories import PromptFactory, chat_content, scripted_moderation_endpoint
from tests.support.openai_test_server import OpenAITestServer, moderation, ok
from workflows import CallContext, Executor, Ports

pytestmark = pytest.mark.django_db
URL = "/api/workspaces/acme/chains/"
SCHEMA = {
    "type": "object",
    "required": ["title", "tags"],
    "properties": {"title": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
}


def run(user: User, slug: str = "sample", **body: Any) -> Any:
    return client_for(user).post(f"{URL}{slug}/run/", body, format="json")


def test_json_output_is_parsed_and_checked_and_usage_is_recorded(
    workspace: Workspace,
    owner: User,
    make_chain: MakeChain,
    openai_test_server: OpenAITestServer,
    scripted_endpoint: Any,
) -> None:
    # given
    make_chain(workspace, output_parser={"type": "json", "schema": SCHEMA})
    openai_test_server.script(ok('{"title": "Owls", "tags": ["bird"]}', usage=(12, 6)))
    # when
    response = run(owner, inputs={"topic": "owls"})
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["blocked"] is False and body["version"] == "1"
    assert body["output"] == {"title": "Owls", "tags": ["bird"]}
    assert body["text"] == '{"title": "Owls", "tags": ["bird"]}'
    assert body["usage"] == {
        "prompt_tokens": 12, "completion_tokens": 6, "cached_tokens": 0, "total_tokens": 18, "cost": 0.000024,
    }  # fmt: skip
    sent = openai_test_server.requests[0].json
    assert sent["model"] == "scripted" and sent["temperature"] == 0
    assert sent["messages"][-1] == {"role": "user", "content": "Tell me about owls."}
    row = UsageRecord.objects.get(workspace=workspace)
    assert (row.source, row.endpoint_slug, row.node_id, row.prompt_tokens) == ("run", "local", "sample", 12)


def test_unparsable_json_is_a_422_naming_the_parser(
    workspace: Workspace,
    owner: User,
    make_chain: MakeChain,
    openai_test_server: OpenAITestServer,
    scripted_endpoint: Any,
) -> None:
    make_chain(workspace, output_parser={"type": "json"}, memory={"k": 2})
    openai_test_server.script(ok("Sure! Owls are birds."))
    response = run(owner, inputs={"topic": "owls"}, conversation_id="c1")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "output_parser_failed"
    assert error["message"].startswith("The json output parser could not parse the model's answer")
    assert not ChainMessage.objects.exists(), "a failed turn is not remembered"


def test_memory_sends_earlier_turns_of_the_same_conversation(
    workspace: Workspace,
    owner: User,
    make_chain: MakeChain,
    openai_test_server: OpenAITestServer,
    scripted_endpoint: Any,
) -> None:
    # given a chain with a one-turn window
    make_chain(workspace, memory={"k": 1})
    openai_test_server.script(ok("Owls hoot."), ok("Cats purr."), ok("Dogs bark."), ok("Fresh."))
    # when the same conversation runs three times
    first = run(owner, inputs={"topic": "owls"}).json()
    conversation = first["conversation_id"]
    run(owner, inputs={"topic": "cats"}, conversation_id=conversation)
    run(owner, inputs={"topic": "dogs"}, conversation_id=conversation)
    run(owner, inputs={"topic": "fish"}, conversation_id="another")
    # then each request carries the previous turn only (k=1), and another conversation starts empty
    messages = [request.json["messages"] for request in openai_test_server.requests]
    assert conversation and messages[0] == [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Tell me about owls."},
    ]
    assert messages[1][1:] == [
        {"role": "user", "content": "Tell me about owls."},
        {"role": "assistant", "content": "Owls hoot."},
        {"role": "user", "content": "Tell me about cats."},
    ]
    assert messages[2][1:] == [
        {"role": "user", "content": "Tell me about cats."},
        {"role": "assistant", "content": "Cats purr."},
        {"role": "user", "content": "Tell me about dogs."},
    ]
    assert len(messages[3]) == 2


def test_memory_fills_the_prompts_placeholder(
    workspace: Workspace,
    owner: User,
    make_chain: MakeChain,
    openai_test_server: OpenAITestServer,
    scripted_endpoint: Any,
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "placeholder", "content": "history"},
        {"role": "user", "content": "{{ topic }}?"},
    ]
    prompt = PromptFactory.create(
        workspace=workspace, slug="summarize", draft=chat_content(model="local", messages=messages)
    )
    versioning.version_publish(resource=prompt, user=None)
    make_chain(workspace, memory={"k": 3})
    run(owner, inputs={"topic": "owls"}, conversation_id="c")
    run(owner, inputs={"topic": "cats"}, conversation_id="c")
    assert [m["content"] for m in openai_test_server.requests[1].json["messages"]] == [
        "Be brief.",
        "owls?",
        "ok",
        "cats?",
    ]


@pytest.mark.parametrize(
    ("moderation", "answer", "stage", "rule", "calls"),
    [
        ({"input": {"keywords": ["Password"]}}, "fine", "input", "keyword:Password", 0),
        (
            {"output": {"keywords": ["secret"], "match": "substring"}},
            "The SECRETS are out",
            "output",
            "keyword:secret",
            1,
        ),
    ],
)
def test_moderation_blocks_by_keyword_with_the_rule_named(
    workspace: Workspace,
    owner: User,
    make_chain: MakeChain,
    openai_test_server: OpenAITestServer,
    scripted_endpoint: Any,
    moderation: dict[str, Any],
    answer: str,
    stage: str,
    rule: str,
    calls: int,
) -> None:
    make_chain(workspace, moderation=moderation, memory={"k": 1})
    openai_test_server.script(ok(answer))
    response = run(owner, inputs={"topic": "my password"}, conversation_id="c")
    assert response.status_code == 200
    body = response.json()
    assert (body["blocked"], body["stage"], body["rule"], body["output"]) == (True, stage, rule, None)
    assert (
        body["message"]
        == f"The {'input' if stage == 'input' else 'answer'} was blocked by moderation rule {rule!r}."
    )
    assert len(openai_test_server.requests) == calls
    assert not ChainMessage.objects.exists()


def test_runs_pick_draft_labels_and_versions(
    workspace: Workspace,
    owner: User,
    make_chain: MakeChain,
    openai_test_server: OpenAITestServer,
    scripted_endpoint: Any,
) -> None:
    chain = make_chain(workspace, output_parser={"type": "list", "separator": "comma"})
    versioning.label_set(resource=chain, name="production", number=1, user=None)
    chain.draft = {**chain.draft, "output_parser": {"type": "text"}}
    chain.save()
    openai_test_server.default = ok("a, b")
    assert run(owner, inputs={"topic": "x"}).json()["output"] == ["a", "b"]
    assert run(owner, version="production", inputs={"topic": "x"}).json()["output"] == ["a", "b"]
    draft = run(owner, version="draft", inputs={"topic": "x"}).json()
    assert (draft["output"], draft["version"]) == ("a, b", "draft")
    assert run(owner, version="staging", inputs={"topic": "x"}).status_code == 404


def test_missing_input_is_a_400_naming_it(
    workspace: Workspace, owner: User, make_chain: MakeChain, scripted_endpoint: Any
) -> None:
    make_chain(workspace)
    response = run(owner, inputs={})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"inputs.topic": ["This variable is required."]}


@pytest.mark.django_db(transaction=True)
def test_a_chain_retriever_searches_the_pinned_knowledge_base_version(
    workspace: Workspace,
    owner: User,
    make_chain: MakeChain,
    openai_test_server: OpenAITestServer,
    scripted_endpoint: Any,
    local_embedding_model_url: str,
) -> None:
    # given: docs v1 says 7 days; the head was edited to 30 days since
    embedding_endpoint(workspace, local_embedding_model_url)
    kb = KnowledgeBaseFactory.create(workspace=workspace, slug="docs")
    document = ingest_text(kb, "Policy", "Refunds are accepted within 7 days of delivery.")
    knowledge_version_publish(knowledge_base=kb, user=owner)
    chunk_update(chunk=Chunk.objects.get(document=document), text="Refunds are accepted within 30 days.")
    variables = [{"name": "topic"}, {"name": "context", "required": False}]
    messages = [{"role": "user", "content": "{{ context }}Q: {{ topic }}"}]
    prompt = PromptFactory.create(workspace=workspace, slug="summarize", draft=chat_content(
        model="local", messages=messages, variables=variables))  # fmt: skip
    versioning.version_publish(resource=prompt, user=None)
    make_chain(workspace, retriever={"knowledge_base_ids": ["docs:1"], "query_variable": "topic", "top_k": 1})
    openai_test_server.script(ok("Seven days."))
    # when
    response = run(owner, inputs={"topic": "refund days"})
    # then
    assert response.status_code == 200, response.content
    sent = openai_test_server.requests[0].json["messages"][0]["content"]
    assert "7 days" in sent and "30 days" not in sent and RETRIEVAL_SKIPPED not in response.json()["notes"]
    # and a version that does not exist is a clear 404
    make_chain(
        workspace, slug="broken", retriever={"knowledge_base_ids": ["docs:9"], "query_variable": "topic"}
    )
    missing = run(owner, slug="broken", inputs={"topic": "refund days"})
    assert missing.status_code == 404 and "no version or label 9" in missing.json()["error"]["message"]


def test_chains_are_isolated_per_workspace(
    workspace: Workspace, owner: User, outsider: User, make_chain: MakeChain
) -> None:
    other = Workspace.objects.get(slug="other")
    make_chain(other, slug="theirs")
    assert run(owner, slug="theirs", inputs={"topic": "x"}).status_code == 404
    make_chain(workspace, slug="ours")
    assert run(outsider, slug="ours", inputs={"topic": "x"}).status_code == 404
    assert (
        client_for(outsider).post("/api/workspaces/other/chains/ours/run/", {}, format="json").status_code
        == 404
    )


@pytest.mark.django_db(transaction=True)
async def test_engine_chain_runner_runs_by_reference(
    workspace: Workspace, make_chain: MakeChain, openai_test_server: OpenAITestServer, scripted_endpoint: Any
) -> None:
    chain = await sync_to_async(make_chain)(workspace, output_parser={"type": "json"})
    await sync_to_async(versioning.label_set)(resource=chain, name="production", number=1, user=None)
    openai_test_server.script(ok('{"a": 1}', usage=(3, 2)), ok("whatever"))
    runner = PlatformChainRunner(workspace)
    context = CallContext(run_id="run-1", node_id="chain-node")
    result = await runner.run("sample@production", {"topic": "owls"}, conversation_id=None, context=context)
    assert (result.output, result.text, result.usage.total_tokens) == ({"a": 1}, '{"a": 1}', 5)
    row = await UsageRecord.objects.aget(workspace=workspace)
    assert (row.run_id, row.node_id, row.source) == ("run-1", "chain-node", "run")


@pytest.mark.django_db(transaction=True)
async def test_the_engine_runs_prompt_and_chain_nodes_through_the_adapters(
    workspace: Workspace, make_chain: MakeChain, openai_test_server: OpenAITestServer, scripted_endpoint: Any
) -> None:
    await sync_to_async(make_chain)(workspace, output_parser={"type": "list", "separator": "comma"})
    openai_test_server.script(ok("hoot, fly"))
    topic = {"topic": "{{ start.topic }}"}
    outputs = {"asked": "{{ render.text }}", "facts": "{{ chain.output }}"}
    dsl = {
        "name": "Chain demo",
        "inputs": [{"name": "topic", "type": "text", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "render", "type": "prompt", "config": {"prompt": "summarize:1", "variables": topic}},
            {"id": "chain", "type": "chain", "config": {"chain": "sample", "inputs": topic}},
            {"id": "end", "type": "end", "config": {"outputs": outputs}},
        ],
        "edges": [
            {"source": "start", "target": "render"},
            {"source": "render", "target": "chain"},
            {"source": "chain", "target": "end"},
        ],
    }
    ports = Ports(prompts=PlatformPromptResolver(workspace), chains=PlatformChainRunner(workspace))
    result = await Executor(dsl, ports=ports).run_to_completion("run-engine", {"topic": "owls"})
    assert result.status == "succeeded", result.error
    assert result.outputs["asked"] == "You are a helpful assistant.\n\nTell me about owls."
    assert result.outputs["facts"] == ["hoot", "fly"]
    assert result.usage.total_tokens > 0


def test_a_chain_s_moderation_call_is_metered_with_the_chain_call(
    workspace: Workspace,
    owner: User,
    make_chain: MakeChain,
    openai_test_server: OpenAITestServer,
    scripted_endpoint: Any,
) -> None:
    # given: a chain whose input stage asks a moderation endpoint on the same scripted server
    scripted_moderation_endpoint(workspace, openai_test_server)
    make_chain(workspace, moderation={"input": {"endpoint": "mod"}})
    openai_test_server.script(moderation(), ok("Owls hoot.", usage=(10, 3)))
    # when
    response = run(owner, inputs={"topic": "owls"})
    # then: one moderation row and one chat row, attributed to the same chain call
    assert response.status_code == 200, response.content
    rows = list(UsageRecord.objects.filter(workspace=workspace).order_by("id"))
    assert [(r.operation, r.endpoint_slug) for r in rows] == [("moderation", "mod"), ("chat", "local")]
    assert rows[0].run_id == rows[1].run_id and rows[0].source == rows[1].source
