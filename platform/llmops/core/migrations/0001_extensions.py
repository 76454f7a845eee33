"""PostgreSQL extensions the platform needs: pgvector, pg_trgm, btree_gist.

Django skips an extension that already exists, so a database where an administrator created them beforehand
needs no superuser here; the embedded server creates them in template1.
"""

from django.contrib.postgres.operations import BtreeGistExtension, TrigramExtension
from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [VectorExtension(), TrigramExtension(), BtreeGistExtension()]
