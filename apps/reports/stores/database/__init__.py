"""The database store: raw events and rollups in the tables of the database itself (DATABASE_URL),
PostgreSQL or SQLite, each through its dialect."""

from datetime import date

from django.db import connection
from psycopg.types.json import Jsonb

from apps.ingestion.models import Event
from apps.ingestion.storage import EVENT_COLUMNS
from apps.properties.models import Property
from apps.reports.models import EventRollup, SessionRollup
from apps.reports.queries.query import Query
from apps.reports.stores.base import EventStore
from apps.reports.stores.database.compiler import CompiledQuery
from apps.reports.stores.database.dialects import DIALECTS
from apps.reports.stores.database.grains import (
    EVENT_ROW_COLUMNS,
    SESSION_ROW_COLUMNS,
    raw_event_rows_sql,
    raw_session_rows_sql,
    vendor_sql,
    visits_sql,
)


class DatabaseStore(EventStore):
    def write(self, rows: list[dict]) -> None:
        """On PostgreSQL the rows are COPYed into a per-session temporary table and moved with one
        INSERT … SELECT … ON CONFLICT DO NOTHING: a fraction of the CPU of the ORM's bulk insert
        (docs/benchmarks.md). On SQLite, the ORM's bulk insert."""
        if connection.vendor != "postgresql":
            Event.objects.bulk_create([Event(**row) for row in rows], ignore_conflicts=True, batch_size=500)
            return
        columns = ", ".join(EVENT_COLUMNS)
        with connection.cursor() as cursor, connection.wrap_database_errors:
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS event_load"
                f" AS SELECT {columns} FROM {Event._meta.db_table} WITH NO DATA"
            )
            with cursor.copy(f"COPY event_load ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([Jsonb(row[name]) if name == "data" else row[name] for name in EVENT_COLUMNS])
            cursor.execute(
                f"INSERT INTO {Event._meta.db_table} ({columns}) SELECT {columns} FROM event_load"
                f" ORDER BY property_id, event_id ON CONFLICT (property_id, event_id) DO NOTHING"
            )
            cursor.execute("DELETE FROM event_load")

    def day_refresh(self, *, property_id: int, day: date) -> None:
        SessionRollup.objects.filter(property_id=property_id, day=day).delete()
        EventRollup.objects.filter(property_id=property_id, day=day).delete()
        of_day = "e.property_id = %s AND e.day = %s"
        event_grain = ", ".join(EVENT_ROW_COLUMNS[:-1])
        events = Event._meta.db_table
        visit_key = f"NULLIF(v.session_key, {events}.session_key)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SessionRollup._meta.db_table} (property_id, {', '.join(SESSION_ROW_COLUMNS)})"
                # In index order: a range's rows are then read page after page, not one page per row.
                f" SELECT %s, computed.* FROM ({raw_session_rows_sql(of_day)}) computed ORDER BY session_key",
                [property_id, property_id, day],
            )
            cursor.execute(
                f"INSERT INTO {EventRollup._meta.db_table} (property_id, {', '.join(EVENT_ROW_COLUMNS)})"
                f" SELECT %s, {event_grain}, SUM(events) FROM ({raw_event_rows_sql(of_day)}) computed"
                f" GROUP BY {event_grain}",
                [property_id, property_id, day],
            )
            # Only the keys that changed are written, and most events' visit is their session: a
            # refresh rewrites few rows of the events table. The day's visits are computed once and
            # the day named on both sides, so that even a table without statistics yet (a first
            # load), joined row by row, joins the day's rows to them, not the table's to a rerun.
            cursor.execute(
                f"WITH v AS MATERIALIZED ({visits_sql(of_day, ('id', 'session_key'))})"
                f" UPDATE {events} SET visit_key = {visit_key} FROM v"
                f" WHERE {events}.property_id = %s AND {events}.day = %s AND {events}.id = v.id"
                f" AND {events}.visit_key {vendor_sql('IS DISTINCT FROM', 'IS NOT')} {visit_key}",
                [property_id, day, property_id, day],
            )

    def days_delete_before(self, *, property_id: int, day: date) -> int:
        for rollup in (SessionRollup, EventRollup):
            rollup.objects.filter(property_id=property_id, day__lt=day).delete()
        return Event.objects.filter(property_id=property_id, day__lt=day).delete()[0]

    def events_reday(self, *, property: Property) -> set[date]:
        events = Event.objects.filter(property=property)
        days = set(events.values_list("day", flat=True).distinct())
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {Event._meta.db_table} SET day = (ts AT TIME ZONE %s)::date WHERE property_id = %s",
                    [property.timezone, property.pk],
                )
        else:
            tz = property.tzinfo
            rows = [Event(pk=pk, day=ts.astimezone(tz).date()) for pk, ts in events.values_list("pk", "ts")]
            Event.objects.bulk_update(rows, ["day"], batch_size=1000)
        return days | set(events.values_list("day", flat=True).distinct())

    def rows(self, *, property: Property, query: Query, first: date, last: date) -> list[tuple]:
        return CompiledQuery(property, query, first, last, DIALECTS[connection.vendor]).rows()
