"""The import report: what could not be mapped, what was mapped with losses, and what must be bound.

A conversion succeeds only when the report has no ``errors`` (document level), no ``unsupported`` entries
(node level) and no ``problems`` (the engine's validation of the converted graph). Warnings and bindings
never fail an import: they tell the user what to check and which references to point at their own models,
knowledge bases and secrets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

BindingKind = Literal["model", "knowledge_base", "secret"]


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A Dify node (or a part of it) with no faithful equivalent; the import fails."""

    node_id: str
    type: str
    title: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReportWarning:
    """A lossy but safe mapping the user should review (``node_id`` is None for app-level warnings)."""

    message: str
    node_id: str | None = None
    title: str = ""


@dataclass(slots=True)
class Binding:
    """A reference the user must point at one of their resources (a model endpoint, a knowledge base...)."""

    kind: BindingKind
    reference: str
    detail: dict[str, Any] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ValidationProblem:
    """A problem the engine found in the converted graph (``node_id`` is ours, ``dify_node_id`` theirs)."""

    path: str
    message: str
    node_id: str | None = None
    dify_node_id: str | None = None


@dataclass(slots=True)
class ImportReport:
    """Everything the user needs to know about one conversion."""

    app: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)
    warnings: list[ReportWarning] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    problems: list[ValidationProblem] = field(default_factory=list)
    node_ids: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the converted workflow can be created."""
        return not (self.errors or self.unsupported or self.problems)

    def error(self, message: str) -> None:
        """Record a document-level error (not a Dify file, unsupported app mode...)."""
        self.errors.append(message)

    def warn(self, message: str, node_id: str | None = None, title: str = "") -> None:
        """Record a lossy mapping."""
        self.warnings.append(ReportWarning(message, node_id, title))

    def bind(
        self, kind: BindingKind, reference: str, node_id: str | None, detail: dict[str, Any] | None = None
    ) -> None:
        """Record (or extend) a reference to bind; the same reference used by many nodes is listed once."""
        for binding in self.bindings:
            if binding.kind == kind and binding.reference == reference:
                break
        else:
            binding = Binding(kind, reference, dict(detail or {}))
            self.bindings.append(binding)
        if node_id is not None and node_id not in binding.nodes:
            binding.nodes.append(node_id)

    def summary(self) -> str:
        """One line for error messages."""
        parts = [
            f"{len(self.errors)} error(s)" if self.errors else "",
            f"{len(self.unsupported)} unsupported node(s)" if self.unsupported else "",
            f"{len(self.problems)} validation problem(s)" if self.problems else "",
        ]
        details = [
            *self.errors,
            *(f"{u.type} node {u.title or u.node_id!r}: {u.reason}" for u in self.unsupported),
        ]
        details += [p.message for p in self.problems]
        head = ", ".join(p for p in parts if p) or "no problems"
        return f"{head}: {'; '.join(details[:5])}" if details else head

    def to_dict(self) -> dict[str, Any]:
        """The JSON form returned by the API."""
        return {
            "ok": self.ok,
            "app": dict(self.app),
            "errors": list(self.errors),
            "unsupported": [asdict(u) for u in self.unsupported],
            "warnings": [asdict(w) for w in self.warnings],
            "bindings": [asdict(b) for b in self.bindings],
            "problems": [asdict(p) for p in self.problems],
            "node_ids": dict(self.node_ids),
        }
