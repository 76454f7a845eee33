"""Built-in tools, one module per provider.

- No account needed: ``calculator`` (:mod:`.maths`), ``current_time``/``list_time_zones``/``convert_time_zone``
  (:mod:`.clock`), ``json_parse``/``json_insert``/``json_delete``/``json_replace`` (:mod:`.json_tools`); and,
  given an ``HttpClient``, ``web_reader``, ``duckduckgo_search`` and ``wikipedia_search``.
- Credentialed providers (:data:`BUILTIN_PROVIDERS`): Tavily, SearXNG, Jina Reader, DeepL; their tools come
  from :func:`provider_tools` with the workspace's credentials.

Every HTTP call goes through the ``HttpClient`` port (the platform's is SSRF-guarded) and reads at most
``MAX_RESPONSE_BYTES``; the registry enforces each spec's ``timeout_seconds`` and ``max_output_chars``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workflows._errors import ToolError
from workflows._ports import HttpClient
from workflows.tools import (
    clock,
    deepl,
    duckduckgo,
    jina,
    json_tools,
    maths,
    searxng,
    tavily,
    web_reader,
    wikipedia,
)
from workflows.tools._base import MAX_RESPONSE_BYTES, CredentialField, ProviderInfo, Tool
from workflows.tools.maths import evaluate_arithmetic

ProviderFactory = Callable[[Mapping[str, Any], HttpClient], list[Tool]]

_PROVIDERS: dict[str, tuple[ProviderInfo, ProviderFactory]] = {
    module.PROVIDER.name: (module.PROVIDER, module.tools) for module in (tavily, searxng, jina, deepl)
}
BUILTIN_PROVIDERS: Mapping[str, ProviderInfo] = {name: info for name, (info, _) in _PROVIDERS.items()}


def builtin_tools(http: HttpClient | None = None) -> list[Tool]:
    """The tools that need no account; the ones that reach the web only when ``http`` is given."""
    tools = [*maths.tools(), *clock.tools(), *json_tools.tools()]
    if http is not None:
        tools += [*web_reader.tools(http), *duckduckgo.tools(http), *wikipedia.tools(http)]
    return tools


def provider_tools(provider: str, credentials: Mapping[str, Any], http: HttpClient) -> list[Tool]:
    """The tools of the credentialed provider ``provider`` (a key of ``BUILTIN_PROVIDERS``).

    Raises ``ToolError`` for an unknown provider or a missing required credential; a wrong credential is
    found out on the first call (the service's 401/403 becomes a ``ToolError``).
    """
    if provider not in _PROVIDERS:
        raise ToolError(f"unknown tool provider {provider!r}; built-in ones: {', '.join(sorted(_PROVIDERS))}")
    return _PROVIDERS[provider][1](credentials, http)


__all__ = [
    "BUILTIN_PROVIDERS",
    "MAX_RESPONSE_BYTES",
    "CredentialField",
    "ProviderInfo",
    "Tool",
    "builtin_tools",
    "evaluate_arithmetic",
    "provider_tools",
    "unknown_tool_error",
]


def unknown_tool_error(name: str) -> ToolError:
    """The error for a tool the registry lacks; it names the provider to set up when a credentialed one has it."""
    for info in BUILTIN_PROVIDERS.values():
        if any(spec.name == name for spec in info.tools):
            return ToolError(
                f"tool {name!r} needs the {info.label} tool provider, which this workspace has not set up "
                "(add its credentials under Tools)"
            )
    return ToolError(f"unknown tool {name!r}")
