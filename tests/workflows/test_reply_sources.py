"""Which nodes' streamed text is a workflow's reply (``CompiledGraph.reply_sources``): what a chat client may
show token by token for a workflow that ends with an end node instead of answer nodes."""

from __future__ import annotations

from typing import Any

from workflows import compile_workflow


def llm(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "type": "llm",
            "config": {"model": "m", "messages": [{"role": "user", "content": "{{ start.q }}"}]}}  # fmt: skip


def end(node_id: str, **outputs: str) -> dict[str, Any]:
    return {"id": node_id, "type": "end", "config": {"outputs": outputs}}


def workflow(nodes: list[dict[str, Any]], edges: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "inputs": [{"name": "q", "type": "text"}],
        "nodes": [{"id": "start", "type": "start"}, *nodes],
        "edges": [{"source": s, "target": t, "source_handle": h} for s, t, h in edges],
    }


def test_the_llm_whose_text_is_the_only_output_is_the_reply() -> None:
    graph = compile_workflow(
        workflow([llm("write"), end("end", result="write.text")], [("start", "write", "source"),
                                                                   ("write", "end", "source")])
    )  # fmt: skip
    assert graph.reply_sources == {"write"}


def test_an_output_named_answer_wins_over_the_others() -> None:
    graph = compile_workflow(workflow(
        [llm("a"), llm("b"), end("end", answer="b.text", draft="a.text")],
        [("start", "a", "source"), ("a", "b", "source"), ("b", "end", "source")],
    ))  # fmt: skip
    assert graph.reply_sources == {"b"}


def test_several_outputs_without_an_answer_have_no_reply_source() -> None:
    graph = compile_workflow(workflow(
        [llm("a"), end("end", x="a.text", y="a.text")], [("start", "a", "source"), ("a", "end", "source")]
    ))  # fmt: skip
    assert graph.reply_sources == frozenset()


def test_an_llm_followed_by_a_branch_does_not_guarantee_its_end() -> None:
    # given: write -> if/else -> end on one branch only; the other branch ends elsewhere
    graph = compile_workflow(workflow(
        [
            llm("write"),
            {"id": "check", "type": "if_else", "config": {"cases": [{"id": "long", "conditions": [
                {"selector": "write.text", "operator": "not_empty"}]}]}},
            end("end", result="write.text"),
            end("other", result="start.q"),
        ],
        [("start", "write", "source"), ("write", "check", "source"), ("check", "end", "long"),
         ("check", "other", "else")],
    ))  # fmt: skip
    assert graph.reply_sources == frozenset()


def test_a_workflow_with_an_answer_node_streams_through_it_instead() -> None:
    graph = compile_workflow(workflow(
        [llm("write"), {"id": "say", "type": "answer", "config": {"answer": "{{ write.text }}"}},
         end("end", result="write.text")],
        [("start", "write", "source"), ("write", "say", "source"), ("say", "end", "source")],
    ))  # fmt: skip
    assert graph.reply_sources == frozenset()
    assert graph.stream_sources["say"] >= {"write"}
