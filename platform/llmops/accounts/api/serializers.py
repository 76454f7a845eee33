"""Input and output serializers of the accounts API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from llmops.accounts.models import Membership, Role, User, Workspace


class UserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_staff"]
        read_only_fields = fields


class LoginInputSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})


class TokenOutputSerializer(serializers.Serializer[Any]):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True)
    user = UserSerializer()


class WorkspaceSerializer(serializers.ModelSerializer[Workspace]):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "created_at", "role"]
        read_only_fields = ["id", "created_at", "role"]
        extra_kwargs = {"slug": {"required": False, "validators": []}}

    def get_role(self, workspace: Workspace) -> str | None:
        roles: dict[int, str] = self.context.get("roles", {})
        return roles.get(workspace.pk)


class WorkspaceUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    user = UserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at"]
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipUpdateSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=Role.choices)
