"""Cost from prices per million tokens, cached input included."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmops.providers.schemas import Prices
from llmops.usage.services import usage_cost


@pytest.mark.parametrize(
    ("prices", "tokens", "expected"),
    [
        (Prices(input=2.5, output=10), (1000, 500, 0), Decimal("0.0075")),
        (Prices(input=2.5, output=10, cached_input=1.25), (1000, 500, 400), Decimal("0.0070")),
        (Prices(input=0.15, output=0.6), (1000, 0, 400), Decimal("0.00015")),  # no cached price: full price
        (Prices(input=0.1, output=0.3), (3, 7, 0), Decimal("0.0000024")),
        (Prices(), (1_000_000, 1_000_000, 0), Decimal("0")),
    ],
)
def test_cost_is_computed_exactly_from_prices_per_million_tokens(
    prices: Prices, tokens: tuple[int, int, int], expected: Decimal
) -> None:
    prompt, completion, cached = tokens
    cost = usage_cost(prices=prices, prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached)
    assert cost == expected


def test_requests_cost_nothing_without_a_per_request_price() -> None:
    cost = usage_cost(
        prices=Prices(input=2.5, output=10),
        prompt_tokens=1000,
        completion_tokens=0,
        cached_tokens=0,
        requests=7,
    )
    assert cost == Decimal("0.0025")


def test_requests_are_charged_per_thousand_on_top_of_tokens() -> None:
    prices = Prices.model_validate({"input": 1, "output": 0, "request": 2})
    cost = usage_cost(prices=prices, prompt_tokens=1000, completion_tokens=0, cached_tokens=0, requests=3)
    assert cost == Decimal("0.007")  # 0.001 for the tokens + 3 requests at 2 per 1,000
