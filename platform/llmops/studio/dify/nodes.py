"""Data nodes: start, end, answer, template-transform, code, variable-aggregator, document-extractor and
list-operator."""

from __future__ import annotations

import textwrap
from typing import Any

from llmops.runs.sandbox_packages import code_imports
from llmops.studio.dify.conditions import conditions
from llmops.studio.dify.context import Mapped, NodeMapper
from llmops.studio.dify.references import field_name

_INPUT_TYPES = {
    "text-input": "text",
    "paragraph": "paragraph",
    "number": "number",
    "select": "select",
    "checkbox": "boolean",
    "boolean": "boolean",
    "json": "json",
    "json_object": "json",
    "file": "file",
    "file-list": "json",
}
_CODE_OUTPUT_TYPES = {"string": "string", "number": "number", "boolean": "boolean", "object": "object"}


def start(m: NodeMapper) -> Mapped:
    """Dify's start variables become the workflow's typed inputs."""
    inputs: list[dict[str, Any]] = []
    for variable in m.data.get("variables") or []:
        name = m.output_name(str(variable.get("variable", "")))
        kind = _INPUT_TYPES.get(str(variable.get("type")))
        if kind is None:
            m.fail(f"input {name!r} has type {variable.get('type')!r}, which has no equivalent")
            continue
        if variable.get("type") == "file-list":
            m.warn(f"file-list input {name!r} became a json input (a list of file references)")
        field: dict[str, Any] = {
            "name": name,
            "type": kind,
            "label": str(variable.get("label") or ""),
            "required": bool(variable.get("required", False)),
        }
        if variable.get("max_length") and kind in ("text", "paragraph"):
            field["max_length"] = int(variable["max_length"])
        if kind == "select":
            field["options"] = [str(option) for option in variable.get("options") or []]
        if variable.get("default") not in (None, ""):
            field["default"] = variable["default"]
        inputs.append(field)
    return Mapped("start", {}, inputs=inputs)


def end(m: NodeMapper) -> Mapped:
    """Each Dify output ``{variable, value_selector}`` becomes ``outputs[name] = selector``."""
    outputs = {
        field_name(str(o.get("variable", ""))): m.selector(
            o.get("value_selector"), f"output {o.get('variable')!r}"
        )
        for o in m.data.get("outputs") or []
    }
    return Mapped("end", {"outputs": outputs})


def answer(m: NodeMapper) -> Mapped:
    """The answer template; its plain placeholders still stream token by token."""
    return Mapped("answer", {"answer": m.template(m.data.get("answer"), "answer")})


def _local_variables(m: NodeMapper) -> dict[str, str]:
    return {
        field_name(str(v.get("variable", ""))): m.selector(
            v.get("value_selector"), f"variable {v.get('variable')!r}"
        )
        for v in m.data.get("variables") or []
    }


def template_transform(m: NodeMapper) -> Mapped:
    """Dify's Jinja2 template with local variables is exactly our template node."""
    return Mapped(
        "template", {"template": str(m.data.get("template") or ""), "variables": _local_variables(m)}
    )


def code(m: NodeMapper) -> Mapped:
    """Python code runs as is (same ``main(**inputs) -> dict`` contract); JavaScript becomes a stub."""
    outputs = {
        m.output_name(str(name)): _output_type(m, str(name), spec)
        for name, spec in (m.data.get("outputs") or {}).items()
    }
    inputs = _local_variables(m)
    language = m.data.get("code_language", "python3")
    source = str(m.data.get("code") or "")
    if language == "javascript":
        m.warn("JavaScript code cannot run here: the node now raises until the code is ported to Python")
        source = _javascript_stub(source, list(inputs))
    elif language != "python3":
        m.fail(f"code language {language!r} has no equivalent")
    _report_packages(m, source if language == "python3" else "")
    return Mapped("code", {"language": "python3", "code": source, "inputs": inputs, "outputs": outputs})


def _report_packages(m: NodeMapper, source: str) -> None:
    """A warning per package the code imports (or Dify declares for it) that code nodes may not import here."""
    declared = [str(d.get("name") or "") for d in m.data.get("dependencies") or () if isinstance(d, dict)]
    refused = [package for package, allowed in code_imports(source, declared=declared) if not allowed]
    for package in refused:
        m.warn(
            f"the code imports the package {package!r}, which code nodes may not import here: the node fails "
            "until an operator adds it to LLMOPS_SANDBOX_PACKAGES or the code stops using it"
        )


def _output_type(m: NodeMapper, name: str, spec: Any) -> str:
    kind = str((spec or {}).get("type") or "any")
    if kind.startswith("array"):
        return "array"
    if kind not in _CODE_OUTPUT_TYPES:
        m.warn(f"output {name!r} of type {kind!r} is not type-checked here")
        return "any"
    return _CODE_OUTPUT_TYPES[kind]


def _javascript_stub(source: str, arguments: list[str]) -> str:
    original = textwrap.indent(source, "# ", lambda line: True)
    return (
        "# Imported from a Dify JavaScript node; port this code to Python:\n"
        f"{original}\n\n"
        f"def main({', '.join(arguments)}):\n"
        '    raise NotImplementedError("port the JavaScript code of this node to Python")\n'
    )


def variable_aggregator(m: NodeMapper) -> Mapped:
    """Variables (or groups of them) -> the first value that exists."""
    settings = m.data.get("advanced_settings") or {}
    if settings.get("group_enabled"):
        groups = {
            m.output_name(str(group.get("group_name", ""))): [
                m.selector(s, f"group {group.get('group_name')!r}") for s in group.get("variables") or []
            ]
            for group in settings.get("groups") or []
        }
        return Mapped("variable_aggregator", {"groups": groups})
    variables = [m.selector(s, "variables") for s in m.data.get("variables") or []]
    return Mapped("variable_aggregator", {"variables": variables})


def document_extractor(m: NodeMapper) -> Mapped:
    """Text from the selected file(s); with a file list Dify's ``text`` is our ``texts``."""
    return Mapped("document_extractor", {"file": m.selector(m.data.get("variable_selector"), "file")})


def list_operator(m: NodeMapper) -> Mapped:
    """Filter, sort, limit; extracting the n-th item has no equivalent."""
    data = m.data
    config: dict[str, Any] = {"variable": m.selector(data.get("variable"), "variable")}
    filter_by = data.get("filter_by") or {}
    if filter_by.get("enabled"):
        operator = str(filter_by.get("logical_operator") or "and")
        config["filters"] = conditions(m, filter_by.get("conditions"), operator, "filter", key=True)
        config["logical_operator"] = operator
    order_by = data.get("order_by") or {}
    if order_by.get("enabled"):
        config["sort_key"] = str(order_by.get("key") or "")
        config["sort_order"] = "desc" if order_by.get("value") == "desc" else "asc"
    limit = data.get("limit") or {}
    if limit.get("enabled"):
        config["limit"] = int(limit.get("size") or 0)
    if (data.get("extract_by") or {}).get("enabled"):
        m.fail("extracting the n-th item has no equivalent (use limit, first or last)")
    return Mapped("list_operator", config)
