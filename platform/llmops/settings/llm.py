"""Model providers: which outbound addresses model endpoints may reach, and gateway limits.

``LLMOPS_OUTBOUND_ALLOWLIST`` (comma-separated host names and CIDRs) lists the private addresses a model
endpoint's base URL may still point at: by default loopback in development (so a local llama.cpp or Ollama
works) and nothing in production. Every other private, loopback, link-local or metadata address is refused.
"""

from __future__ import annotations

import ipaddress

from llmops.settings.base import PRODUCTION
from llmops.settings.env import SettingError, env_int, env_list

_DEV_ALLOWLIST = ["localhost", "127.0.0.0/8", "::1/128"]

LLMOPS_OUTBOUND_ALLOWLIST = env_list("LLMOPS_OUTBOUND_ALLOWLIST", [] if PRODUCTION else _DEV_ALLOWLIST)
for _entry in LLMOPS_OUTBOUND_ALLOWLIST:
    if "/" in _entry:
        try:
            ipaddress.ip_network(_entry, strict=False)
        except ValueError:
            raise SettingError(f"LLMOPS_OUTBOUND_ALLOWLIST holds {_entry!r}, which is not a CIDR") from None

# A provider's Retry-After longer than this is not waited for: the gateway moves to the next fallback.
LLMOPS_MODEL_MAX_RETRY_AFTER_SECONDS = env_int("LLMOPS_MODEL_MAX_RETRY_AFTER_SECONDS", 30, minimum=0)
