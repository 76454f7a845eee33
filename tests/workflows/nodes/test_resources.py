"""prompt, chain and knowledge_retrieval nodes: resources resolved through ports."""

from __future__ import annotations

from tests.workflows._helpers import failure, run_single
from workflows import Ports, RetrievedChunk
from workflows.testing import FakeChainRunner, FakePromptResolver, FakeRetriever


async def test_prompt_node_renders_a_versioned_prompt_by_reference() -> None:
    prompts = FakePromptResolver(
        {"greet": [("system", "You greet."), ("user", "Hi {{ name }}, {{ tags | join(',') }}")]},
        model="gpt-small",
    )
    node = {
        "id": "p",
        "type": "prompt",
        "config": {
            "prompt": "greet@production",
            "variables": {"name": "{{ start.who }}", "tags": "{{ start.tags }}"},
        },
    }
    result = await run_single(
        node,
        {"text": "p.text", "messages": "p.messages", "model": "p.model"},
        {"who": "Ada", "tags": ["a", "b"]},
        Ports(prompts=prompts),
    )
    assert result.outputs["text"] == "You greet.\n\nHi Ada, a,b"
    assert result.outputs["messages"][1] == {"role": "user", "content": "Hi Ada, a,b"}
    assert result.outputs["model"] == "gpt-small"


async def test_prompt_node_fails_for_an_unknown_prompt() -> None:
    node = {"id": "p", "type": "prompt", "config": {"prompt": "missing"}}
    result = await run_single(node, {"t": "p.text"}, ports=Ports(prompts=FakePromptResolver({})))
    assert failure(result, "p")["type"] == "LookupError"


async def test_chain_node_runs_a_chain_with_inputs_and_the_run_conversation() -> None:
    chains = FakeChainRunner(lambda ref, inputs: {"summary": f"{ref}:{inputs['text'][:5]}"})
    node = {
        "id": "c",
        "type": "chain",
        "config": {"chain": "summarize@v2", "inputs": {"text": "{{ start.doc }}"}},
    }
    result = await run_single(
        node, {"o": "c.output"}, {"doc": "long document"}, Ports(chains=chains), conversation_id="conv-1"
    )
    assert result.outputs == {"o": {"summary": "summarize@v2:long "}}
    assert chains.calls == [("summarize@v2", {"text": "long document"}, "conv-1")]
    assert result.usage.total_tokens == 2


async def test_knowledge_retrieval_returns_ranked_chunks_and_context() -> None:
    retriever = FakeRetriever(
        {
            "kb1": [
                RetrievedChunk("cats purr when happy", 0, "Cats", 1, {"lang": "en"}),
                RetrievedChunk("dogs bark", 0, "Dogs", 2, {"lang": "en"}),
                RetrievedChunk("cats miaulent", 0, "Chats", 3, {"lang": "fr"}),
            ]
        }
    )
    node = {
        "id": "kr",
        "type": "knowledge_retrieval",
        "config": {
            "query": "why do cats purr",
            "knowledge_base_ids": ["kb1"],
            "top_k": 2,
            "mode": "vector",
            "filters": {"lang": "en"},
            "score_threshold": 0.1,
        },
    }
    result = await run_single(node, {"r": "kr.result", "c": "kr.context"}, ports=Ports(retriever=retriever))
    assert [c["document_title"] for c in result.outputs["r"]] == ["Cats"]
    assert result.outputs["c"] == "cats purr when happy"
    assert retriever.calls[0] == {"kb": ["kb1"], "query": "why do cats purr", "top_k": 2, "mode": "vector"}
