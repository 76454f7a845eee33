"""``ChatAnthropic`` on the SSRF-guarded transports (imported lazily: the Anthropic SDK is slow to import)."""

from __future__ import annotations

from functools import cached_property

import anthropic
from langchain_anthropic import ChatAnthropic

from llmops.core.outbound import guarded_async_client2, guarded_sync_client2

_DEFAULT_TIMEOUT_SECONDS = 60.0


class GuardedChatAnthropic(ChatAnthropic):
    """``ChatAnthropic`` whose SDK clients send through the guarded ``httpx2`` transports.

    langchain-anthropic takes no HTTP client of ours (it builds a shared default one that follows redirects
    and reads proxy variables), so the two properties that build the SDK clients are replaced.
    """

    @cached_property
    def _async_client(self) -> anthropic.AsyncClient:
        timeout = self.default_request_timeout or _DEFAULT_TIMEOUT_SECONDS
        return anthropic.AsyncClient(
            **self._client_params, http_client=guarded_async_client2(timeout=timeout)
        )

    @cached_property
    def _client(self) -> anthropic.Client:
        timeout = self.default_request_timeout or _DEFAULT_TIMEOUT_SECONDS
        return anthropic.Client(**self._client_params, http_client=guarded_sync_client2(timeout=timeout))
