"""The reports of the contract's GET endpoints and the dashboard, each a MetricsQuery answered by the
query engine (apps/reports/queries/engine.py), and the reads the engine does not answer (event
data, the property list's sparklines), which the event store answers (apps/reports/stores).
"""

import builtins
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Max, Min

from apps.properties.models import Property
from apps.reports.models import ImportedDay
from apps.reports.periods import Period
from apps.reports.queries import vocabulary
from apps.reports.queries.cache import data_version
from apps.reports.queries.engine import query_answer
from apps.reports.queries.query import IS, IS_NOT, Condition, DateRange, Filter, Query
from apps.reports.stores import event_store

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
# And the goals an event completes (queries/goals.py), which are no column.
FILTERABLE = (*(name for name in DIMENSIONS if name != "date"), "goal")
GROUPABLE = FILTERABLE
# Metrics of events and their sessions, counted per group.
FACT_METRICS = ("pageviews", "unique_visitors", "sessions", "events")
# Metrics of whole sessions, each counted in the time bucket where it began: the share of sessions
# with pageviews that had exactly one (percent), the mean seconds from a session's first event to
# its last, and pageviews per session with pageviews.
SESSION_METRICS = ("bounce_rate", "visit_duration", "views_per_session")
METRICS = (*FACT_METRICS, *SESSION_METRICS)
# "hour" reads raw events (rollups are daily); "week" starts on Monday.
INTERVALS = ("hour", "day", "week", "month")
# Hourly buckets come from raw events; a month of them is 744 points.
MAX_HOURLY_DAYS = 31
# Each name's in the engine's vocabulary.
QUERY_DIMENSIONS = {
    name: vocabulary.DIMENSIONS[engine_name]
    for name, engine_name in {
        "type": "event:name",
        "path": "event:page",
        "hostname": "event:hostname",
        "campaign_id": "visit:campaign",
        "source": "visit:source",
        "referrer": "visit:referrer",
        "channel": "visit:channel",
        "utm_source": "visit:utm_source",
        "utm_medium": "visit:utm_medium",
        "utm_campaign": "visit:utm_campaign",
        "utm_term": "visit:utm_term",
        "utm_content": "visit:utm_content",
        "country": "visit:country",
        "region": "visit:region",
        "city": "visit:city",
        "browser": "visit:browser",
        "os": "visit:os",
        "device": "visit:device",
        "entry_page": "visit:entry_page",
        "exit_page": "visit:exit_page",
    }.items()
} | {"goal": vocabulary.GOAL_DIMENSION}
QUERY_METRICS = {
    "pageviews": "pageviews",
    "unique_visitors": "visitors",
    "sessions": "visits",
    "events": "events",
    "bounce_rate": "bounce_rate",
    "visit_duration": "visit_duration",
    "views_per_session": "views_per_visit",
}
# A report by time and dimensions keeps every group, then caps each bucket's (MetricsQuery.limit).
UNLIMITED = 2**62


class InvalidQuery(ValueError):
    """A combination of metrics, grouping and interval that has no meaning; `field` names the culprit."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class MetricsQuery:
    """Metrics for one property over `date_from`..`date_to` (inclusive, property-local days).

    `group_by` names dimensions; `interval` also groups by time (the row's `date`, or `hour` as
    local `YYYY-MM-DDTHH:00`); `filters` maps a dimension to the exact value it must have (the
    contract's filters); `where` adds any filters of the query engine (the dashboard's, with their
    operators and custom properties); `non_empty` drops rows whose dimension is blank. A
    restriction by an event dimension keeps the matching events and, for sessions and visitors, the
    sessions with such an event; one by a session dimension keeps whole sessions.
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
    where: tuple[Filter, ...] = ()
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
        """The report's rows, as the engine answers them (from the report cache while the data it
        reads has not changed).

        By day, a day's rows depend on that day alone: a range whose days are partly still changing
        is answered per run of unchanged and changing days, so the unchanged runs keep coming from
        the cache while today's events arrive.
        """
        if self.interval == "day" and settings.CLICKMETER_REPORT_CACHE_SECONDS:
            _, dirty = data_version(property=self.property, date_from=self.date_from, date_to=self.date_to)
            runs = self._day_runs({str(day)[:10] for day, _ in dirty})
            if len(runs) > 1:
                return [row for start, end in runs for row in replace(self, date_from=start, date_to=end)._answered()]
        return self._answered()

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

    def query(self) -> Query:
        """This report as the engine's Query: filters `is`, then `where`, non-blanks `is_not` (entry
        and exit pages are those of visits with pageviews); by time alone, every bucket with zeros
        where nothing happened; with time and dimensions, every group (capped per bucket after)."""
        conditions: list[Filter] = [
            Condition(IS, QUERY_DIMENSIONS[name], (value,)) for name, value in sorted(self.filters.items())
        ]
        conditions += self.where
        non_empty = {*self.non_empty, *(name for name in self.group_by if name in SESSION_PAGES)}
        conditions += [Condition(IS_NOT, QUERY_DIMENSIONS[name], ("",)) for name in sorted(non_empty)]
        time = (vocabulary.DIMENSIONS[f"time:{self.interval}"],) if self.interval else ()
        return Query(
            metrics=tuple(QUERY_METRICS[name] for name in self.metrics),
            date_range=DateRange(first=self.date_from, last=self.date_to),
            dimensions=(*time, *(QUERY_DIMENSIONS[name] for name in self.group_by_dimensions)),
            filters=tuple(conditions),
            limit=UNLIMITED if self.interval else self.limit,
            include_time_labels=self.dimensions == (self.time_key,) and self.time_key is not None,
        )

    def _answered(self) -> list[dict]:
        rows = []
        per_bucket: Counter[object] = Counter()
        for row in query_answer(property=self.property, query=self.query()).rows:
            answered: dict = dict(zip(self.dimensions, row["dimensions"], strict=True))
            answered.update(zip(self.metrics, row["metrics"], strict=True))
            if self.time_key == "date":
                answered["date"] = date.fromisoformat(str(answered["date"]))
            elif self.time_key == "hour":
                answered["hour"] = str(answered["hour"])[:13].replace(" ", "T") + ":00"
            if self.time_key and len(self.dimensions) > 1:
                per_bucket[answered[self.time_key]] += 1
                if per_bucket[answered[self.time_key]] > self.limit:
                    continue
            rows.append(answered)
        return rows


def imported_days(*, property: Property, date_from: date, date_to: date) -> tuple[date, date] | None:
    """The first and last day of the range with imported daily totals (models.ImportedDay), or None."""
    found = ImportedDay.objects.filter(property=property, day__range=(date_from, date_to)).aggregate(
        first=Min("day"), last=Max("day")
    )
    return (found["first"], found["last"]) if found["first"] is not None else None


def property_has_events(*, property: Property) -> bool:
    """Whether any event of `property` is stored (one accepted but still buffered is not yet)."""
    return event_store().first_day(property=property) is not None


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
    where: tuple[Filter, ...] = (),
    limit: int = 50,
) -> list[dict]:
    """How often each key of the `data` of `event_type` events took each value, with the visitors;
    `where` is the query engine's filters (one on a visit dimension keeps the events of the
    matching visits)."""
    return event_store().event_data(
        property=property, first=date_from, last=date_to, event_type=event_type, filters=where, limit=limit
    )


def _recent(now: datetime, minutes: int) -> DateRange:
    """The `minutes` minutes up to `now` on the clock: from the start of the minute `minutes - 1`
    before now's, to now."""
    return DateRange(since=now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1), until=now)


def realtime_visitors(*, property: Property, now: datetime, minutes: int = 5) -> int:
    """Distinct visitors with an event in the last `minutes` minutes on the clock (this one included)."""
    query = Query(metrics=("visitors",), date_range=_recent(now, minutes))
    return int(query_answer(property=property, query=query).rows[0]["metrics"][0])


def realtime_report(*, property: Property, now: datetime, minutes: int = 30, limit: int = 10) -> dict:
    """The last `minutes` minutes on the clock (this one included): visitors and pageviews in all,
    pageviews per local minute (zeros included), and the top pages and their visits' sources by
    pageviews, with the visitors who viewed them."""
    recent = _recent(now, minutes)
    counts = ("pageviews", "visitors")
    by_minute = query_answer(
        property=property,
        query=Query(
            metrics=counts,
            date_range=recent,
            dimensions=(vocabulary.DIMENSIONS["time:minute"],),
            include_totals=True,
            include_time_labels=True,
        ),
    )
    pageviews = Condition(IS, vocabulary.DIMENSIONS["event:name"], ("pageview",))
    top = {}
    for name, dimension in (
        ("path", vocabulary.DIMENSIONS["event:page"]),
        ("source", vocabulary.DIMENSIONS["visit:source"]),
    ):
        query = Query(
            metrics=counts,
            date_range=recent,
            dimensions=(dimension,),
            filters=(pageviews, Condition(IS_NOT, dimension, ("",))),
            limit=limit,
        )
        top[name] = [
            {name: row["dimensions"][0], "pageviews": row["metrics"][0], "unique_visitors": row["metrics"][1]}
            for row in query_answer(property=property, query=query).rows
        ]
    assert by_minute.totals is not None
    total_pageviews, visitors = by_minute.totals
    return {
        "unique_visitors": int(visitors),
        "pageviews": int(total_pageviews),
        # In time order, every minute of the range; a minute's label is YYYY-MM-DD HH:MM:00.
        "per_minute": [
            {"minute": str(row["dimensions"][0])[11:16], "pageviews": int(row["metrics"][0])} for row in by_minute.rows
        ],
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
    """Unique visitors of each property per day and over its period, by property pk, in one query
    for any number of properties. The total counts each visitor once over the period."""
    if not periods:
        return {}
    visitors = event_store().visitors_by_day(periods=periods)
    trends = {}
    for prop, period in periods.items():
        days = [period.date_from + timedelta(days=n) for n in range(period.days)]
        daily_visitors = [(day, visitors.get((prop.pk, day), 0)) for day in days]
        trends[prop.pk] = VisitorTrend(period, daily_visitors, visitors.get((prop.pk, None), 0))
    return trends
