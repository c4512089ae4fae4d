"""A property's dashboard: its page (cards, chart, breakdown boxes), a box swapped by a tab, a
breakdown's full list, the live counter and the realtime view.

Each page takes the property and `urls`, the URLs of its audience's pages: the routes at the end of
this file hand them to members (through the property door), apps/reports/shared_links/views.py to
shared links (through the link's gate). Links that change what a page shows are query strings
relative to it, and links to the other pages come from `urls`, so one template serves both.
"""

import threading
from collections.abc import Iterator
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from apps.core.tenancy import Role
from apps.ingestion.buffer import buffer_enabled
from apps.ingestion.live import live_events
from apps.properties.models import Property
from apps.properties.selectors import property_access
from apps.reports.dashboard import (
    BOX_OF_PANEL,
    BOX_TITLES,
    BOXES,
    CARD_METRICS,
    Panel,
    dashboard_cards,
    dashboard_event_data,
    dashboard_panel,
    dashboard_series,
    dashboard_totals,
)
from apps.reports.filters import (
    DIMENSION_LABELS,
    FILTER_FORM_FIELDS,
    OPERATOR_LABELS,
    PROPS,
    TRAIT,
    FilterError,
    filter_add_query,
    filter_chips,
    filter_from_form,
    filters_cleared_query,
    hidden_inputs,
    query_with,
    range_query,
)
from apps.reports.periods import (
    RANGES,
)
from apps.reports.selectors import imported_days, property_has_events, realtime_report, realtime_visitors
from apps.reports.views.presentation import (
    BUCKET_TITLES,
    DEFAULT_METRIC,
    REALTIME_BAR_GAP,
    REALTIME_BAR_WIDTH,
    REALTIME_CHART_HEIGHT,
    REALTIME_MINUTES,
    DashboardUrls,
    PageError,
    Scope,
    box_panel,
    chart_data,
    frame_context,
    link_params,
    minute_bars,
    panel_named,
    scope_of,
    strict_scope,
)

BOX_ROWS = 10
# Set by static/js/dashboard.js: the browser runs htmx, so the page leaves its boxes for it to fetch
# in parallel (the cards and the chart come first). Without it, the page renders every box itself.
BOXES_FETCHED_COOKIE = "clickmeter_js"
BREAKDOWN_ROWS = 50
# Beyond this a breakdown page number is taken as a typo (and SQL offsets stay small).
MAX_BREAKDOWN_PAGE = 100_000
EVENT_DATA_ROWS = 50
LIVE_MINUTES = 5


def range_page_context(prop: Property, urls: DashboardUrls, scope: Scope, *, params, typed, base_url: str) -> dict:
    """What every page with a range shows around its content: the live counter, the period picker
    (its form submits to `base_url`; its dates show what was `typed`, a bad range included, to be
    corrected) and the filter chips, all keeping the rest of `params` (see link_params)."""
    period = scope.period
    return {
        **frame_context(prop, urls),
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
        "clear_filters_query": filters_cleared_query(params),
        "filter_form": {
            "dimensions": [*DIMENSION_LABELS.items(), (PROPS, "Custom property"), (TRAIT, "User trait")],
            "operators": OPERATOR_LABELS.items(),
            "hidden": hidden_inputs(params, exclude=set(FILTER_FORM_FIELDS)),
        },
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


def _filter_added(request, urls: DashboardUrls) -> HttpResponse:
    """The dashboard's address with the filter its form asked for (see filters.filter_from_form)."""
    try:
        added = filter_from_form(request.GET)
    except FilterError as error:
        raise PageError(400, str(error)) from error
    params = request.GET.copy()
    for name in FILTER_FORM_FIELDS:
        params.pop(name, None)
    return redirect(urls.url("dashboard") + filter_add_query(params, added))


def dashboard_page(request, prop: Property, *, urls: DashboardUrls) -> HttpResponse:
    """Render `prop`'s dashboard for the period, filters, charted metric and tabs in the URL.

    A bad custom range is explained on the page, which then shows the default range with a 400; an
    unknown metric or tab is a 400 page. A shared page (`urls.shared`) shows the numbers only: no
    settings, no other properties, no organisation.
    """
    if FILTER_FORM_FIELDS[0] in request.GET:
        return _filter_added(request, urls)
    metric = request.GET.get("metric") or DEFAULT_METRIC
    if metric not in CARD_METRICS:
        raise PageError(400, f"There is no metric “{metric}” to chart: choose one of the cards.")
    panels = {box: box_panel(request.GET, box) for box in BOXES}
    scope = scope_of(prop, request.GET)
    params = link_params(request.GET, scope)
    cards = dashboard_cards(property=prop, period=scope.period, previous=scope.previous, filters=scope.conditions)
    known_totals = {card["metric"]: card["value"] for card in cards}
    series = dashboard_series(
        property=prop, period=scope.period, previous=scope.previous, filters=scope.conditions, metric=metric
    )
    context = {
        **range_page_context(prop, urls, scope, params=params, typed=request.GET, base_url=urls.url("dashboard")),
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
        "imported_days": imported_days(property=prop, date_from=scope.period.date_from, date_to=scope.period.date_to),
        "series": series,
        "bucket_title": BUCKET_TITLES[series["interval"]],
        "chart": chart_data(prop, series, scope),
        "previous_days": "previous day" if scope.period.days == 1 else f"previous {scope.period.days} days",
        "boxes": [
            _box(prop, scope, params, box, panel, known_totals, lazy=BOXES_FETCHED_COOKIE in request.COOKIES)
            for box, panel in panels.items()
        ],
    }
    return render(request, "reports/dashboard.html", context, status=400 if scope.period_error else 200)


def panel_fragment(request, prop: Property, *, urls: DashboardUrls, panel: str) -> HttpResponse:
    """The breakdown box showing `panel`, for a tab click that swaps just that box (htmx)."""
    found = panel_named(panel)
    box = BOX_OF_PANEL[found.key]
    params = request.GET.copy()
    if found == BOXES[box][0]:
        params.pop(box, None)
    else:
        params[box] = found.key
    scope = strict_scope(prop, params)
    # The cards' totals (the same report as the page's cards, so usually from the report cache).
    known_totals = dashboard_totals(property=prop, period=scope.period, filters=scope.conditions)
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
    found = panel_named(panel)
    page = _page_number(request.GET)
    typed = request.GET.copy()
    typed.pop("page", None)
    scope = scope_of(prop, typed)
    params = link_params(typed, scope)
    data = dashboard_panel(
        property=prop, **scope.span, panel=found, limit=BREAKDOWN_ROWS, offset=(page - 1) * BREAKDOWN_ROWS
    )
    if page > 1 and not data["rows"]:
        raise PageError(404, f"{found.title} has no page {page} for this range and these filters.")
    context = {
        **range_page_context(prop, urls, scope, params=params, typed=typed, base_url=urls.url("breakdown", found.key)),
        "panel": found,
        "data": data,
        "page": page,
        "previous_query": (query_with(params, page=str(page - 1) if page > 2 else None) if page > 1 else None),
        "next_query": query_with(params, page=str(page + 1)) if data["has_more"] else None,
    }
    return render(request, "reports/breakdown.html", context, status=400 if scope.period_error else 200)


def live_fragment(request, prop: Property, *, urls: DashboardUrls) -> HttpResponse:
    """The "visitors right now" counter, which the page polls: 204 (nothing to swap) while the count
    the page shows (`?shown=`) is still right, so a screen reader hears only changes."""
    count = realtime_visitors(property=prop, now=timezone.now(), minutes=LIVE_MINUTES)
    if request.GET.get("shown") == str(count):
        return HttpResponse(status=204)
    return render(request, "reports/_live.html", {"urls": urls, "live_visitors": count, "live_minutes": LIVE_MINUTES})


def realtime_page(request, prop: Property, *, urls: DashboardUrls) -> HttpResponse:
    """The last REALTIME_MINUTES minutes from raw events, which the page polls to stay current."""
    now = timezone.now()
    report = realtime_report(property=prop, now=now, minutes=REALTIME_MINUTES)
    context = {
        **frame_context(prop, urls),
        "live_visitors": realtime_visitors(property=prop, now=now, minutes=LIVE_MINUTES),
        "live_minutes": LIVE_MINUTES,
        "report": report,
        "minutes": REALTIME_MINUTES,
        # Formatted here: the template's time filter would show it in the server's timezone.
        "updated": now.astimezone(prop.tzinfo).strftime("%H:%M:%S"),
        "live_stream": buffer_enabled(),
        "bars": minute_bars(report["per_minute"]),
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


# A stream ends after this long and the browser opens it again (EventSource's `retry`): a stream holds
# one of gunicorn's threads, and a process keeps at most CLICKMETER_LIVE_STREAMS_PER_PROCESS of them
# so that it still answers other requests; beyond that, a browser is told to come back later.
LIVE_STREAM_SECONDS = 300
LIVE_RECONNECT_MS = 1_000
LIVE_BUSY_RECONNECT_MS = 15_000
_live_lock = threading.Lock()
_live_open = 0


def live_events_page(request, prop: Property, *, urls: DashboardUrls) -> HttpResponseBase:
    """The realtime view's stream of the property's events as they are stored (Server-Sent Events):
    each message a JSON list of {ts, type, path, source, country, device}."""

    def stream() -> Iterator[str]:
        global _live_open
        with _live_lock:
            admitted = buffer_enabled() and _live_open < settings.CLICKMETER_LIVE_STREAMS_PER_PROCESS
            _live_open += admitted
        if not admitted:
            yield f"retry: {LIVE_BUSY_RECONNECT_MS}\n\n"
            return
        try:
            yield f"retry: {LIVE_RECONNECT_MS}\n\n"
            for message in live_events(prop.pk, seconds=LIVE_STREAM_SECONDS):
                yield ": alive\n\n" if message is None else f"data: {message.decode()}\n\n"
        finally:
            with _live_lock:
                _live_open -= 1

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each message on as it comes
    return response


def error_page(request, prop: Property, urls: DashboardUrls, error: PageError) -> HttpResponse:
    context = {**frame_context(prop, urls), "error": error}
    return render(request, "reports/page_error.html", context, status=error.status)


def member_route(page):
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
            return error_page(request, prop, urls, error)

    return view


property_dashboard = member_route(dashboard_page)
property_breakdown = member_route(breakdown_page)
property_panel = member_route(panel_fragment)
property_live = member_route(live_fragment)
property_realtime = member_route(realtime_page)
property_live_events = member_route(live_events_page)
