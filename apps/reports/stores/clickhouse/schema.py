"""The ClickHouse store's table, and an event row as it writes and reads it.

One table of raw events, a ReplacingMergeTree ordered by (property, day, session, event id): a
property's range is a contiguous scan, a session's events lie together, and a row of the same key
written twice is merged away in the background. No report waits for that merge: the store never
writes an event id a second time for its property and day (ClickHouseStore.write).

Written from release 18.16 to today's: times as whole microseconds since 1970 UTC (Int64; 18.16
has no DateTime64); custom properties as JSON (`data`) and, for reading without parsing JSON (18.16
has no JSON functions), as their keys with two texts of each value: what filters and groups
compare (`prop_values`, vocabulary.prop_text) and what the event-data table lists (`data_values`,
jsonb_text).
"""

import json
from datetime import UTC, date, datetime, timedelta

from apps.ingestion.storage import EVENT_COLUMNS
from apps.reports.queries.vocabulary import prop_text

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TIMES = ("ts", "received_at")
TYPES = {
    "property_id": "UInt64",
    "day": "Date",
    "session_key": "Int64",
    "event_id": "String",
    "ts": "Int64",
    "received_at": "Int64",
    "arrival": "Int64",
    "visitor_key": "Nullable(Int64)",
    "data": "String",
    "prop_keys": "Array(String)",
    "prop_values": "Array(String)",
    "data_values": "Array(Nullable(String))",
}
COLUMNS = (*EVENT_COLUMNS, "prop_keys", "prop_values", "data_values")
SORT_KEY = ("property_id", "day", "session_key", "event_id")


def microseconds(moment: datetime) -> int:
    """A time as the store keeps it: whole microseconds since 1970 UTC, exactly."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def table_create_sql(table: str, *, engine: str = "") -> str:
    """The events table, or with `engine` a table of the same columns on another engine."""
    columns = ", ".join(f"{name} {TYPES.get(name, 'String')}" for name in COLUMNS)
    engine = engine or f"ReplacingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY ({', '.join(SORT_KEY)})"
    return f"CREATE TABLE IF NOT EXISTS {table} ({columns}) ENGINE = {engine}"


def row_stored(row: dict) -> dict:
    """An event row (ingestion's EVENT_COLUMNS) as the table holds it."""
    stored = dict(row)
    for name in TIMES:
        stored[name] = microseconds(row[name])
    data = row["data"]
    # Most events carry no data: the JSON of none without asking json for it.
    stored["data"] = json.dumps(data, separators=(",", ":"), ensure_ascii=False) if data else "{}"
    stored["prop_keys"] = list(data)
    stored["prop_values"] = [prop_text(value) for value in data.values()]
    stored["data_values"] = [jsonb_text(value) for value in data.values()]
    return stored


def jsonb_text(value: object) -> str | None:
    """A JSON value as PostgreSQL's jsonb_each_text writes it (the database store's event data):
    a string as it is, null as None, anything else as jsonb's text (keys of an object by length,
    then bytes; a space after each comma and colon)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(_jsonb_ordered(value), ensure_ascii=False)


def _jsonb_ordered(value: object) -> object:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return {key: _jsonb_ordered(value[key]) for key in keys}
    if isinstance(value, list):
        return [_jsonb_ordered(item) for item in value]
    return value


def row_read(values: tuple) -> dict:
    """A row of EVENT_COLUMNS read back from the table, as ingestion wrote it."""
    row = dict(zip(EVENT_COLUMNS, values, strict=True))
    for name in TIMES:
        row[name] = EPOCH + timedelta(microseconds=row[name])
    row["data"] = json.loads(row["data"])
    if isinstance(row["day"], str):
        row["day"] = date.fromisoformat(row["day"])
    return row
