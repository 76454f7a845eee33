"""Import of Dify DSL files (``workflow`` and ``advanced-chat`` apps) into this platform's workflow DSL.

``convert_dify(text)`` is pure Python (no Django): it returns the converted definition and an
``ImportReport`` listing what could not be mapped, lossy mappings, and the model, knowledge base and secret
references to bind. The API (``POST .../workflows/import-dify/``) creates a workflow only from a clean report.
"""

from __future__ import annotations

from llmops.studio.dify.convert import DifyConversion, convert_dify
from llmops.studio.dify.report import Binding, ImportReport, ReportWarning, Unsupported, ValidationProblem

__all__ = [
    "Binding",
    "DifyConversion",
    "ImportReport",
    "ReportWarning",
    "Unsupported",
    "ValidationProblem",
    "convert_dify",
]
