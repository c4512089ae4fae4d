"""The team's pages: the property list, a property's dashboard (cards, chart, breakdowns, CSV files,
live counter, realtime view) and settings (keys and shared links), and the same dashboard, read-only,
behind a shared link.

Every page works without JavaScript; where it runs, htmx swaps a breakdown box or polls a counter.
Pages that show a secret (a new key, a new shared link) render it in the answer to the POST that
created it, never store it, and are not cached.
"""

import calendar
import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time
from functools import partial, wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.defaults import page_not_found

from apps.accounts.selectors import organization_access, organizations_of_user
from apps.core.admin import admin_access_allowed
from apps.core.api import ApplicationError
from apps.core.http import client_address
from apps.core.tenancy import Role, role_allows
from apps.core.throttle import address_budget
from apps.keys.models import ApiKey
from apps.keys.selectors import api_key_access, api_keys_of_property
from apps.keys.services import api_key_create, api_key_revoke, api_key_rotate, property_create_with_keys
from apps.properties.models import Property
from apps.properties.selectors import properties_of_user, property_access
from apps.properties.services import property_update
from apps.reports.dashboard import (
    BOX_OF_PANEL,
    BOX_TITLES,
    BOXES,
    CARD_METRICS,
    METRIC_UNITS,
    PANELS,
    Panel,
    dashboard_cards,
    dashboard_event_data,
    dashboard_panel,
    dashboard_series,
    dashboard_totals,
)
from apps.reports.filters import (
    FILTER_PREFIX,
    filter_chips,
    filters_from_params,
    hidden_inputs,
    query_with,
    range_query,
)
from apps.reports.forms import (
    ApiKeyCreateForm,
    PropertyCreateForm,
    PropertySettingsForm,
    SharedLinkCreateForm,
    SharedLinkPasswordForm,
)
from apps.reports.page_selectors import (
    property_visitor_trend,
    shared_link_access,
    shared_link_resolve,
    shared_links_of_property,
)
from apps.reports.periods import (
    DEFAULT_RANGE,
    RANGES,
    Period,
    PeriodError,
    period_from_params,
    period_named,
    property_today,
)
from apps.reports.selectors import property_has_events, realtime_report, realtime_visitors
from apps.reports.services import shared_link_create, shared_link_revoke, shared_link_unlock

# Where a shared page remembers, for this browser, the protected links whose password it was given.
SHARED_LINKS_UNLOCKED = "shared_links_unlocked"
SPARKLINE_WIDTH, SPARKLINE_HEIGHT, SPARKLINE_PAD = 120, 32, 2


# --- The property list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertyRow:
    property: Property
    visitors: int
    daily: list[tuple]
    sparkline_points: str


def sparkline_points(values: list[int]) -> str:
    """The `points` of an SVG polyline drawing `values` left to right, the highest at the top."""
    top = max(values, default=0) or 1
    step = (SPARKLINE_WIDTH - 2 * SPARKLINE_PAD) / max(len(values) - 1, 1)
    height = SPARKLINE_HEIGHT - 2 * SPARKLINE_PAD
    return " ".join(
        f"{SPARKLINE_PAD + index * step:.1f},{SPARKLINE_PAD + height * (1 - value / top):.1f}"
        for index, value in enumerate(values)
    )


@require_safe
@login_required
def property_list(request):
    """Each organisation's properties with their unique visitors over the last 7 days (their own
    days) and a sparkline drawn on the server: two queries per property, two more for the list."""
    organizations = list(organizations_of_user(user=request.user))
    rows = defaultdict(list)
    for prop in properties_of_user(user=request.user, organizations=organizations):
        trend = property_visitor_trend(property=prop, period=period_named("7d", today=property_today(prop)))
        rows[prop.organization_id].append(
            PropertyRow(prop, trend.total, trend.daily, sparkline_points([value for _, value in trend.daily]))
        )
    context = {
        "organizations": [
            (organization, rows[organization.pk], _role_at_least(request.user, organization.role, Role.ADMIN))
            for organization in organizations
        ],
        "sparkline": {"width": SPARKLINE_WIDTH, "height": SPARKLINE_HEIGHT},
        "admin_allowed": admin_access_allowed(request.user),
    }
    return render(request, "reports/property_list.html", context)


def _role_at_least(user, role: str | None, needed: str) -> bool:
    return user.is_superuser or role_allows(role, needed)


# --- A new property, and the wait for its first event ---------------------------------------------

# How often the waiting page asks whether the first event has arrived.
FIRST_EVENT_POLL_SECONDS = 3


@require_http_methods(["GET", "POST"])
@login_required
@never_cache
def property_new(request, organization_id: str):
    """A new property of an organisation (its admins and owners), with its first write and read keys,
    as the API creates one; the answer shows the keys, once, and waits for the first event."""
    organization = organization_access(user=request.user, public_id=organization_id, role=Role.ADMIN)
    form = PropertyCreateForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            prop, secrets = property_create_with_keys(organization=organization, **form.property_fields())
        except ValidationError as error:
            _validation_errors_add(form, error, renamed={"domains": "domain"})
        else:
            return _waiting_page(
                request, prop, is_admin=True, write_key=secrets["write"], read_key=secrets["read"], status=201
            )
    context = {"organization": organization, "form": form}
    return render(request, "reports/property_new.html", context, status=400 if form.is_bound else 200)


def _waiting_page(
    request, prop: Property, *, is_admin: bool, write_key: str = "", read_key: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "property": prop,
        "is_admin": is_admin,
        "beacon_src": request.build_absolute_uri(reverse("beacon")),
        "snippet_key": write_key,
        "read_key": read_key,
        "poll_seconds": FIRST_EVENT_POLL_SECONDS,
    }
    return render(request, "reports/property_waiting.html", context, status=status)


@require_safe
@login_required
@never_cache
def property_waiting(request, property_id: str):
    """The beacon snippet and "waiting for the first event"; once the property has one, its dashboard."""
    prop = property_access(actor=request.user, public_id=property_id)
    if property_has_events(property=prop):
        return redirect("property-dashboard", prop.public_id)
    return _waiting_page(request, prop, is_admin=_is_admin(request.user, prop))


@require_safe
@login_required
@never_cache
def property_first_event(request, property_id: str):
    """What the waiting page polls: 204 (nothing to swap) until the first event is stored, then a link to
    the dashboard, which htmx follows at once (HX-Redirect)."""
    prop = property_access(actor=request.user, public_id=property_id)
    if not property_has_events(property=prop):
        return HttpResponse(status=204)
    dashboard = reverse("property-dashboard", args=[prop.public_id])
    response = render(request, "reports/_first_event.html", {"dashboard_url": dashboard})
    response["HX-Redirect"] = dashboard
    return response


# --- The dashboard's pages ------------------------------------------------------------------------
#
# Each page takes the property and `urls`, the URLs of its audience's pages; the routes at the end of
# this file hand them to members (through the property door) and to shared links (through the
# link's gate). Links that change what a page shows are query strings relative to it, and links to
# the other pages come from `urls`, so one template serves both.

DEFAULT_METRIC = "unique_visitors"
BOX_ROWS = 10
# Set by static/js/dashboard.js: the browser runs htmx, so the page leaves its boxes for it to fetch
# in parallel (the cards and the chart come first). Without it, the page renders every box itself.
BOXES_FETCHED_COOKIE = "clickmeter_js"
BREAKDOWN_ROWS = 50
# Beyond this a breakdown page number is taken as a typo (and SQL offsets stay small).
MAX_BREAKDOWN_PAGE = 100_000
EVENT_DATA_ROWS = 50
# A breakdown's CSV holds all its rows; this bounds only a pathological dimension.
EXPORT_MAX_ROWS = 100_000
LIVE_MINUTES = 5
REALTIME_MINUTES = 30
REALTIME_BAR_WIDTH, REALTIME_BAR_GAP, REALTIME_CHART_HEIGHT = 20, 3, 120
BUCKET_TITLES = {"hour": "Hour", "day": "Day", "week": "Week", "month": "Month"}
# A cell starting with one of these is a formula to a spreadsheet (CSV injection): it gets a leading '.
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
    filters: dict[str, str]
    period_error: PeriodError | None = None

    @property
    def previous(self) -> Period:
        return self.period.previous()

    @property
    def span(self) -> dict:
        return {"date_from": self.period.date_from, "date_to": self.period.date_to, "filters": self.filters}


def _scope(prop: Property, params) -> Scope:
    today = property_today(prop)
    filters = filters_from_params(params)
    try:
        return Scope(period_from_params(params, today=today), filters)
    except PeriodError as error:
        return Scope(period_named(DEFAULT_RANGE, today=today), filters, error)


def _link_params(params, scope: Scope):
    """The parameters the page's links build on: `params` with the range the page shows, so that a bad
    range the page replaced by the default one is in none of them (tabs, filters, CSV files...)."""
    if scope.period_error is None:
        return params
    shown = params.copy()
    for name in ("range", "from", "to"):
        shown.pop(name, None)
    return shown


def _strict_scope(prop: Property, params) -> Scope:
    """The scope of a fragment or a CSV file, which have no room to explain a bad range."""
    scope = _scope(prop, params)
    if scope.period_error:
        raise PageError(400, scope.period_error.message)
    return scope


def _panel_named(key: str) -> Panel:
    if key not in PANELS:
        raise PageError(404, f"There is no breakdown called “{key}”.")
    return PANELS[key]


def _box_panel(params, box: str) -> Panel:
    """The panel the box's tab in the URL chooses (`?sources=referrers`), else the box's first."""
    key = params.get(box)
    if not key:
        return BOXES[box][0]
    found = next((panel for panel in BOXES[box] if panel.key == key), None)
    if found is None:
        choices = ", ".join(panel.key for panel in BOXES[box])
        raise PageError(400, f"{BOX_TITLES[box]} has no tab “{key}” (it has {choices}).")
    return found


def _frame_context(prop: Property, urls: DashboardUrls) -> dict:
    return {
        "layout": "reports/shared_base.html" if urls.shared else "base.html",
        "shared": urls.shared,
        "urls": urls,
        "property": prop,
    }


def _page_context(prop: Property, urls: DashboardUrls, scope: Scope, *, params, typed, base_url: str) -> dict:
    """What every page with a range shows around its content: the live counter, the period picker
    (its form submits to `base_url`; its dates show what was `typed`, a bad range included, to be
    corrected) and the filter chips, all keeping the rest of `params` (see _link_params)."""
    period = scope.period
    return {
        **_frame_context(prop, urls),
        "params": params,
        "base_url": base_url,
        "live_visitors": realtime_visitors(property=prop, now=timezone.now(), minutes=LIVE_MINUTES),
        "live_minutes": LIVE_MINUTES,
        "period": period,
        "period_error": scope.period_error,
        "period_links": [
            {
                "label": label,
                "query": range_query(params, name),
                "current": name == period.range and not scope.period_error,
            }
            for name, label in RANGES.items()
            if name != "custom"
        ],
        "custom_values": {
            "from": typed.get("from") or period.date_from.isoformat(),
            "to": typed.get("to") or period.date_to.isoformat(),
        },
        "custom_current": period.range == "custom",
        "custom_hidden": hidden_inputs(params, exclude={"range", "from", "to"}),
        "filters": scope.filters,
        "chips": filter_chips(params),
        "clear_filters_query": query_with(
            params, **dict.fromkeys((FILTER_PREFIX + name for name in scope.filters), None)
        ),
    }


def _box(
    prop: Property, scope: Scope, params, box: str, panel: Panel, known_totals: dict | None = None, *, lazy=False
) -> dict:
    """One breakdown box: its tabs (links that keep the rest of the URL), its panel's top rows and, in
    the custom events box, the `data` of the event `?event=` chooses. A `lazy` box is only its title:
    the browser fetches the rest (panel_fragment)."""
    if lazy:
        return {"key": box, "title": BOX_TITLES[box], "panel": panel, "lazy": True}
    first = BOXES[box][0]
    found = {
        "key": box,
        "title": BOX_TITLES[box],
        "panel": panel,
        "tabs": [
            {
                "panel": tab,
                "query": query_with(params, **{box: None if tab == first else tab.key}),
                "current": tab == panel,
            }
            for tab in BOXES[box]
        ]
        if len(BOXES[box]) > 1
        else [],
        "data": dashboard_panel(property=prop, **scope.span, panel=panel, limit=BOX_ROWS, known_totals=known_totals),
    }
    event = params.get("event")
    if box == "events" and event:
        found["event"] = event
        found["event_data"] = dashboard_event_data(property=prop, **scope.span, event_type=event, limit=EVENT_DATA_ROWS)
        found["event_close_query"] = query_with(params, event=None)
    return found


def _wall_clock_seconds(bucket) -> int:
    """A bucket's local start (a day, or an hour as `YYYY-MM-DDTHH:00`) as seconds since the epoch read
    as UTC: the chart shows times in UTC, so it shows the property's own clock."""
    moment = datetime.fromisoformat(bucket) if isinstance(bucket, str) else datetime.combine(bucket, time())
    return calendar.timegm(moment.timetuple())


def _chart_data(prop: Property, series: dict, scope: Scope) -> dict:
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


def dashboard_page(request, prop: Property, *, urls: DashboardUrls) -> HttpResponse:
    """Render `prop`'s dashboard for the period, filters, charted metric and tabs in the URL.

    A bad custom range is explained on the page, which then shows the default range with a 400; an
    unknown metric or tab is a 400 page. A shared page (`urls.shared`) shows the numbers only: no
    settings, no other properties, no organisation.
    """
    metric = request.GET.get("metric") or DEFAULT_METRIC
    if metric not in CARD_METRICS:
        raise PageError(400, f"There is no metric “{metric}” to chart: choose one of the cards.")
    panels = {box: _box_panel(request.GET, box) for box in BOXES}
    scope = _scope(prop, request.GET)
    params = _link_params(request.GET, scope)
    cards = dashboard_cards(property=prop, period=scope.period, previous=scope.previous, filters=scope.filters)
    known_totals = {card["metric"]: card["value"] for card in cards}
    series = dashboard_series(
        property=prop, period=scope.period, previous=scope.previous, filters=scope.filters, metric=metric
    )
    context = {
        **_page_context(prop, urls, scope, params=params, typed=request.GET, base_url=urls.url("dashboard")),
        "cards": [
            {
                **card,
                "query": query_with(params, metric=None if card["metric"] == DEFAULT_METRIC else card["metric"]),
                "current": card["metric"] == metric,
            }
            for card in cards
        ],
        "metric": metric,
        "metric_label": CARD_METRICS[metric],
        # Checked only when the period has no visitor, so a dashboard with traffic costs no query for it.
        "waiting_for_first_event": not urls.shared
        and not known_totals.get("unique_visitors")
        and not property_has_events(property=prop),
        "series": series,
        "bucket_title": BUCKET_TITLES[series["interval"]],
        "chart": _chart_data(prop, series, scope),
        "previous_days": "previous day" if scope.period.days == 1 else f"previous {scope.period.days} days",
        "boxes": [
            _box(prop, scope, params, box, panel, known_totals, lazy=BOXES_FETCHED_COOKIE in request.COOKIES)
            for box, panel in panels.items()
        ],
    }
    return render(request, "reports/dashboard.html", context, status=400 if scope.period_error else 200)


def panel_fragment(request, prop: Property, *, urls: DashboardUrls, panel: str) -> HttpResponse:
    """The breakdown box showing `panel`, for a tab click that swaps just that box (htmx)."""
    found = _panel_named(panel)
    box = BOX_OF_PANEL[found.key]
    params = request.GET.copy()
    if found == BOXES[box][0]:
        params.pop(box, None)
    else:
        params[box] = found.key
    scope = _strict_scope(prop, params)
    # The cards' totals (the same report as the page's cards, so usually from the report cache).
    known_totals = dashboard_totals(property=prop, period=scope.period, filters=scope.filters)
    context = {
        "box": _box(prop, scope, params, box, found, known_totals),
        "params": params,
        "urls": urls,
        "period": scope.period,
        "filters": scope.filters,
    }
    return render(request, "reports/_box.html", context)


def _page_number(params) -> int:
    value = params.get("page", "1")
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise PageError(400, "The page number must be a whole number from 1.")
    if int(value) > MAX_BREAKDOWN_PAGE:
        raise PageError(404, f"There is no page {value} of this breakdown.")
    return int(value)


def breakdown_page(request, prop: Property, *, urls: DashboardUrls, panel: str) -> HttpResponse:
    """All rows of one panel, BREAKDOWN_ROWS a page (`?page=2`), for the range and filters in the URL.

    A row's link filters the whole dashboard by it; a page past the last is a 404.
    """
    found = _panel_named(panel)
    page = _page_number(request.GET)
    typed = request.GET.copy()
    typed.pop("page", None)
    scope = _scope(prop, typed)
    params = _link_params(typed, scope)
    data = dashboard_panel(
        property=prop, **scope.span, panel=found, limit=BREAKDOWN_ROWS, offset=(page - 1) * BREAKDOWN_ROWS
    )
    if page > 1 and not data["rows"]:
        raise PageError(404, f"{found.title} has no page {page} for this range and these filters.")
    context = {
        **_page_context(prop, urls, scope, params=params, typed=typed, base_url=urls.url("breakdown", found.key)),
        "panel": found,
        "data": data,
        "page": page,
        "previous_query": (query_with(params, page=str(page - 1) if page > 2 else None) if page > 1 else None),
        "next_query": query_with(params, page=str(page + 1)) if data["has_more"] else None,
    }
    return render(request, "reports/breakdown.html", context, status=400 if scope.period_error else 200)


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_STARTS):
        return "'" + value
    return value


def _csv_response(prop: Property, name: str, header: list[str], rows) -> HttpResponse:
    filename = f"{slugify(prop.name) or 'property'}-{name}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([_csv_cell(value) for value in row] for row in rows)
    return response


def export_csv(request, prop: Property, *, urls: DashboardUrls, table: str) -> HttpResponse:
    """One of the dashboard's tables as a CSV file, for the range and filters in the URL: a panel
    with all its rows, the chart's series (`?metric=`) beside the previous period's, the data of
    one custom event (`?event=`), or a realtime table (`realtime-minutes`, `realtime-pages`,
    `realtime-sources`). Text that a spreadsheet would run as a formula is quoted."""
    params = request.GET
    if table.startswith("realtime-"):
        return _realtime_csv(prop, table)
    if table == "series":
        metric = params.get("metric") or DEFAULT_METRIC
        if metric not in CARD_METRICS:
            raise PageError(400, f"There is no metric “{metric}”: choose one of {', '.join(CARD_METRICS)}.")
        scope = _strict_scope(prop, params)
        series = dashboard_series(
            property=prop, period=scope.period, previous=scope.previous, filters=scope.filters, metric=metric
        )
        bucket, label = BUCKET_TITLES[series["interval"]], CARD_METRICS[metric]
        header = [bucket, label, f"Previous period's {bucket.lower()}", f"{label}, previous period"]
        rows: list[tuple[Any, ...]] = [
            (point["bucket"], point["value"], point["previous_bucket"], point["previous"]) for point in series["points"]
        ]
    elif table == "event-data":
        event = params.get("event")
        if not event:
            raise PageError(400, "Name the custom event whose data to export: ?event=…")
        scope = _strict_scope(prop, params)
        data = dashboard_event_data(property=prop, **scope.span, event_type=event, limit=EXPORT_MAX_ROWS)
        header = ["Event", "Key", "Value", "Events", "Unique visitors"]
        rows = [(event, row["key"], row["value"], row["events"], row["unique_visitors"]) for row in data]
    else:
        panel = _panel_named(table)
        scope = _strict_scope(prop, params)
        panel_data = dashboard_panel(property=prop, **scope.span, panel=panel, limit=EXPORT_MAX_ROWS)
        header = [panel.column_title, panel.metric_title, "Share (%)"]
        rows = [(row["value"], row["count"], row["share"]) for row in panel_data["rows"]]
    return _csv_response(prop, f"{table}-{scope.period.date_from}-{scope.period.date_to}", header, rows)


def _realtime_csv(prop: Property, table: str) -> HttpResponse:
    """A table of the realtime view (the last REALTIME_MINUTES minutes, as of now) as a CSV file."""
    now = timezone.now()
    report = realtime_report(property=prop, now=now, minutes=REALTIME_MINUTES)
    rows: list[tuple[Any, ...]]
    if table == "realtime-minutes":
        header, rows = ["Minute", "Pageviews"], [(row["minute"], row["pageviews"]) for row in report["per_minute"]]
    elif table in ("realtime-pages", "realtime-sources"):
        key, title = ("path", "Page") if table == "realtime-pages" else ("source", "Source")
        rows = [(row[key], row["pageviews"], row["unique_visitors"]) for row in report[table.removeprefix("realtime-")]]
        header = [title, "Pageviews", "Visitors"]
    else:
        raise PageError(404, f"There is no realtime table called “{table.removeprefix('realtime-')}”.")
    return _csv_response(prop, f"{table}-{now.astimezone(prop.tzinfo):%Y-%m-%dT%H%M}", header, rows)


def live_fragment(request, prop: Property, *, urls: DashboardUrls) -> HttpResponse:
    """The "visitors right now" counter, which the page polls: 204 (nothing to swap) while the count
    the page shows (`?shown=`) is still right, so a screen reader hears only changes."""
    count = realtime_visitors(property=prop, now=timezone.now(), minutes=LIVE_MINUTES)
    if request.GET.get("shown") == str(count):
        return HttpResponse(status=204)
    return render(request, "reports/_live.html", {"urls": urls, "live_visitors": count, "live_minutes": LIVE_MINUTES})


def _minute_bars(per_minute: list[dict]) -> list[dict]:
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


def realtime_page(request, prop: Property, *, urls: DashboardUrls) -> HttpResponse:
    """The last REALTIME_MINUTES minutes from raw events, which the page polls to stay current."""
    now = timezone.now()
    report = realtime_report(property=prop, now=now, minutes=REALTIME_MINUTES)
    context = {
        **_frame_context(prop, urls),
        "live_visitors": realtime_visitors(property=prop, now=now, minutes=LIVE_MINUTES),
        "live_minutes": LIVE_MINUTES,
        "report": report,
        "minutes": REALTIME_MINUTES,
        # Formatted here: the template's time filter would show it in the server's timezone.
        "updated": now.astimezone(prop.tzinfo).strftime("%H:%M:%S"),
        "bars": _minute_bars(report["per_minute"]),
        "tops": [
            ("Top pages", "Page", [{**row, "value": row["path"]} for row in report["pages"]], "pages"),
            ("Top sources", "Source", [{**row, "value": row["source"]} for row in report["sources"]], "sources"),
        ],
        "bar_chart": {
            "width": REALTIME_BAR_WIDTH * REALTIME_MINUTES,
            "height": REALTIME_CHART_HEIGHT,
            "bar_width": REALTIME_BAR_WIDTH - REALTIME_BAR_GAP,
        },
    }
    return render(request, "reports/realtime.html", context)


def _error_page(request, prop: Property, urls: DashboardUrls, error: PageError) -> HttpResponse:
    context = {**_frame_context(prop, urls), "error": error}
    return render(request, "reports/page_error.html", context, status=error.status)


# --- Settings: the property, the beacon snippet, keys and shared links (admins change) --------------


def _settings_url(prop: Property, section: str = "") -> str:
    return reverse("property-settings", args=[prop.public_id]) + (f"#{section}" if section else "")


def _is_admin(user, prop: Property) -> bool:
    """Whether the user may change `prop`: the role the property door found (`tenant_role`)."""
    return _role_at_least(user, prop.tenant_role, Role.ADMIN)  # type: ignore[attr-defined]  # annotated by the door


@dataclass(frozen=True)
class NewSecret:
    """A key or link just created, shown once in the answer to the POST that made it."""

    title: str
    secret: str
    note: str = ""


def _settings_page(
    request,
    prop: Property,
    *,
    settings_form: PropertySettingsForm | None = None,
    key_form: ApiKeyCreateForm | None = None,
    link_form: SharedLinkCreateForm | None = None,
    new_secret: NewSecret | None = None,
    snippet_key: str = "",
    status: int = 200,
) -> HttpResponse:
    is_admin = _is_admin(request.user, prop)
    now = timezone.now()
    context = {
        "property": prop,
        "is_admin": is_admin,
        "settings_form": settings_form or PropertySettingsForm.of_property(prop, read_only=not is_admin),
        "beacon_src": request.build_absolute_uri(reverse("beacon")),
        "snippet_key": snippet_key,
        "new_secret": new_secret,
        "rotation_grace_hours": settings.CLICKMETER_KEY_ROTATION_GRACE_HOURS,
    }
    if is_admin:
        context.update(
            keys=[(api_key, api_key.status(now)) for api_key in api_keys_of_property(property=prop)],
            key_form=key_form or ApiKeyCreateForm(),
            shared_links=list(shared_links_of_property(property=prop)),
            link_form=link_form or SharedLinkCreateForm(),
        )
    return render(request, "reports/property_settings.html", context, status=status)


def _validation_errors_add(form, error: ValidationError, *, renamed: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form: each error on its field (`renamed`: the form's name for a
    property field), else above the form."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            field = (renamed or {}).get(field, field)
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        # property_update raises a bare ValidationError only for an origin it cannot read.
        form.add_error("allowed_origins", error)


@require_http_methods(["GET", "POST"])
@login_required
@never_cache
def property_settings(request, property_id: str):
    """Viewers read a property's settings and beacon snippet; admins change them."""
    if request.method != "POST":
        return _settings_page(request, property_access(actor=request.user, public_id=property_id))
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    form = PropertySettingsForm(request.POST)
    if form.is_valid():
        try:
            property_update(property=prop, **form.cleaned_data)
        except ValidationError as error:
            prop.refresh_from_db()
            _validation_errors_add(form, error)
        else:
            messages.success(request, "Settings saved.")
            return redirect(_settings_url(prop))
    return _settings_page(request, prop, settings_form=form, status=400)


@require_POST
@login_required
@never_cache
def property_snippet_key_create(request, property_id: str):
    """Create a write key and show the beacon snippet with it filled in, once: on the settings page, or
    on the waiting page it was asked from (`then=waiting`)."""
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    api_key, secret = api_key_create(property=prop, kind=ApiKey.Kind.WRITE, name="beacon snippet")
    if request.POST.get("then") == "waiting":
        return _waiting_page(request, prop, is_admin=True, write_key=secret)
    new_secret = NewSecret(f"New write key {api_key.prefix}…, filled into the snippet below", secret)
    return _settings_page(request, prop, new_secret=new_secret, snippet_key=secret)


@require_POST
@login_required
@never_cache
def property_key_create(request, property_id: str):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, prop, key_form=form, status=400)
    api_key, secret = api_key_create(property=prop, kind=form.cleaned_data["kind"], name=form.cleaned_data["name"])
    new_secret = NewSecret(f"New {api_key.get_kind_display().lower()} key", secret)
    return _settings_page(
        request, prop, new_secret=new_secret, snippet_key=secret if api_key.kind == ApiKey.Kind.WRITE else ""
    )


@require_POST
@login_required
def property_key_revoke(request, property_id: str, key_id: int):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    api_key = api_key_access(property=prop, key_id=key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Revoked {api_key.prefix}…: it stops working within a second.")
    return redirect(_settings_url(prop, "keys"))


@require_POST
@login_required
@never_cache
def property_key_rotate(request, property_id: str, key_id: int):
    """Replace a key; the old one keeps working for the rotation grace period, and the page says until when."""
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    api_key = api_key_access(property=prop, key_id=key_id)
    try:
        new_key, secret = api_key_rotate(api_key=api_key)
    except ApplicationError as refusal:
        messages.error(request, f"{api_key.prefix}…: {refusal.message}")
        return redirect(_settings_url(prop, "keys"))
    api_key.refresh_from_db(fields=["expires_at"])
    new_secret = NewSecret(
        f"New {new_key.get_kind_display().lower()} key replacing {api_key.prefix}…",
        secret,
        note=f"The old key {api_key.prefix}… keeps working until {api_key.expires_at:%Y-%m-%d %H:%M} UTC.",
    )
    return _settings_page(
        request, prop, new_secret=new_secret, snippet_key=secret if new_key.kind == ApiKey.Kind.WRITE else ""
    )


@require_POST
@login_required
@never_cache
def property_shared_link_create(request, property_id: str):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    form = SharedLinkCreateForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, prop, link_form=form, status=400)
    shared_link, token = shared_link_create(
        property=prop,
        name=form.cleaned_data["name"],
        password=form.cleaned_data["password"] or None,
        created_by=request.user,
    )
    new_secret = NewSecret(
        f"New shared link “{shared_link.name}”",
        request.build_absolute_uri(reverse("shared-dashboard", args=[token])),
        note="Anyone with this link can read this property's dashboard"
        + (" after entering the password." if shared_link.has_password() else "."),
    )
    return _settings_page(request, prop, new_secret=new_secret)


@require_POST
@login_required
def property_shared_link_revoke(request, property_id: str, shared_link_id: int):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    shared_link = shared_link_access(property=prop, shared_link_id=shared_link_id)
    shared_link_revoke(shared_link=shared_link)
    messages.success(request, f"Revoked the shared link “{shared_link.name}” ({shared_link.prefix}…).")
    return redirect(_settings_url(prop, "shared-links"))


# --- Who opens the dashboard's pages: members through the property door, anyone with a shared link --


def _member_route(page):
    """`page` for the property in the URL, for its members of any role (viewers read everything)."""

    @wraps(page)
    @require_safe
    @login_required
    @never_cache
    def view(request, property_id: str, **kwargs):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.VIEWER)
        urls = DashboardUrls("property", prop.public_id)
        try:
            return page(request, prop, urls=urls, **kwargs)
        except PageError as error:
            return _error_page(request, prop, urls, error)

    return view


def _shared_route(page, *, fragment: bool = False):
    """`page` for the property of the shared link in the URL, for anyone with the link.

    A protected link shows its password page in place of any page until this browser has given the
    password (a `fragment`, polled or swapped into a page, is a bare 403 instead). An unknown or
    revoked link is a 404. Search engines are asked not to index it, and no other site learns the
    link from the Referer header.
    """

    @wraps(page)
    @require_http_methods(["GET", "HEAD"] if fragment else ["GET", "HEAD", "POST"])
    @never_cache
    @address_budget("shared-link", "CLICKMETER_SHARED_LINK_RATE")
    def view(request, token: str, **kwargs):
        response = _shared_answer(request, token, partial(page, **kwargs), fragment=fragment)
        response["X-Robots-Tag"] = "noindex, nofollow"
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return view


def _shared_answer(request, token: str, page, *, fragment: bool) -> HttpResponse:
    shared_link = shared_link_resolve(token)
    if shared_link is None:
        return page_not_found(request, Http404())
    unlocked = not shared_link.has_password() or shared_link.pk in request.session.get(SHARED_LINKS_UNLOCKED, [])
    if not unlocked:
        return HttpResponseForbidden() if fragment else _shared_password_page(request, shared_link)
    if request.method == "POST":
        return redirect(request.get_full_path())
    urls = DashboardUrls("shared", token)
    try:
        return page(request, shared_link.property, urls=urls)
    except PageError as error:
        return _error_page(request, shared_link.property, urls, error)


def _shared_password_page(request, shared_link) -> HttpResponse:
    form = SharedLinkPasswordForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any]
    context, status, retry_after = {"form": form}, 200, None
    if request.method == "POST" and form.is_valid():
        try:
            unlocked = shared_link_unlock(
                shared_link=shared_link, password=form.cleaned_data["password"], client=client_address(request)
            )
        except ApplicationError as refusal:
            context["refusal"], status, retry_after = refusal, 429, refusal.retry_after
        else:
            if unlocked:
                unlocked_ids = request.session.get(SHARED_LINKS_UNLOCKED, [])
                request.session[SHARED_LINKS_UNLOCKED] = [*unlocked_ids, shared_link.pk]
                return redirect(request.get_full_path())
            form.add_error("password", "That is not the password of this link.")
            status = 400
    response = render(request, "reports/share_password.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    # Under no-referrer a browser posts the form with `Origin: null`, which CSRF protection refuses;
    # same-origin still keeps the link from every other site.
    response["Referrer-Policy"] = "same-origin"
    return response


property_dashboard = _member_route(dashboard_page)
property_breakdown = _member_route(breakdown_page)
property_panel = _member_route(panel_fragment)
property_export = _member_route(export_csv)
property_live = _member_route(live_fragment)
property_realtime = _member_route(realtime_page)
shared_dashboard = _shared_route(dashboard_page)
shared_breakdown = _shared_route(breakdown_page)
shared_panel = _shared_route(panel_fragment, fragment=True)
shared_export = _shared_route(export_csv)
shared_live = _shared_route(live_fragment, fragment=True)
shared_realtime = _shared_route(realtime_page)
