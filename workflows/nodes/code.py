"""code: runs user Python (``def main(...) -> dict``) through the CodeSandbox port."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from workflows._dsl import NODE_ID_PATTERN, is_finite_number
from workflows._errors import Problem, SandboxError
from workflows._ports import CodeSandbox, SandboxLimits
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Selector

if TYPE_CHECKING:
    from workflows._dsl import Node
    from workflows._graph import CompiledGraph

Name = Annotated[str, Field(pattern=NODE_ID_PATTERN)]
OutputType = Literal["string", "number", "boolean", "object", "array", "any"]
_CHECKS: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "number": is_finite_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "any": lambda v: True,
}


class CodeLimits(NodeConfig):
    """Per-node limits; the sandbox's own defaults apply to anything left out."""

    wall_seconds: float = Field(default=10.0, gt=0, le=300)
    cpu_seconds: int = Field(default=5, ge=1, le=300)
    memory_mb: int = Field(default=256, ge=32, le=4096)


class CodeConfig(NodeConfig):
    """``inputs`` become ``main``'s keyword arguments; ``outputs`` declares the dict ``main`` returns."""

    language: Literal["python3"] = "python3"
    code: str = Field(min_length=1)
    inputs: dict[Name, Selector] = Field(default_factory=dict)
    outputs: dict[Name, OutputType] = Field(default_factory=dict)
    limits: CodeLimits = Field(default_factory=CodeLimits)

    @field_validator("code")
    @classmethod
    def _defines_main(cls, code: str) -> str:
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            raise ValueError(f"syntax error on line {exc.lineno}: {exc.msg}") from None
        if not any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
            raise ValueError("the code must define a top-level function main(...)")
        return code


class CodeNode(NodeKind[CodeConfig]):
    """Outputs what ``main`` returns, checked against the declared output types."""

    type = "code"
    config_model = CodeConfig
    description = "Runs Python in a sandbox."

    def outputs(self, config: CodeConfig) -> Mapping[str, str] | None:
        return dict(config.outputs)

    def check(self, config: CodeConfig, node: Node, graph: CompiledGraph) -> list[Problem]:
        if config.outputs:
            return []
        return [Problem("config.outputs", "declare at least one output", node.id, "no_outputs")]

    async def run(self, config: CodeConfig, ctx: NodeContext) -> NodeResult:
        sandbox: CodeSandbox = ctx.port("sandbox")
        inputs = {name: ctx.resolve(selector) for name, selector in config.inputs.items()}
        limits = SandboxLimits(
            config.limits.wall_seconds, config.limits.cpu_seconds, config.limits.memory_mb * 1024 * 1024
        )
        result = await sandbox.run(config.code, inputs, limits)
        if not result.ok:
            raise SandboxError(f"{result.error_type}: {result.error}")
        return NodeResult(_checked(config.outputs, result.outputs))


def _checked(declared: Mapping[str, str], outputs: Mapping[str, Any]) -> dict[str, Any]:
    problems = [f"missing output {name!r}" for name in declared if name not in outputs]
    problems += [
        f"output {name!r} should be {kind}, got {type(outputs[name]).__name__}"
        for name, kind in declared.items()
        if name in outputs and outputs[name] is not None and not _CHECKS[kind](outputs[name])
    ]
    if problems:
        raise SandboxError("; ".join(problems))
    return {name: outputs[name] for name in declared}
