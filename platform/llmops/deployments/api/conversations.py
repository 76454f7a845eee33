"""``GET /v1/conversations/{conversation_id}/variables``: a chat workflow conversation's variables (Dify's API).

The conversation is the one the same API key and end user (``user``) hold with the deployment named by
``model``, exactly as ``/v1/chat/completions`` keys it: another key, end user or deployment finds nothing.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from llmops.core.errors import NotFound, ValidationError
from llmops.deployments import services
from llmops.deployments.api.public import PublicAPIView
from llmops.deployments.conversations import conversation_scoped
from llmops.deployments.models import Scope
from llmops.runs.conversations import conversation_variables_read


class ConversationVariablesView(PublicAPIView):
    """The stored conversation variables of one conversation with a chat workflow deployment."""

    @extend_schema(
        operation_id="v1_conversation_variables",
        parameters=[
            OpenApiParameter("model", str, required=True, description="The deployment's slug."),
            OpenApiParameter("user", str, required=False, description="Your end user's id, as sent in chat."),
        ],
        responses={
            200: OpenApiResponse(description="{object: list, dialogue_count, updated_at, data: "
                                 "[{name, value_type, value, description}]}"),
            404: OpenApiResponse(description="unknown deployment or conversation"),
        },
    )  # fmt: skip
    def get(self, request: Request, conversation_id: str) -> Response:
        slug = request.query_params.get("model", "")
        if not slug:
            raise ValidationError("Name the deployment.", fields={"model": ["This parameter is required."]})
        deployment = self.deployment(slug, Scope.CHAT)
        if deployment.workflow_id is None:
            raise NotFound("This deployment is not a workflow; it has no conversation variables.")
        version = services.deployment_version(deployment=deployment)
        key = conversation_scoped(
            deployment=deployment, key=self.key, end_user=request.query_params.get("user", ""),
            conversation_id=conversation_id,
        )  # fmt: skip
        assert key is not None  # the route requires a non-empty id
        declared = list(version.content.get("conversation_variables") or [])
        body = conversation_variables_read(key=key, workspace_id=deployment.workspace_id, declared=declared)
        return Response({**body, "conversation_id": conversation_id})
