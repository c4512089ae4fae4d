"""The ClickHouse store: raw events in a ClickHouse table (schema.py), reports computed from them
when asked (compiler.py), for the sites whose volume outgrows the database. Properties, keys,
accounts and the dirty-day marks stay in PostgreSQL, which the store also uses to order its writers.
"""

import os
import threading
import time
from datetime import date

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from apps.properties.models import Property
from apps.reports.periods import Period
from apps.reports.queries.query import IS, Condition, DateRange, Filter, Query
from apps.reports.queries.vocabulary import DIMENSIONS
from apps.reports.stores.base import EventStore
from apps.reports.stores.clickhouse.client import Client, client_connect
from apps.reports.stores.clickhouse.compiler import VISITORS, ClickHouseQuery
from apps.reports.stores.clickhouse.schema import COLUMNS, EVENT_COLUMNS, row_read, row_stored, table_create_sql
from apps.reports.stores.sql import Sql

MUTATION_POLL_SECONDS = 0.05


class ClickHouseStore(EventStore):
    def __init__(self) -> None:
        if not settings.CLICKHOUSE_URL:
            raise ImproperlyConfigured("CLICKMETER_EVENT_STORE=clickhouse needs CLICKHOUSE_URL.")
        self._local = threading.local()

    @property
    def client(self) -> Client:
        """This thread's connection to CLICKHOUSE_URL (a process forked after connecting opens its own)."""
        local = self._local
        key = (os.getpid(), settings.CLICKHOUSE_URL)
        if getattr(local, "key", None) != key:
            local.client, local.key = client_connect(settings.CLICKHOUSE_URL), key
        return local.client

    @property
    def table(self) -> str:
        return f"{self.client.database}.events"

    def schema_migrate(self) -> None:
        self.client.execute(f"CREATE DATABASE IF NOT EXISTS {self.client.database}")
        self.client.execute(table_create_sql(self.table))

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
            of_days = [day for p, day in days if p == property_id]
            stored |= {
                (property_id, day, event_id)
                for day, event_id in self.client.execute(
                    f"SELECT day, event_id FROM {self.table} WHERE property_id = %s AND day IN %s AND event_id IN %s",
                    [property_id, tuple(of_days), tuple(ids)],
                )
            }
        new = []
        for row in rows:
            key = (row["property_id"], _day(row["day"]), row["event_id"])
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
            self._mutate(f"ALTER TABLE {self.table} DELETE WHERE {where}", [property_id, day])
        return count

    def events_reday(self, *, property: Property) -> set[date]:
        """The day is part of the sort key, which ClickHouse cannot update: the events whose local day
        changed are copied with the new day to a table beside, deleted, and inserted back. Between
        the deletion and the insertion (seconds) the property's reports miss them."""
        local_day = "toDate(toDateTime(intDiv(ts, 1000000)), %s)"
        moved = f"property_id = %s AND day != {local_day}"
        params = [property.pk, property.timezone]
        days = {
            _day(day)
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
        self._mutate(f"ALTER TABLE {self.table} DELETE WHERE {moved}", params)
        self.client.execute(f"INSERT INTO {self.table} SELECT * FROM {beside}")
        self.client.execute(f"DROP TABLE {beside}")
        return days | {
            _day(day)
            for (day,) in self.client.execute(
                f"SELECT DISTINCT day FROM {self.table} WHERE property_id = %s", [property.pk]
            )
        }

    def rows(self, *, property: Property, query: Query, first: date, last: date) -> list[tuple]:
        return ClickHouseQuery(property, query, first, last, self.table).rows(self.client)

    def first_day(self, *, property: Property) -> date | None:
        found = self.client.execute(
            f"SELECT day FROM {self.table} WHERE property_id = %s ORDER BY day LIMIT 1", [property.pk]
        )
        return _day(found[0][0]) if found else None

    def event_data(
        self, *, property: Property, first: date, last: date, event_type: str, filters: tuple[Filter, ...], limit: int
    ) -> list[dict]:
        of_type = Condition(IS, DIMENSIONS["event:name"], (event_type,))
        query = Query(metrics=("events",), date_range=DateRange(first=first, last=last), filters=(*filters, of_type))
        facts = ClickHouseQuery(property, query, first, last, self.table).facts(
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
        totals = self.client.execute(
            f"SELECT property_id, {VISITORS} {of_periods} GROUP BY property_id", params
        )
        return {
            **{(property_id, _day(day)): visitors for property_id, day, visitors in daily},
            **{(property_id, None): visitors for property_id, visitors in totals},
        }

    def events(self, *, property: Property) -> list[dict]:
        found = self.client.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM {self.table} WHERE property_id = %s ORDER BY day, event_id",
            [property.pk],
        )
        return [row_read(values) for values in found]

    def _mutate(self, sql: str, params: list) -> None:
        """Run an ALTER … DELETE and wait until it is done (a mutation runs in the background on every
        release; only newer ones can be asked to wait)."""
        self.client.execute(sql, params)
        database, table = self.table.split(".")
        while self.client.execute(
            "SELECT count() FROM system.mutations WHERE database = %s AND table = %s AND is_done = 0",
            [database, table],
        )[0][0]:
            time.sleep(MUTATION_POLL_SECONDS)


def _day(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value
