"""Imported daily totals (models.ImportedDay) in a query's answer, as Plausible adds its imports.

Another server's export of daily totals keeps, per day, the totals of each value of one dimension at
a time. A query takes them in when its grain is theirs: by days, weeks or months (or no time), with
at most one other dimension, grouped or filtered by, whose imported values carry every metric it
asks. Its groups then add the imported counts to the raw events' counts; bounce rate, views per
visit and visit duration are computed from the parts of both (vocabulary.VISIT_PARTS). Summed over
days, imported visitors count a visitor once per day, as cookieless visitors are counted anyway.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from fractions import Fraction
from typing import Any

from django.db.models import DateField, F, Sum, Value
from django.db.models.functions import TruncMonth, TruncWeek

from apps.properties.models import Property
from apps.reports.models import ImportedDay
from apps.reports.queries.goals import names_goals
from apps.reports.queries.query import Query, filter_holds, filtered_dimensions
from apps.reports.queries.vocabulary import CLOCK_BUCKETS, EVENTS_OF_TYPE_PREFIX, TIME, VISIT_PARTS

# A day's time bucket (weeks start on Monday, as vocabulary.time_bucket's).
BUCKETS = {"day": F, "week": TruncWeek, "month": TruncMonth}
# Imported page rows count pageviews alone: a filter on the event's name tests "pageview" for them
# (the dashboard's Top pages asks for pages with `event:name is pageview`).
EVENT_NAME, PAGEVIEW = "event:name", "pageview"
PAGEVIEW_ROWS = frozenset(("event:page", "event:hostname"))
COUNTED = ("visitors", "visits", "pageviews", "events")
VISIT_RATIOS = ("bounce_rate", "views_per_visit", "visit_duration")
_OF_VISITS = frozenset(("visitors", "visits", "pageviews", *VISIT_RATIOS))
# The metrics the imported rows of each dimension carry ("": the days' totals).
IMPORTED_METRICS = {
    "": frozenset((*_OF_VISITS, "events")),
    **dict.fromkeys(
        (
            "visit:source",
            "visit:referrer",
            "visit:utm_source",
            "visit:utm_medium",
            "visit:utm_campaign",
            "visit:utm_content",
            "visit:utm_term",
            "visit:entry_page",
            "visit:exit_page",
            "visit:country",
            "visit:region",
            "visit:device",
            "visit:browser",
            "visit:os",
        ),
        _OF_VISITS,
    ),
    "event:page": frozenset(("visitors", "visits", "pageviews")),
    "event:hostname": frozenset(("visitors", "visits", "pageviews")),
    "event:name": frozenset(("visitors", "events")),
}


@dataclass
class Counts:
    """Imported totals of one group."""

    visitors: int = 0
    visits: int = 0
    pageviews: int = 0
    bounces: int = 0
    visit_seconds: int = 0
    events: int = 0


COUNT_FIELDS = tuple(field.name for field in fields(Counts))
Group = tuple[str, ...]
# A group as answered (engine._label): blanks as None.
Labels = tuple[str | None, ...]


@dataclass(frozen=True)
class Imported:
    """The imported totals an answer takes in, by group of the query's dimensions (their raw values,
    time buckets as labels), or None; and where the range has some it cannot take in, why not."""

    groups: dict[Group, Counts] | None
    warning: str | None = None


def imported_totals(*, property: Property, query: Query, first: date, last: date) -> Imported:
    """The property's imported totals over first..last that `query` takes in."""
    if not query.include_imports:
        return Imported(None)
    held = ImportedDay.objects.filter(property=property, day__range=(first, last))
    if not held.exists():
        return Imported(None)
    dimension, warning = _imported_dimension(query)
    if warning is not None:
        return Imported(None, warning)
    # Summed per value (and time bucket) by the database: the filters then test each value once.
    time_dimension = query.time_dimension
    bucket = (
        BUCKETS[time_dimension.column]("day") if time_dimension is not None else Value(None, output_field=DateField())
    )
    summed = (
        held.filter(dimension=dimension)
        .annotate(bucket=bucket)
        .values("bucket", "value")
        .annotate(**{f"summed_{name}": Sum(name) for name in COUNT_FIELDS})
        .order_by()
        .values_list("bucket", "value", *(f"summed_{name}" for name in COUNT_FIELDS))
    )
    groups: defaultdict[Group, Counts] = defaultdict(Counts)
    for began, value, *counts in summed:
        if _holds(query, dimension, value):
            group = groups[tuple(began.isoformat() if d.scope == TIME else value for d in query.dimensions)]
            for name, count in zip(COUNT_FIELDS, counts, strict=True):
                setattr(group, name, getattr(group, name) + int(count))
    return Imported(dict(groups))


def _holds(query: Query, dimension: str, value: str) -> bool:
    """Whether the query's filters hold for a row of `dimension` of its `value` (a page row's event
    is a pageview: PAGEVIEW_ROWS)."""
    return all(filter_holds(f, lambda d: [value] if d.name == dimension else [PAGEVIEW]) for f in query.filters)


def _imported_dimension(query: Query) -> tuple[str, str | None]:
    """The dimension whose imported rows answer `query` ("": the days' totals), or why none does."""
    if query.date_range.since is not None:
        return "", "Imported data is kept by day: a range of times reads raw events only."
    time_dimension = query.time_dimension
    if time_dimension is not None and time_dimension.column in CLOCK_BUCKETS:
        return "", f"Imported data is kept by day: {time_dimension.name} reads raw events only."
    if names_goals(query) or any(name.startswith(EVENTS_OF_TYPE_PREFIX) for name in query.metrics):
        return "", "Imported data holds no goals or counts of one event type."
    grouped = [d.name for d in query.dimensions if d.scope != TIME]
    named = list(dict.fromkeys([*grouped, *(d.name for d in filtered_dimensions(query.filters))]))
    if (
        EVENT_NAME in named
        and EVENT_NAME not in grouped
        and len(named) == 2
        and set(named) - {EVENT_NAME} <= PAGEVIEW_ROWS
    ):
        named.remove(EVENT_NAME)  # a filter on the event's name, which every page row's is
    if len(named) > 1:
        return "", f"Imported data is kept one dimension at a time: {' and '.join(named)} read raw events only."
    dimension = named[0] if named else ""
    carried = IMPORTED_METRICS.get(dimension)
    if carried is None:
        return "", f"Imported data has no {dimension}."
    missing = [name for name in query.metrics if name not in carried]
    if missing:
        by = f" by {dimension}" if dimension else ""
        return "", f"Imported data has no {', '.join(missing)}{by}."
    return dimension, None


def with_visit_parts(query: Query) -> Query:
    """`query` asking the store for the parts of its visit ratios too (after its own metrics)."""
    if not any(name in VISIT_RATIOS for name in query.metrics):
        return query
    return replace(query, metrics=(*query.metrics, *VISIT_PARTS))


def merged_rows(
    query: Query, labelled: Sequence[tuple[Labels, Sequence[Any]]], groups: dict[Labels, Counts]
) -> list[tuple[Labels, Sequence[Any]]]:
    """The store's rows (their groups labelled as the imported groups are, their values those of
    with_visit_parts(query)) with the imported totals added, and a row for each group only imported
    (that counts something)."""
    width = len(query.metrics)
    answered: list[tuple[Labels, Sequence[Any]]] = []
    seen = set()
    for group, values in labelled:
        seen.add(group)
        answered.append((group, _merged(query, values[:width], values[width:], groups.get(group, Counts()))))
    for group, counts in groups.items():
        if group not in seen and any(vars(counts).values()):
            answered.append((group, _merged(query, [None] * width, (), counts)))
    return answered


def _merged(query: Query, values: Any, parts: Any, counts: Counts) -> list[Any]:
    bounces, pageview_visits, visit_pageviews, microseconds, visit_count = (
        [int(part or 0) for part in parts] if parts else [0] * len(VISIT_PARTS)
    )
    visits = pageview_visits + counts.visits
    merged: dict[str, Any] = {
        "bounce_rate": Fraction(100 * (bounces + counts.bounces), visits) if visits else None,
        "views_per_visit": Fraction(visit_pageviews + counts.pageviews, visits) if visits else None,
        "visit_duration": (Fraction(microseconds, 1_000_000) + counts.visit_seconds) / (visit_count + counts.visits)
        if visit_count + counts.visits
        else None,
    }
    return [
        int(value or 0) + getattr(counts, name) if name in COUNTED else merged[name]
        for name, value in zip(query.metrics, values, strict=True)
    ]
