"""Dated prices: which prices a call is charged at, and the writes that schedule a change.

A call is priced when it is metered, at the prices in effect at that moment, and the cost is stored with it
(so no change here ever rewrites a recorded cost). In effect, in this order:

1. the endpoint's own latest :class:`PriceChange` whose ``effective_from`` has passed (an override);
2. for an endpoint that kept the catalogue's list prices (its version's prices equal the catalogue entry's
   list prices or one of its dated prices), the catalogue's latest change that has passed: endpoints that
   follow the list follow its changes, endpoints with negotiated prices of their own keep them;
3. the endpoint version's own ``prices``.

Every process keeps the (small) table of changes in memory for ``CACHE_SECONDS``, so metering costs no query;
a change made in this process is seen at once, one made elsewhere within seconds.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError

from llmops.accounts.models import User
from llmops.core.errors import Conflict, ValidationError
from llmops.providers.models import CatalogModel, ModelEndpoint, PriceChange
from llmops.providers.schemas import Prices, config_validate
from llmops.usage.currencies import CURRENCIES

logger = logging.getLogger(__name__)
CACHE_SECONDS = 10.0
# A change "from now" sent by a client whose clock is a little behind is still accepted.
PAST_TOLERANCE = timedelta(seconds=60)

_Dated = list[tuple[datetime, Prices]]
_FIELDS = ("effective_from", "input", "output", "cached_input", "request", "currency", "note")


@dataclass(slots=True)
class PriceBook:
    """Every dated price, by endpoint id and by catalogued ``(provider_kind, model)``, oldest first."""

    by_endpoint: dict[int, _Dated] = field(default_factory=lambda: defaultdict(list))
    by_model: dict[tuple[str, str], _Dated] = field(default_factory=lambda: defaultdict(list))
    list_prices: dict[tuple[str, str], Prices] = field(default_factory=dict)
    loaded_at: float = 0.0


@dataclass(frozen=True, slots=True)
class PricesInEffect:
    """The prices a call is charged at, and where they come from (``endpoint``, ``catalogue``, ``version``)."""

    prices: Prices
    source: str
    since: datetime | None = None


_book = PriceBook()


def _book_from(changes: list[PriceChange], catalogue: list[CatalogModel]) -> PriceBook:
    book = PriceBook(loaded_at=time.monotonic())
    for entry in catalogue:
        listed = _valid_prices(entry.list_prices(), f"catalogue model {entry}")
        if listed is not None:
            book.list_prices[(entry.provider_kind, entry.model)] = listed
    for change in changes:
        prices = _valid_prices(change.prices(), f"price change {change.pk}")
        if prices is None:
            continue
        dated = (change.effective_from, prices)
        if change.endpoint_id is not None:
            book.by_endpoint[change.endpoint_id].append(dated)
        elif change.catalog_model is not None:
            book.by_model[(change.catalog_model.provider_kind, change.catalog_model.model)].append(dated)
    return book


def _valid_prices(values: dict[str, Any], what: str) -> Prices | None:
    """``values`` as prices, or None (logged) when a row written around the checks is out of range: one bad
    row must not stop every other price from applying."""
    try:
        return Prices(**values)
    except PydanticValidationError:
        logger.warning("%s has invalid prices %s: ignored", what, values)
        return None


def _fresh() -> bool:
    return _book.loaded_at > 0 and time.monotonic() - _book.loaded_at < CACHE_SECONDS


def price_book() -> PriceBook:
    """The process's price book, reloaded when older than ``CACHE_SECONDS``."""
    global _book
    if not _fresh():
        _book = _book_from(
            list(PriceChange.objects.select_related("catalog_model").order_by("effective_from")),
            list(CatalogModel.objects.all()),
        )
    return _book


async def price_book_aget() -> PriceBook:
    """:func:`price_book` for the gateway's event loop (two async queries when stale, none otherwise)."""
    global _book
    if not _fresh():
        changes = [
            c async for c in PriceChange.objects.select_related("catalog_model").order_by("effective_from")
        ]
        _book = _book_from(changes, [entry async for entry in CatalogModel.objects.all()])
    return _book


def price_book_forget() -> None:
    """Drop this process's copy (after a change is written here)."""
    global _book
    _book = PriceBook()


def _latest(dated: _Dated, at: datetime) -> tuple[datetime, Prices] | None:
    current = None
    for moment, prices in dated:
        if moment > at:
            break
        current = (moment, prices)
    return current


def prices_in_effect(
    book: PriceBook, *, endpoint_id: int | None, provider_kind: str, model: str, version_prices: Prices,
    at: datetime | None = None,
) -> PricesInEffect:  # fmt: skip
    """The prices a call of this endpoint version made at ``at`` (default now) is charged at."""
    at = at or timezone.now()
    if endpoint_id is not None:
        override = _latest(book.by_endpoint.get(endpoint_id, []), at)
        if override:
            return PricesInEffect(override[1], "endpoint", override[0])
    dated = book.by_model.get((provider_kind, model), [])
    catalogue = book.list_prices.get((provider_kind, model))
    # Endpoints that kept a list price the catalogue had by then (its own, or a change already started).
    follows_list = version_prices == catalogue or any(
        version_prices == prices for moment, prices in dated if moment <= at
    )
    if follows_list:
        change = _latest(dated, at)
        if change:
            return PricesInEffect(change[1], "catalogue", change[0])
    return PricesInEffect(version_prices, "version")


def endpoint_prices_in_effect(endpoint: ModelEndpoint, *, at: datetime | None = None) -> PricesInEffect:
    """What a call of the endpoint's latest version (its draft before the first) is charged at ``at``."""
    latest = endpoint.versions.order_by("-number").first()
    config = config_validate(latest.content if latest else endpoint.draft)
    return prices_in_effect(
        price_book(), endpoint_id=endpoint.pk, provider_kind=config.provider_kind, model=config.model,
        version_prices=config.prices, at=at,
    )  # fmt: skip


def catalogue_prices_now(entry: CatalogModel) -> dict[str, Any]:
    """A catalogue entry's list prices in effect now (its latest change that has passed, else its own)."""
    change = entry.price_changes.filter(effective_from__lte=timezone.now()).order_by("effective_from").last()
    return change.prices() if change else entry.list_prices()


def _validated(data: Any, base: Callable[[datetime], Prices]) -> tuple[datetime, Prices, str]:
    """``effective_from`` (default now; not in the past), the prices and the note of a change, or a 400. Prices
    the change leaves out keep their values in effect at ``effective_from`` (``base``)."""
    if not isinstance(data, dict):
        raise ValidationError("Invalid price change.", fields={"non_field_errors": ["An object."]})
    errors: dict[str, list[str]] = {name: ["Unknown field."] for name in data if name not in _FIELDS}
    if not any(name in data for name in ("input", "output", "cached_input", "request")):
        errors["input"] = ["Give at least one price: input, output, cached_input or request."]
    now = timezone.now()
    effective_from = now
    raw = data.get("effective_from")
    if raw not in (None, ""):
        try:
            effective_from = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            if effective_from.tzinfo is None:
                effective_from = timezone.make_aware(effective_from, timezone.get_current_timezone())
        except (ValueError, OverflowError):
            errors["effective_from"] = ["An ISO datetime."]
        else:
            if effective_from < now - PAST_TOLERANCE:
                errors["effective_from"] = ["Cannot be in the past: recorded costs are never rewritten."]
    prices_data = {
        k: data[k] for k in ("input", "output", "cached_input", "request", "currency") if k in data
    }
    if isinstance(prices_data.get("currency"), str):
        prices_data["currency"] = prices_data["currency"].upper()
    prices = Prices()
    try:
        kept = base(effective_from).model_dump() if "effective_from" not in errors else {}
        prices = Prices(**{**kept, **prices_data})
    except PydanticValidationError as exc:
        for error in exc.errors():
            errors[".".join(str(p) for p in error["loc"])] = [error["msg"]]
    if not errors and prices.currency not in CURRENCIES:
        errors["currency"] = ["An ISO 4217 code such as USD, CNY or EUR."]
    note = data.get("note", "")
    if not isinstance(note, str) or len(note) > 300:
        errors["note"] = ["Text of at most 300 characters."]
    if errors:
        raise ValidationError("Invalid price change.", fields=errors)
    return effective_from, prices, note


def price_change_create(
    *,
    data: Any,
    user: User | None,
    endpoint: ModelEndpoint | None = None,
    catalog_model: CatalogModel | None = None,
) -> PriceChange:
    """Schedule prices for an endpoint or a catalogue model from ``effective_from`` on (400 naming fields;
    409 when that moment already has a change)."""
    effective_from, prices, note = _validated(data, lambda at: _prices_at(at, endpoint, catalog_model))
    target: dict[str, Any] = (
        {"endpoint": endpoint} if endpoint is not None else {"catalog_model": catalog_model}
    )
    if PriceChange.objects.filter(**target, effective_from=effective_from).exists():
        raise Conflict("A price change already starts at that moment.")
    try:
        with transaction.atomic():
            change = _create(target, effective_from, prices, note, user)
    except IntegrityError:  # a concurrent request took the same moment
        raise Conflict("A price change already starts at that moment.") from None
    price_book_forget()
    return change


def _prices_at(at: datetime, endpoint: ModelEndpoint | None, entry: CatalogModel | None) -> Prices:
    """What the target charges at ``at``: where a partial change takes its other prices from."""
    if endpoint is not None:
        return endpoint_prices_in_effect(endpoint, at=at).prices
    assert entry is not None
    change = _latest(price_book().by_model.get((entry.provider_kind, entry.model), []), at)
    return change[1] if change else Prices(**entry.list_prices())


def _create(
    target: dict[str, Any], effective_from: datetime, prices: Prices, note: str, user: User | None
) -> PriceChange:
    return PriceChange.objects.create(
        **target, effective_from=effective_from, input_price=prices.decimal("input"),
        output_price=prices.decimal("output"),
        cached_input_price=None if prices.cached_input is None else prices.decimal("cached_input"),
        request_price=None if prices.request is None else prices.decimal("request"),
        currency=prices.currency, note=note, created_by=user,
    )  # fmt: skip


def price_change_delete(change: PriceChange) -> None:
    """Withdraw a change that has not started yet (409 for one in effect: it priced calls already)."""
    if change.effective_from <= timezone.now():
        raise Conflict(
            "This price change is in effect: calls were charged at it. Schedule a new one instead."
        )
    change.delete()
    price_book_forget()
