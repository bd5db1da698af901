"""The database cache's table (the default cache), created by ``migrate`` like any other.

``createcachetable`` creates the table of every configured database cache and skips
tables that exist, so running it again, or with another cache configured, is harmless.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
