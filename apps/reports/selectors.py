"""The one query layer: every report, in the API and on the dashboard, is a MetricsQuery.

A query reads, in one SQL statement (one snapshot), rollup rows for the days whose rollup is
current and raw events for the days marked dirty since, so a new event shows at once and a report
from rollups equals the same report from raw events (tests/reports/test_rollup_equivalence.py).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

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
FILTERABLE = tuple(name for name in DIMENSIONS if name != "date")
METRICS = {
    "pageviews": "SUM(CASE WHEN type = 'pageview' THEN events ELSE 0 END)",
    "unique_visitors": "COUNT(DISTINCT NULLIF(visitor_id, ''))",
    "sessions": "COUNT(DISTINCT NULLIF(session_id, ''))",
    "events": "SUM(events)",
}
# The columns shared by raw events and rollups: every dimension, then who.
FACT_COLUMNS = (*DIMENSIONS.values(), "visitor_id", "session_id")
INTERVALS = ("day",)


@dataclass(frozen=True)
class MetricsQuery:
    """Metrics for one property over `date_from`..`date_to` (inclusive, property-local days).

    `group_by` names dimensions (plus "date" when `interval` is "day"); `filters` maps a dimension
    to the exact value it must have; `non_empty` drops rows whose dimension is blank. With an
    interval, `limit` caps the groups per day, and days without events are listed with zeros when
    nothing else is grouped.
    """

    property: Property
    date_from: date
    date_to: date
    metrics: tuple[str, ...] = ("pageviews", "unique_visitors", "sessions")
    group_by: tuple[str, ...] = ()
    interval: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    non_empty: tuple[str, ...] = ()
    limit: int = 50

    @property
    def dimensions(self) -> tuple[str, ...]:
        grouped = ("date",) if self.interval == "day" else ()
        return grouped + tuple(d for d in DIMENSIONS if d in self.group_by and d != "date")

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
                    row[name] = date.fromisoformat(row[name])
            for name in self.metrics:
                row[name] = int(row[name] or 0)
        if self.interval == "day" and self.dimensions == ("date",):
            rows = self._zero_filled(rows)
        return rows

    def _facts_sql(self) -> tuple[str, list]:
        conditions, condition_params = [], []
        for name, value in sorted(self.filters.items()):
            conditions.append(f"{DIMENSIONS[name]} = %s")
            condition_params.append(value)
        for name in self.non_empty:
            conditions.append(f"{DIMENSIONS[name]} <> ''")
        extra = "".join(f" AND {condition}" for condition in conditions)
        columns = ", ".join(FACT_COLUMNS)
        dirty = f"SELECT 1 FROM {DirtyDay._meta.db_table} d WHERE d.property_id = t.property_id AND d.day = t.day"
        sql = (
            f"SELECT {columns}, events FROM {DailyRollup._meta.db_table} t"
            f" WHERE t.property_id = %s AND t.day BETWEEN %s AND %s AND NOT EXISTS ({dirty}){extra}"
            f" UNION ALL"
            f" SELECT {columns}, 1 AS events FROM {Event._meta.db_table} t"
            f" WHERE t.property_id = %s AND t.day BETWEEN %s AND %s AND EXISTS ({dirty}){extra}"
        )
        arm = [self.property.pk, self.date_from, self.date_to]
        return sql, [*arm, *condition_params, *arm, *condition_params]

    def _sql(self) -> tuple[str, list]:
        facts, params = self._facts_sql()
        quote = connection.ops.quote_name
        columns = [f"{DIMENSIONS[name]} AS {quote(name)}" for name in self.dimensions]
        aggregates = [f"{METRICS[name]} AS {quote(name)}" for name in self.metrics]
        group = ", ".join(DIMENSIONS[name] for name in self.dimensions)
        order = ", ".join([f"{quote(self.metrics[0])} DESC", *map(quote, self.dimensions)])
        select = f"SELECT {', '.join(columns + aggregates)} FROM ({facts}) facts"
        if not self.dimensions:
            return select, params
        select += f" GROUP BY {group}"
        if self.dimensions == ("date",):
            return f"{select} ORDER BY {quote('date')}", params
        if self.interval != "day":
            return f"{select} ORDER BY {order} LIMIT %s", [*params, self.limit]
        names = ", ".join(quote(name) for name in (*self.dimensions, *self.metrics))
        ranked = f"SELECT {names}, ROW_NUMBER() OVER (PARTITION BY {quote('date')} ORDER BY {order}) AS row_rank"
        return (
            f"SELECT {names} FROM ({ranked} FROM ({select}) grouped) ranked"
            f" WHERE row_rank <= %s ORDER BY {quote('date')}, row_rank",
            [*params, self.limit],
        )

    def _zero_filled(self, rows: list[dict]) -> list[dict]:
        by_day = {row["date"]: row for row in rows}
        days = (self.date_from + timedelta(days=n) for n in range((self.date_to - self.date_from).days + 1))
        return [by_day.get(day) or {"date": day, **dict.fromkeys(self.metrics, 0)} for day in days]


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
