"""Writes of workflows: draft validation by the engine, creation, and import (our DSL, or a Dify file).

Updating, publishing, restoring and labelling a workflow are the generic versioned-resource services of
:mod:`llmops.core.versioning`; every draft they store has been through :func:`workflow_draft_validate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from llmops.accounts.models import User, Workspace
from llmops.core import versioning
from llmops.core.errors import ValidationError
from llmops.studio.dify import convert_dify
from llmops.studio.dify.report import ImportReport
from llmops.studio.documents import document_limits, document_load
from llmops.studio.models import Workflow
from workflows import Workflow as WorkflowDefinition
from workflows import WorkflowValidationError, inspect_workflow, validate_workflow


@dataclass(frozen=True)
class DifyImport:
    """What a Dify import did: the created workflow (None when the file did not convert) and its report."""

    workflow: Workflow | None
    report: ImportReport


def workflow_problems_error(problems: list[Any], prefix: str = "draft") -> ValidationError:
    """Every engine problem as one 400: field paths under ``prefix``, each message naming its node."""
    fields: dict[str, list[str]] = {}
    for problem in problems:
        where = f"[node {problem.node_id}] " if problem.node_id else ""
        fields.setdefault(f"{prefix}.{problem.path}".rstrip("."), []).append(where + problem.message)
    summary = "; ".join(str(p) for p in problems[:5])
    return ValidationError(f"The workflow has {len(problems)} problem(s): {summary}", fields=fields)


def workflow_draft_validate(*, draft: Any) -> dict[str, Any]:
    """Validate a DSL document with the engine (within the platform's size caps); returns its normalised form.

    Raises ``ValidationError`` with every problem under ``draft.<path>``.
    """
    try:
        definition = _definition(draft)
    except WorkflowValidationError as exc:
        raise workflow_problems_error(exc.problems) from None
    problems = validate_workflow(definition)
    if problems:
        raise workflow_problems_error(problems)
    return definition.to_dict()


def _definition(draft: Any) -> WorkflowDefinition:
    """The document parsed within the platform's size caps (``WorkflowValidationError`` when its shape is
    wrong); a non-object is a 400 on ``draft``."""
    if not isinstance(draft, dict):
        raise ValidationError("Invalid workflow.", fields={"draft": ["Expected a workflow object."]})
    return WorkflowDefinition.from_dict(draft, limits=document_limits())


def workflow_check(*, draft: Any, node: str | None = None) -> dict[str, Any]:
    """``{valid, problems: [{path, message, node_id, code}], handles: {node id: [branch handles]}}`` of a
    document (within the size caps), plus the ``variables`` reachable at ``node`` when given. Never raises for
    an invalid document."""
    try:
        definition = _definition(draft)
    except WorkflowValidationError as exc:
        return {"valid": False, "problems": [p.to_dict() for p in exc.problems], "handles": {}}
    inspection = inspect_workflow(definition, node)
    problems = [p.to_dict() for p in inspection.problems]
    result: dict[str, Any] = {"valid": not problems, "problems": problems, "handles": inspection.handles}
    if inspection.variables is not None:
        result["variables"] = inspection.variables
    if inspection.reads is not None:
        result["reads"] = inspection.reads
    return result


@transaction.atomic
def workflow_create(
    *, workspace: Workspace, user: User | None, slug: str, name: str | None, draft: dict[str, Any]
) -> Workflow:
    """A new workflow holding ``draft``, which the caller has already validated; a taken slug is a 409.

    The name defaults to the draft's own name, then to the slug.
    """
    workflow = versioning.resource_create(
        model=Workflow, workspace=workspace, user=user, name=name or draft.get("name") or slug, slug=slug,
        description=draft.get("description", ""), draft=draft,
    )  # fmt: skip
    assert isinstance(workflow, Workflow)
    return workflow


def workflow_import(
    *, workspace: Workspace, user: User | None, slug: str, name: str | None, document: str
) -> Workflow:
    """Create a workflow from a YAML/JSON document of our DSL; a document that is refused creates nothing.

    Aliases, oversized or over-deep documents and invalid graphs are a ``ValidationError``.
    """
    draft = workflow_draft_validate(draft=document_load(document))
    return workflow_create(workspace=workspace, user=user, slug=slug, name=name, draft=draft)


def workflow_import_dify(
    *, workspace: Workspace, user: User | None, slug: str, name: str | None, document: str
) -> DifyImport:
    """Create a workflow from a Dify DSL file; a file that does not convert creates nothing.

    Never raises for a bad file (the report says why), except a taken slug (409).
    """
    conversion = convert_dify(document, limits=document_limits())
    if conversion.workflow is None:
        return DifyImport(None, conversion.report)
    # convert_dify has already validated and normalised the graph with the engine.
    workflow = workflow_create(
        workspace=workspace, user=user, slug=slug, name=name, draft=conversion.workflow
    )
    return DifyImport(workflow, conversion.report)
