"""The ClickHouse store: raw events in a ClickHouse table (schema.py), reports computed from them
when asked (compiler.py), for the sites whose volume outgrows the database. Properties, keys,
accounts and the dirty-day marks stay in PostgreSQL, which the store also uses to order its writers.
"""

import os
import threading
import time
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from apps.ingestion.identity import SUBJECT_FIELDS
from apps.properties.models import Property
from apps.reports.periods import Period
from apps.reports.queries.query import IS, Condition, DateRange, Filter, Query
from apps.reports.queries.vocabulary import DIMENSIONS
from apps.reports.stores.base import EVENT_FILTER_COLUMNS, EventStore
from apps.reports.stores.clickhouse.client import Client, client_connect
from apps.reports.stores.clickhouse.compiler import VISITORS, ClickHouseQuery, keyed_events_sql
from apps.reports.stores.clickhouse.schema import (
    COLUMNS,
    EVENT_COLUMNS,
    microseconds,
    row_read,
    row_stored,
    table_create_sql,
)
from apps.reports.stores.sql import Sql, day_read

MUTATION_POLL_SECONDS = 0.05
CHECKED_IDS_PER_STATEMENT = 2000


class ClickHouseStore(EventStore):
    def __init__(self) -> None:
        if not settings.CLICKHOUSE_URL:
            raise ImproperlyConfigured("CLICKMETER_EVENT_STORE=clickhouse needs CLICKHOUSE_URL.")
        self._local = threading.local()

    @property
    def client(self) -> Client:
        """This thread's connection to CLICKHOUSE_URL (a process forked after connecting opens its own).

        On a cluster, inserts into the Distributed table return once every shard has its rows (not
        queued for later: the next write's check must see them), and a subquery of the events inside
        a query of them reads each shard's own (every event of a property is on one shard)."""
        local = self._local
        key = (os.getpid(), settings.CLICKHOUSE_URL, settings.CLICKHOUSE_CLUSTER)
        if getattr(local, "key", None) != key:
            cluster = {"insert_distributed_sync": 1, "distributed_product_mode": "local"}
            local.client = client_connect(settings.CLICKHOUSE_URL, settings=cluster if key[2] else None)
            local.key, local.shards = key, None
        return local.client

    @property
    def table(self) -> str:
        """The events: the Distributed table over the shards' on a cluster."""
        return f"{self.client.database}.events"

    @property
    def _shard_table(self) -> str:
        """Where a shard keeps its events: the table itself on a single server."""
        return f"{self.client.database}.events_local" if settings.CLICKHOUSE_CLUSTER else self.table

    def _shards(self) -> list[Client]:
        """A connection to each shard of the cluster (CLICKHOUSE_URL's server alone without one)."""
        client, local = self.client, self._local
        if not settings.CLICKHOUSE_CLUSTER:
            return [client]
        if local.shards is None:
            found = client.execute(
                "SELECT host_address, port FROM system.clusters WHERE cluster = %s ORDER BY shard_num, replica_num",
                [settings.CLICKHOUSE_CLUSTER],
            )
            if not found:
                raise ImproperlyConfigured(f"CLICKHOUSE_CLUSTER={settings.CLICKHOUSE_CLUSTER!r}: no such cluster.")
            local.shards = [client_connect(settings.CLICKHOUSE_URL, host=host, port=port) for host, port in found]
        return local.shards

    def schema_migrate(self) -> None:
        """The events table on each shard; on a cluster, the Distributed table over them on each, so
        that any of its servers can be CLICKHOUSE_URL's."""
        for shard in self._shards():
            shard.execute(f"CREATE DATABASE IF NOT EXISTS {self.client.database}")
            shard.execute(table_create_sql(self._shard_table))
        if settings.CLICKHOUSE_CLUSTER:
            over_shards = (
                f"Distributed({settings.CLICKHOUSE_CLUSTER}, {self.client.database}, events_local, property_id)"
            )
            for shard in self._shards():
                shard.execute(table_create_sql(self.table, engine=over_shards))

    def write(self, rows: list[dict]) -> None:
        """Inserted as one block, after the event ids already stored for their property and day
        are taken out. Writers of the same property and day take turns: each holds a PostgreSQL
        lock of that day until its transaction ends, so the ids one writer checks are never being
        inserted by another."""
        if connection.vendor != "postgresql":
            raise ImproperlyConfigured("The ClickHouse store keeps its metadata in PostgreSQL (DATABASE_URL).")
        days = sorted({(row["property_id"], row["day"]) for row in rows})
        with connection.cursor() as cursor:
            for property_id, day in days:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [property_id, day.toordinal()])
        stored = set()
        for property_id in {p for p, _ in days}:
            ids = [row["event_id"] for row in rows if row["property_id"] == property_id]
            of_days = tuple(day for p, day in days if p == property_id)
            # In slices: a statement's text is capped (max_query_size, 256 KiB by default).
            for start in range(0, len(ids), CHECKED_IDS_PER_STATEMENT):
                stored |= {
                    (property_id, day_read(day), event_id)
                    for day, event_id in self.client.execute(
                        f"SELECT day, event_id FROM {self.table}"
                        " WHERE property_id = %s AND day IN %s AND event_id IN %s",
                        [property_id, of_days, tuple(ids[start : start + CHECKED_IDS_PER_STATEMENT])],
                    )
                }
        new = []
        for row in rows:
            key = (row["property_id"], day_read(row["day"]), row["event_id"])
            if key not in stored:
                stored.add(key)
                new.append(row_stored(row))
        if new:
            self.client.insert(self.table, COLUMNS, new)

    def day_refresh(self, *, property_id: int, day: date) -> None:
        """Nothing is kept but raw events: visits are cut when a report is asked (compiler.py)."""

    def days_delete_before(self, *, property_id: int, day: date) -> int:
        where = "property_id = %s AND day < %s"
        [(count,)] = self.client.execute(f"SELECT count() FROM {self.table} WHERE {where}", [property_id, day])
        if count:
            self._delete(where, [property_id, day])
        return count

    def events_delete(self, *, property_id: int, event_id_prefix: str) -> set[date]:
        # LIKE, as the oldest release served has no startsWith; a prefix holds no % or _.
        where, params = "property_id = %s AND event_id LIKE %s", [property_id, f"{event_id_prefix}%"]
        found = self.client.execute(f"SELECT DISTINCT day FROM {self.table} WHERE {where}", params)
        if found:
            self._delete(where, params)
        return {day_read(day) for (day,) in found}

    def events_reday(self, *, property: Property) -> set[date]:
        """The day is part of the sort key, which ClickHouse cannot update: the events whose local day
        changed are copied with the new day to a table beside, deleted, and inserted back. Between
        the deletion and the insertion (seconds) the property's reports miss them."""
        local_day = "toDate(toDateTime(intDiv(ts, 1000000)), %s)"
        moved = f"property_id = %s AND day != {local_day}"
        params = [property.pk, property.timezone]
        days = {
            day_read(day)
            for (day,) in self.client.execute(
                f"SELECT DISTINCT day FROM {self.table} WHERE property_id = %s", [property.pk]
            )
        }
        beside = f"{self.client.database}.events_reday_{property.pk}"
        # Unnamed: an alias `day` would be the `day` that the WHERE clause reads.
        columns = ", ".join(local_day if name == "day" else name for name in COLUMNS)
        self.client.execute(f"DROP TABLE IF EXISTS {beside}")
        self.client.execute(table_create_sql(beside))
        self.client.execute(
            f"INSERT INTO {beside} ({', '.join(COLUMNS)}) SELECT {columns} FROM {self.table} WHERE {moved}",
            [property.timezone, *params],
        )
        self._delete(moved, params)
        self.client.execute(f"INSERT INTO {self.table} SELECT * FROM {beside}")
        self.client.execute(f"DROP TABLE {beside}")
        return days | {
            day_read(day)
            for (day,) in self.client.execute(
                f"SELECT DISTINCT day FROM {self.table} WHERE property_id = %s", [property.pk]
            )
        }

    def compiled(
        self, *, property: Property, query: Query, first: date, last: date, marks: tuple[Filter, ...] = ()
    ) -> ClickHouseQuery:
        return ClickHouseQuery(property, query, first, last, self.table, self.client, marks)

    def first_day(self, *, property: Property) -> date | None:
        found = self.client.execute(
            f"SELECT day FROM {self.table} WHERE property_id = %s ORDER BY day LIMIT 1", [property.pk]
        )
        return day_read(found[0][0]) if found else None

    def event_data(
        self, *, property: Property, first: date, last: date, event_type: str, filters: tuple[Filter, ...], limit: int
    ) -> list[dict]:
        of_type = Condition(IS, DIMENSIONS["event:name"], (event_type,))
        query = Query(metrics=("events",), date_range=DateRange(first=first, last=last), filters=(*filters, of_type))
        facts = self.compiled(property=property, query=query, first=first, last=last).facts(
            [Sql("visitor_key"), Sql("prop_keys"), Sql("data_values")], carried=("prop_keys", "data_values")
        )
        found = self.client.execute(
            f"SELECT data_key, data_value, count() AS events, {VISITORS}"
            f" FROM ({facts.text}) facts ARRAY JOIN prop_keys AS data_key, data_values AS data_value"
            " GROUP BY data_key, data_value ORDER BY events DESC, data_key, data_value LIMIT %s",
            [*facts.params, limit],
        )
        return [
            {"key": key, "value": value, "events": events, "unique_visitors": visitors}
            for key, value, events, visitors in found
        ]

    def visitors_by_day(self, *, periods: dict[Property, Period]) -> dict[tuple[int, date | None], int]:
        arms = " OR ".join(["(property_id = %s AND day BETWEEN %s AND %s)"] * len(periods))
        params = [value for prop, period in periods.items() for value in (prop.pk, period.date_from, period.date_to)]
        of_periods = f"FROM {self.table} WHERE {arms}"
        daily = self.client.execute(
            f"SELECT property_id, day, {VISITORS} {of_periods} GROUP BY property_id, day", params
        )
        totals = self.client.execute(f"SELECT property_id, {VISITORS} {of_periods} GROUP BY property_id", params)
        return {
            **{(property_id, day_read(day)): visitors for property_id, day, visitors in daily},
            **{(property_id, None): visitors for property_id, visitors in totals},
        }

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
        assert set(equal) <= set(EVENT_FILTER_COLUMNS), equal  # column names in the SQL: only these
        tz = property.tzinfo
        where = ["property_id = %s", "day BETWEEN %s AND %s", "ts BETWEEN %s AND %s"]
        params: list = [property.pk, since.astimezone(tz).date(), until.astimezone(tz).date()]
        params += [microseconds(since), microseconds(until)]
        for column, value in equal.items():
            where.append(f"{column} = %s")
            params.append(value)
        if after is not None:
            where.append("(ts > %s OR (ts = %s AND event_id > %s))")
            params += [microseconds(after[0]), microseconds(after[0]), after[1]]
        found = self.client.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM {self.table} WHERE {' AND '.join(where)}"
            f" ORDER BY ts, event_id LIMIT {int(limit)}",
            params,
        )
        return [row_read(values) for values in found]

    def visit_events(self, *, property: Property, day: date, visit_key: int) -> list[dict]:
        of_day = [property.pk, day, day]
        found = self.client.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM {self.table} WHERE property_id = %s AND day = %s"
            " AND event_id IN (SELECT event_id FROM"
            f" ({keyed_events_sql(self.table, ('day', 'session_key', 'event_id'))}) keyed WHERE session_key = %s)",
            [property.pk, day, *of_day * 3, visit_key],
        )
        return sorted((row_read(values) for values in found), key=lambda e: (e["ts"], e["arrival"], e["event_id"]))

    def subject_events(self, *, property: Property, field: str, value: str) -> list[dict]:
        found = self.client.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM {self.table}"
            f" WHERE property_id = %s AND {self._subject_column(field)} = %s ORDER BY ts, event_id",
            [property.pk, value],
        )
        return [row_read(values) for values in found]

    def subject_delete(self, *, property_id: int, field: str, value: str) -> dict[date, int]:
        where, params = f"property_id = %s AND {self._subject_column(field)} = %s", [property_id, value]
        found = self.client.execute(f"SELECT day, count() FROM {self.table} WHERE {where} GROUP BY day", params)
        if found:
            self._delete(where, params)
        return {day_read(day): count for day, count in found}

    @staticmethod
    def _subject_column(field: str) -> str:
        assert field in SUBJECT_FIELDS, field  # a column name in the SQL: only these
        return field

    def events(self, *, property: Property, day: date | None = None) -> list[dict]:
        of_day = " AND day = %s" if day else ""
        found = self.client.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM {self.table}"
            f" WHERE property_id = %s{of_day} ORDER BY day, event_id",
            [property.pk, *([day] if day else [])],
        )
        return [row_read(values) for values in found]

    def page_sequences(self, *, property: Property, first: date, last: date, containing: str | None) -> list[list[str]]:
        events = keyed_events_sql(self.table, ("day", "session_key", "type", "path", "ts"))
        holding = " HAVING has(paths, %s)" if containing is not None else ""
        found = self.client.execute(
            "SELECT arrayMap(t -> t.2, arraySort(t -> (t.1, t.2), groupArray((ts, path)))) AS paths"
            f" FROM ({events}) keyed WHERE type = 'pageview' GROUP BY day, session_key{holding}",
            [*[property.pk, first, last] * 3, *([containing] if containing is not None else [])],
        )
        return [list(paths) for (paths,) in found]

    def events_per_day(self, *, property: Property) -> dict[date, int]:
        counted = self.client.execute(
            f"SELECT day, count() FROM {self.table} WHERE property_id = %s GROUP BY day", [property.pk]
        )
        return {day_read(day): events for day, events in counted}

    def _delete(self, where: str, params: list) -> None:
        """Delete the events matching `where` on every shard, and wait until each is done (a mutation
        runs in the background on every release; only newer ones can be asked to wait)."""
        database, table = self._shard_table.split(".")
        for shard in self._shards():
            shard.execute(f"ALTER TABLE {self._shard_table} DELETE WHERE {where}", params)
            while shard.execute(
                "SELECT count() FROM system.mutations WHERE database = %s AND table = %s AND is_done = 0",
                [database, table],
            )[0][0]:
                time.sleep(MUTATION_POLL_SECONDS)
