import secrets

import django.utils.timezone
from django.db import migrations, models

ARRIVAL_SLOTS = 512


def arrival_from_received_at(apps_registry, schema_editor):
    """Events stored before arrival was recorded arrived no later than their request: received_at."""
    table = apps_registry.get_model("ingestion", "Event")._meta.db_table
    if schema_editor.connection.vendor == "postgresql":
        microseconds = "(EXTRACT(EPOCH FROM received_at) * 1000000)::bigint"
    else:
        microseconds = "CAST((julianday(received_at) - 2440587.5) * 86400000000 AS INTEGER)"
    schema_editor.execute(f"UPDATE {table} SET arrival = {microseconds} * {ARRIVAL_SLOTS}")


def event_days_mark_dirty(apps_registry, schema_editor):
    """Sessions are now split where a new campaign begins: every day with events is read raw until
    the refresh rebuilds its rollups."""
    Event = apps_registry.get_model("ingestion", "Event")
    DirtyDay = apps_registry.get_model("ingestion", "DirtyDay")
    now = django.utils.timezone.now()
    for property_id, day in Event.objects.values_list("property_id", "day").distinct():
        DirtyDay.objects.update_or_create(
            property_id=property_id,
            day=day,
            defaults={"token": secrets.randbits(62), "marked_at": now},
            create_defaults={"token": secrets.randbits(62), "marked_at": now, "first_marked_at": now},
        )


class Migration(migrations.Migration):
    dependencies = [("ingestion", "0002_event_identity_keys")]

    operations = [
        migrations.AddField(
            model_name="event", name="arrival", field=models.BigIntegerField(default=0), preserve_default=False
        ),
        migrations.RunPython(arrival_from_received_at, migrations.RunPython.noop),
        migrations.RunPython(event_days_mark_dirty, migrations.RunPython.noop),
    ]
