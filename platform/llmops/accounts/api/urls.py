"""Routes of the accounts API."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from llmops.accounts.api.views import (
    LoginView,
    LogoutView,
    MembershipViewSet,
    MeView,
    ReceivedInvitationViewSet,
    SessionView,
    WebsocketTicketView,
    WorkspaceInvitationViewSet,
    WorkspaceViewSet,
)

WORKSPACE = r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)"

router = SimpleRouter(trailing_slash=True)
router.register("workspaces", WorkspaceViewSet, basename="workspace")
router.register(f"{WORKSPACE}/members", MembershipViewSet, basename="membership")
router.register(f"{WORKSPACE}/invitations", WorkspaceInvitationViewSet, basename="workspace-invitation")
router.register("invitations", ReceivedInvitationViewSet, basename="invitation")

urlpatterns = [
    path("auth/login/", LoginView.as_view(), name="auth-login"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", MeView.as_view(), name="auth-me"),
    path("auth/session/", SessionView.as_view(), name="auth-session"),
    path("ws-ticket/", WebsocketTicketView.as_view(), name="ws-ticket"),
    *router.urls,
]
