"""Outbound-request safety shared by the engine and the platform."""

from __future__ import annotations

from workflows.security._ssrf import (
    AllowList,
    SSRFGuardSyncTransport,
    SSRFGuardTransport,
    check_ip,
    check_url,
    check_url_async,
)

__all__ = [
    "AllowList",
    "SSRFGuardSyncTransport",
    "SSRFGuardTransport",
    "check_ip",
    "check_url",
    "check_url_async",
]
