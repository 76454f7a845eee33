"""Builders of representative Dify DSL files (as Dify 0.1.x exports them), written by the tests themselves.

Node ids are Dify-style timestamps, nodes sit in ``type: custom`` wrappers with positions, and edges carry
Dify's handles, so the importer sees what a real export looks like.
"""

from __future__ import annotations

from typing import Any

import yaml

START, LLM, TEMPLATE, IF_ELSE, CODE, HTTP, JOIN, END = (f"17180000000{i:02d}" for i in range(1, 9))
ANSWER, KNOWLEDGE, CLASSIFIER, EXTRACTOR = (f"17180000001{i:02d}" for i in range(1, 5))
SPLIT, ITERATION, ITER_START, SHOUT, LOOP, LOOP_START, ADD, ASSIGN = (
    f"17180000002{i:02d}" for i in range(1, 9)
)
SECOND_CASE = "b7c3f0d2-4a1e-4f6b-9d2a-0c5e8f1a2b3c"
FEATURES = {
    "file_upload": {"image": {"enabled": False, "number_limits": 3}},
    "opening_statement": "",
    "retriever_resource": {"enabled": True},
    "sensitive_word_avoidance": {"enabled": False},
    "speech_to_text": {"enabled": False},
    "suggested_questions": [],
    "suggested_questions_after_answer": {"enabled": False},
    "text_to_speech": {"enabled": False, "language": "", "voice": ""},
}


def dify_file(
    mode: str,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    *,
    name: str = "Imported app",
    environment: list[dict[str, Any]] | None = None,
    conversation: list[dict[str, Any]] | None = None,
    features: dict[str, Any] | None = None,
) -> str:
    """A complete Dify export as YAML text."""
    document = {
        "app": {"description": f"{name} (from Dify)", "icon": "🤖", "mode": mode, "name": name},
        "kind": "app",
        "version": "0.1.5",
        "workflow": {
            "conversation_variables": conversation or [],
            "environment_variables": environment or [],
            "features": {**FEATURES, **(features or {})},
            "graph": {"edges": edges, "nodes": nodes, "viewport": {"x": 0, "y": 0, "zoom": 1}},
        },
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def node(node_id: str, kind: str, title: str, parent: str | None = None, **data: Any) -> dict[str, Any]:
    """A node as Dify exports it (``data.type`` is the node type; children carry ``parentId``)."""
    wrapper: dict[str, Any] = {
        "id": node_id,
        "type": "custom-iteration-start" if kind == "iteration-start" else "custom",
        "position": {"x": 100.0 * (int(node_id[-2:]) % 10), "y": 200.0},
        "data": {"type": kind, "title": title, "desc": "", "selected": False, **data},
    }
    if parent is not None:
        wrapper["parentId"] = parent
        wrapper["data"]["isInIteration"] = True
    return wrapper


def edge(source: str, target: str, handle: str = "source") -> dict[str, Any]:
    """An edge with Dify's id and handle fields."""
    return {
        "id": f"{source}-{handle}-{target}-target",
        "source": source,
        "sourceHandle": handle,
        "target": target,
        "targetHandle": "target",
        "type": "custom",
        "data": {"sourceType": "", "targetType": ""},
    }


def model(provider: str = "openai", name: str = "gpt-4o") -> dict[str, Any]:
    return {"provider": provider, "name": name, "mode": "chat", "completion_params": {"temperature": 0.2}}


def retry(attempts: int = 2) -> dict[str, Any]:
    return {"retry_enabled": True, "max_retries": attempts, "retry_interval": 500}


def branching_workflow() -> str:
    """(a) start -> llm -> template -> if-else (2 cases + else) -> code | http | (else) -> join -> end."""
    nodes = [
        node(
            START,
            "start",
            "Start",
            variables=[
                {
                    "variable": "topic",
                    "label": "Topic",
                    "type": "text-input",
                    "required": True,
                    "max_length": 48,
                },
                {"variable": "count", "label": "Count", "type": "number", "required": True},
                {
                    "variable": "tone",
                    "label": "Tone",
                    "type": "select",
                    "required": False,
                    "options": ["dry", "warm"],
                },
            ],
        ),
        node(
            LLM,
            "llm",
            "LLM",
            model=model(),
            context={"enabled": False, "variable_selector": []},
            prompt_template=[
                {"role": "system", "text": "You write one-line summaries. Keep {{braces}} literal."},
                {
                    "role": "user",
                    "text": "Summarise {{#" + START + ".topic#}} in a {{#" + START + ".tone#}} tone.",
                },
            ],
            retry_config=retry(2),
        ),
        node(
            TEMPLATE,
            "template-transform",
            "Template",
            template="Summary: {{ summary }}",
            variables=[{"variable": "summary", "value_selector": [LLM, "text"]}],
        ),
        node(
            IF_ELSE,
            "if-else",
            "IF/ELSE",
            cases=[
                {
                    "case_id": "true",
                    "logical_operator": "and",
                    "conditions": [
                        {
                            "id": "c1",
                            "variable_selector": [START, "count"],
                            "comparison_operator": ">",
                            "value": "10",
                        },
                    ],
                },
                {
                    "case_id": SECOND_CASE,
                    "logical_operator": "or",
                    "conditions": [
                        {
                            "id": "c2",
                            "variable_selector": [TEMPLATE, "output"],
                            "comparison_operator": "contains",
                            "value": "urgent",
                        },
                        {
                            "id": "c3",
                            "variable_selector": [START, "topic"],
                            "comparison_operator": "start with",
                            "value": "{{#" + START + ".tone#}}",
                        },
                    ],
                },
            ],
        ),
        node(
            CODE,
            "code",
            "Code",
            code_language="python3",
            code="def main(text: str, count: int) -> dict:\n    return {'result': f'{text} x{count}'}\n",
            variables=[
                {"variable": "text", "value_selector": [TEMPLATE, "output"]},
                {"variable": "count", "value_selector": [START, "count"]},
            ],
            outputs={"result": {"type": "string", "children": None}},
        ),
        node(
            HTTP,
            "http-request",
            "HTTP Request",
            method="post",
            url="https://api.example.com/notify",
            headers="Content-Type:application/json\nX-Topic:{{#" + START + ".topic#}}",
            params="",
            body={
                "type": "json",
                "data": [{"type": "text", "value": '{"text": "{{#' + TEMPLATE + '.output#}}"}'}],
            },
            authorization={"type": "api-key", "config": {"type": "bearer", "api_key": "sk-live-123"}},
            timeout={"connect": 5, "read": 20, "write": 10},
            error_strategy="fail-branch",
        ),
        node(
            JOIN,
            "variable-aggregator",
            "Variable Aggregator",
            output_type="string",
            variables=[[CODE, "result"], [HTTP, "body"], [TEMPLATE, "output"]],
        ),
        node(END, "end", "End", outputs=[{"variable": "result", "value_selector": [JOIN, "output"]}]),
    ]
    edges = [
        edge(START, LLM), edge(LLM, TEMPLATE), edge(TEMPLATE, IF_ELSE),
        edge(IF_ELSE, CODE, "true"), edge(IF_ELSE, HTTP, SECOND_CASE), edge(IF_ELSE, JOIN, "false"),
        edge(CODE, JOIN), edge(HTTP, JOIN), edge(HTTP, JOIN, "fail-branch"), edge(JOIN, END),
    ]  # fmt: skip
    return dify_file("workflow", nodes, edges, name="Summariser")


def chat_app() -> str:
    """(b) advanced-chat: start -> llm (memory, sys.query, a conversation variable) -> answer."""
    nodes = [
        node(START, "start", "Start", variables=[]),
        node(
            LLM,
            "llm",
            "LLM",
            model=model("langgenius/anthropic/anthropic", "claude-3-5-sonnet"),
            context={"enabled": False, "variable_selector": []},
            prompt_template=[
                {"role": "system", "text": "You help {{#conversation.customer#}}. Key: {{#env.REGION#}}"}
            ],
            memory={
                "role_prefix": {"assistant": "", "user": ""},
                "window": {"enabled": True, "size": 6},
                "query_prompt_template": "{{#sys.query#}}",
            },
        ),
        node(ANSWER, "answer", "Answer", answer="{{#" + LLM + ".text#}}", variables=[]),
    ]
    edges = [edge(START, LLM), edge(LLM, ANSWER)]
    return dify_file(
        "advanced-chat", nodes, edges, name="Helpdesk",
        environment=[{"name": "REGION", "value_type": "string", "value": "eu", "description": ""},
                     {"name": "API_TOKEN", "value_type": "secret", "value": "", "description": "token"}],
        conversation=[{"name": "customer", "value_type": "string", "value": "a customer", "description": ""}],
        features={"opening_statement": "Hello! How can I help?"},
    )  # fmt: skip


def containers_workflow() -> str:
    """(c) start -> code (split) -> iteration [template] -> loop [code -> assigner] -> end."""
    nodes = [
        node(
            START,
            "start",
            "Start",
            variables=[
                {"variable": "words", "label": "Words", "type": "paragraph", "required": True},
            ],
        ),
        node(
            SPLIT,
            "code",
            "Split",
            code_language="python3",
            code="def main(words: str) -> dict:\n    return {'items': words.split()}\n",
            variables=[{"variable": "words", "value_selector": [START, "words"]}],
            outputs={"items": {"type": "array[string]", "children": None}},
        ),
        node(
            ITERATION,
            "iteration",
            "Iteration",
            iterator_selector=[SPLIT, "items"],
            output_selector=[SHOUT, "output"],
            output_type="array[string]",
            start_node_id=ITER_START,
            is_parallel=True,
            parallel_nums=4,
            error_handle_mode="terminated",
        ),
        node(ITER_START, "iteration-start", "", parent=ITERATION),
        node(
            SHOUT,
            "template-transform",
            "Shout",
            parent=ITERATION,
            template="{{ word | upper }}!",
            variables=[{"variable": "word", "value_selector": [ITERATION, "item"]}],
        ),
        node(
            LOOP,
            "loop",
            "Loop",
            loop_count=10,
            start_node_id=LOOP_START,
            logical_operator="and",
            loop_variables=[
                {"id": "v1", "label": "total", "var_type": "number", "value_type": "constant", "value": "0"}
            ],
            break_conditions=[
                {"id": "b1", "variable_selector": [LOOP, "total"], "comparison_operator": "≥", "value": "6"}
            ],
        ),
        node(LOOP_START, "loop-start", "", parent=LOOP),
        node(
            ADD,
            "code",
            "Add",
            parent=LOOP,
            code_language="python3",
            code="def main(total: int, index: int) -> dict:\n    return {'total': total + index + 1}\n",
            variables=[
                {"variable": "total", "value_selector": [LOOP, "total"]},
                {"variable": "index", "value_selector": [LOOP, "index"]},
            ],
            outputs={"total": {"type": "number", "children": None}},
        ),
        node(
            ASSIGN,
            "assigner",
            "Variable Assigner",
            parent=LOOP,
            version="2",
            items=[
                {
                    "variable_selector": [LOOP, "total"],
                    "input_type": "variable",
                    "operation": "over-write",
                    "value": [ADD, "total"],
                },
            ],
        ),
        node(
            END,
            "end",
            "End",
            outputs=[
                {"variable": "shouted", "value_selector": [ITERATION, "output"]},
                {"variable": "total", "value_selector": [LOOP, "total"]},
            ],
        ),
    ]
    edges = [
        edge(START, SPLIT), edge(SPLIT, ITERATION), edge(ITER_START, SHOUT), edge(ITERATION, LOOP),
        edge(LOOP_START, ADD), edge(ADD, ASSIGN), edge(LOOP, END),
    ]  # fmt: skip
    return dify_file("workflow", nodes, edges, name="Containers")


def knowledge_workflow() -> str:
    """(d) start -> knowledge retrieval -> classifier -> parameter extractor | llm (context) -> ends."""
    end_billing, end_other = "1718000000198", "1718000000199"
    nodes = [
        node(
            START,
            "start",
            "Start",
            variables=[
                {"variable": "question", "label": "Question", "type": "paragraph", "required": True},
            ],
        ),
        node(
            KNOWLEDGE,
            "knowledge-retrieval",
            "Knowledge Retrieval",
            query_variable_selector=[START, "question"],
            dataset_ids=["6f1c0b7e-aaaa-4b4b-8c8c-111111111111", "6f1c0b7e-bbbb-4b4b-8c8c-222222222222"],
            retrieval_mode="multiple",
            multiple_retrieval_config={
                "top_k": 3,
                "score_threshold": 0.5,
                "reranking_enable": True,
                "reranking_model": {"provider": "cohere", "model": "rerank-english-v3.0"},
            },
        ),
        node(
            CLASSIFIER,
            "question-classifier",
            "Question Classifier",
            model=model("openai", "gpt-4o-mini"),
            query_variable_selector=[START, "question"],
            instruction="Billing means invoices or refunds.",
            classes=[{"id": "1", "name": "Billing questions"}, {"id": "2", "name": "Anything else"}],
        ),
        node(
            EXTRACTOR,
            "parameter-extractor",
            "Parameter Extractor",
            model=model("openai", "gpt-4o-mini"),
            query=[START, "question"],
            reasoning_mode="prompt",
            instruction="",
            parameters=[
                {"name": "amount", "type": "number", "description": "Amount", "required": True},
                {
                    "name": "currency",
                    "type": "select",
                    "description": "Currency",
                    "required": False,
                    "options": ["EUR", "USD"],
                },
                {"name": "items", "type": "array[string]", "description": "Items", "required": False},
            ],
        ),
        node(
            LLM,
            "llm",
            "Answer with context",
            model=model(),
            context={"enabled": True, "variable_selector": [KNOWLEDGE, "result"]},
            prompt_template=[
                {"role": "system", "text": "Use this context:\n{{#context#}}"},
                {"role": "user", "text": "{{#" + START + ".question#}}"},
            ],
        ),
        node(
            end_billing,
            "end",
            "End billing",
            outputs=[
                {"variable": "amount", "value_selector": [EXTRACTOR, "amount"]},
                {"variable": "ok", "value_selector": [EXTRACTOR, "__is_success"]},
            ],
        ),
        node(
            end_other, "end", "End other", outputs=[{"variable": "answer", "value_selector": [LLM, "text"]}]
        ),
    ]
    edges = [
        edge(START, KNOWLEDGE), edge(KNOWLEDGE, CLASSIFIER), edge(CLASSIFIER, EXTRACTOR, "1"),
        edge(CLASSIFIER, LLM, "2"), edge(EXTRACTOR, end_billing), edge(LLM, end_other),
    ]  # fmt: skip
    return dify_file("workflow", nodes, edges, name="Support triage")


def unsupported_nodes_workflow() -> str:
    """(e) a tool node, an agent node and a conversation variable assigner: none can be imported."""
    tool, agent, assign = "1718000000301", "1718000000302", "1718000000303"
    nodes = [
        node(START, "start", "Start", variables=[{"variable": "q", "label": "Q", "type": "text-input"}]),
        node(
            tool,
            "tool",
            "Google Search",
            provider_id="google",
            provider_type="builtin",
            tool_name="google_search",
            tool_parameters={"query": {"type": "mixed", "value": "{{#" + START + ".q#}}"}},
        ),
        node(agent, "agent", "Agent", agent_strategy_name="function_calling", agent_parameters={}),
        node(
            assign,
            "assigner",
            "Remember",
            version="2",
            items=[
                {
                    "variable_selector": ["conversation", "memo"],
                    "input_type": "variable",
                    "operation": "over-write",
                    "value": [START, "q"],
                },
            ],
        ),
        node(END, "end", "End", outputs=[{"variable": "r", "value_selector": [tool, "text"]}]),
    ]
    edges = [edge(START, tool), edge(tool, agent), edge(agent, assign), edge(assign, END)]
    return dify_file("advanced-chat", nodes, edges, name="Unsupported",
                     conversation=[{"name": "memo", "value_type": "string", "value": ""}])  # fmt: skip
