"""Writes of prompts that are specific to prompts.

Creating, updating, publishing, restoring and labelling a prompt are the generic versioned-resource
services of :mod:`llmops.core.versioning` (through ``VersionedResourceViewSet``); what a prompt adds to them is
the validation of its draft, here, which every write of a draft (create, update, publish) goes through.
"""

from __future__ import annotations

from typing import Any

from llmops.prompts.content import prompt_content_normalize


def prompt_draft_validate(*, draft: Any) -> dict[str, Any]:
    """Validate a prompt draft (template, typed variables, model parameters); returns the stored form.

    Raises ``ValidationError`` with field paths under ``draft`` (``draft.messages.1.role``).
    """
    return prompt_content_normalize(draft)
