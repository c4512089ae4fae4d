"""What the dashboard shows, as reads over the one query layer (MetricsQuery), so it always agrees with the API.

Cards are a range's totals against the previous range of the same length; the series is one card's
metric per time bucket, with the previous range's for comparison; panels are top-N breakdowns by
one dimension, grouped in boxes whose tabs choose the panel (so a page reads one panel per box: its
rows and its total). The page's filters are the query engine's (filters.DashboardFilter.condition).
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from apps.properties.models import Property
from apps.reports.queries.query import IS_NOT, Condition
from apps.reports.selectors import QUERY_DIMENSIONS, MetricsQuery, report_event_data

CARD_METRICS = {
    "unique_visitors": "Unique visitors",
    "pageviews": "Pageviews",
    "sessions": "Sessions",
    "views_per_session": "Views per session",
    "bounce_rate": "Bounce rate",
    "visit_duration": "Visit duration",
}
# For these a rise is bad news: the change is shown in the opposite colour.
LOWER_IS_BETTER = {"bounce_rate"}
# How a metric's value reads; the others are counts.
METRIC_UNITS = {"views_per_session": "decimal", "bounce_rate": "percent", "visit_duration": "duration"}


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    dimension: str
    column_title: str
    metric: str = "unique_visitors"
    metric_title: str = "Visitors"
    filters: tuple[tuple[str, str], ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()


PAGEVIEWS = (("type", "pageview"),)
BOXES = {
    "sources": (
        Panel("channels", "Channels", "channel", "Channel"),
        Panel("sources", "Sources", "source", "Source"),
        Panel("referrers", "Referrers", "referrer", "Referrer"),
    ),
    "campaigns": (
        Panel("campaigns", "Campaigns", "campaign_id", "Campaign"),
        Panel("utm_source", "UTM source", "utm_source", "utm_source"),
        Panel("utm_medium", "UTM medium", "utm_medium", "utm_medium"),
        Panel("utm_campaign", "UTM campaign", "utm_campaign", "utm_campaign"),
        Panel("utm_term", "UTM term", "utm_term", "utm_term"),
        Panel("utm_content", "UTM content", "utm_content", "utm_content"),
    ),
    "pages": (
        Panel("pages", "Top pages", "path", "Page", "pageviews", "Pageviews", PAGEVIEWS),
        Panel("entry_pages", "Entry pages", "entry_page", "Entry page", "sessions", "Entrances"),
        Panel("exit_pages", "Exit pages", "exit_page", "Exit page", "sessions", "Exits"),
    ),
    "locations": (
        Panel("countries", "Countries", "country", "Country"),
        Panel("regions", "Regions", "region", "Region"),
        Panel("cities", "Cities", "city", "City"),
    ),
    "devices": (
        Panel("browsers", "Browsers", "browser", "Browser"),
        Panel("os", "Operating systems", "os", "Operating system"),
        Panel("devices", "Devices", "device", "Device"),
    ),
    "events": (Panel("events", "Custom events", "type", "Event", "events", "Events", (), PAGEVIEWS),),
    # Each goal's visitors who completed it; their share of the range's visitors is its conversion rate.
    "goals": (Panel("goals", "Goals", "goal", "Goal", "unique_visitors", "Conversions"),),
}
PANELS = {panel.key: panel for panels in BOXES.values() for panel in panels}
BOX_TITLES = {
    "sources": "Sources",
    "campaigns": "Campaigns",
    "pages": "Pages",
    "locations": "Locations",
    "devices": "Devices",
    "events": "Custom events",
    "goals": "Goals",
}
BOX_OF_PANEL = {panel.key: box for box, panels in BOXES.items() for panel in panels}


def dashboard_totals(*, property: Property, period, filters: tuple[Condition, ...]) -> dict:
    """Every card metric's value over `period`."""
    return MetricsQuery(
        property=property,
        date_from=period.date_from,
        date_to=period.date_to,
        metrics=tuple(CARD_METRICS),
        where=filters,
    ).calculate()[0]


def dashboard_cards(*, property: Property, period, previous, filters: tuple[Condition, ...]) -> list[dict]:
    """Each card's value for `period` and `previous`, with the change in percent (None without a base)."""
    totals = {
        name: dashboard_totals(property=property, period=span, filters=filters)
        for name, span in (("current", period), ("previous", previous))
    }
    cards = []
    for metric, label in CARD_METRICS.items():
        value, before = totals["current"][metric], totals["previous"][metric]
        change = None if not before else round(100.0 * (value - before) / before, 1)
        cards.append(
            {
                "metric": metric,
                "label": label,
                "value": value,
                "previous": before,
                "change": change,
                "lower_is_better": metric in LOWER_IS_BETTER,
            }
        )
    return cards


def dashboard_series(*, property: Property, period, previous, filters: tuple[Condition, ...], metric: str) -> dict:
    """`metric` per time bucket of `period`, with the previous period's bucket at the same position
    (`previous_bucket`, and its value `previous`; None where the previous period has fewer buckets)."""
    series = {}
    for name, span in (("current", period), ("previous", previous)):
        query = MetricsQuery(
            property=property,
            date_from=span.date_from,
            date_to=span.date_to,
            metrics=(metric,),
            interval=period.interval,
            where=filters,
        )
        series[name] = [(row[query.time_key], row[metric]) for row in query.calculate()]
    earlier = series["previous"]
    return {
        "metric": metric,
        "interval": period.interval,
        "points": [
            {
                "bucket": bucket,
                "value": value,
                "previous_bucket": earlier[index][0] if index < len(earlier) else None,
                "previous": earlier[index][1] if index < len(earlier) else None,
            }
            for index, (bucket, value) in enumerate(series["current"])
        ],
    }


def dashboard_panel(
    *,
    property: Property,
    date_from: date,
    date_to: date,
    filters: tuple[Condition, ...],
    panel: Panel,
    limit: int,
    offset: int = 0,
    known_totals: dict[str, int] | None = None,
) -> dict:
    """A panel's rows `offset`..`offset + limit` by its metric, each with its share of the panel's total,
    and whether more rows follow.

    The panel's own filters give way to the page's on the same dimension. `known_totals` are the
    range's totals under the same filters (the cards'): a panel without filters of its own takes its
    total from them instead of counting again.
    """
    filtered = {condition.dimension for condition in filters}
    excluded = tuple(Condition(IS_NOT, QUERY_DIMENSIONS[name], (value,)) for name, value in panel.excluded)
    common: dict[str, Any] = {
        "property": property,
        "date_from": date_from,
        "date_to": date_to,
        "filters": {name: value for name, value in panel.filters if QUERY_DIMENSIONS[name] not in filtered},
        "where": (*filters, *excluded),
    }
    rows = MetricsQuery(
        **common,
        metrics=(panel.metric,),
        group_by=(panel.dimension,),
        non_empty=() if panel.dimension in ("entry_page", "exit_page") else (panel.dimension,),
        limit=offset + limit + 1,
    ).calculate()
    known = (known_totals or {}) if not panel.filters and not panel.excluded else {}
    if panel.metric in known:
        total = known[panel.metric]
    else:
        total = MetricsQuery(**common, metrics=(panel.metric,)).calculate()[0][panel.metric]
    shown = rows[offset : offset + limit]
    return {
        "panel": panel,
        "rows": [
            {
                "value": row[panel.dimension],
                "count": row[panel.metric],
                "share": round(100.0 * row[panel.metric] / total, 1) if total else 0.0,
            }
            for row in shown
        ],
        "total": total,
        "has_more": len(rows) > offset + limit,
        "offset": offset,
    }


def dashboard_event_data(
    *, property: Property, date_from: date, date_to: date, filters: tuple[Condition, ...], event_type: str, limit: int
) -> list[dict]:
    """The `data` keys and values of one custom event type (see report_event_data), under the
    page's filters but those of the event type."""
    event_name = QUERY_DIMENSIONS["type"]
    return report_event_data(
        property=property,
        date_from=date_from,
        date_to=date_to,
        event_type=event_type,
        where=tuple(condition for condition in filters if condition.dimension != event_name),
        limit=limit,
    )
