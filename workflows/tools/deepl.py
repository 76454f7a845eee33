"""DeepL (``translate``): text translation through DeepL's API v2; needs a DeepL API key.

``POST /v2/translate`` with ``Authorization: DeepL-Auth-Key <key>`` and ``{"text": [...], "target_lang":
"DE"}``; the answer is ``{"translations": [{"detected_source_language": "EN", "text": "..."}]}``. Keys of
the free plan end in ``:fx`` and are served by ``api-free.deepl.com``, the others by ``api.deepl.com``.
A wrong key is a 403 there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows._ports import CallContext, HttpClient, ToolResult, ToolSpec
from workflows.tools._base import (
    CredentialField,
    ProviderInfo,
    Tool,
    credential,
    json_body,
    request,
    schema,
    send,
)

FREE_ENDPOINT = "https://api-free.deepl.com/v2/translate"
PRO_ENDPOINT = "https://api.deepl.com/v2/translate"

TRANSLATE = ToolSpec(
    "translate",
    "Translate text into another language with DeepL. Give the target language code ('EN-US', 'DE', "
    "'FR', 'JA', 'ZH'...); the source language is detected unless given.",
    schema(
        {
            "text": {"type": "string", "minLength": 1, "maxLength": 50_000, "description": "The text"},
            "target_language": {"type": "string", "pattern": "^[A-Za-z]{2}(-[A-Za-z]{2,4})?$"},
            "source_language": {
                "type": "string",
                "pattern": "^[A-Za-z]{2}$",
                "description": "Default: detect",
            },
            "formality": {
                "type": "string",
                "enum": ["default", "more", "less", "prefer_more", "prefer_less"],
            },
        },
        ("text", "target_language"),
    ),
    timeout_seconds=30.0,
    max_output_chars=120_000,
)
PROVIDER = ProviderInfo(
    "deepl",
    "DeepL",
    "Translation by DeepL (deepl.com); needs a DeepL API key (free or pro).",
    (CredentialField("api_key", "API key"),),
    (TRANSLATE,),
)


class _Translate:
    def __init__(self, key: str, http: HttpClient) -> None:
        self.key, self.http = key, http
        self.endpoint = FREE_ENDPOINT if key.endswith(":fx") else PRO_ENDPOINT

    async def __call__(self, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        body: dict[str, Any] = {
            "text": [str(arguments["text"])],
            "target_lang": str(arguments["target_language"]).upper(),
        }
        if arguments.get("source_language"):
            body["source_lang"] = str(arguments["source_language"]).upper()
        if arguments.get("formality"):
            body["formality"] = str(arguments["formality"])
        headers = {"authorization": f"DeepL-Auth-Key {self.key}"}
        response = await send(
            self.http,
            request("POST", self.endpoint, timeout=TRANSLATE.timeout_seconds, headers=headers, body=body),
            "DeepL",
        )
        translations = json_body(response, "DeepL").get("translations") or [{}]
        first = translations[0]
        data = {
            "text": str(first.get("text") or ""),
            "source_language": first.get("detected_source_language"),
        }
        return ToolResult(data, data["text"])


def tools(credentials: Mapping[str, Any], http: HttpClient) -> list[Tool]:
    """DeepL's translate tool with this API key."""
    return [Tool(TRANSLATE, _Translate(credential(credentials, "api_key", "deepl"), http))]
