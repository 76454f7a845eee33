"""Routes of the accounts API."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from llmops.accounts.api.views import LoginView, LogoutView, MembershipViewSet, MeView, WorkspaceViewSet

router = SimpleRouter(trailing_slash=True)
router.register("workspaces", WorkspaceViewSet, basename="workspace")
router.register(r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/members", MembershipViewSet, basename="membership")

urlpatterns = [
    path("auth/login/", LoginView.as_view(), name="auth-login"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", MeView.as_view(), name="auth-me"),
    *router.urls,
]
