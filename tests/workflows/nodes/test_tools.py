"""tool and agent nodes, the built-in tools and tools generated from an OpenAPI document."""

from __future__ import annotations

import json
import time

import pytest

from tests.workflows._helpers import failure, run_single
from workflows import (
    CallContext,
    ChatResult,
    DefaultToolRegistry,
    HttpResponse,
    Ports,
    Tool,
    ToolCall,
    ToolError,
    ToolSpec,
    evaluate_arithmetic,
    openapi_tools,
)
from workflows.testing import FakeHttpClient, FakeModelGateway

PETSTORE = {
    "openapi": "3.0.0",
    "servers": [{"url": "https://pets.example.com/v1"}],
    "paths": {
        "/pets/{pet_id}": {
            "get": {
                "operationId": "getPet",
                "summary": "Get a pet",
                "parameters": [
                    {"name": "pet_id", "in": "path", "schema": {"type": "integer"}},
                    {"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
                ],
            }
        },
        "/pets": {
            "post": {
                "operationId": "createPet",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Pet": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
        }
    },
}


def pet_http() -> FakeHttpClient:
    return FakeHttpClient(
        {
            ("GET", "https://pets.example.com/v1/pets/7"): HttpResponse(200, {}, b'{"id": 7, "name": "Rex"}'),
            ("POST", "https://pets.example.com/v1/pets"): lambda r: HttpResponse(201, {}, r.content or b""),
        }
    )


@pytest.mark.parametrize(
    ("expression", "value"), [("1 + 2 * 3", 7), ("(2 + 3) * sqrt(16)", 20.0), ("-2 ** 2", -4)]
)
def test_calculator_evaluates_arithmetic(expression: str, value: float) -> None:
    assert evaluate_arithmetic(expression) == value


@pytest.mark.parametrize("expression", ["__import__('os')", "1 / 0", "2 ** 100000", "open('x')"])
def test_calculator_refuses_anything_else(expression: str) -> None:
    with pytest.raises(ToolError):
        evaluate_arithmetic(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "((9**999)**999)**999",  # every exponent is small; the base is what explodes
        "(9**999)**(9**2)",
        "((((2**64)*(2**64))**50)*((2**64)**50))**50",
        "round(5, -10**9)",  # 10**(10**9) computed inside round()
        "+".join(["1"] * 100_000),  # deeper than the evaluator's recursion
        "(" * 500 + "1" + ")" * 500,
    ],
    ids=["nested-power", "power-of-power", "products", "round-digits", "long-chain", "deep-parens"],
)
def test_calculator_refuses_bombs_quickly(expression: str) -> None:
    started = time.monotonic()
    with pytest.raises(ToolError, match="cannot evaluate"):
        evaluate_arithmetic(expression)
    assert time.monotonic() - started < 1.0


def test_calculator_still_handles_large_ordinary_numbers() -> None:
    assert evaluate_arithmetic("2 ** 1000 // 2 ** 999") == 2
    assert evaluate_arithmetic("round(1234.5678, 2)") == 1234.57


async def test_tool_node_calls_a_builtin_tool_with_templated_arguments() -> None:
    node = {
        "id": "t",
        "type": "tool",
        "config": {"tool": "calculator", "arguments": {"expression": "{{ start.expr }}"}},
    }
    result = await run_single(node, {"r": "t.result"}, {"expr": "6 * 7"}, Ports(tools=DefaultToolRegistry()))
    assert result.outputs == {"r": {"result": 42}}


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("nope", {}, "unknown tool"),
        ("calculator", {"expression": 5}, "invalid arguments"),
        (
            "tavily_search",
            {"query": "x"},
            "needs the Tavily tool provider, which this workspace has not set up",
        ),
    ],
)
async def test_tool_node_fails_on_unknown_tools_and_bad_arguments(
    tool: str, arguments: dict[str, object], message: str
) -> None:
    node = {"id": "t", "type": "tool", "config": {"tool": tool, "arguments": arguments}}
    result = await run_single(node, {"r": "t.result"}, ports=Ports(tools=DefaultToolRegistry()))
    error = failure(result, "t")
    assert error["type"] == "ToolError" and message in error["message"]


async def test_openapi_document_becomes_callable_tools() -> None:
    http = pet_http()
    registry = DefaultToolRegistry(
        openapi_tools(PETSTORE, http=http, headers={"authorization": "Bearer k"}), builtins=False
    )
    specs = {s.name: s for s in registry.list_tools()}
    assert set(specs) == {"getPet", "createPet"}
    assert specs["createPet"].parameters["properties"]["body"]["required"] == ["name"]
    node = {
        "id": "t",
        "type": "tool",
        "config": {"tool": "getPet", "arguments": {"pet_id": 7, "verbose": True}},
    }
    result = await run_single(node, {"r": "t.result"}, ports=Ports(tools=registry))
    assert result.outputs == {"r": {"id": 7, "name": "Rex"}}
    assert http.requests[0].params == {"verbose": "true"}
    assert http.requests[0].headers["authorization"] == "Bearer k"


async def test_openapi_tool_reports_http_errors() -> None:
    registry = DefaultToolRegistry(openapi_tools(PETSTORE, http=pet_http()), builtins=False)
    node = {"id": "t", "type": "tool", "config": {"tool": "getPet", "arguments": {"pet_id": 8}}}
    result = await run_single(node, {"r": "t.result"}, ports=Ports(tools=registry))
    assert "404" in failure(result, "t")["message"]


async def test_openapi_tools_follow_no_redirect_with_their_credentials() -> None:
    # given: an API answering a redirect to another host (a custom key header would go along)
    moved = HttpResponse(302, {"location": "https://elsewhere.example.net/steal"}, b"", "")
    http = FakeHttpClient({("GET", "https://pets.example.com/v1/pets/7"): moved})
    registry = DefaultToolRegistry(
        openapi_tools(PETSTORE, http=http, headers={"X-API-Key": "secret"}), builtins=False
    )
    node = {"id": "t", "type": "tool", "config": {"tool": "getPet", "arguments": {"pet_id": 7}}}
    # when
    result = await run_single(node, {"r": "t.result"}, ports=Ports(tools=registry))
    # then: one request, not followed, and the node says where it was sent
    assert [r.follow_redirects for r in http.requests] == [False]
    assert "redirected to 'https://elsewhere.example.net/steal'" in failure(result, "t")["message"]


def agent(**config: object) -> dict[str, object]:
    return {
        "id": "ag",
        "type": "agent",
        "config": {
            "model": "m",
            "instruction": "Use tools.",
            "query": "{{ start.q }}",
            "tools": ["calculator"],
            **config,
        },
    }


async def test_function_calling_agent_calls_tools_until_it_answers() -> None:
    model = FakeModelGateway(
        [
            ChatResult("", tool_calls=(ToolCall("c1", "calculator", {"expression": "6*7"}),)),
            ChatResult(
                "", tool_calls=(ToolCall("c2", "calculator", {"expression": 1}),)
            ),  # bad args: shown to the model
            "The answer is 42.",
        ]
    )
    result = await run_single(
        agent(),
        {"t": "ag.text", "n": "ag.iterations", "calls": "ag.tool_calls"},
        {"q": "6 times 7?"},
        Ports(models=model, tools=DefaultToolRegistry()),
    )
    assert result.outputs["t"] == "The answer is 42." and result.outputs["n"] == 3
    assert result.outputs["calls"][0] == {
        "name": "calculator",
        "arguments": {"expression": "6*7"},
        "result": '{"result": 42}',
    }
    assert result.outputs["calls"][1]["result"].startswith("error: invalid arguments")
    third = model.requests[2]
    assert [m.role for m in third.messages] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert third.tools[0].name == "calculator"


async def test_react_agent_parses_actions_and_final_answer() -> None:
    model = FakeModelGateway(
        [
            'Thought: compute\nAction: calculator\nAction Input: {"expression": "2+2"}',
            "Thought: I know the answer\nFinal Answer: 4",
        ]
    )
    result = await run_single(
        agent(strategy="react"),
        {"t": "ag.text", "calls": "ag.tool_calls", "steps": "ag.steps"},
        {"q": "2+2?"},
        Ports(models=model, tools=DefaultToolRegistry()),
    )
    assert result.outputs["t"] == "4"
    assert model.requests[1].messages[-1].content == 'Observation: {"result": 4}'
    assert "calculator" in model.requests[0].messages[0].content
    # each step (thought, tool call, observation; then the answer) is in the outputs and an event
    first = {"index": 0, "thought": "compute", "tool": "calculator", "arguments": {"expression": "2+2"},
             "observation": '{"result": 4}', "error": False, "answer": None}  # fmt: skip
    assert result.outputs["steps"] == [first, {"index": 1, "thought": "", "tool": None, "arguments": None,
                                               "observation": None, "error": False, "answer": "4"}]  # fmt: skip
    events = [e.to_dict() for e in result.events if e.to_dict()["type"] == "agent_step"]
    assert [(e["node_id"], e["index"], e["tool"]) for e in events] == [
        ("ag", 0, "calculator"),
        ("ag", 1, None),
    ]


async def test_a_function_calling_agents_failed_call_is_a_step_marked_as_an_error() -> None:
    model = FakeModelGateway([
        ChatResult("Let me compute.", tool_calls=(ToolCall("c1", "calculator", {"expression": 1}),)),
        "Sorry.",
    ])  # fmt: skip
    result = await run_single(
        agent(), {"steps": "ag.steps"}, {"q": "?"}, Ports(models=model, tools=DefaultToolRegistry())
    )
    step = result.outputs["steps"][0]
    assert (step["thought"], step["tool"], step["error"]) == ("Let me compute.", "calculator", True)
    assert step["observation"].startswith("error: invalid arguments for 'calculator'")


async def test_agent_stops_at_max_iterations() -> None:
    loop_call = ChatResult("", tool_calls=(ToolCall("c", "calculator", {"expression": "1"}),))
    model = FakeModelGateway(responder=lambda request: loop_call)
    result = await run_single(
        agent(max_iterations=3),
        {"t": "ag.text"},
        {"q": "?"},
        Ports(models=model, tools=DefaultToolRegistry()),
    )
    assert "max_iterations (3)" in failure(result, "ag")["message"]
    assert len(model.requests) == 3
    assert json.dumps(result.events[-1].to_dict())


async def test_a_tool_call_written_as_text_by_a_small_model_is_still_a_call() -> None:
    # given: a model that writes its calls as a ```json block and as <tool_call> tags instead of the protocol
    model = FakeModelGateway([
        '```json\n{"name": "calculator", "arguments": {"expression": "6*7"}}\n```',
        '<tool_call>\n{"name": "current_time", "arguments": {"timezone": "Asia/Shanghai"}}\n</tool_call>',
        'The answer is 42; {"name": "not a call"}',
    ])  # fmt: skip
    result = await run_single(
        agent(tools=["calculator", "current_time"]), {"t": "ag.text", "calls": "ag.tool_calls"}, {"q": "?"},
        Ports(models=model, tools=DefaultToolRegistry()),
    )  # fmt: skip
    assert [c["name"] for c in result.outputs["calls"]] == ["calculator", "current_time"]
    assert result.outputs["calls"][0]["result"] == '{"result": 42}'
    assert result.outputs["t"] == 'The answer is 42; {"name": "not a call"}'
    assert model.requests[1].messages[-2].tool_calls[0].name == "calculator"


async def test_an_empty_answer_after_tool_calls_is_asked_for_once_without_tools() -> None:
    model = FakeModelGateway([
        ChatResult("", tool_calls=(ToolCall("c1", "calculator", {"expression": "6*7"}),)),
        "",
        "It is 42.",
    ])  # fmt: skip
    result = await run_single(
        agent(),
        {"t": "ag.text", "n": "ag.iterations"},
        {"q": "6*7?"},
        Ports(models=model, tools=DefaultToolRegistry()),
    )
    assert (result.outputs["t"], result.outputs["n"]) == ("It is 42.", 3)
    assert model.requests[2].tools == () and model.requests[2].messages[-1].role == "user"


async def test_a_tools_nan_and_infinities_become_null_so_the_run_can_store_them() -> None:
    async def answer(arguments: object, context: object) -> object:
        return {"v": float("nan"), "w": [float("inf"), 1.5], "text": "NaN"}

    registry = DefaultToolRegistry([Tool(ToolSpec("odd", "odd numbers"), answer)], builtins=False)
    result = await registry.invoke("odd", {}, CallContext(run_id="r", node_id="n"))
    assert result.data == {"v": None, "w": [None, 1.5], "text": "NaN"}


async def test_a_reply_shaped_like_a_call_with_an_odd_name_is_an_answer() -> None:
    model = FakeModelGateway(['{"name": ["calculator"], "arguments": {}}'])
    result = await run_single(
        agent(), {"t": "ag.text"}, {"q": "?"}, Ports(models=model, tools=DefaultToolRegistry())
    )
    assert result.outputs["t"] == '{"name": ["calculator"], "arguments": {}}'


def test_refs_that_fan_out_are_inlined_within_a_budget() -> None:
    # given: 30 KB of components whose refs multiply (A: 300 properties of B, B: 300 of C, C: 300 strings)
    def fan(target: str) -> dict[str, object]:
        return {"type": "object", "properties": {f"p{i}": {"$ref": f"#/components/schemas/{target}"}
                                                 for i in range(300)}}  # fmt: skip

    schemas = {"A": fan("B"), "B": fan("C"), "C": {"type": "string"}}
    document = {
        "openapi": "3.0.0", "servers": [{"url": "https://bomb.example.com"}], "components": {"schemas": schemas},
        "paths": {"/x": {"post": {"operationId": "x", "requestBody": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}},
    }  # fmt: skip
    # when
    (tool,) = openapi_tools(document, http=FakeHttpClient({}))
    # then: the schema stays small (90,000 leaves unbounded), and what it holds is still the real shape
    assert len(json.dumps(tool.spec.parameters)) < 2_000_000
    assert tool.spec.parameters["properties"]["body"]["properties"]["p0"]["properties"]["p0"] == {
        "type": "string"
    }
