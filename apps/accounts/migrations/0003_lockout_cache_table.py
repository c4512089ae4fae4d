from django.conf import settings
from django.core.management import call_command
from django.db import migrations


def lockout_cache_table_create(apps_registry, schema_editor):
    """Create the failed-login table when lockouts are counted in the database (no Redis configured)."""
    if settings.CACHES["lockout"]["BACKEND"].endswith("DatabaseCache"):
        call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_organization_public_id_invitation")]

    operations = [migrations.RunPython(lockout_cache_table_create, migrations.RunPython.noop, elidable=True)]
