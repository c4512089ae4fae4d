import secrets

import django.utils.timezone
from django.db import migrations, models


def rolled_up_days_mark_dirty(apps_registry, schema_editor):
    """Rollups made before these columns existed have no real times: read those days raw until refreshed."""
    DailyRollup = apps_registry.get_model("reports", "DailyRollup")
    DirtyDay = apps_registry.get_model("ingestion", "DirtyDay")
    now = django.utils.timezone.now()
    for property_id, day in DailyRollup.objects.values_list("property_id", "day").distinct():
        DirtyDay.objects.update_or_create(
            property_id=property_id,
            day=day,
            defaults={"token": secrets.randbits(62), "marked_at": now},
            create_defaults={"token": secrets.randbits(62), "marked_at": now, "first_marked_at": now},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("ingestion", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="dailyrollup",
            name="first_ts",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="dailyrollup",
            name="last_ts",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.RunPython(rolled_up_days_mark_dirty, migrations.RunPython.noop),
    ]
