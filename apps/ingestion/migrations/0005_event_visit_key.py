import secrets

from django.db import migrations, models
from django.utils import timezone


def days_mark_dirty(apps, schema_editor):
    """Mark every day with events dirty: reports compute its visits from raw events until the rollup
    refresh rebuilds the day and stores each event's visit key."""
    Event = apps.get_model("ingestion", "Event")
    DirtyDay = apps.get_model("ingestion", "DirtyDay")
    now = timezone.now()
    days = Event.objects.values_list("property_id", "day").distinct().order_by("property_id", "day")
    DirtyDay.objects.bulk_create(
        (
            DirtyDay(property_id=property_id, day=day, token=secrets.randbits(63), marked_at=now, first_marked_at=now)
            for property_id, day in days.iterator()
        ),
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0004_alter_droppedevents_managers"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="visit_key",
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunPython(days_mark_dirty, migrations.RunPython.noop),
    ]
