"""question_classifier and parameter_extractor nodes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.workflows._helpers import end, start, wf
from workflows import Executor, Ports
from workflows.testing import FakeModelGateway

CLASSES = [{"id": "billing", "name": "Billing"}, {"id": "tech", "name": "Technical", "description": "bugs"}]


def classifier_workflow() -> dict[str, Any]:
    return {
        "nodes": [
            start(),
            {
                "id": "qc",
                "type": "question_classifier",
                "config": {"model": "m", "query": "{{ start.q }}", "classes": CLASSES},
            },
            {"id": "pay", "type": "template", "config": {"template": "billing team"}},
            {"id": "fix", "type": "template", "config": {"template": "tech team"}},
            {
                "id": "join",
                "type": "variable_aggregator",
                "config": {"variables": ["pay.output", "fix.output"]},
            },
            end({"team": "join.output", "cls": "qc.class_name"}),
        ],
        "edges": ["start->qc", "qc:billing->pay", "qc:tech->fix", "pay->join", "fix->join", "join->end"],
        "inputs": [{"name": "q"}],
    }


@pytest.mark.parametrize(
    ("reply", "team", "name"),
    [
        ('{"class_id": "tech"}', "tech team", "Technical"),
        ("billing", "billing team", "Billing"),
        ('"Technical"', "tech team", "Technical"),
    ],
)
async def test_question_classifier_routes_to_the_chosen_class(reply: str, team: str, name: str) -> None:
    model = FakeModelGateway([reply])
    result = await Executor(wf(**classifier_workflow()), ports=Ports(models=model)).run_to_completion(
        "c", {"q": "app crashes"}
    )
    assert result.outputs == {"team": team, "cls": name}
    response_format = model.requests[0].response_format
    assert response_format is not None
    assert response_format["json_schema"]["schema"]["properties"]["class_id"]["enum"] == [
        "billing",
        "tech",
    ]
    assert "bugs" in model.requests[0].messages[0].content


async def test_question_classifier_fails_on_an_unknown_class() -> None:
    model = FakeModelGateway(['{"class_id": "sales"}'])
    result = await Executor(wf(**classifier_workflow()), ports=Ports(models=model)).run_to_completion(
        "c", {"q": "x"}
    )
    error = result.nodes["qc"].error
    assert result.status == "failed" and error is not None and error["type"] == "NodeError"


PARAMS = [
    {"name": "city", "type": "string"},
    {"name": "nights", "type": "integer"},
    {"name": "pets", "type": "boolean", "required": False},
]


async def run_extractor(reply: str) -> dict[str, object]:
    node = {
        "id": "px",
        "type": "parameter_extractor",
        "config": {
            "model": "m",
            "query": "{{ start.q }}",
            "parameters": PARAMS,
            "instruction": "Dates are ISO.",
        },
    }
    outputs = {n: f"px.{n}" for n in ("city", "nights", "pets", "is_success", "reason")}
    workflow = wf([start(), node, end(outputs)], ["start->px", "px->end"], inputs=[{"name": "q"}])
    model = FakeModelGateway([reply])
    result = await Executor(workflow, ports=Ports(models=model)).run_to_completion(
        "px", {"q": "2 nights in Rome"}
    )
    assert "Dates are ISO." in model.requests[0].messages[0].content
    return result.outputs


async def test_parameter_extractor_returns_typed_parameters() -> None:
    outputs = await run_extractor(json.dumps({"city": "Rome", "nights": 2}))
    assert outputs == {"city": "Rome", "nights": 2, "pets": None, "is_success": True, "reason": ""}


@pytest.mark.parametrize("reply", ['{"city": "Rome", "nights": "two"}', "no idea"])
async def test_parameter_extractor_reports_failure_instead_of_bad_values(reply: str) -> None:
    outputs = await run_extractor(reply)
    assert outputs["is_success"] is False and outputs["city"] is None and outputs["reason"]
