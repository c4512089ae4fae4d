"""The dashboard's tables as CSV files."""

import csv
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from apps.properties.models import Property
from apps.reports.dashboard import (
    CARD_METRICS,
    dashboard_event_data,
    dashboard_panel,
    dashboard_series,
)
from apps.reports.selectors import realtime_report
from apps.reports.views.dashboard import member_route
from apps.reports.views.presentation import (
    BUCKET_TITLES,
    DEFAULT_METRIC,
    REALTIME_MINUTES,
    DashboardUrls,
    PageError,
    panel_named,
    strict_scope,
)

# A breakdown's CSV holds all its rows; this bounds only a pathological dimension.
EXPORT_MAX_ROWS = 100_000
# A cell starting with one of these is a formula to a spreadsheet (CSV injection): it gets a leading '.
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
        scope = strict_scope(prop, params)
        series = dashboard_series(
            property=prop, period=scope.period, previous=scope.previous, filters=scope.conditions, metric=metric
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
        scope = strict_scope(prop, params)
        data = dashboard_event_data(property=prop, **scope.span, event_type=event, limit=EXPORT_MAX_ROWS)
        header = ["Event", "Key", "Value", "Events", "Unique visitors"]
        rows = [(event, row["key"], row["value"], row["events"], row["unique_visitors"]) for row in data]
    else:
        panel = panel_named(table)
        scope = strict_scope(prop, params)
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


property_export = member_route(export_csv)
