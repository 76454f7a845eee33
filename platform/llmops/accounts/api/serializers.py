"""Input and output serializers of the accounts API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from llmops.accounts.models import Invitation, InvitationStatus, Membership, Role, User, Workspace


class UserSerializer(serializers.ModelSerializer[User]):
    """The signed-in user about themself (``/api/auth/me/``, login); never used for other users."""

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
    can_review = serializers.SerializerMethodField(
        help_text="Whether the caller reviews evaluations here (an admin or owner, or a member granted it)."
    )

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "created_at", "role", "can_review"]
        read_only_fields = ["id", "created_at", "role", "can_review"]
        extra_kwargs = {"slug": {"required": False, "validators": []}}

    def get_role(self, workspace: Workspace) -> str | None:
        roles: dict[int, str] = self.context.get("roles", {})
        return roles.get(workspace.pk)

    def get_can_review(self, workspace: Workspace) -> bool:
        reviewers: set[int] = self.context.get("reviewers", set())
        return workspace.pk in reviewers


class WorkspaceUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)


class MemberUserSerializer(serializers.ModelSerializer[User]):
    """Another member as their workspace sees them: a username; the email only of the caller themself."""

    email = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email"]
        read_only_fields = fields

    def get_email(self, user: User) -> str | None:
        me: User | None = self.context.get("me")
        return user.email if me is not None and me.pk == user.pk else None


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    user = MemberUserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "can_review", "created_at"]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer[Any]):
    """Whom to invite (a username or an email, exactly one) and with which role."""

    username = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.ModelSerializer[Invitation]):
    """A workspace's invitation as its admins see it: only what they typed, nothing about the account."""

    username = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    invited_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Invitation
        fields = ["id", "username", "email", "role", "status", "invited_by", "created_at", "expires_at"]
        read_only_fields = fields

    def get_username(self, invitation: Invitation) -> str | None:
        return invitation.username or None

    def get_email(self, invitation: Invitation) -> str | None:
        return invitation.email or None

    def get_status(self, invitation: Invitation) -> str:
        if invitation.status == InvitationStatus.PENDING and invitation.is_expired:
            return "expired"
        return str(invitation.status)


class InvitationWorkspaceSerializer(serializers.ModelSerializer[Workspace]):
    class Meta:
        model = Workspace
        fields = ["slug", "name"]
        read_only_fields = fields


class ReceivedInvitationSerializer(serializers.ModelSerializer[Invitation]):
    """An invitation as its invitee sees it."""

    workspace = InvitationWorkspaceSerializer(read_only=True)
    invited_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Invitation
        fields = ["id", "workspace", "role", "invited_by", "created_at", "expires_at"]
        read_only_fields = fields


class WebsocketTicketSerializer(serializers.Serializer[Any]):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds within which the ticket opens one websocket.")


class MembershipUpdateSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=Role.choices)
