"""Django REST framework, knox tokens, the OpenAPI schema, and request-size limits of the console API.

- ``LLMOPS_CONSOLE_MAX_BODY_BYTES``: the largest request body outside the public API and uploads (Django's
  ``DATA_UPLOAD_MAX_MEMORY_SIZE``; JSON bodies too), refused with 413 before it is read.
- ``LLMOPS_API_MAX_PAGE_SIZE``: the ceiling of ``?limit=`` on listings (a larger value is capped).
"""

from __future__ import annotations

from datetime import timedelta

from llmops.settings.env import env_int

# Big enough for a workflow document (LLMOPS_WORKFLOW_MAX_DOCUMENT_BYTES) inside a JSON body.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("LLMOPS_CONSOLE_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)
LLMOPS_API_MAX_PAGE_SIZE = env_int("LLMOPS_API_MAX_PAGE_SIZE", 500, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "llmops.core.api.pagination.BoundedLimitOffsetPagination",
    "DEFAULT_PARSER_CLASSES": [
        "llmops.core.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "llmops.core.api.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_RATES": {"login": "20/min"},
}

REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env_int("LLMOPS_TOKEN_TTL_DAYS", 30, minimum=1)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": True,
}

# A workspace invitation not accepted within this many days lapses (the inviter can send a fresh one).
INVITATION_TTL_DAYS = env_int("LLMOPS_INVITATION_TTL_DAYS", 7, minimum=1, maximum=90)

SPECTACULAR_SETTINGS = {
    "TITLE": "LLMOps Platform API",
    "DESCRIPTION": "Versioned prompts, chains, workflows and knowledge bases; runs, deployments, usage.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets are served from the sidecar package: the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Fields named alike with other choices (tool providers' ``kind``, their auth's ``type``) would rename
    # the older enums after their components: every name stays put.
    "ENUM_NAME_OVERRIDES": {
        "ToolProviderKindEnum": "llmops.tools.models.ProviderKind",
        "ToolAuthTypeEnum": ["none", "api_key", "bearer"],
        "KindEnum": ["workflow", "prompt", "chain"],
        "TypeEnum": ["chat", "text"],
        "UsageRecordStatusEnum": "llmops.usage.models.UsageStatus",  # also tool calls' status
    },
}
