"""Bind stored credentials to the origin (scheme://host:port) of the draft they were given with."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def _bind(apps: Any, schema_editor: Any) -> None:
    from llmops.providers.selectors import draft_origin

    ModelEndpoint = apps.get_model("providers", "ModelEndpoint")
    for endpoint in ModelEndpoint.objects.exclude(credentials=None).only("id", "draft"):
        ModelEndpoint.objects.filter(pk=endpoint.pk).update(credentials_origin=draft_origin(endpoint.draft))


class Migration(migrations.Migration):
    dependencies = [("providers", "0003_catalogmodel_request_price")]

    operations = [
        migrations.AddField(
            model_name="modelendpoint",
            name="credentials_origin",
            field=models.CharField(
                blank=True, help_text="scheme://host:port the credentials were given for.", max_length=300
            ),
        ),
        migrations.RunPython(_bind, migrations.RunPython.noop),
    ]
