"""Tools: the default ToolRegistry, built-in tools and OpenAPI-generated tools."""

from __future__ import annotations

from workflows._tools import DefaultToolRegistry, Tool, builtin_tools, evaluate_arithmetic, openapi_tools

__all__ = ["DefaultToolRegistry", "Tool", "builtin_tools", "evaluate_arithmetic", "openapi_tools"]
