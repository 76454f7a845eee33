"""The HTTP side of the Dify import: its input serializer and the failure response (error + report).

Kept apart from the converter, which stays free of Django and DRF.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, status
from rest_framework.response import Response

from llmops.core.api.exceptions import error_body
from llmops.core.errors import ValidationError
from llmops.studio.dify.report import ImportReport


class DifyImportSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False)
    slug = serializers.SlugField(max_length=100)
    document = serializers.CharField(help_text="A Dify DSL file (YAML) of a workflow or advanced-chat app.")


class DifyImportResultSerializer(serializers.Serializer[Any]):
    workflow = serializers.JSONField(help_text="The created workflow (as the workflow endpoints return it).")
    report = serializers.JSONField(help_text="Warnings and the references to bind.")


def dify_import_error(report: ImportReport) -> ValidationError:
    """The report's problems as the platform's validation error (field paths say where each one is)."""
    fields: dict[str, list[str]] = {}
    if report.errors:
        fields["document"] = list(report.errors)
    for entry in report.unsupported:
        label = f"{entry.type} node {entry.title!r}" if entry.title else f"{entry.type} node"
        fields.setdefault(f"document.nodes.{entry.node_id}", []).append(f"{label}: {entry.reason}")
    for problem in report.problems:
        where = f"[node {problem.node_id}] " if problem.node_id else ""
        fields.setdefault(f"draft.{problem.path}".rstrip("."), []).append(where + problem.message)
    return ValidationError(f"The Dify file cannot be imported: {report.summary()}", fields=fields)


def dify_import_failure(report: ImportReport) -> Response:
    """400 with the platform's error shape plus the full ``report``; nothing was created."""
    error = dify_import_error(report)
    body = {**error_body(error.code, error.message, error.fields), "report": report.to_dict()}
    return Response(body, status=status.HTTP_400_BAD_REQUEST)
