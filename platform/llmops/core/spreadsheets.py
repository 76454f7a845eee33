"""Cells of CSV files people open in a spreadsheet: text that a spreadsheet would run as a formula is
neutralised (OWASP "CSV injection").

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken as a formula by Excel,
LibreOffice and Google Sheets (``=HYPERLINK(...)`` leaks data, ``=cmd|...`` runs commands on old Excel).
Such text gets a leading ``'``, which spreadsheets show as text. Numbers are left alone (``-1.5`` stays a
number); only strings are changed. End-user ids, keys and outputs in exports come from callers.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value``, with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
