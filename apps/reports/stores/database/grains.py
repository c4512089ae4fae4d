"""The store's SQL of the grains the reports read, shared by the rollup refresh (which stores
them) and the engine (which reads them): visits (one row per visit and local day, with its first
event's attributes, entry and exit page, counts and times), events (per day, type, path,
hostname and visit, counted), identities (per day, each visitor with its lasting identities,
which retention reads, and the count of visitors alone) and page sequences (per visit, its
pageviews' paths in order, which journeys read), from the rollups for clean days and computed from
raw events, by the same SQL, for dirty days (and for every day when a query needs what rollups do
not keep).
"""

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any, NamedTuple

from django.db import connection

from apps.ingestion.identity import COOKIELESS_PREFIX, text_key_sql
from apps.ingestion.models import DirtyDay, Event
from apps.ingestion.schema import IDENTIFY
from apps.properties.models import Property
from apps.reports.models import EventRollup, IdentityRollup, PageSequenceRollup, SessionRollup
from apps.reports.queries.vocabulary import VISIT_ATTRIBUTE_COLUMNS

# The columns of the two grains, as the rollup tables store them and raw_*_rows_sql computes them.
SESSION_ROW_COLUMNS = (
    "day",
    "session_key",
    "visitor_key",
    *VISIT_ATTRIBUTE_COLUMNS,
    "entry_path",
    "exit_path",
    "pageviews",
    "events",
    "first_ts",
    "last_ts",
)
EVENT_ROW_COLUMNS = ("day", "type", "path", "hostname", "session_key", "visitor_key", "events")
IDENTITY_ROW_COLUMNS = ("day", "visitor_key", "person_key")
SEQUENCE_ROW_COLUMNS = ("day", "session_key", "visitor_key", "paths")
# What an event carries of a campaign: a new value starts a new visit (visits_sql).
CAMPAIGN_COLUMNS = ("campaign_id", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

PAGEVIEW = "type = 'pageview'"


def _byte_order() -> str:
    """Order ids as bytes: the same order everywhere (and in the tests' oracle), and faster than a language's."""
    return vendor_sql('COLLATE "C"', "")


def vendor_sql(postgresql: str, sqlite: str) -> str:
    """The SQL for this database; a literal % is written %% (the queries always take parameters)."""
    return postgresql if connection.vendor == "postgresql" else sqlite


def _in_arrival_order(descending: bool = False) -> str:
    """Events of a session in time order; events of the same time in the order they were received
    (identity.arrival), then by event id."""
    direction = " DESC" if descending else ""
    return f"ts{direction}, arrival{direction}, event_id {_byte_order()}{direction}"


def visits_sql(where: str, columns: tuple[str, ...]) -> str:
    """A SELECT of `columns` of the raw events matching `where` (alias e), `session_key` being the key
    of the event's visit: its session, split where a new campaign begins.

    Universal Analytics' rule: an event that carries a campaign (a campaign id or any UTM field)
    other than the last one its session carried starts a new visit, so that a campaign link opened
    mid-session (an email in the same tab, a server-side sender) counts for its campaign. `where`
    must select whole days: a visit depends on the session's earlier events. The first visit keeps
    the session's key; the n-th takes the key moved n towards zero (still a 64-bit integer, and
    as unlikely to meet another session's key as any two keys are). Without `session_key` among
    `columns`, the events as they are: no visit to compute.
    """
    if "session_key" not in columns:
        return f"SELECT {', '.join(f'e.{c}' for c in columns)} FROM {Event._meta.db_table} e WHERE {where}"
    carries = "(" + " OR ".join(f"{column} <> ''" for column in CAMPAIGN_COLUMNS) + ")"
    changed = " OR ".join(f"{column} <> COALESCE(LAG({column}) OVER touches, '')" for column in CAMPAIGN_COLUMNS)
    order = _in_arrival_order()
    needed = ", ".join(dict.fromkeys((*columns, "day", "session_key", "ts", "arrival", "event_id", *CAMPAIGN_COLUMNS)))
    outputs = ", ".join(
        "CASE WHEN visit = 0 THEN session_key WHEN session_key > 0 THEN session_key - visit"
        " ELSE session_key + visit END AS session_key"
        if column == "session_key"
        else column
        for column in columns
    )
    marked = (
        f"SELECT {needed}, CASE WHEN {carries}"
        f" AND ROW_NUMBER() OVER (PARTITION BY day, session_key ORDER BY {order}) > 1 AND ({changed})"
        f" THEN 1 ELSE 0 END AS starts FROM {Event._meta.db_table} e WHERE {where}"
        f" WINDOW touches AS (PARTITION BY day, session_key, {carries} ORDER BY {order})"
    )
    numbered = (
        f"SELECT {needed}, SUM(starts) OVER (PARTITION BY day, session_key ORDER BY {order}"
        f" ROWS UNBOUNDED PRECEDING) AS visit FROM ({marked}) marked"
    )
    return f"SELECT {outputs} FROM ({numbered}) numbered"


def raw_session_rows_sql(where: str) -> str:
    """A SELECT of SESSION_ROW_COLUMNS computed from the raw events matching `where` (alias e).

    One row per visit (visits_sql). Its attributes are its first event's and its entry/exit paths
    those of its first and last pageview, in time and arrival order.
    """
    first, last = _in_arrival_order(), _in_arrival_order(descending=True)
    attributes = VISIT_ATTRIBUTE_COLUMNS
    events = visits_sql(
        where, ("day", "session_key", "visitor_key", "type", "path", "ts", "arrival", "event_id", *attributes)
    )
    ranked = (
        f"SELECT day, session_key, visitor_key, type, path, ts, {', '.join(attributes)},"
        f" ROW_NUMBER() OVER (PARTITION BY day, session_key ORDER BY {first}) AS from_first,"
        f" ROW_NUMBER() OVER (PARTITION BY day, session_key, {PAGEVIEW} ORDER BY {first}) AS view_from_first,"
        f" ROW_NUMBER() OVER (PARTITION BY day, session_key, {PAGEVIEW} ORDER BY {last}) AS view_from_last"
        f" FROM ({events}) e"
    )
    firsts = ", ".join(f"MAX(CASE WHEN from_first = 1 THEN {column} END) AS {column}" for column in attributes)
    return (
        f"SELECT day, session_key, MAX(visitor_key) AS visitor_key, {firsts},"
        f" COALESCE(MAX(CASE WHEN {PAGEVIEW} AND view_from_first = 1 THEN path END), '') AS entry_path,"
        f" COALESCE(MAX(CASE WHEN {PAGEVIEW} AND view_from_last = 1 THEN path END), '') AS exit_path,"
        f" SUM(CASE WHEN {PAGEVIEW} THEN 1 ELSE 0 END) AS pageviews, COUNT(*) AS events,"
        f" MIN(ts) AS first_ts, MAX(ts) AS last_ts"
        f" FROM ({ranked}) ranked GROUP BY day, session_key"
    )


def raw_event_rows_sql(where: str, columns: tuple[str, ...] = EVENT_ROW_COLUMNS[:-1]) -> str:
    """A SELECT of EVENT_ROW_COLUMNS (of `columns` of them, then `events`) computed from the raw
    events matching `where` (alias e), one row per event, in its visit (visits_sql)."""
    return _counted(visits_sql(where, columns), columns, ())


def person_key_sql() -> str:
    """The key of a raw event e's lasting identity (sql.identity_value), NULL for none: the key of
    its user id hash (identity.text_key), else its visitor key unless its visitor id is cookieless.
    Keys group faster than the ids' text (docs/benchmarks.md: 760-951 against 1,202-2,124 ms)."""
    user_key = vendor_sql(text_key_sql("e.user_id_hash"), "clickmeter_text_key(e.user_id_hash)")
    return (
        f"CASE WHEN e.user_id_hash <> '' THEN {user_key} WHEN e.visitor_id <> ''"
        f" AND substr(e.visitor_id, 1, {len(COOKIELESS_PREFIX)}) <> '{COOKIELESS_PREFIX}' THEN e.visitor_key END"
    )


def raw_identity_rows_sql(where: str) -> str:
    """A SELECT of IDENTITY_ROW_COLUMNS computed from the raw events matching `where` (alias e)."""
    events = Event._meta.db_table
    return f"SELECT DISTINCT e.day, e.visitor_key, {person_key_sql()} AS person_key FROM {events} e WHERE {where}"


def raw_sequence_rows_sql(where: str) -> str:
    """A SELECT of SEQUENCE_ROW_COLUMNS computed from the raw events matching `where` (alias e): one
    row per visit (visits_sql) with a pageview, `paths` its pageviews' paths as a JSON array in
    time order, those of one moment by path as bytes (the order journeys.py walks them in)."""
    visit, order = "PARTITION BY day, session_key", f"ORDER BY ts, path {_byte_order()}"
    # An aggregate over a window with ORDER BY adds up in that order; SQLite's take none of their own.
    aggregated = vendor_sql("jsonb_agg", "json_group_array")
    events = visits_sql(where, ("day", "session_key", "visitor_key", "type", "path", "ts"))
    ranked = (
        f"SELECT day, session_key, MAX(visitor_key) OVER ({visit}) AS visitor_key,"
        f" {aggregated}(path) OVER ({visit} {order} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
        f" AS paths, ROW_NUMBER() OVER ({visit} {order}) AS nth FROM ({events}) e WHERE {PAGEVIEW}"
    )
    return f"SELECT day, session_key, visitor_key, paths FROM ({ranked}) ranked WHERE nth = 1"


def _counted(events: str, columns: tuple[str, ...], carried: tuple[str, ...]) -> str:
    return f"SELECT {', '.join((*columns, '1 AS events', *carried))} FROM ({events}) e"


# A property's raw events (alias e) over a range of days; parameters: property, first and last day.
IN_RANGE = "e.property_id = %s AND e.day BETWEEN %s AND %s"


def _dirty_days_sql() -> str:
    """The range's dirty days (parameters: property, first and last day) as a set, which the
    database evaluates once per statement, not per row."""
    return f"SELECT d.day FROM {DirtyDay._meta.db_table} d WHERE d.property_id = %s AND d.day BETWEEN %s AND %s"


def keyed_events_sql(
    property: Property, date_from: date, date_to: date, columns: tuple[str, ...]
) -> tuple[str, list[Any]]:
    """(SQL, params) of a SELECT of `columns` of the property's raw events over the range (whole
    days), `session_key` being the key of the event's visit: as the rollup refresh stored it on
    clean days (Event.visit_key), computed by visits_sql on dirty days."""
    stored = ", ".join(
        "COALESCE(e.visit_key, e.session_key) AS session_key" if column == "session_key" else f"e.{column}"
        for column in columns
    )
    sql = (
        f"SELECT {stored} FROM {Event._meta.db_table} e WHERE {IN_RANGE} AND e.day NOT IN ({_dirty_days_sql()})"
        f" UNION ALL {visits_sql(f'{IN_RANGE} AND e.day IN ({_dirty_days_sql()})', columns)}"
    )
    return sql, [property.pk, date_from, date_to] * 4


def user_trait_sql(property: Property, key: str, value: str) -> tuple[str, list[Any]]:
    """(SQL, params) of the trait `key` of each of the property's users (columns user_id_hash,
    value): the value in the last of the user's identify events (vocabulary.USER_PROPS_PREFIX) that
    gives one, in arrival order. `value` is the expression of an event e's value for the key given
    as its one parameter, '' for none (Dialect.prop)."""
    sql = (
        f"SELECT user_id_hash, value FROM (SELECT e.user_id_hash, {value} AS value,"
        f" ROW_NUMBER() OVER (PARTITION BY e.user_id_hash ORDER BY {_in_arrival_order(descending=True)}) AS latest"
        f" FROM {Event._meta.db_table} e WHERE e.property_id = %s AND e.type = %s AND e.user_id_hash <> ''"
        f" AND {value} <> '') traits WHERE latest = 1"
    )
    return sql, [key, property.pk, IDENTIFY, key]


class Grain(NamedTuple):
    rollup: Any
    # The SQL that computes its rows from the raw events matching a condition (alias e).
    raw_rows_sql: Callable[[str], str]
    columns: tuple[str, ...]
    # As the rollup stores them: rows summed into one per their other columns (their last column a
    # count), or in the order of the rollup's index (a range's rows then read page after page).
    summed: bool = False
    stored_order: str = ""


GRAINS = {
    "sessions": Grain(SessionRollup, raw_session_rows_sql, SESSION_ROW_COLUMNS, stored_order="session_key"),
    "events": Grain(EventRollup, raw_event_rows_sql, EVENT_ROW_COLUMNS, summed=True),
    "identities": Grain(IdentityRollup, raw_identity_rows_sql, IDENTITY_ROW_COLUMNS),
    "sequences": Grain(PageSequenceRollup, raw_sequence_rows_sql, SEQUENCE_ROW_COLUMNS),
}


def stored_rows_sql(grain: Grain, where: str) -> str:
    """A SELECT of the rows of `grain` as its rollup stores them, computed from the raw events
    matching `where` (alias e)."""
    computed = grain.raw_rows_sql(where)
    if grain.summed:
        *keys, count = grain.columns
        grouped = ", ".join(keys)
        return f"SELECT {grouped}, SUM({count}) AS {count} FROM ({computed}) computed GROUP BY {grouped}"
    order = f" ORDER BY {grain.stored_order}" if grain.stored_order else ""
    return f"SELECT * FROM ({computed}) computed{order}"


def grain_rows_sql(
    grain: str,
    property: Property,
    date_from: date,
    date_to: date,
    *,
    columns: tuple[str, ...] = (),
    raw: bool = False,
    data: bool = False,
    identity: bool = False,
) -> tuple[str, list[Any]]:
    """(SQL, params) of `columns` (default: all) of the rows of `grain` (GRAINS) over the range:
    the rollup's for clean days and those computed from raw events for dirty days; with `raw`,
    event rows of every day are raw events in their visits (keyed_events_sql), with `ts` and, when
    asked, `data` and (`identity`) `visitor_id` and `user_id_hash`."""
    assert raw or not (data or identity), "rollups keep no event data and no ids"
    assert grain == "events" or not raw, "only event rows are read raw on clean days"
    chosen = GRAINS[grain]
    asked = columns or chosen.columns
    selected = ", ".join(asked)
    compute = chosen.raw_rows_sql
    if grain == "events":
        # Only the event columns asked: without the visit's key, no split of sessions into visits.
        event_columns = tuple(c for c in EVENT_ROW_COLUMNS[:-1] if c in asked)
        compute = partial(raw_event_rows_sql, columns=event_columns)
    span = [property.pk, date_from, date_to]
    if raw:
        carried = ("ts", *(("data",) if data else ()), *(("visitor_id", "user_id_hash") if identity else ()))
        events, params = keyed_events_sql(property, date_from, date_to, (*event_columns, *carried))
        return f"SELECT {selected} FROM ({_counted(events, event_columns, carried)}) computed", params
    sql = (
        f"SELECT {selected} FROM {chosen.rollup._meta.db_table} r WHERE r.property_id = %s AND r.day BETWEEN %s AND %s"
        f" AND r.day NOT IN ({_dirty_days_sql()})"
        f" UNION ALL SELECT {selected} FROM"
        f" ({compute(f'{IN_RANGE} AND e.day IN ({_dirty_days_sql()})')}) computed"
    )
    return sql, span * 4
