"""The app level of a Dify file: parsing, app mode, environment and conversation variables, features."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from llmops.studio.dify.references import References, field_name
from llmops.studio.dify.report import ImportReport
from workflows import ConversationVariable, DocumentError, DocumentLimits, load_yaml

MODES = {"workflow": "workflow", "advanced-chat": "chat"}
_ENV_TYPES = {"string": "string", "number": "number", "secret": "secret"}
_FEATURES = {
    "file_upload": "file upload",
    "speech_to_text": "speech to text",
    "text_to_speech": "text to speech",
    "sensitive_word_avoidance": "content moderation",
    "suggested_questions_after_answer": "suggested follow-up questions",
}


def load_document(
    document: str | bytes | Mapping[str, Any], report: ImportReport, limits: DocumentLimits | None = None
) -> dict[str, Any] | None:
    """The parsed file when it is a Dify app of a supported mode; otherwise None with the reasons reported.

    Aliases, oversized and over-deep files are refused while parsing (``workflows.load_yaml``).
    """
    parsed: Any = document
    if isinstance(document, str | bytes):
        try:
            parsed = load_yaml(document, limits=limits)
        except DocumentError as exc:
            report.error(f"The file cannot be read: {exc}")
            return None
    if not isinstance(parsed, Mapping):
        report.error("The file is not a Dify DSL file: expected a mapping with `app` and `workflow`.")
        return None
    app = parsed.get("app")
    if "nodes" in parsed and "app" not in parsed:
        report.error("This looks like a workflow of this platform, not a Dify file: use the regular import.")
        return None
    if not isinstance(app, Mapping) or parsed.get("kind", "app") != "app":
        report.error("The file is not a Dify DSL file: it has no `app` section (kind: app).")
        return None
    mode = str(app.get("mode") or "")
    report.app = {"name": app.get("name") or "", "mode": mode, "version": str(parsed.get("version") or "")}
    if mode not in MODES:
        supported = ", ".join(MODES)
        report.error(f"Dify apps of mode {mode!r} cannot be imported: only {supported} apps have a graph.")
        return None
    graph = (
        (parsed.get("workflow") or {}).get("graph") if isinstance(parsed.get("workflow"), Mapping) else None
    )
    if not isinstance(graph, Mapping) or not isinstance(graph.get("nodes"), list):
        report.error("The Dify file has no workflow graph (workflow.graph.nodes).")
        return None
    if not str(parsed.get("version") or "0.").startswith("0."):
        report.warn(
            f"Dify DSL version {parsed.get('version')} is newer than the versions this importer knows"
        )
    return dict(parsed)


def environment(variables: Any, refs: References, report: ImportReport) -> list[dict[str, Any]]:
    """Environment variables; secret values are never imported (they are bindings to set)."""
    converted = []
    for variable in variables or []:
        dify_name = str(variable.get("name", ""))
        name = field_name(dify_name)
        refs.env[dify_name] = name
        kind = _ENV_TYPES.get(str(variable.get("value_type")), "string")
        entry: dict[str, Any] = {
            "name": name,
            "type": kind,
            "description": str(variable.get("description") or ""),
        }
        if kind == "secret":
            report.bind("secret", name, None, {"environment_variable": dify_name})
        elif variable.get("value") is not None:
            entry["value"] = variable["value"]
        converted.append(entry)
    return converted


_CONVERSATION_TYPES = frozenset(get_args(ConversationVariable.model_fields["type"].annotation))


def conversation_variables(variables: Any, refs: References, report: ImportReport) -> list[dict[str, Any]]:
    """Conversation variables with their types and defaults (``array[file]`` and the like become ``array``)."""
    converted = []
    for variable in variables or []:
        dify_name = str(variable.get("name", ""))
        name = field_name(dify_name)
        refs.conversation[dify_name] = name
        kind = str(variable.get("value_type") or "string")
        ours = kind if kind in _CONVERSATION_TYPES else "array" if kind.startswith("array") else kind
        if ours not in _CONVERSATION_TYPES:
            report.warn(f"conversation variable {dify_name!r} of type {kind!r} became a string")
            ours = "string"
        converted.append(
            {
                "name": name,
                "type": ours,
                "default": variable.get("value"),
                "description": str(variable.get("description") or ""),
            }
        )
    return converted


def feature_warnings(features: Any, report: ImportReport) -> None:
    """App features with no workflow equivalent are reported, never silently dropped."""
    features = features if isinstance(features, Mapping) else {}
    if str(features.get("opening_statement") or "").strip():
        report.warn("the opening statement was not imported")
    if features.get("suggested_questions"):
        report.warn("the suggested questions were not imported")
    for key, label in _FEATURES.items():
        setting = features.get(key) or {}
        enabled = setting.get("enabled") or (setting.get("image") or {}).get("enabled")
        if enabled:
            report.warn(f"the {label} feature was not imported")
