"""The versioned configuration of a model endpoint (its ``draft`` and each version's ``content``).

Validated with pydantic; errors become ``ValidationError`` with paths under ``draft.`` (e.g.
``draft.prices.input``). Credentials are not part of it: they live encrypted on the endpoint row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from llmops.core.errors import ValidationError
from llmops.core.outbound import check_base_url
from llmops.core.refs import ref_problem
from llmops.providers.kinds import DEFAULT_BASE_URLS, ModelType, ProviderKind


class Prices(BaseModel):
    """List prices: per one million tokens, and (``request``) per 1,000 requests (rerank searches, ...)."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(default=0, ge=0, le=1_000_000)
    output: float = Field(default=0, ge=0, le=1_000_000)
    cached_input: float | None = Field(default=None, ge=0, le=1_000_000)
    request: float | None = Field(default=None, ge=0, le=1_000_000)  # per 1,000 requests
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")

    def decimal(self, name: str) -> Decimal:
        """A price as an exact decimal (``Decimal(str(float))`` keeps the digits the user typed)."""
        value = getattr(self, name)
        return Decimal(str(value)) if value is not None else Decimal(0)


class RateLimit(BaseModel):
    """Client-side limits the gateway enforces before calling the provider (``None``: unlimited)."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    concurrency: int | None = Field(default=None, ge=1, le=10_000)


class EndpointConfig(BaseModel):
    """Everything about an endpoint that is versioned."""

    model_config = ConfigDict(extra="forbid")

    provider_kind: str
    model: str = Field(min_length=1, max_length=200)
    model_type: ModelType = ModelType.CHAT
    base_url: str = ""
    api_version: str = Field(default="", max_length=40, description="Azure OpenAI only.")
    context_window: int | None = Field(default=None, ge=1, le=100_000_000)
    max_output_tokens: int | None = Field(default=None, ge=1, le=10_000_000)
    default_parameters: dict[str, Any] = Field(default_factory=dict)
    prices: Prices = Field(default_factory=Prices)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    timeout_seconds: float = Field(default=60, gt=0, le=3600)
    max_retries: int = Field(default=2, ge=0, le=10)
    embedding_batch_size: int = Field(default=64, ge=1, le=2048)
    fallbacks: list[str] = Field(default_factory=list, max_length=10)

    @field_validator("provider_kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in ProviderKind.values:
            raise ValueError(
                f"Unknown provider kind {value!r}; expected one of: {', '.join(ProviderKind.values)}"
            )
        return value

    @field_validator("fallbacks")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            problem = ref_problem(ref)
            if problem is not None:
                raise ValueError(
                    f"{ref!r} is not an endpoint reference (slug, slug@label or slug:3): {problem}"
                )
        return value

    @property
    def effective_base_url(self) -> str:
        """``base_url``, or the kind's public default when it is empty."""
        return self.base_url or DEFAULT_BASE_URLS.get(self.provider_kind, "")


def _pydantic_fields(exc: PydanticValidationError, prefix: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in exc.errors():
        path = ".".join([prefix, *(str(part) for part in error["loc"])])
        message = str(error["msg"]).removeprefix("Value error, ")
        fields.setdefault(path, []).append(message)
    return fields


def config_parse(content: dict[str, Any]) -> EndpointConfig:
    """Parse stored content (already validated when it was saved)."""
    return EndpointConfig.model_validate(content)


def config_validate(draft: Any, *, prefix: str = "draft") -> EndpointConfig:
    """Validate a draft; raise ``ValidationError`` naming every bad field (``draft.prices.input``...)."""
    if not isinstance(draft, dict):
        raise ValidationError("Invalid endpoint configuration.", fields={prefix: ["Must be an object."]})
    try:
        config = EndpointConfig.model_validate(draft)
    except PydanticValidationError as exc:
        fields = _pydantic_fields(exc, prefix)
        first = next(iter(fields.items()))
        raise ValidationError(
            f"Invalid endpoint configuration ({first[0]}: {first[1][0]})", fields=fields
        ) from None
    if config.base_url:
        check_base_url(config.base_url, field=f"{prefix}.base_url")
    elif not config.effective_base_url:
        raise ValidationError(
            "Invalid endpoint configuration.",
            fields={f"{prefix}.base_url": [f"Required for provider kind {config.provider_kind!r}."]},
        )
    if config.provider_kind == ProviderKind.AZURE_OPENAI and not config.api_version:
        raise ValidationError(
            "Invalid endpoint configuration.",
            fields={f"{prefix}.api_version": ["Required for Azure OpenAI."]},
        )
    return config
