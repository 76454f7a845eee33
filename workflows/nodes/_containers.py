"""Helpers shared by the container nodes (iteration, loop)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn


def raise_first(group: BaseExceptionGroup[BaseException]) -> NoReturn:
    """Re-raise the first leaf of an exception group; run-level aborts (non-Exception) take precedence."""
    leaves = list(_leaves(group))
    for leaf in leaves:
        if not isinstance(leaf, Exception):
            raise leaf
    raise leaves[0]


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc
