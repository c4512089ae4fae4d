"""What the database store's SQL says differently on each database: one dialect (stores/sql.py) per
database, chosen by the connection's vendor.

SQLite has neither regular expressions nor time zones: `sqlite_functions_register` gives each
SQLite connection the functions its dialect calls: RE2's search (the same subset means the same as
PostgreSQL's `~`, safe_regex.py), the local minute and hour of a time in a named timezone, the exact
microseconds between two times, and the 64-bit key of a text (ingestion.identity.text_key).
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from apps.ingestion.identity import text_key
from apps.reports.queries.safe_regex import safe_regex_compile
from apps.reports.queries.vocabulary import CLOCK_BUCKETS, time_bucket
from apps.reports.stores.sql import Dialect


class PostgresDialect(Dialect):
    # Grouping paths in the database's language collation took a third longer (bench/dashboard).
    byte_order = ' COLLATE "C"'

    def contains(self, column: str) -> str:
        return f"strpos({column}, %s) > 0"

    def matches(self, column: str) -> str:
        return f"{column} ~ %s"

    def prop(self) -> str:
        data = self.event_column("data")
        text = "p.value #>> '{}'"
        integer = f"CASE WHEN {text} ~ '^-?[0-9]+$' THEN {text} ELSE '' END"
        return (
            f"(SELECT CASE jsonb_typeof(p.value) WHEN 'string' THEN {text} WHEN 'boolean' THEN {text}"
            f" WHEN 'number' THEN {integer} ELSE '' END FROM (SELECT {data} -> %s AS value) p)"
        )

    def day(self, day: str) -> str:
        return day

    def week(self, day: str) -> str:
        return f"({day} - (EXTRACT(ISODOW FROM {day})::int - 1))"

    def month(self, day: str) -> str:
        return f"CAST(date_trunc('month', {day}) AS date)"

    def clock(self, ts: str, bucket: str) -> str:
        return f"date_trunc('{bucket}', {ts} AT TIME ZONE %s)"

    def microseconds_between(self, first: str, last: str) -> str:
        return f"CAST(EXTRACT(EPOCH FROM ({last} - {first})) * 1000000 AS bigint)"

    def starts_with(self, column: str) -> str:
        return f"starts_with({column}, %s)"

    def epoch_microseconds(self, ts: str) -> str:
        # EXTRACT answers a numeric (PostgreSQL 14 on): exact to the microsecond.
        return f"CAST(EXTRACT(EPOCH FROM {ts}) * 1000000 AS bigint)"


class SqliteDialect(Dialect):
    def contains(self, column: str) -> str:
        # instr, not LIKE: SQLite's LIKE ignores the case of ASCII letters.
        return f"instr({column}, %s) > 0"

    def matches(self, column: str) -> str:
        return f"clickmeter_matches({column}, %s)"

    def prop(self) -> str:
        data = self.event_column("data")
        return (
            "COALESCE((SELECT CASE kv.type WHEN 'text' THEN kv.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'"
            f" WHEN 'integer' THEN CAST(kv.value AS TEXT) ELSE '' END FROM json_each({data}) kv WHERE kv.key = %s), '')"
        )

    def day(self, day: str) -> str:
        return f"date({day})"

    def week(self, day: str) -> str:
        return f"date({day}, '-' || ((CAST(strftime('%%w', {day}) AS INTEGER) + 6) %% 7) || ' days')"

    def month(self, day: str) -> str:
        return f"date({day}, 'start of month')"

    def clock(self, ts: str, bucket: str) -> str:
        return f"clickmeter_local_{bucket}({ts}, %s)"

    def microseconds_between(self, first: str, last: str) -> str:
        # julianday's doubles are not exact to the microsecond: a mean of 7.5 s could round to 7.
        return f"clickmeter_microseconds_between({first}, {last})"

    def starts_with(self, column: str) -> str:
        return f"instr({column}, %s) = 1"

    def epoch_microseconds(self, ts: str) -> str:
        # SQLite keeps a time as UTC text.
        return self.microseconds_between("'1970-01-01 00:00:00'", ts)


DIALECTS: dict[str, Dialect] = {"postgresql": PostgresDialect(), "sqlite": SqliteDialect()}


def _matches(value: str | None, pattern: str) -> bool:
    return value is not None and _compiled(pattern).search(value) is not None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    return safe_regex_compile(pattern)


def _local_clock(bucket: str) -> Callable[[str | None, str], str | None]:
    def local(ts: str | None, timezone: str) -> str | None:
        """SQLite keeps a time as UTC text; the label of its `bucket` in `timezone`."""
        if ts is None:
            return None
        return time_bucket(bucket, datetime.fromisoformat(ts).replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)))

    return local


def _microseconds_between(first: str | None, last: str | None) -> int | None:
    if first is None or last is None:
        return None
    return (datetime.fromisoformat(last) - datetime.fromisoformat(first)) // timedelta(microseconds=1)


def sqlite_functions_register(sender: object, connection: Any, **kwargs: object) -> None:
    """connection_created's receiver: SQLite connections learn the functions SqliteDialect calls."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("clickmeter_matches", 2, _matches, deterministic=True)
        for bucket in CLOCK_BUCKETS:
            connection.connection.create_function(
                f"clickmeter_local_{bucket}", 2, _local_clock(bucket), deterministic=True
            )
        connection.connection.create_function(
            "clickmeter_microseconds_between", 2, _microseconds_between, deterministic=True
        )
        connection.connection.create_function("clickmeter_text_key", 1, text_key, deterministic=True)
