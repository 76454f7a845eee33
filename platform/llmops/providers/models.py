"""Model endpoints (a versioned resource with encrypted, unversioned credentials) and the model catalogue."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from llmops.core.fields import EncryptedJSONField
from llmops.core.models import ResourceLabel, ResourceVersion, VersionedResource
from llmops.providers.kinds import ModelType, ProviderKind


class ModelEndpoint(VersionedResource):
    """A workspace's way to call one model: config in ``draft``/versions, credentials on this row.

    Credentials are not versioned on purpose: rotating a key must not need a new version, and an old
    version must never resurrect a revoked key. They are bound to the origin they were given for
    (``credentials_origin``, ``scheme://host:port``): a version or label whose base URL points elsewhere is
    called without them.
    """

    credentials = EncryptedJSONField(null=True, blank=True)
    credentials_hint = models.CharField(max_length=32, blank=True)
    credentials_origin = models.CharField(
        max_length=300, blank=True, help_text="scheme://host:port the credentials were given for."
    )

    class Meta(VersionedResource.Meta):
        verbose_name = "model endpoint"

    @property
    def has_credentials(self) -> bool:
        """Whether an API key (or other secret) is stored."""
        return bool(self.credentials)


class ModelEndpointVersion(ResourceVersion):
    """An immutable endpoint configuration."""

    resource = models.ForeignKey(ModelEndpoint, on_delete=models.CASCADE, related_name="versions")

    class Meta(ResourceVersion.Meta):
        pass


class ModelEndpointLabel(ResourceLabel):
    """A label (``production``...) on an endpoint version."""

    resource = models.ForeignKey(ModelEndpoint, on_delete=models.CASCADE, related_name="labels")
    version = models.ForeignKey(ModelEndpointVersion, on_delete=models.CASCADE, related_name="labels")

    class Meta(ResourceLabel.Meta):
        pass


class CatalogModel(models.Model):
    """A well-known model with its context window and list prices (per 1M tokens, and per 1,000 requests for
    models priced per search or call, such as rerankers); editable in the admin.

    Creating an endpoint for ``(provider_kind, model)`` fills the values the draft leaves out.
    """

    provider_kind = models.CharField(max_length=32, choices=ProviderKind.choices)
    model = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200, blank=True)
    model_type = models.CharField(max_length=16, choices=ModelType.choices, default=ModelType.CHAT)
    context_window = models.PositiveIntegerField(null=True, blank=True)
    max_output_tokens = models.PositiveIntegerField(null=True, blank=True)
    input_price = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    output_price = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    cached_input_price = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    request_price = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Per 1,000 requests (rerank searches, moderation calls); empty: priced per token only.",
    )
    currency = models.CharField(max_length=3, default="USD")
    is_active = models.BooleanField(default=True)
    notes = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider_kind", "model"]
        constraints = [
            models.UniqueConstraint(fields=["provider_kind", "model"], name="providers_catalogmodel_unique")
        ]

    def __str__(self) -> str:
        return f"{self.provider_kind}/{self.model}"

    def list_prices(self) -> dict[str, Any]:
        """The entry's own list prices (before any dated :class:`PriceChange`)."""
        return _prices(
            self.input_price, self.output_price, self.cached_input_price, self.request_price, self.currency
        )

    def defaults(self) -> dict[str, Any]:
        """The endpoint-config values this entry provides."""
        values: dict[str, Any] = {"model_type": self.model_type, "prices": self.list_prices()}
        if self.context_window:
            values["context_window"] = self.context_window
        if self.max_output_tokens:
            values["max_output_tokens"] = self.max_output_tokens
        return values


class PriceChange(models.Model):
    """A price that applies from ``effective_from`` on: to a catalogue model (every endpoint of it that kept
    the catalogue's list prices follows) or to one endpoint (an override that wins over the catalogue and the
    version's own prices). Costs are computed when a call is metered and stored with it: a price change never
    rewrites the past, so a change cannot start in the past and one already in effect cannot be removed.

    Prices are per 1M tokens and (``request_price``) per 1,000 requests, in ``currency``.
    """

    catalog_model = models.ForeignKey(
        CatalogModel, null=True, blank=True, on_delete=models.CASCADE, related_name="price_changes"
    )
    endpoint = models.ForeignKey(
        ModelEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="price_changes"
    )
    effective_from = models.DateTimeField()
    input_price = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    output_price = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    cached_input_price = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    request_price = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, help_text="Per 1,000 requests."
    )
    currency = models.CharField(max_length=3, default="USD")
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(catalog_model__isnull=False, endpoint__isnull=True)
                | models.Q(catalog_model__isnull=True, endpoint__isnull=False),
                name="providers_pricechange_one_target",
            ),
            models.UniqueConstraint(
                fields=["catalog_model", "effective_from"], name="providers_pricechange_catalogue_moment"
            ),
            models.UniqueConstraint(
                fields=["endpoint", "effective_from"], name="providers_pricechange_endpoint_moment"
            ),
        ]

    def __str__(self) -> str:
        target = self.catalog_model or self.endpoint
        return f"{target} from {self.effective_from:%Y-%m-%d %H:%M}"

    def prices(self) -> dict[str, Any]:
        """The prices as an endpoint configuration's ``prices``."""
        return _prices(
            self.input_price, self.output_price, self.cached_input_price, self.request_price, self.currency
        )


def _prices(input_price: Any, output_price: Any, cached: Any, request: Any, currency: str) -> dict[str, Any]:
    prices: dict[str, Any] = {
        "input": float(input_price),
        "output": float(output_price),
        "currency": currency,
    }
    if cached is not None:
        prices["cached_input"] = float(cached)
    if request is not None:
        prices["request"] = float(request)
    return prices
