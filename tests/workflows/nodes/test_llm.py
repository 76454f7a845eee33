"""llm node: chat template, model reference, parameters, streaming, structured output, memory."""

from __future__ import annotations

import pytest

from tests.workflows._helpers import end, events_of, failure, run_single, start, wf
from workflows import ChatMessage, ChatResult, Executor, Ports, Usage, validate_workflow
from workflows.testing import FakeModelGateway


def llm(**config: object) -> dict[str, object]:
    base = {
        "model": "gpt-small",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Q: {{ start.q }}"},
        ],
    }
    return {"id": "llm", "type": "llm", "config": {**base, **config}}


async def test_llm_renders_messages_and_returns_text_and_usage() -> None:
    model = FakeModelGateway(["It is 4."])
    result = await run_single(
        llm(parameters={"temperature": 0}),
        {"a": "llm.text", "u": "llm.usage"},
        {"q": "2+2?"},
        Ports(models=model),
    )
    assert result.outputs["a"] == "It is 4."
    request = model.requests[0]
    assert request.model == "gpt-small" and request.parameters == {"temperature": 0}
    assert [m.content for m in request.messages] == ["Be brief.", "Q: 2+2?"]
    assert request.context.node_id == "llm" and request.context.run_id == "run-single"
    assert result.usage == Usage(prompt_tokens=4, completion_tokens=3)
    assert result.outputs["u"]["total_tokens"] == 7


async def test_llm_streams_tokens_and_the_answer_node_forwards_them_before_the_llm_finishes() -> None:
    # given a chat workflow: llm -> answer
    workflow = wf(
        [start(), llm(), {"id": "reply", "type": "answer", "config": {"answer": "A: {{ llm.text }}!"}}],
        ["start->llm", "llm->reply"],
        inputs=[{"name": "q"}],
        mode="chat",
    )
    model = FakeModelGateway(["one two three"])
    # when
    result = await Executor(workflow, ports=Ports(models=model)).run_to_completion("s", {"q": "count"})
    # then the answer streams token by token, interleaved with the llm's own tokens
    answer = [e.text for e in events_of(result.events, "text_chunk") if e.channel == "answer"]
    tokens = [e.text for e in events_of(result.events, "text_chunk") if e.channel == "node"]
    assert tokens == ["one ", "two ", "three"]
    assert answer == ["A: ", "one ", "two ", "three", "!"]
    types = [(e.type, getattr(e, "node_id", None)) for e in result.events]
    first_chunk = next(
        i for i, e in enumerate(result.events) if e.type == "text_chunk" and e.channel == "answer"
    )
    assert first_chunk < types.index(("node_finished", "llm"))
    assert result.outputs == {"answer": "A: one two three!"}


async def test_answer_after_a_branch_is_emitted_whole_when_it_runs() -> None:
    workflow = wf(
        [
            start(),
            {
                "id": "check",
                "type": "if_else",
                "config": {
                    "cases": [{"id": "yes", "conditions": [{"selector": "start.q", "operator": "not_empty"}]}]
                },
            },
            {"id": "reply", "type": "answer", "config": {"answer": "{{ start.q | upper }}"}},
            {"id": "empty", "type": "answer", "config": {"answer": "nothing"}},
        ],
        ["start->check", "check:yes->reply", "check:else->empty"],
        inputs=[{"name": "q"}],
    )
    result = await Executor(workflow).run_to_completion("b", {"q": "hi"})
    assert [e.text for e in events_of(result.events, "text_chunk")] == ["HI"]
    assert result.outputs == {"answer": "HI"}


async def test_structured_output_is_parsed_and_validated() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    model = FakeModelGateway(['```json\n{"city": "Paris"}\n```'])
    result = await run_single(
        llm(response_schema=schema), {"s": "llm.structured"}, {"q": "x"}, Ports(models=model)
    )
    assert result.outputs == {"s": {"city": "Paris"}}
    response_format = model.requests[0].response_format
    assert response_format is not None and response_format["json_schema"]["schema"] == schema


@pytest.mark.parametrize("reply", ["not json", '{"town": "Paris"}'])
async def test_structured_output_that_does_not_match_fails_the_node(reply: str) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    result = await run_single(
        llm(response_schema=schema),
        {"s": "llm.structured"},
        {"q": "x"},
        Ports(models=FakeModelGateway([reply])),
    )
    assert failure(result, "llm")["type"] == "NodeError"


async def test_memory_window_adds_the_last_history_messages_after_the_system_prompt() -> None:
    model = FakeModelGateway()
    history = [ChatMessage("user", f"m{i}") for i in range(5)]
    await run_single(
        llm(memory={"window": 2}), {"a": "llm.text"}, {"q": "now"}, Ports(models=model), history=history
    )
    assert [m.content for m in model.requests[0].messages] == ["Be brief.", "m3", "m4", "Q: now"]


async def test_model_error_fails_the_node_with_its_type() -> None:
    result = await run_single(
        llm(),
        {"a": "llm.text"},
        {"q": "x"},
        Ports(models=FakeModelGateway([ConnectionError("provider down")])),
    )
    assert failure(result, "llm") == {"type": "ConnectionError", "message": "provider down"}


async def test_missing_model_gateway_fails_the_node_not_the_process() -> None:
    result = await run_single(llm(), {"a": "llm.text"}, {"q": "x"}, Ports())
    assert failure(result, "llm")["type"] == "PortNotConfiguredError"


async def test_usage_reported_by_the_gateway_is_kept() -> None:
    model = FakeModelGateway([ChatResult("ok", Usage(100, 20, 80), "real-model")])
    result = await run_single(llm(stream=False), {"m": "llm.model"}, {"q": "x"}, Ports(models=model))
    assert result.outputs == {"m": "real-model"}
    assert result.usage == Usage(100, 20, 80)


def test_an_invalid_response_schema_is_a_validation_problem() -> None:
    workflow = wf(
        [start(), llm(response_schema={"type": "nonsense"}), end()],
        ["start->llm", "llm->end"],
        inputs=[{"name": "q"}],
    )
    assert [p.path for p in validate_workflow(workflow)] == ["nodes.1.config.response_schema"]
