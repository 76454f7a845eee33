"""What a node converter works with: the Dify node, the references, and the report it writes into."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmops.studio.dify.references import NodeInfo, References, UnmappableReference
from llmops.studio.dify.report import BindingKind, ImportReport, Unsupported

# A placeholder for a reference that could not be mapped; the conversion has failed by then anyway.
UNMAPPED = "unmapped.value"
# The model reference of a Dify model node saved without a model (bound at import like any other).
UNSELECTED_MODEL = "unselected-model"


@dataclass(frozen=True, slots=True)
class DifyNode:
    """One node of a Dify graph, as read from the file."""

    id: str
    type: str
    title: str
    data: Mapping[str, Any]
    parent: str | None = None
    position: Mapping[str, Any] | None = None


@dataclass(slots=True)
class Mapped:
    """A converted node: our type and config, plus extras some converters return."""

    type: str
    config: dict[str, Any]
    handles: dict[str, str] = field(default_factory=dict)  # Dify source handle -> ours
    inputs: list[dict[str, Any]] = field(default_factory=list)  # start only: the workflow inputs
    loop_updates: dict[str, str] = field(default_factory=dict)  # folded assigner: loop var -> selector
    environment: list[dict[str, Any]] = field(default_factory=list)  # env vars the node needs (secrets)


class NodeMapper:
    """Helpers for one node's converter: references, failures, warnings and bindings, all reported."""

    def __init__(self, node: DifyNode, refs: References, report: ImportReport) -> None:
        self.node, self.refs, self.report = node, refs, report
        self.failed = False

    @property
    def data(self) -> Mapping[str, Any]:
        """The node's Dify ``data``."""
        return self.node.data

    @property
    def info(self) -> NodeInfo:
        """How references see this node."""
        return self.refs.nodes[self.node.id]

    def fail(self, reason: str) -> None:
        """Record that (part of) this node cannot be mapped; the import will fail."""
        self.failed = True
        self.report.unsupported.append(Unsupported(self.node.id, self.node.type, self.node.title, reason))

    def warn(self, message: str) -> None:
        """Record a lossy mapping of this node."""
        self.report.warn(message, self.node.id, self.node.title)

    def bind(self, kind: BindingKind, reference: str, detail: dict[str, Any] | None = None) -> None:
        """Record a reference the user must bind."""
        self.report.bind(kind, reference, self.info.our_id, detail)

    def output_name(self, name: str) -> str:
        """This node's output ``name`` as it is called here."""
        return self.info.renames.get(name, name)

    def selector(self, value: Any, what: str) -> str:
        """A Dify selector as ours; an unmappable one fails the node (``what`` says where it was)."""
        try:
            return self._drained(self.refs.selector(value))
        except UnmappableReference as exc:
            self.fail(f"{what}: {exc}")
            return UNMAPPED

    def placeholder(self, value: Any, what: str) -> str:
        """A Dify selector as a ``{{ ... }}`` template."""
        try:
            return self._drained(self.refs.placeholder(value))
        except UnmappableReference as exc:
            self.fail(f"{what}: {exc}")
            return "{{ " + UNMAPPED + " }}"

    def template(self, text: Any, what: str, *, context: str | None = None) -> str:
        """A Dify basic template (``{{#node.var#}}`` placeholders in literal text) as ours."""
        try:
            return self._drained(self.refs.template(str(text or ""), context=context))
        except UnmappableReference as exc:
            self.fail(f"{what}: {exc}")
            return ""

    def model(
        self, what: str = "model", value: Mapping[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """The Dify ``model`` block (the node's ``what``, or ``value``: an agent's model selector, which names
        the model ``model``) as a model endpoint reference to bind and its parameters."""
        model = value if value is not None else (self.data.get(what) or {})
        provider = str(model.get("provider") or "").rstrip("/").split("/")[-1]
        name = str(model.get("name") or model.get("model") or "")
        if not name:  # saved in Dify without a choice: imported with a model to bind, as any other
            self.warn(f"{what}: no model was selected in Dify; bind '{UNSELECTED_MODEL}' to a model endpoint")
            self.bind("model", UNSELECTED_MODEL, {"provider": model.get("provider"), "name": ""})
            return UNSELECTED_MODEL, dict(model.get("completion_params") or {})
        reference = f"{provider}/{name}" if provider else name
        self.bind("model", reference, {"provider": model.get("provider"), "name": name})
        return reference, dict(model.get("completion_params") or {})

    def _drained(self, value: str) -> str:
        for note in self.refs.notes:
            self.warn(note)
        self.refs.notes.clear()
        return value
