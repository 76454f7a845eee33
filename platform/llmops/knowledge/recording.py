"""Recording which knowledge-base versions a run or an evaluation run searched (``{"kb@production": "kb:3"}``)."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection, models


def knowledge_versions_record(model: type[models.Model], pk: Any, resolved: dict[str, str]) -> None:
    """Merge ``resolved`` into the row's ``knowledge_versions`` (one UPDATE; concurrent merges both land)."""
    if not resolved:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET knowledge_versions = knowledge_versions || %s::jsonb WHERE id = %s",
            [json.dumps(resolved), pk],
        )
