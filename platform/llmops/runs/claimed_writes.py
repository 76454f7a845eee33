"""Writes of a claimed execution that land only while its claim still owns the run.

A worker that stalls past ``LLMOPS_RUN_STALE_SECONDS`` (a long pause, a database hiccup eating its heartbeats)
is still alive when the sweeper hands its run to another worker. Unguarded, it would go on checkpointing nodes
over the new owner's and storing events under the numbers the new owner uses. So each checkpoint and event of
a claimed execution is one ``INSERT ... SELECT`` from the run row *holding its claim*, locked ``FOR SHARE``:
once the claim was taken over the statement inserts nothing (``ClaimLost``), and a takeover (an ``UPDATE`` of
that row) waits for a write already under way, so every accepted write precedes the takeover. Still one
statement per write: no extra round trip.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.db import connection
from django.db.models import Field, Model

from llmops.runs.models import Run


class ClaimLost(Exception):
    """Another execution claimed the run: this one must stop and write nothing more."""


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    return cast("Field[Any, Any]", model._meta.get_field(name))


def _column(model: type[Model], name: str) -> str:
    return connection.ops.quote_name(str(_field(model, name).column))


@functools.cache
def _insert_sql(model: type[Model], columns: tuple[str, ...], conflict: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    names = [_column(model, name) for name in ("run", *columns)]
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(names)}) "
        f"SELECT r.id, {', '.join(f'%({name})s' for name in columns)} "
        f"FROM {quote(Run._meta.db_table)} r WHERE r.id = %(run_id)s AND r.claim = %(claim)s FOR SHARE"
    )
    if conflict:
        keys = [_column(model, name) for name in conflict]
        updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n not in keys)
        sql += f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    return sql


def _claimed_insert(
    model: type[Model], run_id: str, claim: uuid.UUID, values: dict[str, Any], conflict: tuple[str, ...]
) -> None:
    params = {name: _field(model, name).get_db_prep_save(value, connection) for name, value in values.items()}
    sql = _insert_sql(model, tuple(values), conflict)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "run_id": uuid.UUID(str(run_id)), "claim": claim})
        if cursor.rowcount == 0:
            raise ClaimLost(f"run {run_id} is no longer owned by claim {claim}")


async def claimed_insert(
    model: type[Model],
    *,
    run_id: str,
    claim: uuid.UUID,
    values: dict[str, Any],
    conflict: tuple[str, ...] = (),
) -> None:
    """Insert one row of ``model`` (a child of ``Run``) for ``run_id`` while ``claim`` owns the run; with
    ``conflict`` (a unique field set including ``run``) an existing row is replaced. ``ClaimLost`` otherwise."""
    await sync_to_async(_claimed_insert)(model, run_id, claim, values, conflict)
