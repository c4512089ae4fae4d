"""The one query layer: every report, in the API and on the dashboard, is a MetricsQuery.

Reports read two grains (apps/reports/models.py): sessions, one row per session and day with the
session's attribution, place, device, entry and exit page; and events, counted per day, type,
path, hostname and session. A query needing no event dimension reads sessions only; one that
groups or filters by type, path or hostname reads events, joined to their sessions for session
dimensions. Each grain is read, in one SQL statement (one snapshot), from the rollup for the days
whose rollup is current and computed from raw events, by the same SQL that builds the rollup, for
the days marked dirty since: a new event shows at once, and a report from rollups equals the same
report from raw events (tests/reports/test_rollup_equivalence.py).
"""

import builtins
import hashlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from redis.exceptions import RedisError

from apps.ingestion import buffer
from apps.ingestion.models import DirtyDay, Event
from apps.properties.models import Property
from apps.reports.models import EventRollup, RollupGeneration, SessionRollup
from apps.reports.periods import Period


def source_digest(module_names: tuple[str, ...]) -> str:
    """Return a digest of the named modules' source, read from their files without importing them."""
    digest = hashlib.sha256()
    for name in module_names:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ImportError(f"No source file for {name}")
        digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()


# The code that computes reports. Its digest is part of every report's cache key, so a deploy that
# changes what a report means never serves the numbers the code before it computed.
REPORT_MODULES = (
    "apps.reports.models",
    "apps.reports.selectors",
    "apps.reports.services",
    "apps.reports.queries.dialects",
    "apps.reports.queries.engine",
    "apps.reports.queries.query",
    "apps.reports.queries.vocabulary",
)
REPORT_CODE_DIGEST = source_digest(REPORT_MODULES)

# Public dimension name -> column, in the order results list them. Event dimensions are each
# event's; session dimensions are its session's: those of its first event, and the paths of its
# first and last pageview (entry and exit page).
EVENT_DIMENSIONS = {"type": "type", "hostname": "hostname", "path": "path"}
SESSION_ATTRIBUTES = {
    "campaign_id": "campaign_key",
    "source": "source",
    "referrer": "referrer_host",
    "channel": "channel",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
    "country": "country",
    "region": "region",
    "city": "city",
    "browser": "browser",
    "os": "os",
    "device": "device",
}
SESSION_PAGES = {"entry_page": "entry_path", "exit_page": "exit_path"}
SESSION_DIMENSIONS = {**SESSION_ATTRIBUTES, **SESSION_PAGES}
DIMENSIONS = {"date": "day", **EVENT_DIMENSIONS, **SESSION_DIMENSIONS}
FILTERABLE = tuple(name for name in DIMENSIONS if name != "date")
GROUPABLE = FILTERABLE
# Metrics of events and their sessions, counted per group.
FACT_METRICS = ("pageviews", "unique_visitors", "sessions", "events")
# Metrics of whole sessions, each counted in the time bucket where it began: the share of sessions
# with pageviews that had exactly one (percent), the mean seconds from a session's first event to
# its last, and pageviews per session with pageviews.
SESSION_METRICS = ("bounce_rate", "visit_duration", "views_per_session")
METRICS = (*FACT_METRICS, *SESSION_METRICS)
# The columns of the two grains, as the rollup tables store them and raw_*_rows_sql computes them.
SESSION_ROW_COLUMNS = (
    "day",
    "session_key",
    "visitor_key",
    *SESSION_ATTRIBUTES.values(),
    "entry_path",
    "exit_path",
    "pageviews",
    "events",
    "first_ts",
    "last_ts",
)
EVENT_ROW_COLUMNS = ("day", "type", "path", "hostname", "session_key", "visitor_key", "events")
# What an event carries of a campaign: a new value starts a new visit (visits_sql).
CAMPAIGN_COLUMNS = ("campaign_id", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# "hour" reads raw events (rollups are daily); "week" starts on Monday.
INTERVALS = ("hour", "day", "week", "month")
# Hourly buckets come from raw events; a month of them is 744 points.
MAX_HOURLY_DAYS = 31
PAGEVIEW = "type = 'pageview'"


def _byte_order() -> str:
    """Order ids as bytes: the same order everywhere (and in the tests' oracle), and faster than a language's."""
    return _vendor_sql('COLLATE "C"', "")


def _vendor_sql(postgresql: str, sqlite: str) -> str:
    """The SQL for this database; a literal % is written %% (the queries always take parameters)."""
    return postgresql if connection.vendor == "postgresql" else sqlite


def _local_time_sql(column: str, property: Property, moment: datetime, postgresql_format: str, sqlite_format: str):
    """`column` (a time) as text in the property's timezone, in each database's format. SQLite has
    no time zones: it applies the property's offset at `moment`."""
    # A validated IANA name (Property.timezone's validator): letters, digits, _ + - / only.
    timezone = property.timezone.replace("'", "")
    offset = int((moment.astimezone(property.tzinfo).utcoffset() or timedelta()).total_seconds() // 60)
    return _vendor_sql(
        f"to_char({column} AT TIME ZONE '{timezone}', '{postgresql_format}')",
        f"strftime('{sqlite_format}', {column}, '{offset} minutes')",
    )


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
    as unlikely to meet another session's key as any two keys are).
    """
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
    attributes = tuple(SESSION_ATTRIBUTES.values())
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


def raw_event_rows_sql(where: str, *, data: bool = False) -> str:
    """A SELECT of EVENT_ROW_COLUMNS and `ts` (and `data` when asked), one row per raw event
    matching `where` (alias e), in its visit."""
    carried = ("ts", "data") if data else ("ts",)
    events = visits_sql(where, ("day", "type", "path", "hostname", "session_key", "visitor_key", *carried))
    columns = ", ".join(("day", "type", "path", "hostname", "session_key", "visitor_key", "1 AS events", *carried))
    return f"SELECT {columns} FROM ({events}) e"


def grain_rows_sql(
    grain: str,
    property: Property,
    date_from: date,
    date_to: date,
    *,
    columns: tuple = (),
    raw: bool = False,
    data: bool = False,
) -> tuple[str, list]:
    """(SQL, params) of `columns` (default: all) of the rows of `grain` ("sessions" or "events") over
    the range: the rollup's for clean days and those computed from raw events for dirty days, or for
    every day when `raw` (then event rows also have `ts`, and `data` when asked)."""
    assert raw or not data, "rollups keep no event data"
    compute = raw_session_rows_sql if grain == "sessions" else partial(raw_event_rows_sql, data=data)
    selected = ", ".join(columns or (SESSION_ROW_COLUMNS if grain == "sessions" else EVENT_ROW_COLUMNS))
    span = [property.pk, date_from, date_to]
    in_range = "e.property_id = %s AND e.day BETWEEN %s AND %s"
    if raw:
        return f"SELECT {selected} FROM ({compute(in_range)}) computed", span
    table = (SessionRollup if grain == "sessions" else EventRollup)._meta.db_table
    # The range's dirty days as a set, which the database evaluates once per arm, not per row.
    dirty = f"SELECT d.day FROM {DirtyDay._meta.db_table} d WHERE d.property_id = %s AND d.day BETWEEN %s AND %s"
    sql = (
        f"SELECT {selected} FROM {table} r WHERE r.property_id = %s AND r.day BETWEEN %s AND %s"
        f" AND r.day NOT IN ({dirty})"
        f" UNION ALL SELECT {selected} FROM ({compute(f'{in_range} AND e.day IN ({dirty})')}) computed"
    )
    return sql, span * 4


Answered = TypeVar("Answered")


def data_version(*, property: Property, date_from: date, date_to: date) -> tuple:
    """What identifies the data a report over the range reads: the property's rollup generation and
    the range's dirty days with their tokens, one of which changes with every write that can change
    a report (RollupGeneration)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT g.token FROM {RollupGeneration._meta.db_table} g WHERE g.property_id = %s),"
            f" d.day, d.token FROM (SELECT 1 AS one) one LEFT JOIN {DirtyDay._meta.db_table} d"
            " ON d.property_id = %s AND d.day BETWEEN %s AND %s ORDER BY d.day",
            [property.pk, property.pk, date_from, date_to],
        )
        rows = cursor.fetchall()
    return rows[0][0], [(day, token) for _, day, token in rows if day is not None]


def report_cached(
    *,
    property: Property,
    date_from: date,
    date_to: date,
    identity: object,
    compute: Callable[[], Answered],
    version: tuple | None = None,
) -> Answered:
    """compute()'s answer, from the report cache while the data it reads (`version`, read if not
    given) and the code that computes it are unchanged; `identity` names the question. Computed
    when the cache is off or Redis is down."""
    seconds = settings.CLICKMETER_REPORT_CACHE_SECONDS
    if not seconds or buffer.redis_outage():
        return compute()
    version = version or data_version(property=property, date_from=date_from, date_to=date_to)
    named = (property.pk, property.timezone, date_from, date_to, identity, version, REPORT_CODE_DIGEST)
    key = "clickmeter:report:" + hashlib.sha256(repr(named).encode()).hexdigest()
    try:
        answer = cache.get(key)
    except RedisError as exc:
        buffer.redis_failed(exc, "computing reports without the report cache")
        return compute()
    if answer is None:
        answer = compute()
        try:
            cache.set(key, answer, timeout=seconds)
        except RedisError as exc:
            buffer.redis_failed(exc, "computing reports without the report cache")
    return answer


class InvalidQuery(ValueError):
    """A combination of metrics, grouping and interval that has no meaning; `field` names the culprit."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class MetricsQuery:
    """Metrics for one property over `date_from`..`date_to` (inclusive, property-local days).

    `group_by` names dimensions; `interval` also groups by time (the row's `date`, or `hour` as
    local `YYYY-MM-DDTHH:00`); `filters` maps a dimension to the exact value it must have;
    `excluded` maps a dimension to a value it must not have; `non_empty` drops rows whose dimension
    is blank. A restriction by an event dimension keeps the matching events and, for sessions and
    visitors, the sessions with such an event; one by a session dimension keeps whole sessions.
    With an interval, `limit` caps the groups per time bucket, and buckets without events are
    listed with zeros when nothing else is grouped. Session metrics group by time only;
    entry_page/exit_page count sessions and their visitors only, without an interval.
    """

    property: Property
    date_from: date
    date_to: date
    metrics: tuple[str, ...] = ("pageviews", "unique_visitors", "sessions")
    group_by: tuple[str, ...] = ()
    interval: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    non_empty: tuple[str, ...] = ()
    limit: int = 50

    def __post_init__(self):
        unknown = [name for name in self.metrics if name not in METRICS]
        if unknown or not self.metrics:
            raise InvalidQuery(f"metrics takes {', '.join(METRICS)}.", field="metrics")
        if self.interval is not None and self.interval not in INTERVALS:
            raise InvalidQuery(f"interval must be one of {', '.join(INTERVALS)}.", field="interval")
        if self.interval == "hour" and (self.date_to - self.date_from).days >= MAX_HOURLY_DAYS:
            raise InvalidQuery(f"interval=hour spans at most {MAX_HOURLY_DAYS} days.", field="interval")
        session_pages = [name for name in self.group_by if name in SESSION_PAGES]
        if session_pages and (
            len(self.group_by) > 1 or self.interval or set(self.metrics) - {"sessions", "unique_visitors"}
        ):
            raise InvalidQuery(
                f"{session_pages[0]} groups alone, without an interval, by sessions and unique_visitors.",
                field="group_by",
            )
        if set(self.metrics) & set(SESSION_METRICS) and self.group_by:
            raise InvalidQuery(
                f"{', '.join(SESSION_METRICS)} group by time only (interval), not by dimensions.", field="metrics"
            )

    # builtins.property: in this class `property` names the field.
    @builtins.property
    def time_key(self) -> str | None:
        return None if self.interval is None else ("hour" if self.interval == "hour" else "date")

    @builtins.property
    def group_by_dimensions(self) -> tuple[str, ...]:
        return tuple(name for name in GROUPABLE if name in self.group_by)

    @builtins.property
    def dimensions(self) -> tuple[str, ...]:
        return ((self.time_key,) if self.time_key else ()) + self.group_by_dimensions

    def calculate(self) -> list[dict]:
        """The report's rows; from the report cache while the data it reads has not changed.

        By day, a day's rows depend on that day alone: a range whose days are partly still changing
        is answered per run of unchanged and changing days, so the unchanged runs keep coming from
        the cache while today's events arrive.
        """
        if not settings.CLICKMETER_REPORT_CACHE_SECONDS:
            return self._calculated()
        version = data_version(property=self.property, date_from=self.date_from, date_to=self.date_to)
        if self.interval == "day":
            runs = self._day_runs({str(day)[:10] for day, _ in version[1]})
            if len(runs) > 1:
                return [row for start, end in runs for row in replace(self, date_from=start, date_to=end).calculate()]
        identity = (
            self.metrics,
            self.group_by,
            self.interval,
            sorted(self.filters.items()),
            sorted(self.excluded.items()),
            self.non_empty,
            self.limit,
        )
        return report_cached(
            property=self.property,
            date_from=self.date_from,
            date_to=self.date_to,
            identity=identity,
            compute=self._calculated,
            version=version,
        )

    def _day_runs(self, dirty: set[str]) -> list[tuple[date, date]]:
        """The range cut into runs of consecutive days that are all dirty or all clean."""
        runs: list[tuple[date, date]] = []
        day = self.date_from
        while day <= self.date_to:
            if runs and (day.isoformat() in dirty) == (runs[-1][1].isoformat() in dirty):
                runs[-1] = (runs[-1][0], day)
            else:
                runs.append((day, day))
            day += timedelta(days=1)
        return runs

    def _calculated(self) -> list[dict]:
        sql, params = self._sql()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            names = [*self.dimensions, *self.metrics]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            for name in self.dimensions:
                if row[name] == "":
                    row[name] = None
                elif name == "date" and not isinstance(row[name], date):
                    row[name] = date.fromisoformat(str(row[name])[:10])
                elif name == "date" and isinstance(row[name], datetime):
                    row[name] = row[name].date()
            for name in self.metrics:
                row[name] = _metric_value(name, row[name])
        if not self.dimensions and not rows:
            rows = [{name: _metric_value(name, None) for name in self.metrics}]
        if self.dimensions == (self.time_key,) and self.time_key:
            rows = self._zero_filled(rows)
        return rows

    # --- SQL ---------------------------------------------------------------------------------

    @builtins.property
    def _pageviews_only(self) -> bool:
        """Whether the query reads sessions only and keeps type=pageview: those with pageviews."""
        return self.filters.get("type") == "pageview" and not self._reads_events

    @builtins.property
    def _reads_events(self) -> bool:
        """Whether facts come from event rows: by hour, or grouped or restricted by an event dimension
        (but for type=pageview, which sessions answer by their pageviews)."""
        restricted = [name for name in (*self.excluded, *self.non_empty) if name in EVENT_DIMENSIONS]
        restricted += [
            name
            for name, value in self.filters.items()
            if name in EVENT_DIMENSIONS and (name, value) != ("type", "pageview")
        ]
        return self.interval == "hour" or any(name in EVENT_DIMENSIONS for name in self.group_by) or bool(restricted)

    def _conditions(self, dimensions: dict[str, str], alias: str) -> tuple[list[str], list]:
        """WHERE conditions (and their parameters) of the filters, exclusions and non-blanks on `dimensions`."""
        conditions, params = [], []
        for name, value in sorted(self.filters.items()):
            if name in dimensions:
                conditions.append(f"{alias}.{dimensions[name]} = %s")
                params.append(value)
        for name, value in sorted(self.excluded.items()):
            if name in dimensions:
                conditions.append(f"{alias}.{dimensions[name]} <> %s")
                params.append(value)
        # Entry and exit pages are those of sessions with pageviews.
        non_empty = {*self.non_empty, *(name for name in self.group_by if name in SESSION_PAGES)}
        conditions += [f"{alias}.{dimensions[name]} <> ''" for name in sorted(non_empty) if name in dimensions]
        return conditions, params

    def _bucket_sql(self, alias: str, hour_column: str) -> str:
        if self.interval == "hour":
            # On SQLite, the offset at noon of the first day stands for the whole range.
            noon = datetime.combine(self.date_from, time(12), self.property.tzinfo)
            return _local_time_sql(
                f"{alias}.{hour_column}", self.property, noon, 'YYYY-MM-DD"T"HH24:00', "%%Y-%%m-%%dT%%H:00"
            )
        day = f"{alias}.day"
        if self.interval == "week":
            return _vendor_sql(
                f"({day} - (EXTRACT(ISODOW FROM {day})::int - 1))",
                f"date({day}, '-' || ((CAST(strftime('%%w', {day}) AS INTEGER) + 6) %% 7) || ' days')",
            )
        if self.interval == "month":
            return _vendor_sql(f"CAST(date_trunc('month', {day}) AS date)", f"date({day}, 'start of month')")
        return day if self.interval == "day" else "0"

    def _rows(self, grain: str) -> tuple[str, list]:
        """The rows of `grain` with the columns this query reads (fewer columns, faster scans)."""
        used = {*self.group_by, *self.filters, *self.excluded, *self.non_empty}
        if grain == "sessions":
            base = ("day", "session_key", "visitor_key", "pageviews", "events", "first_ts", "last_ts")
            dimensions = SESSION_DIMENSIONS
        else:
            base = (
                "day",
                "type",
                "session_key",
                "visitor_key",
                "events",
                *(("ts",) if self.interval == "hour" else ()),
            )
            dimensions = EVENT_DIMENSIONS
        columns = (*base, *(column for name, column in dimensions.items() if name in used and column not in base))
        return grain_rows_sql(
            grain, self.property, self.date_from, self.date_to, columns=columns, raw=self.interval == "hour"
        )

    def _sql(self) -> tuple[str, list]:
        sessions_sql, sessions_params = self._rows("sessions")
        session_conditions, session_params = self._conditions(SESSION_DIMENSIONS, "s")
        if not self._reads_events:
            if self._pageviews_only:
                session_conditions.append("s.pageviews > 0")
            where = f" WHERE {' AND '.join(session_conditions)}" if session_conditions else ""
            ctes = [
                f"sessions AS ({sessions_sql})",
                f"facts AS (SELECT s.*, {self._bucket_sql('s', 'first_ts')} AS bucket FROM sessions s{where})",
            ]
            return self._grouped_sql(ctes, [*sessions_params, *session_params], from_sessions=True)
        events_sql, events_params = self._rows("events")
        event_conditions, event_params = self._conditions(EVENT_DIMENSIONS, "e")
        needs_sessions = bool(session_conditions) or any(name in SESSION_DIMENSIONS for name in self.group_by)
        columns = ["e.day", "e.session_key", "e.visitor_key", "e.type", "e.events"]
        columns += [f"e.{column}" for name, column in EVENT_DIMENSIONS.items() if name in self.group_by]
        columns += [f"s.{column}" for name, column in SESSION_DIMENSIONS.items() if name in self.group_by]
        ctes = [f"events AS ({events_sql})"]
        params = [*events_params]
        joined = "events e"
        if needs_sessions:
            ctes.append(f"sessions AS ({sessions_sql})")
            params += sessions_params
            joined += " JOIN sessions s ON s.day = e.day AND s.session_key = e.session_key"
        conditions = [*event_conditions, *(session_conditions if needs_sessions else [])]
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        ctes.append(
            f"facts AS (SELECT {', '.join(dict.fromkeys(columns))}, {self._bucket_sql('e', 'ts')} AS bucket"
            f" FROM {joined}{where})"
        )
        params += [*event_params, *(session_params if needs_sessions else [])]
        if set(self.metrics) & set(SESSION_METRICS):
            # The sessions with a matching event, counted where they began.
            if not needs_sessions:
                ctes.append(f"sessions AS ({sessions_sql})")
                params += sessions_params
            matching = (
                " JOIN (SELECT DISTINCT day, session_key FROM facts) m"
                " ON m.day = s.day AND m.session_key = s.session_key"
            )
            ctes.append(
                f"session_facts AS (SELECT s.*, {self._bucket_sql('s', 'first_ts')} AS bucket FROM sessions s"
                f"{matching if event_conditions else ''}"
                f"{' WHERE ' + ' AND '.join(session_conditions) if session_conditions else ''})"
            )
            params += session_params
        return self._grouped_sql(ctes, params, from_sessions=False)

    def _grouped_sql(self, ctes: list[str], params: list, *, from_sessions: bool) -> tuple[str, list]:
        """Aggregate `facts` (session rows, or event rows with their sessions' columns) by time and dimensions.

        From event rows, sessions are counted as the distinct (day, session) pieces per group, and
        the session metrics come from `session_facts`, joined by time bucket.
        """
        quote = connection.ops.quote_name
        keys = [("bucket", self.time_key)] if self.time_key else []
        # Grouped and tie-broken in byte order: comparing a language's order cost a third of the time.
        keys += [(f"{DIMENSIONS[name]} {_byte_order()}", name) for name in self.group_by_dimensions]
        names = [quote(name) for _, name in keys]
        key_columns = [column for column, _ in keys]
        key_selects = [f"{column} AS {quote(name)}" for column, name in keys]

        def aggregate(name: str, source: str, expressions: dict[str, str]) -> str:
            selects = [*key_selects, *(f"{sql} AS {quote(metric)}" for metric, sql in expressions.items())]
            group = f" GROUP BY {', '.join(key_columns)}" if key_columns else ""
            return f"{name} AS (SELECT {', '.join(selects)} FROM {source}{group})"

        session_expressions = _session_rows_metrics(events="pageviews" if self._pageviews_only else "events")
        # Where each output column comes from: the table holding the keys, and each metric's.
        keys_from, metrics_from, joined = "totals", dict.fromkeys(self.metrics, "totals"), "totals"
        if from_sessions:
            ctes.append(aggregate("totals", "facts", {m: session_expressions[m] for m in self.metrics}))
        else:
            fact_metrics = [m for m in self.metrics if m in FACT_METRICS]
            expressions = {
                "pageviews": f"SUM(CASE WHEN {PAGEVIEW} THEN events ELSE 0 END)",
                "events": "SUM(events)",
                "unique_visitors": "COUNT(DISTINCT visitor_key)",
            }
            source = "facts"
            if "sessions" in fact_metrics:
                pieces = [*key_columns, "day", "session_key"]
                columns = [*(f"{column} AS {column.split()[0]}" for column in key_columns), "day", "session_key"]
                ctes.append(
                    f"pieces AS (SELECT {', '.join(columns)}, MAX(visitor_key) AS visitor_key, SUM(events) AS events,"
                    f" {expressions['pageviews']} AS pageviews FROM facts GROUP BY {', '.join(pieces)})"
                )
                source = "pieces"
                expressions = _session_rows_metrics(events="events")
            ctes.append(aggregate("totals", source, {m: expressions[m] for m in fact_metrics}))
            session_metrics = [m for m in self.metrics if m in SESSION_METRICS]
            if session_metrics:
                ctes.append(
                    aggregate("session_totals", "session_facts", {m: session_expressions[m] for m in session_metrics})
                )
                metrics_from.update(dict.fromkeys(session_metrics, "session_totals"))
                joined = "totals CROSS JOIN session_totals"
                if self.time_key:
                    time_key = quote(self.time_key)
                    ctes.append(
                        f"buckets AS (SELECT {time_key} FROM totals UNION SELECT {time_key} FROM session_totals)"
                    )
                    keys_from, joined = (
                        "buckets",
                        (
                            f"buckets LEFT JOIN totals ON totals.{time_key} = buckets.{time_key}"
                            f" LEFT JOIN session_totals ON session_totals.{time_key} = buckets.{time_key}"
                        ),
                    )
        columns = [f"{keys_from}.{name} AS {name}" for name in names]
        columns += [f"{metrics_from[m]}.{quote(m)} AS {quote(m)}" for m in self.metrics]
        sql = f"WITH {', '.join(ctes)} SELECT {', '.join(columns)} FROM {joined}"
        if not keys:
            return sql, params
        if self.dimensions == (self.time_key,):
            return f"{sql} ORDER BY {names[0]}", params
        order = ", ".join([f"{quote(self.metrics[0])} DESC", *names])
        if not self.time_key:
            return f"{sql} ORDER BY {order} LIMIT %s", [*params, self.limit]
        time_key = quote(self.time_key)
        all_names = ", ".join(quote(name) for name in (*self.dimensions, *self.metrics))
        ranked = f"SELECT {all_names}, ROW_NUMBER() OVER (PARTITION BY {time_key} ORDER BY {order}) AS row_rank"
        return (
            f"SELECT {all_names} FROM ({ranked} FROM ({sql}) grouped) ranked"
            f" WHERE row_rank <= %s ORDER BY {time_key}, row_rank",
            [*params, self.limit],
        )

    def _zero_filled(self, rows: list[dict]) -> list[dict]:
        by_bucket = {row[self.time_key]: row for row in rows}
        empty = {name: _metric_value(name, None) for name in self.metrics}
        return [by_bucket.get(bucket) or {self.time_key: bucket, **empty} for bucket in self.buckets()]

    def buckets(self) -> list:
        """Every time bucket of the range, in order: local hours, days, Mondays or first days of months."""
        days = [self.date_from + timedelta(days=n) for n in range((self.date_to - self.date_from).days + 1)]
        if self.interval == "hour":
            return [f"{day.isoformat()}T{hour:02d}:00" for day in days for hour in range(24)]
        if self.interval == "week":
            return sorted({day - timedelta(days=day.weekday()) for day in days})
        if self.interval == "month":
            return sorted({day.replace(day=1) for day in days})
        return days


def _session_rows_metrics(*, events: str) -> dict[str, str]:
    """Each metric over session rows (one per session), `events` naming the column that counts events."""
    viewing = "NULLIF(SUM(CASE WHEN pageviews > 0 THEN 1 ELSE 0 END), 0)"
    duration = _vendor_sql(
        "EXTRACT(EPOCH FROM (last_ts - first_ts))", "(julianday(last_ts) - julianday(first_ts)) * 86400.0"
    )
    return {
        "pageviews": "SUM(pageviews)",
        "unique_visitors": "COUNT(DISTINCT visitor_key)",
        "sessions": "COUNT(*)",
        "events": f"SUM({events})",
        "bounce_rate": f"100.0 * SUM(CASE WHEN pageviews = 1 THEN 1 ELSE 0 END) / {viewing}",
        "visit_duration": f"1.0 * SUM({duration}) / NULLIF(COUNT(*), 0)",
        "views_per_session": f"1.0 * SUM(pageviews) / {viewing}",
    }


def _metric_value(name: str, value):
    """Counts as integers; rates rounded (bounce rate to 0.1 %, views per session to 0.01, duration to 1 s)."""
    if name == "bounce_rate":
        return round(float(value), 1) if value is not None else 0.0
    if name == "views_per_session":
        return round(float(value), 2) if value is not None else 0.0
    if name == "visit_duration":
        return round(float(value)) if value is not None else 0
    return int(value or 0)


def property_has_events(*, property: Property) -> bool:
    """Whether any event of `property` is stored (one accepted but still buffered is not yet)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {Event._meta.db_table} WHERE property_id = %s LIMIT 1", [property.pk])
        return cursor.fetchone() is not None


def report_overview(*, property: Property, date_from: date, date_to: date) -> dict:
    """Pageviews, unique visitors (distinct over the range) and sessions."""
    return MetricsQuery(property=property, date_from=date_from, date_to=date_to).calculate()[0]


def report_pages(*, property: Property, date_from: date, date_to: date, limit: int) -> list[dict]:
    """Top paths by pageviews, with the visitors who viewed them."""
    return MetricsQuery(
        property=property,
        date_from=date_from,
        date_to=date_to,
        metrics=("pageviews", "unique_visitors"),
        group_by=("path",),
        filters={"type": "pageview"},
        limit=limit,
    ).calculate()


def report_campaigns(*, property: Property, date_from: date, date_to: date, limit: int) -> list[dict]:
    """Top campaigns (campaign_id, else utm.campaign) by pageviews."""
    return MetricsQuery(
        property=property,
        date_from=date_from,
        date_to=date_to,
        metrics=("pageviews", "unique_visitors"),
        group_by=("campaign_id",),
        filters={"type": "pageview"},
        non_empty=("campaign_id",),
        limit=limit,
    ).calculate()


def report_event_data(
    *,
    property: Property,
    date_from: date,
    date_to: date,
    event_type: str,
    filters: dict[str, str] | None = None,
    limit: int = 50,
) -> list[dict]:
    """How often each key of the `data` of `event_type` events took each value, with the visitors.

    Event data is kept only on raw events, so this reads them over the whole range; a filter by a
    session dimension keeps the events of the matching sessions.
    """
    filters = filters or {}
    event_filters = sorted(name for name in filters if name in EVENT_DIMENSIONS)
    session_filters = sorted(name for name in filters if name in SESSION_DIMENSIONS)
    events, params = f"{Event._meta.db_table} t", []
    if session_filters:
        sessions_sql, sessions_params = grain_rows_sql("sessions", property, date_from, date_to)
        columns = ("property_id", "day", "session_key", "visitor_key", *EVENT_DIMENSIONS.values(), "data")
        events = (
            f"({visits_sql('e.property_id = %s AND e.day BETWEEN %s AND %s', columns)}) t"
            f" JOIN ({sessions_sql}) s ON s.day = t.day AND s.session_key = t.session_key"
        )
        params = [property.pk, date_from, date_to, *sessions_params]
    conditions = "".join(f" AND t.{EVENT_DIMENSIONS[name]} = %s" for name in event_filters)
    conditions += "".join(f" AND s.{SESSION_DIMENSIONS[name]} = %s" for name in session_filters)
    pairs = _vendor_sql("CROSS JOIN LATERAL jsonb_each_text(t.data) kv", "CROSS JOIN json_each(t.data) kv")
    # JSON true/false read as PostgreSQL writes them (SQLite's json_each gives 1 and 0).
    value = _vendor_sql(
        "kv.value", "CASE WHEN kv.type IN ('true', 'false') THEN kv.type ELSE CAST(kv.value AS TEXT) END"
    )
    sql = (
        f"SELECT kv.key, {value} AS value, COUNT(*) AS events,"
        " COUNT(DISTINCT t.visitor_key) AS unique_visitors"
        f" FROM {events} {pairs}"
        f" WHERE t.property_id = %s AND t.day BETWEEN %s AND %s AND t.type = %s{conditions}"
        f" GROUP BY kv.key, {value} ORDER BY events DESC, kv.key, value LIMIT %s"
    )
    params = [
        *params,
        property.pk,
        date_from,
        date_to,
        event_type,
        *(filters[name] for name in (*event_filters, *session_filters)),
        limit,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            {"key": key, "value": value, "events": events, "unique_visitors": visitors}
            for key, value, events, visitors in cursor.fetchall()
        ]


def _recent_events_sql(property: Property, now: datetime, minutes: int, *, in_visits: bool = False) -> tuple[str, list]:
    """FROM/WHERE of a property's raw events (alias e) in the `minutes` before `now` (the day bound
    uses the index), with `in_visits` keyed by their visits (visits_sql, over their whole days)."""
    since = now - timedelta(minutes=minutes)
    days = "e.property_id = %s AND e.day >= %s"
    if in_visits:
        columns = ("day", "session_key", "visitor_key", "type", "path", "ts")
        events = f"({visits_sql(days, columns)}) e WHERE"
    else:
        events = f"{Event._meta.db_table} e WHERE {days} AND"
    return f" FROM {events} e.ts > %s AND e.ts <= %s", [
        property.pk,
        since.astimezone(property.tzinfo).date(),
        since,
        now,
    ]


def realtime_visitors(*, property: Property, now: datetime, minutes: int = 5) -> int:
    """Distinct visitors with an event in the last `minutes` minutes."""
    where, params = _recent_events_sql(property, now, minutes)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(DISTINCT e.visitor_key){where}", params)
        return int(cursor.fetchone()[0] or 0)


def realtime_report(*, property: Property, now: datetime, minutes: int = 30, limit: int = 10) -> dict:
    """The last `minutes` minutes from raw events: visitors and pageviews in all, pageviews per local
    minute (zeros included), and the top pages and their sessions' sources by pageviews."""
    where, params = _recent_events_sql(property, now, minutes)
    minute = _local_time_sql("e.ts", property, now, "HH24:MI", "%%H:%%M")
    pageviews = f"SUM(CASE WHEN e.{PAGEVIEW} THEN 1 ELSE 0 END)"
    since_day = (now - timedelta(minutes=minutes)).astimezone(property.tzinfo).date()
    sessions_sql, sessions_params = grain_rows_sql(
        "sessions", property, since_day, now.astimezone(property.tzinfo).date()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pageviews}, COUNT(DISTINCT e.visitor_key){where}", params)
        total_pageviews, visitors = cursor.fetchone()
        cursor.execute(f"SELECT {minute} AS minute, {pageviews}{where} GROUP BY {minute}", params)
        by_minute = dict(cursor.fetchall())
        top = {}
        in_visits, in_visits_params = _recent_events_sql(property, now, minutes, in_visits=True)
        in_visits = in_visits.removeprefix(" FROM ")
        sources = f"({sessions_sql}) s, {in_visits} AND s.day = e.day AND s.session_key = e.session_key"
        for name, column, tables, tables_params in (
            ("path", "e.path", where.removeprefix(" FROM "), params),
            ("source", "s.source", sources, [*sessions_params, *in_visits_params]),
        ):
            cursor.execute(
                f"SELECT {column}, {pageviews} AS pageviews, COUNT(DISTINCT e.visitor_key) FROM {tables}"
                f" AND e.{PAGEVIEW} AND {column} <> '' GROUP BY {column} ORDER BY pageviews DESC, {column} LIMIT %s",
                [*tables_params, limit],
            )
            top[name] = [
                {name: value, "pageviews": count, "unique_visitors": unique}
                for value, count, unique in cursor.fetchall()
            ]
    local_now = now.astimezone(property.tzinfo)
    minutes_shown = [(local_now - timedelta(minutes=n)).strftime("%H:%M") for n in range(minutes - 1, -1, -1)]
    return {
        "unique_visitors": int(visitors or 0),
        "pageviews": int(total_pageviews or 0),
        "per_minute": [{"minute": label, "pageviews": int(by_minute.get(label) or 0)} for label in minutes_shown],
        "pages": top["path"],
        "sources": top["source"],
    }


@dataclass(frozen=True)
class VisitorTrend:
    """Unique visitors per day over a period, and distinct over the whole of it."""

    period: Period
    daily: list[tuple[date, int]]
    total: int


def properties_visitor_trends(*, periods: dict[Property, Period]) -> dict[int, VisitorTrend]:
    """Unique visitors of each property per day and over its period, by property pk, read as
    MetricsQuery reads them (rollups, and raw events for dirty days), in one query for any number
    of properties (an arm per property). The total counts each visitor once over the period.
    """
    if not periods:
        return {}
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
        found = cursor.fetchall()
    daily, totals = {}, {}
    for property_id, day, visitors in found:
        if day is None:
            totals[property_id] = visitors
        else:
            daily[property_id, date.fromisoformat(str(day)[:10])] = visitors
    trends = {}
    for prop, period in periods.items():
        days = [period.date_from + timedelta(days=n) for n in range(period.days)]
        daily_visitors = [(day, daily.get((prop.pk, day), 0)) for day in days]
        trends[prop.pk] = VisitorTrend(period, daily_visitors, totals.get(prop.pk, 0))
    return trends
