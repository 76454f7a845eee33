"""Per-request prices, next to the per-token prices of ``Prices``: rerank searches, moderation calls.

Most rerank providers price a *search* (Cohere: per 1,000 searches of up to 100 documents) rather than
tokens, and some price moderation or search per request. An endpoint configuration's ``prices.request`` is
that price, per 1,000 requests, in the endpoint's currency; every successful call is one request unless the
provider bills more units (Cohere's ``search_units``). A configuration without it is charged per token only.
"""

from __future__ import annotations

from decimal import Decimal

from llmops.providers.schemas import Prices

PER_THOUSAND = Decimal(1000)


def request_price(prices: Prices) -> Decimal:
    """The price of 1,000 requests (``0`` when the configuration has none)."""
    return Decimal(str(prices.request)) if prices.request else Decimal(0)
