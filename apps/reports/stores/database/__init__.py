"""The database store: raw events and rollups in the tables of the database itself (DATABASE_URL),
PostgreSQL or SQLite, each through its dialect."""

import json
from datetime import date, datetime

from django.db import connection
from django.db.models import Count, Min, Q
from psycopg.types.json import Jsonb

from apps.ingestion.models import Event
from apps.ingestion.storage import EVENT_COLUMNS
from apps.properties.models import Property
from apps.reports.models import ROLLUPS
from apps.reports.periods import Period
from apps.reports.queries.query import Filter, Query, filtered_dimensions
from apps.reports.queries.vocabulary import VISIT
from apps.reports.stores.base import EventStore
from apps.reports.stores.database.compiler import CompiledQuery
from apps.reports.stores.database.dialects import DIALECTS
from apps.reports.stores.database.grains import (
    GRAINS,
    IN_RANGE,
    grain_rows_sql,
    keyed_events_sql,
    stored_rows_sql,
    vendor_sql,
    visits_sql,
)
from apps.reports.stores.sql import filter_sql


class DatabaseStore(EventStore):
    def schema_migrate(self) -> None:
        """Nothing: the store's tables are the database's, which `manage.py migrate` creates."""

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
        of_day = "e.property_id = %s AND e.day = %s"
        events = Event._meta.db_table
        visit_key = f"NULLIF(v.session_key, {events}.session_key)"
        for rollup in ROLLUPS:
            rollup.objects.filter(property_id=property_id, day=day).delete()
        with connection.cursor() as cursor:
            for grain in GRAINS.values():
                cursor.execute(
                    f"INSERT INTO {grain.rollup._meta.db_table} (property_id, {', '.join(grain.columns)})"
                    f" SELECT %s, stored.* FROM ({stored_rows_sql(grain, of_day)}) stored",
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
        for rollup in ROLLUPS:
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

    def compiled(
        self, *, property: Property, query: Query, first: date, last: date, marks: tuple[Filter, ...] = ()
    ) -> CompiledQuery:
        return CompiledQuery(property, query, first, last, DIALECTS[connection.vendor], marks)

    def events_delete(self, *, property_id: int, event_id_prefix: str) -> set[date]:
        events = Event.objects.filter(property_id=property_id, event_id__startswith=event_id_prefix)
        days = set(events.values_list("day", flat=True).distinct())
        events.delete()
        return days

    def events_page(
        self,
        *,
        property: Property,
        since: datetime,
        until: datetime,
        equal: dict[str, str],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[dict]:
        tz = property.tzinfo
        days = (since.astimezone(tz).date(), until.astimezone(tz).date())
        events = Event.objects.filter(property=property, day__range=days, ts__range=(since, until), **equal)
        if after is not None:
            ts, event_id = after
            events = events.filter(Q(ts__gt=ts) | Q(ts=ts, event_id__gt=event_id))
        return list(events.order_by("ts", "event_id").values(*EVENT_COLUMNS)[:limit])

    def visit_events(self, *, property: Property, day: date, visit_key: int) -> list[dict]:
        keyed, params = keyed_events_sql(property, day, day, ("id", "session_key"))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT k.id FROM ({keyed}) k WHERE k.session_key = %s", [*params, visit_key])
            ids = [id for (id,) in cursor.fetchall()]
        events = Event.objects.filter(property=property, day=day, pk__in=ids).values(*EVENT_COLUMNS)
        # In Python: event ids in byte order (code points are), whatever the database's collation.
        return sorted(events, key=lambda event: (event["ts"], event["arrival"], event["event_id"]))

    def subject_events(self, *, property: Property, field: str, value: str) -> list[dict]:
        events = Event.objects.filter(property=property, **{field: value})
        return list(events.order_by("ts", "event_id").values(*EVENT_COLUMNS))

    def subject_delete(self, *, property_id: int, field: str, value: str) -> dict[date, int]:
        events = Event.objects.filter(property_id=property_id, **{field: value})
        days = dict(events.values_list("day").annotate(events=Count("*")).order_by())
        events.delete()
        return days

    def events(self, *, property: Property, day: date | None = None) -> list[dict]:
        events = Event.objects.filter(property=property, **({"day": day} if day else {}))
        return list(events.order_by("day", "event_id").values(*EVENT_COLUMNS))

    def events_per_day(self, *, property: Property) -> dict[date, int]:
        counted = Event.objects.filter(property=property).values("day").annotate(events=Count("*"))
        return {row["day"]: row["events"] for row in counted}

    def first_day(self, *, property: Property) -> date | None:
        first: date | None = Event.objects.filter(property=property).aggregate(first=Min("day"))["first"]
        return first

    def event_data(
        self, *, property: Property, first: date, last: date, event_type: str, filters: tuple[Filter, ...], limit: int
    ) -> list[dict]:
        """Event data is kept only on raw events, so this reads them over the whole range; a filter
        on a visit dimension keeps the events of the matching visits."""
        condition, condition_params = filter_sql(filters, DIALECTS[connection.vendor])
        condition = f" AND {condition}" if condition else ""
        events, params = f"{Event._meta.db_table} e", []
        if any(d.scope == VISIT for d in filtered_dimensions(filters)):
            sessions_sql, sessions_params = grain_rows_sql("sessions", property, first, last)
            columns = ("property_id", "day", "session_key", "visitor_key", "type", "hostname", "path", "data")
            keyed, keyed_params = keyed_events_sql(property, first, last, columns)
            events = f"({keyed}) e JOIN ({sessions_sql}) s ON s.day = e.day AND s.session_key = e.session_key"
            params = [*keyed_params, *sessions_params]
        pairs = vendor_sql("CROSS JOIN LATERAL jsonb_each_text(e.data) kv", "CROSS JOIN json_each(e.data) kv")
        # JSON true/false read as PostgreSQL writes them (SQLite's json_each gives 1 and 0).
        value = vendor_sql(
            "kv.value", "CASE WHEN kv.type IN ('true', 'false') THEN kv.type ELSE CAST(kv.value AS TEXT) END"
        )
        sql = (
            f"SELECT kv.key, {value} AS value, COUNT(*) AS events,"
            " COUNT(DISTINCT e.visitor_key) AS unique_visitors"
            f" FROM {events} {pairs}"
            f" WHERE {IN_RANGE} AND e.type = %s{condition}"
            f" GROUP BY kv.key, {value} ORDER BY events DESC, kv.key, value LIMIT %s"
        )
        params = [*params, property.pk, first, last, event_type, *condition_params, limit]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [
                {"key": key, "value": value, "events": events, "unique_visitors": visitors}
                for key, value, events, visitors in cursor.fetchall()
            ]

    def page_sequences(self, *, property: Property, first: date, last: date, containing: str | None) -> list[list[str]]:
        """Read from the page sequence rollup (grains.raw_sequence_rows_sql computes dirty days'), as
        one JSON array of them: parsed at once, a fraction of the time of one parse per row."""
        sql, params = grain_rows_sql("sequences", property, first, last, columns=("paths",))
        holds = ""
        if containing is not None:
            holds = vendor_sql(
                " WHERE g.paths @> jsonb_build_array(%s::text)",
                " WHERE EXISTS (SELECT 1 FROM json_each(g.paths) p WHERE p.value = %s)",
            )
            params = [*params, containing]
        gathered = vendor_sql("json_agg(g.paths)::text", "json_group_array(json(g.paths))")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {gathered} FROM ({sql}) g{holds}", params)
            (sequences,) = cursor.fetchone()
        return json.loads(sequences) if sequences is not None else []

    def visitors_by_day(self, *, periods: dict[Property, Period]) -> dict[tuple[int, date | None], int]:
        """Read as the engine reads visits (rollups, and raw events for dirty days), an arm per property."""
        arms: list[str] = []
        params: list = []
        for prop, period in periods.items():
            rows_sql, rows_params = grain_rows_sql(
                "sessions", prop, period.date_from, period.date_to, columns=("day", "visitor_key")
            )
            arms.append(f"SELECT {int(prop.pk)} AS property_id, day, visitor_key FROM ({rows_sql}) arm_{len(arms)}")
            params += rows_params
        sql = (
            f"WITH sessions AS ({' UNION ALL '.join(arms)})"
            " SELECT property_id, day, COUNT(DISTINCT visitor_key) FROM sessions GROUP BY property_id, day"
            " UNION ALL SELECT property_id, NULL, COUNT(DISTINCT visitor_key) FROM sessions GROUP BY property_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {
                (property_id, None if day is None else date.fromisoformat(str(day)[:10])): visitors
                for property_id, day, visitors in cursor.fetchall()
            }
