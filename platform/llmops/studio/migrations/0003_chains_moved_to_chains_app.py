"""The chain models moved to the ``chains`` app: forget them here, in state only (their tables stay)."""

from django.db import migrations

CHAIN_MODELS = ("chain", "chainversion", "chainlabel", "chainconversation", "chainmessage")


def _relabel_content_types(apps, schema_editor, old, new):
    # Renaming the rows (rather than letting post_migrate create new ones) keeps the admin permissions
    # granted on chains and the admin log entries attached to them.
    ContentType = apps.get_model("contenttypes", "ContentType")
    taken = set(ContentType.objects.filter(app_label=new, model__in=CHAIN_MODELS).values_list("model", flat=True))
    ContentType.objects.filter(app_label=old, model__in=set(CHAIN_MODELS) - taken).update(app_label=new)


def content_types_to_chains(apps, schema_editor):
    _relabel_content_types(apps, schema_editor, "studio", "chains")


def content_types_to_studio(apps, schema_editor):
    _relabel_content_types(apps, schema_editor, "chains", "studio")


class Migration(migrations.Migration):
    """State only: ``chains.0001_initial`` took over the ``studio_chain*`` tables as they are."""

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('studio', '0002_chains'),
        ('chains', '0001_initial'),
        # The deployment's foreign key must point at chains.Chain before studio.Chain leaves the state.
        ('deployments', '0005_deployment_chain_to_chains_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                # Leaves first: a model is deleted only once nothing left in the state points at it.
                migrations.DeleteModel(name='ChainMessage'),
                migrations.DeleteModel(name='ChainConversation'),
                migrations.DeleteModel(name='ChainLabel'),
                migrations.DeleteModel(name='ChainVersion'),
                migrations.DeleteModel(name='Chain'),
            ],
        ),
        migrations.RunPython(content_types_to_chains, content_types_to_studio),
    ]
