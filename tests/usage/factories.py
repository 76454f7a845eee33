"""Factories for usage ledger rows."""

from __future__ import annotations

from decimal import Decimal

import factory

from llmops.usage.models import UsageRecord, UsageSource, UsageStatus
from tests.accounts.factories import WorkspaceFactory


class UsageRecordFactory(factory.django.DjangoModelFactory[UsageRecord]):
    class Meta:
        model = UsageRecord

    workspace = factory.SubFactory(WorkspaceFactory)
    endpoint = None
    endpoint_slug = "gpt"
    endpoint_version = 1
    model_name = "gpt-4o-mini"
    provider_kind = "openai"
    operation = "chat"
    source = UsageSource.PLAYGROUND
    prompt_tokens = 100
    completion_tokens = 20
    latency_ms = 300
    cost = Decimal("0.0000270000")
    currency = "USD"
    status = UsageStatus.OK
