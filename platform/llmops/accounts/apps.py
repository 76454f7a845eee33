from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The ``accounts`` app."""

    name = "llmops.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
