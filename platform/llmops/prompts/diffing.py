"""A readable, line-based diff of the templates that changed between two prompt versions."""

from __future__ import annotations

import difflib
from typing import Any


def _templates(content: dict[str, Any]) -> dict[str, str]:
    if content.get("type") == "text":
        return {"template": str(content.get("template", ""))}
    return {
        f"messages.{index}.content": f"[{message.get('role', '')}]\n{message.get('content', '')}"
        for index, message in enumerate(content.get("messages") or [])
        if isinstance(message, dict)
    }


def template_diffs(
    before: dict[str, Any], after: dict[str, Any], *, old: int, new: int
) -> list[dict[str, str]]:
    """One unified diff per template path whose text (or role) differs, in path order."""
    old_templates, new_templates = _templates(before), _templates(after)
    diffs = []
    for path in sorted(set(old_templates) | set(new_templates)):
        a, b = old_templates.get(path, ""), new_templates.get(path, "")
        if a == b:
            continue
        lines = difflib.unified_diff(
            a.splitlines(keepends=True),
            b.splitlines(keepends=True),
            fromfile=f"v{old}/{path}",
            tofile=f"v{new}/{path}",
        )
        diffs.append(
            {"path": path, "diff": "".join(line if line.endswith("\n") else line + "\n" for line in lines)}
        )
    return diffs
