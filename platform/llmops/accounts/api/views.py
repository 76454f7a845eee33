"""Accounts API: sign-in tokens, websocket tickets, the current user, workspaces, members and invitations."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from llmops.accounts import selectors, services
from llmops.accounts.api.serializers import (
    InvitationCreateSerializer,
    InvitationSerializer,
    LoginInputSerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    ReceivedInvitationSerializer,
    TokenOutputSerializer,
    UserSerializer,
    WebsocketTicketSerializer,
    WorkspaceSerializer,
    WorkspaceUpdateSerializer,
)
from llmops.accounts.models import Membership, Role
from llmops.accounts.permissions import (
    WORKSPACE_PERMISSIONS,
    WorkspaceScopedMixin,
    require_role,
    signed_in_user,
)
from llmops.accounts.websocket_auth import session_credential, token_credential, websocket_ticket_issue
from llmops.core.errors import AuthenticationRequired


class LoginView(APIView):
    """Exchange a username and password for an API token (for scripts and the CLI)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=LoginInputSerializer, responses=TokenOutputSerializer)
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            raise AuthenticationRequired("Wrong username or password.")
        instance, token = AuthToken.objects.create(user)
        out = {"token": token, "expiry": instance.expiry, "user": user}
        return Response(TokenOutputSerializer(out).data, status=status.HTTP_201_CREATED)


@method_decorator(csrf_protect, name="dispatch")
class SessionView(APIView):
    """Browser sign-in: a session cookie instead of a token (the console). CSRF-protected both ways: send the
    ``csrftoken`` cookie's value as ``X-CSRFToken`` (``GET`` sets the cookie)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_scope = "login"

    def get_throttles(self) -> list[Any]:
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @method_decorator(ensure_csrf_cookie)
    @extend_schema(request=None, responses={204: None})
    def get(self, request: Request) -> Response:
        """Set the CSRF cookie (the console calls this before its first POST)."""
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=LoginInputSerializer, responses=UserSerializer)
    def post(self, request: Request) -> Response:
        """Sign in with a username and password; answers the user and sets the session cookie."""
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            raise AuthenticationRequired("Wrong username or password.")
        login(request._request, user)
        return Response(UserSerializer(user).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Sign out: end the session and close the websockets opened with it."""
        user = request._request.user
        key = request._request.session.session_key
        if user.is_authenticated and key:
            services.websocket_access_revoke(user_id=user.pk, credential=session_credential(key))
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutView(KnoxLogoutView):  # type: ignore[misc]
    """Revoke the token used for this request; websockets opened with it are closed."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, format: str | None = None) -> Response:
        token = request.auth
        # Read before the delete: Django clears a deleted row's primary key, and knox's is the digest.
        credential = token_credential(token) if isinstance(token, AuthToken) else None
        response: Response = super().post(request, format)
        if credential is not None:
            services.websocket_access_revoke(user_id=signed_in_user(request).pk, credential=credential)
        return response


class WebsocketTicketView(APIView):
    """A one-use, short-lived ticket for ``ws://.../?ticket=`` (browsers cannot send headers on a websocket,
    and a long-lived token in a URL ends up in access logs)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: WebsocketTicketSerializer})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):
            credential = token_credential(request.auth)
        else:
            credential = session_credential(request.session.session_key or "")
        ticket = websocket_ticket_issue(user=signed_in_user(request), credential=credential)
        out = {"ticket": ticket, "expires_in": settings.WS_TICKET_SECONDS}
        return Response(WebsocketTicketSerializer(out).data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    """The signed-in user."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=UserSerializer)
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(signed_in_user(request)).data)


def _workspace_context(request: Request) -> dict[str, Any]:
    """What ``WorkspaceSerializer`` reads: the caller's role in each of their workspaces and those where they
    review evaluations (one query)."""
    memberships = Membership.objects.filter(user=signed_in_user(request)).only(
        "workspace_id", "role", "can_review"
    )
    return {
        "roles": {m.workspace_id: m.role for m in memberships},
        "reviewers": {m.workspace_id for m in memberships if m.reviews},
    }


class WorkspaceViewSet(viewsets.ViewSet):
    """Workspaces the caller belongs to. Anyone signed in may create one and becomes its owner."""

    permission_classes = [IsAuthenticated]
    lookup_field = "slug"

    def _scoped(self, slug: str, role: str) -> Membership:
        membership = selectors.membership_for_user(user=signed_in_user(self.request), workspace_slug=slug)
        require_role(membership, role)
        return membership

    @extend_schema(responses=WorkspaceSerializer(many=True))
    def list(self, request: Request) -> Response:
        workspaces = selectors.workspaces_for_user(user=signed_in_user(request))
        data = WorkspaceSerializer(workspaces, many=True, context=_workspace_context(request)).data
        return Response(data)

    @extend_schema(request=WorkspaceSerializer, responses={201: WorkspaceSerializer})
    def create(self, request: Request) -> Response:
        data = WorkspaceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = services.workspace_create(owner=signed_in_user(request), **data.validated_data)
        out = WorkspaceSerializer(
            workspace, context={"roles": {workspace.pk: Role.OWNER}, "reviewers": {workspace.pk}}
        )
        return Response(out.data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=WorkspaceSerializer)
    def retrieve(self, request: Request, slug: str) -> Response:
        membership = self._scoped(slug, Role.VIEWER)
        return Response(WorkspaceSerializer(membership.workspace, context=_workspace_context(request)).data)

    @extend_schema(request=WorkspaceUpdateSerializer, responses=WorkspaceSerializer)
    def partial_update(self, request: Request, slug: str) -> Response:
        membership = self._scoped(slug, Role.ADMIN)
        data = WorkspaceUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = services.workspace_update(workspace=membership.workspace, **data.validated_data)
        return Response(WorkspaceSerializer(workspace, context=_workspace_context(request)).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, slug: str) -> Response:
        membership = self._scoped(slug, Role.OWNER)
        services.workspace_delete(workspace=membership.workspace)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipViewSet(WorkspaceScopedMixin, viewsets.ViewSet):
    """Members of a workspace: any member reads; admins change and remove (owners manage owners).

    Members join by accepting an invitation (``.../invitations/``); nobody is added directly.
    """

    permission_classes = WORKSPACE_PERMISSIONS
    lookup_value_regex = r"\d+"
    write_role = Role.ADMIN
    # Leaving a workspace needs no admin role: the service lets members remove themselves.
    action_roles = {"destroy": Role.VIEWER}

    @extend_schema(responses=MembershipSerializer(many=True))
    def list(self, request: Request, workspace: str) -> Response:
        members = selectors.memberships_of_workspace(workspace=self.workspace)
        context = {"me": signed_in_user(request)}
        return Response(MembershipSerializer(members, many=True, context=context).data)

    @extend_schema(request=MembershipUpdateSerializer, responses=MembershipSerializer)
    def partial_update(self, request: Request, workspace: str, pk: str) -> Response:
        data = MembershipUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = selectors.membership_in_workspace(workspace=self.workspace, membership_id=int(pk))
        membership = services.membership_change_role(
            actor=self.membership, membership=target, **data.validated_data
        )
        return Response(MembershipSerializer(membership, context={"me": signed_in_user(request)}).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, workspace: str, pk: str) -> Response:
        target = selectors.membership_in_workspace(workspace=self.workspace, membership_id=int(pk))
        services.membership_remove(actor=self.membership, membership=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class WorkspaceInvitationViewSet(WorkspaceScopedMixin, viewsets.ViewSet):
    """A workspace's pending invitations: admins list, send and revoke them (owners for the owner role).

    Sending answers the same whether the username or email belongs to an account or not.
    """

    permission_classes = WORKSPACE_PERMISSIONS
    lookup_value_regex = UUID_PATTERN
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(responses=InvitationSerializer(many=True))
    def list(self, request: Request, workspace: str) -> Response:
        invitations = selectors.invitations_of_workspace(workspace=self.workspace)
        return Response(InvitationSerializer(invitations, many=True).data)

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationSerializer})
    def create(self, request: Request, workspace: str) -> Response:
        data = InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(actor=self.membership, **data.validated_data)
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, workspace: str, pk: str) -> Response:
        invitation = selectors.invitation_in_workspace(workspace=self.workspace, invitation_id=UUID(pk))
        services.invitation_revoke(actor=self.membership, invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReceivedInvitationViewSet(viewsets.ViewSet):
    """The caller's own pending invitations (by username or email), to accept or decline."""

    permission_classes = [IsAuthenticated]
    lookup_value_regex = UUID_PATTERN

    @extend_schema(responses=ReceivedInvitationSerializer(many=True))
    def list(self, request: Request) -> Response:
        invitations = selectors.invitations_for_user(user=signed_in_user(request))
        return Response(ReceivedInvitationSerializer(invitations, many=True).data)

    @extend_schema(request=None, responses=WorkspaceSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        membership = services.invitation_accept(user=signed_in_user(request), invitation_id=UUID(pk))
        return Response(WorkspaceSerializer(membership.workspace, context=_workspace_context(request)).data)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        services.invitation_decline(user=signed_in_user(request), invitation_id=UUID(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
