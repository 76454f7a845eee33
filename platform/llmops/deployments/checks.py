"""System checks of the deployments app (``manage.py check``, and every management command)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register


@register()
def api_key_pepper_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when production peppers API keys with the secret key (rotating it would invalidate them all)."""
    if not getattr(settings, "PRODUCTION", False) or settings.LLMOPS_API_KEY_PEPPER:
        return []
    return [
        Warning(
            "LLMOPS_API_KEY_PEPPER is not set: API key digests fall back to LLMOPS_SECRET_KEY, so rotating the "
            "secret key invalidates every API key.",
            hint="Set LLMOPS_API_KEY_PEPPER to a long random value; keys issued so far keep working (each is "
            "re-digested with the new pepper at its next use, while LLMOPS_SECRET_KEY is unchanged).",
            id="llmops.deployments.W001",
        )
    ]
