"""The engine's exceptions.

::

    WorkflowError
     +-- WorkflowValidationError   every problem of a workflow definition at once
     +-- InputValidationError      run inputs that do not match the declared fields
     +-- DocumentError             a YAML/JSON document that cannot be read safely (aliases, size, depth)
     +-- NodeError                 raised inside a node; becomes node_finished(failed)
     |    +-- PortNotConfiguredError
     |    +-- TemplateError
     |    +-- SandboxError
     |    +-- ToolError
     +-- BlockedURLError           the SSRF guard refused an address (also a ValueError)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a workflow definition: where it is (node id and path) and what is wrong."""

    path: str
    message: str
    node_id: str | None = None
    code: str = "invalid"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form for API error bodies and the editor."""
        return {"path": self.path, "message": self.message, "node_id": self.node_id, "code": self.code}

    def __str__(self) -> str:
        where = f"node {self.node_id!r} " if self.node_id else ""
        return f"{where}{self.path}: {self.message}"


class WorkflowError(Exception):
    """Base class of every error the engine raises on purpose."""


class WorkflowValidationError(WorkflowError, ValueError):
    """A workflow definition is invalid; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"workflow is invalid ({len(problems)} problem(s)):\n{lines}")


class InputValidationError(WorkflowValidationError):
    """Run inputs do not match the workflow's declared input fields."""


class DocumentError(WorkflowError, ValueError):
    """A document is not YAML/JSON, or is refused before it is read: aliases, too large, nested too deep."""


class NodeError(WorkflowError):
    """A node failed; its type and message end up in ``node_finished``."""


class PortNotConfiguredError(NodeError):
    """A node needs a port (model gateway, retriever, ...) that the executor was not given."""


class TemplateError(NodeError):
    """A template failed to parse or render."""


class SandboxError(NodeError):
    """User code failed, exceeded a limit or tried something the sandbox forbids."""


class ToolError(NodeError):
    """A tool is unknown, got invalid arguments or failed."""


class BlockedURLError(WorkflowError, ValueError):
    """The SSRF guard refused a URL because it resolves to a non-public address."""


def problems_from_pydantic(exc: ValidationError, *, prefix: str, node_id: str | None = None) -> list[Problem]:
    """Turn pydantic's errors into problems whose paths start with ``prefix``."""
    problems = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"])
        path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        problems.append(Problem(path=path, message=error["msg"], node_id=node_id, code=error["type"]))
    return problems
