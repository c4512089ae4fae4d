"""The one query layer: every report, in the API and on the dashboard, is a MetricsQuery.

A query reads, in one SQL statement (one snapshot), rollup rows for the days whose rollup is
current and raw events for the days marked dirty since, so a new event shows at once and a report
from rollups equals the same report from raw events (tests/reports/test_rollup_equivalence.py).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection

from apps.ingestion.models import DirtyDay, Event
from apps.properties.models import Property
from apps.reports.models import DailyRollup

# Public dimension name -> column, in the order results list them.
DIMENSIONS = {
    "date": "day",
    "type": "type",
    "hostname": "hostname",
    "path": "path",
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
# The path of a session's first and last pageview in the range: not a column, derived per session.
SESSION_DIMENSIONS = ("entry_page", "exit_page")
FILTERABLE = (*(name for name in DIMENSIONS if name != "date"), *SESSION_DIMENSIONS)
GROUPABLE = FILTERABLE
# Metrics counted over the facts of each group.
FACT_METRICS = {
    "pageviews": "SUM(CASE WHEN type = 'pageview' THEN events ELSE 0 END)",
    "unique_visitors": "COUNT(DISTINCT NULLIF(visitor_id, '') {collate})",
    "sessions": "COUNT(DISTINCT NULLIF(session_id, '') {collate})",
    "events": "SUM(events)",
}
# Metrics of whole sessions, each counted in the time bucket where it began: the share of sessions
# with pageviews that had exactly one (percent), the mean seconds from a session's first event to
# its last, and pageviews per session with pageviews.
SESSION_METRICS = ("bounce_rate", "visit_duration", "views_per_session")
METRICS = (*FACT_METRICS, *SESSION_METRICS)
# The columns shared by raw events and rollups: every dimension, then who.
FACT_COLUMNS = (*DIMENSIONS.values(), "visitor_id", "session_id")
# "hour" reads raw events (rollups are daily); "week" starts on Monday.
INTERVALS = ("hour", "day", "week", "month")


# Hourly buckets come from raw events; a month of them is 744 points.
MAX_HOURLY_DAYS = 31


def _byte_order() -> str:
    """Compare ids as bytes: distinct counts and session windows need equality, not a language's order
    (measured in bench/dashboard: a third faster on PostgreSQL)."""
    return _vendor_sql('COLLATE "C"', "")


def _fact_metric_sql(name: str) -> str:
    return FACT_METRICS[name].format(collate=_byte_order())


class InvalidQuery(ValueError):
    """A combination of metrics, grouping and interval that has no meaning; `field` names the culprit."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


def _vendor_sql(postgresql: str, sqlite: str) -> str:
    """The SQL for this database; a literal % is written %% (the queries always take parameters)."""
    return postgresql if connection.vendor == "postgresql" else sqlite


@dataclass(frozen=True)
class MetricsQuery:
    """Metrics for one property over `date_from`..`date_to` (inclusive, property-local days).

    `group_by` names dimensions; `interval` also groups by time (the row's `date`, or `hour` as
    local `YYYY-MM-DDTHH:00`); `filters` maps a dimension to the exact value it must have (for
    entry_page/exit_page: the sessions that began/ended there); `excluded` maps a dimension to a
    value it must not have; `non_empty` drops rows whose dimension is blank. With an interval,
    `limit` caps the groups per time bucket, and buckets without events are listed with zeros
    when nothing else is grouped. Session metrics group by time only; entry_page/exit_page count
    sessions and their visitors only, without an interval.
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
        session_dimensions = [name for name in self.group_by if name in SESSION_DIMENSIONS]
        if session_dimensions and (
            len(self.group_by) > 1 or self.interval or set(self.metrics) - {"sessions", "unique_visitors"}
        ):
            raise InvalidQuery(
                f"{session_dimensions[0]} groups alone, without an interval, by sessions and unique_visitors.",
                field="group_by",
            )
        if set(self.metrics) & set(SESSION_METRICS) and self.group_by:
            raise InvalidQuery(
                f"{', '.join(SESSION_METRICS)} group by time only (interval), not by dimensions.", field="metrics"
            )

    @property
    def time_key(self) -> str | None:
        return None if self.interval is None else ("hour" if self.interval == "hour" else "date")

    @property
    def group_by_dimensions(self) -> tuple[str, ...]:
        return tuple(name for name in GROUPABLE if name in self.group_by)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return ((self.time_key,) if self.time_key else ()) + self.group_by_dimensions

    def calculate(self) -> list[dict]:
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

    def _arms_sql(self) -> tuple[str, list]:
        """Rollup rows of clean days and raw events of dirty days (raw only, by hour), filtered by column."""
        conditions, condition_params = [], []
        for name, value in sorted(self.filters.items()):
            if name in DIMENSIONS:
                conditions.append(f"{DIMENSIONS[name]} = %s")
                condition_params.append(value)
        for name, value in sorted(self.excluded.items()):
            conditions.append(f"{DIMENSIONS[name]} <> %s")
            condition_params.append(value)
        for name in self.non_empty:
            conditions.append(f"{DIMENSIONS[name]} <> ''")
        extra = "".join(f" AND {condition}" for condition in conditions)
        columns = ", ".join(FACT_COLUMNS)
        arm = [self.property.pk, self.date_from, self.date_to]
        raw = (
            f"SELECT {columns}, 1 AS events, ts AS first_ts, ts AS last_ts FROM {Event._meta.db_table} t"
            f" WHERE t.property_id = %s AND t.day BETWEEN %s AND %s"
        )
        if self.interval == "hour":
            return f"{raw}{extra}", [*arm, *condition_params]
        # The range's dirty days as a set, which the database evaluates once per arm, not per row.
        dirty = f"SELECT d.day FROM {DirtyDay._meta.db_table} d WHERE d.property_id = %s AND d.day BETWEEN %s AND %s"
        sql = (
            f"SELECT {columns}, events, first_ts, last_ts FROM {DailyRollup._meta.db_table} t"
            f" WHERE t.property_id = %s AND t.day BETWEEN %s AND %s AND t.day NOT IN ({dirty}){extra}"
            f" UNION ALL {raw} AND t.day IN ({dirty}){extra}"
        )
        return sql, [*arm, *arm, *condition_params, *arm, *arm, *condition_params]

    def _bucket_sql(self) -> str:
        if self.interval == "hour":
            return _vendor_sql(
                f"to_char(first_ts AT TIME ZONE '{self._timezone()}', 'YYYY-MM-DD\"T\"HH24:00')",
                f"strftime('%%Y-%%m-%%dT%%H:00', first_ts, '{self._utc_offset_minutes()} minutes')",
            )
        if self.interval == "week":
            return _vendor_sql(
                "(day - (EXTRACT(ISODOW FROM day)::int - 1))",
                "date(day, '-' || ((CAST(strftime('%%w', day) AS INTEGER) + 6) %% 7) || ' days')",
            )
        if self.interval == "month":
            return _vendor_sql("CAST(date_trunc('month', day) AS date)", "date(day, 'start of month')")
        return "day" if self.interval == "day" else "0"

    def _timezone(self) -> str:
        # A validated IANA name (Property.timezone's validator): letters, digits, _ + - / only.
        return self.property.timezone.replace("'", "")

    def _utc_offset_minutes(self) -> int:
        # SQLite has no time zones: the offset at noon of the first day stands for the whole range.
        noon = datetime.combine(self.date_from, time(12), self.property.tzinfo)
        return int(noon.utcoffset().total_seconds() // 60)

    def _sql(self) -> tuple[str, list]:
        arms, params = self._arms_sql()
        ctes = [f"filtered AS ({arms})"]
        session_filters = {name: value for name, value in self.filters.items() if name in SESSION_DIMENSIONS}
        session_grouping = [name for name in self.group_by if name in SESSION_DIMENSIONS]
        if session_filters or session_grouping:
            collate = _byte_order()
            ctes.append(
                f"ends AS (SELECT session_id, visitor_id, path,"
                f" ROW_NUMBER() OVER (PARTITION BY session_id {collate} ORDER BY first_ts, path {collate},"
                f" visitor_id {collate}) AS from_start, ROW_NUMBER() OVER (PARTITION BY session_id {collate}"
                f" ORDER BY last_ts DESC, path {collate} DESC, visitor_id {collate} DESC) AS from_end"
                " FROM filtered WHERE type = 'pageview' AND session_id <> '')"
            )
        restrictions, restriction_params = [], []
        for name, value in sorted(session_filters.items()):
            position = "from_start" if name == "entry_page" else "from_end"
            restrictions.append(f"session_id IN (SELECT session_id FROM ends WHERE {position} = 1 AND path = %s)")
            restriction_params.append(value)
        if session_grouping:
            # Entry and exit pages read `ends` itself, restricted to the same sessions.
            return self._ends_sql(ctes, session_grouping[0], params, restrictions, restriction_params)
        where = f" WHERE {' AND '.join(restrictions)}" if restrictions else ""
        ctes.append(f"facts AS (SELECT *, {self._bucket_sql()} AS bucket FROM filtered{where})")
        return self._grouped_sql(ctes, [*params, *restriction_params])

    def _ends_sql(
        self, ctes: list[str], dimension: str, params: list, restrictions: list[str], restriction_params: list
    ) -> tuple[str, list]:
        quote = connection.ops.quote_name
        position = "from_start" if dimension == "entry_page" else "from_end"
        aggregates = {"sessions": "COUNT(*)", "unique_visitors": _fact_metric_sql("unique_visitors")}
        columns = [f"path AS {quote(dimension)}", *(f"{aggregates[m]} AS {quote(m)}" for m in self.metrics)]
        sql = (
            f"WITH {', '.join(ctes)} SELECT {', '.join(columns)} FROM ends"
            f" WHERE {' AND '.join([f'{position} = 1', *restrictions])} GROUP BY path"
            f" ORDER BY {quote(self.metrics[0])} DESC, {quote(dimension)} LIMIT %s"
        )
        return sql, [*params, *restriction_params, self.limit]

    def _grouped_sql(self, ctes: list[str], params: list) -> tuple[str, list]:
        quote = connection.ops.quote_name
        keys = [("bucket", self.time_key)] if self.time_key else []
        keys += [(DIMENSIONS[name], name) for name in self.group_by_dimensions]
        fact_metrics = [name for name in self.metrics if name in FACT_METRICS]
        columns = [f"{column} AS {quote(name)}" for column, name in keys]
        columns += [f"{_fact_metric_sql(name)} AS {quote(name)}" for name in fact_metrics]
        group = f" GROUP BY {', '.join(column for column, _ in keys)}" if keys else ""
        ctes.append(f"totals AS (SELECT {', '.join(columns) or '1 AS one'} FROM facts{group})")
        joined = "totals"
        if set(self.metrics) & set(SESSION_METRICS):
            ctes.extend(self._session_ctes())
            on = f"totals.{quote(self.time_key)} = session_totals.bucket" if self.time_key else "1 = 1"
            joined += f" LEFT JOIN session_totals ON {on}"
        selected = [f"totals.{quote(name)} AS {quote(name)}" for _, name in keys]
        for name in self.metrics:
            expression = f"totals.{quote(name)}" if name in FACT_METRICS else _session_metric_sql(name)
            selected.append(f"{expression} AS {quote(name)}")
        sql = f"WITH {', '.join(ctes)} SELECT {', '.join(selected)} FROM {joined}"
        dimension_names = [quote(name) for _, name in keys]
        if not keys:
            return sql, params
        if self.dimensions == (self.time_key,):
            return f"{sql} ORDER BY {dimension_names[0]}", params
        order = ", ".join([f"{quote(self.metrics[0])} DESC", *dimension_names])
        if not self.time_key:
            return f"{sql} ORDER BY {order} LIMIT %s", [*params, self.limit]
        time_key = quote(self.time_key)
        names = ", ".join(quote(name) for name in (*self.dimensions, *self.metrics))
        ranked = f"SELECT {names}, ROW_NUMBER() OVER (PARTITION BY {time_key} ORDER BY {order}) AS row_rank"
        return (
            f"SELECT {names} FROM ({ranked} FROM ({sql}) grouped) ranked"
            f" WHERE row_rank <= %s ORDER BY {time_key}, row_rank",
            [*params, self.limit],
        )

    def _session_ctes(self) -> list[str]:
        duration = _vendor_sql(
            "EXTRACT(EPOCH FROM (MAX(last_ts) - MIN(first_ts)))",
            "(julianday(MAX(last_ts)) - julianday(MIN(first_ts))) * 86400.0",
        )
        return [
            "per_session AS (SELECT session_id, MIN(bucket) AS bucket,"
            " SUM(CASE WHEN type = 'pageview' THEN events ELSE 0 END) AS pageviews,"
            f" {duration} AS duration FROM facts WHERE session_id <> '' GROUP BY session_id)",
            "session_totals AS (SELECT bucket, COUNT(*) AS all_sessions,"
            " SUM(CASE WHEN pageviews > 0 THEN 1 ELSE 0 END) AS viewing_sessions,"
            " SUM(CASE WHEN pageviews = 1 THEN 1 ELSE 0 END) AS bounces,"
            " SUM(pageviews) AS session_pageviews, SUM(duration) AS total_duration"
            " FROM per_session GROUP BY bucket)",
        ]

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


def _session_metric_sql(name: str) -> str:
    if name == "bounce_rate":
        return "100.0 * session_totals.bounces / NULLIF(session_totals.viewing_sessions, 0)"
    if name == "views_per_session":
        return "1.0 * session_totals.session_pageviews / NULLIF(session_totals.viewing_sessions, 0)"
    return "1.0 * session_totals.total_duration / NULLIF(session_totals.all_sessions, 0)"


def _metric_value(name: str, value):
    """Counts as integers; rates rounded (bounce rate to 0.1 %, views per session to 0.01, duration to 1 s)."""
    if name == "bounce_rate":
        return round(float(value), 1) if value is not None else 0.0
    if name == "views_per_session":
        return round(float(value), 2) if value is not None else 0.0
    if name == "visit_duration":
        return round(float(value)) if value is not None else 0
    return int(value or 0)


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

    Event data is kept only on raw events, so this reads them over the whole range.
    """
    filters = filters or {}
    session_filters = sorted(set(filters) & set(SESSION_DIMENSIONS))
    if session_filters:
        raise InvalidQuery(f"Event data cannot be filtered by {session_filters[0]}.", field=session_filters[0])
    conditions = "".join(f" AND t.{DIMENSIONS[name]} = %s" for name in sorted(filters))
    pairs = _vendor_sql("CROSS JOIN LATERAL jsonb_each_text(t.data) kv", "CROSS JOIN json_each(t.data) kv")
    sql = (
        "SELECT kv.key, CAST(kv.value AS TEXT) AS value, COUNT(*) AS events,"
        " COUNT(DISTINCT NULLIF(t.visitor_id, '')) AS unique_visitors"
        f" FROM {Event._meta.db_table} t {pairs}"
        f" WHERE t.property_id = %s AND t.day BETWEEN %s AND %s AND t.type = %s{conditions}"
        " GROUP BY kv.key, CAST(kv.value AS TEXT) ORDER BY events DESC, kv.key, value LIMIT %s"
    )
    params = [property.pk, date_from, date_to, event_type, *(filters[name] for name in sorted(filters)), limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            {"key": key, "value": value, "events": events, "unique_visitors": visitors}
            for key, value, events, visitors in cursor.fetchall()
        ]


def _recent_events_sql(property: Property, now: datetime, minutes: int) -> tuple[str, list]:
    """FROM/WHERE of a property's raw events in the `minutes` before `now` (the day bound uses the index)."""
    since = now - timedelta(minutes=minutes)
    where = f" FROM {Event._meta.db_table} WHERE property_id = %s AND day >= %s AND ts > %s AND ts <= %s"
    return where, [property.pk, since.astimezone(property.tzinfo).date(), since, now]


def realtime_visitors(*, property: Property, now: datetime, minutes: int = 5) -> int:
    """Distinct visitors with an event in the last `minutes` minutes."""
    where, params = _recent_events_sql(property, now, minutes)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(DISTINCT NULLIF(visitor_id, '')){where}", params)
        return int(cursor.fetchone()[0] or 0)


def realtime_report(*, property: Property, now: datetime, minutes: int = 30, limit: int = 10) -> dict:
    """The last `minutes` minutes from raw events: visitors and pageviews in all, pageviews per local
    minute (zeros included), and the top pages and sources by pageviews."""
    where, params = _recent_events_sql(property, now, minutes)
    offset = int(now.astimezone(property.tzinfo).utcoffset().total_seconds() // 60)
    minute = _vendor_sql(
        f"to_char(ts AT TIME ZONE '{property.timezone.replace(chr(39), '')}', 'HH24:MI')",
        f"strftime('%%H:%%M', ts, '{offset} minutes')",
    )
    pageviews = _fact_metric_sql("pageviews").replace("events", "1")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pageviews}, COUNT(DISTINCT NULLIF(visitor_id, '')){where}", params)
        total_pageviews, visitors = cursor.fetchone()
        cursor.execute(f"SELECT {minute} AS minute, {pageviews}{where} GROUP BY {minute}", params)
        by_minute = dict(cursor.fetchall())
        top = {}
        for name in ("path", "source"):
            column = DIMENSIONS[name]
            cursor.execute(
                f"SELECT {column}, {pageviews} AS pageviews, COUNT(DISTINCT NULLIF(visitor_id, '')){where}"
                f" AND type = 'pageview' AND {column} <> '' GROUP BY {column} ORDER BY pageviews DESC, {column}"
                " LIMIT %s",
                [*params, limit],
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
