"""A workspace's reporting currency and its conversion rates (``UsageSettings``), read once per use."""

from __future__ import annotations

from decimal import Decimal

from llmops.usage.models import UsageSettings


def workspace_rates(workspace_id: int) -> tuple[str, dict[str, Decimal]]:
    """The workspace's currency and, per currency code, what one unit is worth in it (its own: 1)."""
    row = UsageSettings.objects.filter(workspace_id=workspace_id).first()
    currency = row.currency if row else "USD"
    rates = {code: Decimal(str(rate)) for code, rate in (row.rates if row else {}).items()}
    rates[currency] = Decimal(1)
    return currency, rates
