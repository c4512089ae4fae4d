"""What the dashboard's pages show, apart from the views: their scope (period and filters), their
URLs for members and shared links, the chart's data, sparklines and the realtime bars."""

import calendar
from dataclasses import dataclass
from datetime import datetime, time

from django.urls import reverse
from django.utils import timezone

from apps.properties.models import Property
from apps.reports.dashboard import (
    BOX_TITLES,
    BOXES,
    CARD_METRICS,
    METRIC_UNITS,
    PANELS,
    Panel,
)
from apps.reports.filters import DashboardFilter, filters_from_params
from apps.reports.periods import (
    DEFAULT_RANGE,
    Period,
    PeriodError,
    period_from_params,
    period_named,
    property_today,
)
from apps.reports.queries.query import Condition

DEFAULT_METRIC = "unique_visitors"
REALTIME_MINUTES = 30
REALTIME_BAR_WIDTH, REALTIME_BAR_GAP, REALTIME_CHART_HEIGHT = 20, 3, 120
BUCKET_TITLES = {"hour": "Hour", "day": "Day", "week": "Week", "month": "Month"}
SPARKLINE_WIDTH, SPARKLINE_HEIGHT, SPARKLINE_PAD = 120, 32, 2


class PageError(Exception):
    """A URL parameter a dashboard page cannot honour; answered by a page that says so, with `status`."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class DashboardUrls:
    """The pages of one dashboard: a member's (`property-…` routes, `key` the property's public id)
    or a shared link's (`shared-…` routes, `key` the link's token)."""

    audience: str
    key: str

    @property
    def shared(self) -> bool:
        return self.audience == "shared"

    def url(self, name: str, *args: str) -> str:
        return reverse(f"{self.audience}-{name}", args=[self.key, *args])


@dataclass(frozen=True)
class Scope:
    """The period and filters a dashboard URL asks for. A bad range falls back to the default one
    and is kept as `period_error` for the page to explain."""

    period: Period
    filters: tuple[DashboardFilter, ...]
    period_error: PeriodError | None = None

    @property
    def previous(self) -> Period:
        return self.period.previous()

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The filters as the query engine's."""
        return tuple(found.condition for found in self.filters)

    @property
    def span(self) -> dict:
        return {"date_from": self.period.date_from, "date_to": self.period.date_to, "filters": self.conditions}


def scope_of(prop: Property, params) -> Scope:
    today = property_today(prop)
    filters = filters_from_params(params)
    try:
        return Scope(period_from_params(params, today=today), filters)
    except PeriodError as error:
        return Scope(period_named(DEFAULT_RANGE, today=today), filters, error)


def link_params(params, scope: Scope):
    """The parameters the page's links build on: `params` with the range the page shows, so that a bad
    range the page replaced by the default one is in none of them (tabs, filters, CSV files...)."""
    if scope.period_error is None:
        return params
    shown = params.copy()
    for name in ("range", "from", "to"):
        shown.pop(name, None)
    return shown


def strict_scope(prop: Property, params) -> Scope:
    """The scope of a fragment or a CSV file, which have no room to explain a bad range."""
    scope = scope_of(prop, params)
    if scope.period_error:
        raise PageError(400, scope.period_error.message)
    return scope


def panel_named(key: str) -> Panel:
    if key not in PANELS:
        raise PageError(404, f"There is no breakdown called “{key}”.")
    return PANELS[key]


def box_panel(params, box: str) -> Panel:
    """The panel the box's tab in the URL chooses (`?sources=referrers`), else the box's first."""
    key = params.get(box)
    if not key:
        return BOXES[box][0]
    found = next((panel for panel in BOXES[box] if panel.key == key), None)
    if found is None:
        choices = ", ".join(panel.key for panel in BOXES[box])
        raise PageError(400, f"{BOX_TITLES[box]} has no tab “{key}” (it has {choices}).")
    return found


def frame_context(prop: Property, urls: DashboardUrls) -> dict:
    return {
        "layout": "reports/shared_base.html" if urls.shared else "base.html",
        "shared": urls.shared,
        "urls": urls,
        "property": prop,
    }


def _wall_clock_seconds(bucket) -> int:
    """A bucket's local start (a day, or an hour as `YYYY-MM-DDTHH:00`) as seconds since the epoch read
    as UTC: the chart shows times in UTC, so it shows the property's own clock."""
    moment = datetime.fromisoformat(bucket) if isinstance(bucket, str) else datetime.combine(bucket, time())
    return calendar.timegm(moment.timetuple())


def chart_data(prop: Property, series: dict, scope: Scope) -> dict:
    """The chart's data island: x positions, the period's values (none yet for buckets still to come,
    so today's line stops at the current hour) and the previous period's."""
    local_now = timezone.now().astimezone(prop.tzinfo)
    now_bucket = {"hour": local_now.strftime("%Y-%m-%dT%H:00")}.get(series["interval"], local_now.date())
    points = series["points"]
    return {
        "label": CARD_METRICS[series["metric"]],
        "unit": METRIC_UNITS.get(series["metric"], "count"),
        "interval": series["interval"],
        "current_label": scope.period.label,
        "previous_label": "Previous period",
        "x": [_wall_clock_seconds(point["bucket"]) for point in points],
        "current": [None if point["bucket"] > now_bucket else point["value"] for point in points],
        "previous": [point["previous"] for point in points],
    }


def minute_bars(per_minute: list[dict]) -> list[dict]:
    """The per-minute chart's bars, in SVG units: REALTIME_BAR_WIDTH apart, the highest full height."""
    top = max((minute["pageviews"] for minute in per_minute), default=0) or 1
    bars = []
    for index, minute in enumerate(per_minute):
        height = round(REALTIME_CHART_HEIGHT * minute["pageviews"] / top, 1)
        bars.append(
            {
                **minute,
                "x": index * REALTIME_BAR_WIDTH,
                "y": REALTIME_CHART_HEIGHT - height,
                "height": height,
            }
        )
    return bars


def sparkline_points(values: list[int]) -> str:
    """The `points` of an SVG polyline drawing `values` left to right, the highest at the top."""
    top = max(values, default=0) or 1
    step = (SPARKLINE_WIDTH - 2 * SPARKLINE_PAD) / max(len(values) - 1, 1)
    height = SPARKLINE_HEIGHT - 2 * SPARKLINE_PAD
    return " ".join(
        f"{SPARKLINE_PAD + index * step:.1f},{SPARKLINE_PAD + height * (1 - value / top):.1f}"
        for index, value in enumerate(values)
    )
