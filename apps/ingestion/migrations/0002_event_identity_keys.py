from django.db import migrations, models

from apps.ingestion import identity

BATCH = 2000


def identity_keys_fill(apps_registry, schema_editor):
    Event = apps_registry.get_model("ingestion", "Event")
    table = Event._meta.db_table
    if schema_editor.connection.vendor == "postgresql":
        separated = (
            f"visitor_id || CASE WHEN session_id <> '' THEN chr({ord(identity.SESSION_SEPARATOR)}) || session_id"
            f" ELSE chr({ord(identity.OWN_SESSION_SEPARATOR)}) || event_id END"
        )
        schema_editor.execute(
            f"UPDATE {table} SET session_key = {identity.text_key_sql(separated)},"
            f" visitor_key = CASE WHEN visitor_id = '' THEN NULL ELSE {identity.text_key_sql('visitor_id')} END"
        )
        return
    pending = Event.objects.filter(session_key__isnull=True).order_by("pk")
    while rows := list(pending.only("pk", "event_id", "visitor_id", "session_id")[:BATCH]):
        for row in rows:
            row.visitor_key = identity.visitor_key(row.visitor_id)
            row.session_key = identity.session_key(
                visitor_id=row.visitor_id, session_id=row.session_id, event_id=row.event_id
            )
        Event.objects.bulk_update(rows, ["visitor_key", "session_key"])


class Migration(migrations.Migration):
    dependencies = [("ingestion", "0001_initial")]

    operations = [
        migrations.AddField(model_name="event", name="visitor_key", field=models.BigIntegerField(null=True)),
        migrations.AddField(model_name="event", name="session_key", field=models.BigIntegerField(null=True)),
        migrations.RunPython(identity_keys_fill, migrations.RunPython.noop),
        migrations.AlterField(model_name="event", name="session_key", field=models.BigIntegerField()),
    ]
