"""The prompts API: the versioned-resource endpoints plus render, playground and a template-aware diff."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from llmops.accounts.models import Role
from llmops.accounts.permissions import signed_in_user
from llmops.core import versioning
from llmops.core.api.versioning import DIFF_PARAMETERS, VersionedResourceViewSet, diff_range
from llmops.prompts.api.serializers import (
    PlaygroundInputSerializer,
    PlaygroundOutputSerializer,
    PromptDiffSerializer,
    PromptSerializer,
    RenderInputSerializer,
    RenderOutputSerializer,
)
from llmops.prompts.diffing import template_diffs
from llmops.prompts.models import Prompt
from llmops.prompts.playground import playground_complete, playground_events, playground_prepare
from llmops.prompts.selectors import prompt_render, prompt_snapshot
from llmops.prompts.services import prompt_draft_validate
from llmops.runs.streaming import sse_response

BLOCKED_EXAMPLE = OpenApiExample(
    "Blocked by moderation",
    value={
        "blocked": True,
        "stage": "input",
        "rule": "keyword:password",
        "message": "The input was blocked by moderation rule 'keyword:password'.",
        "version": "draft",
    },
    response_only=True,
)
SSE_DESCRIPTION = (
    "With `stream` true (the default): `text/event-stream` with events `text_chunk` {text}, "
    "`usage` {prompt_tokens, completion_tokens, total_tokens, cost}, `blocked` {blocked, stage, rule, "
    "message} when moderation stops the call, `error` {code, message}, and finally `done` {}."
)


class PromptViewSet(VersionedResourceViewSet[Prompt]):
    """Prompts of a workspace: chat or text templates with typed variables, versions and labels."""

    queryset = Prompt.objects.select_related("created_by")
    serializer_class = PromptSerializer
    action_roles = {"render": Role.VIEWER}

    def validate_draft(self, draft: dict[str, Any]) -> dict[str, Any]:
        return prompt_draft_validate(draft=draft)

    @extend_schema(request=RenderInputSerializer, responses=RenderOutputSerializer)
    @action(detail=True, methods=["post"])
    def render(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Render a version (default: the draft) with variables; a missing or mistyped one is a 400."""
        prompt = self.get_object()
        data = RenderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        snapshot = prompt_snapshot(prompt=prompt, version=data.validated_data["version"])
        rendered = prompt_render(snapshot=snapshot, variables=data.validated_data["variables"])
        body = {
            "version": rendered.version,
            "type": snapshot.compiled.content.type,
            "messages": [message.to_dict() for message in rendered.messages],
            "text": rendered.text,
            "model": rendered.model,
            "parameters": dict(rendered.parameters),
        }
        return Response(RenderOutputSerializer(body).data)

    @extend_schema(
        request=PlaygroundInputSerializer,
        responses={
            200: OpenApiResponse(
                PlaygroundOutputSerializer,
                description="With `stream: false`. " + SSE_DESCRIPTION,
                examples=[BLOCKED_EXAMPLE],
            ),
            (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR, description=SSE_DESCRIPTION),
        },
    )
    @action(detail=True, methods=["post"])
    def playground(self, request: Request, *args: Any, **kwargs: Any) -> Response | StreamingHttpResponse:
        """Render, call the model through the gateway (usage is recorded) and stream the answer."""
        data = PlaygroundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        call = playground_prepare(
            workspace=self.workspace,
            user=signed_in_user(request),
            prompt=self.get_object(),
            version=values["version"],
            variables=values["variables"],
            model=values["model"],
            parameters=values["parameters"],
        )
        if not values["stream"]:
            return Response(async_to_sync(playground_complete)(call))
        return sse_response(playground_events(call))

    @extend_schema(
        parameters=DIFF_PARAMETERS,
        responses=PromptDiffSerializer,
    )
    @action(detail=True, methods=["get"])
    # ignore: drf-stubs' ViewSetAction is invariant in ``self``, so no overriding action matches its base.
    def diff(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        """JSON-patch operations plus a unified text diff of every template that changed."""
        prompt = self.get_object()
        old, new = diff_range(request)
        changes = versioning.version_diff(resource=prompt, old=old, new=new)
        before = versioning.version_get(resource=prompt, number=old).content
        after = versioning.version_get(resource=prompt, number=new).content
        diffs = template_diffs(before, after, old=old, new=new)
        return Response({"from": old, "to": new, "changes": changes, "template_diffs": diffs})
