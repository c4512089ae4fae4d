"""A property's raw events out: `GET /v1/properties/{property_id}/events/export` streams them as NDJSON
or CSV in the format an import reads (docs/switching.md); `GET …/events/query` pages through those
of a time range that match exact values, for debugging and scripts."""

from datetime import UTC, datetime, timedelta

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from apps.core.api import ApplicationError, query_params_single
from apps.core.openapi import error_responses
from apps.imports.formats import record_of_row
from apps.imports.services import CSV, EXPORT_FORMATS, NDJSON, events_export
from apps.keys.permissions import request_actor
from apps.properties.selectors import property_access
from apps.reports.apis import (
    DAY,
    NDJSON_CONTENT_TYPE,
    ReportAccessApi,
    cursor_read,
    cursor_written,
    day_param,
    page_parameters,
    page_params,
    page_response,
    read_key_touch,
)
from apps.reports.periods import FIRST_DAY, LAST_DAY
from apps.reports.queries.query import TIMES, InvalidQuery, time_parse
from apps.reports.stores import event_store
from apps.reports.stores.base import EVENT_FILTER_COLUMNS

CONTENT_TYPES = {NDJSON: NDJSON_CONTENT_TYPE, CSV: "text/csv; charset=utf-8"}


class EventsExportApi(ReportAccessApi):
    @extend_schema(
        tags=["exports"],
        operation_id="events_export",
        summary="Export raw events",
        description="The property's raw events of the days `from`..`to` (its timezone; all when absent), "
        "streamed day by day: NDJSON, one event per line, or CSV with a header row and `data` as JSON text. "
        "An import of source `clickmeter` reads either back (docs/switching.md).",
        parameters=[
            OpenApiParameter("from", DAY, description=f"The first day (default: {FIRST_DAY})."),
            OpenApiParameter("to", DAY, description=f"The last day (default: {LAST_DAY}); not before `from`."),
            OpenApiParameter("format", str, enum=list(EXPORT_FORMATS), description="ndjson (default) or csv."),
        ],
        responses={
            (200, CONTENT_TYPES[NDJSON]): OpenApiResponse(OpenApiTypes.STR, description="One event per line."),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="A header row, one event per row."),
            **error_responses(400, 401, 404, 429),
        },
    )
    def get(self, request, property_id: str):
        prop = property_access(actor=request_actor(request), public_id=property_id)
        params = query_params_single(request.GET)
        first, last = day_param(params, "from") or FIRST_DAY, day_param(params, "to") or LAST_DAY
        if last < first:
            raise ApplicationError("invalid_parameter", "to comes before from.", field="to")
        format = params.get("format", NDJSON)
        if format not in EXPORT_FORMATS:
            raise ApplicationError("invalid_parameter", "format must be ndjson or csv.", field="format")
        read_key_touch(request)
        response = StreamingHttpResponse(
            events_export(property=prop, first=first, last=last, format=format), content_type=CONTENT_TYPES[format]
        )
        response["Content-Disposition"] = f'attachment; filename="{prop.public_id}-events.{format}"'
        return response


MAX_PAGE = 1000
DEFAULT_PAGE = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time_param(params: dict[str, str], name: str, default: datetime) -> datetime:
    if name not in params:
        return default
    try:
        return time_parse(params[name], name)
    except InvalidQuery as error:
        raise ApplicationError("invalid_parameter", str(error), field=name) from None


def cursor_of(row: dict) -> str:
    """Where the page after `row` begins: its time and id."""
    return cursor_written(f"{(row['ts'] - EPOCH) // timedelta(microseconds=1)}:{row['event_id']}")


def _cursor_read(text: str) -> tuple[datetime, str]:
    try:
        micros, event_id = cursor_read(text).split(":", 1)
        return EPOCH + timedelta(microseconds=int(micros)), event_id
    except (ValueError, OverflowError):
        raise ApplicationError("invalid_parameter", "cursor is not one this endpoint gave.", field="cursor") from None


class EventsQueryApi(ReportAccessApi):
    @extend_schema(
        tags=["exports"],
        operation_id="events_query",
        summary="Query raw events",
        description="The property's raw events of the times `since`..`until` (both included; the last 24 hours by "
        "default) whose columns have the values given, in time and then id order, a page at a time: JSON "
        "`{events, next_cursor}`, or NDJSON with the next page's cursor in the `Clickmeter-Next-Cursor` header. "
        "Each event as the raw-event export writes it.",
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="The first time (with its offset)."),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="The last time (default: now)."),
            *(
                OpenApiParameter(column, str, description=f"Only events whose {column} is this.")
                for column in EVENT_FILTER_COLUMNS
            ),
            *page_parameters("events", default_limit=DEFAULT_PAGE, max_limit=MAX_PAGE),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="`events` and `next_cursor` (null on the last page)."
            ),
            (200, CONTENT_TYPES[NDJSON]): OpenApiResponse(OpenApiTypes.STR, description="One event per line."),
            **error_responses(400, 401, 404, 429),
        },
    )
    def get(self, request, property_id: str):
        prop = property_access(actor=request_actor(request), public_id=property_id)
        params = query_params_single(request.GET)
        unknown = set(params) - {"since", "until", "limit", "cursor", "format", *EVENT_FILTER_COLUMNS}
        if unknown:
            name = sorted(unknown)[0]
            raise ApplicationError("invalid_parameter", f"{name} is not a parameter of this query.", field=name)
        until = _time_param(params, "until", min(datetime.now(UTC), TIMES[1]))
        since = _time_param(params, "since", until - timedelta(hours=24))
        if until < since:
            raise ApplicationError("invalid_parameter", "until comes before since.", field="until")
        limit, format = page_params(params, default_limit=DEFAULT_PAGE, max_limit=MAX_PAGE)
        after = _cursor_read(params["cursor"]) if "cursor" in params else None
        equal = {column: params[column] for column in EVENT_FILTER_COLUMNS if column in params}
        read_key_touch(request)
        rows = event_store().events_page(
            property=prop, since=since, until=until, equal=equal, after=after, limit=limit + 1
        )
        page, more = rows[:limit], len(rows) > limit
        next_cursor = cursor_of(page[-1]) if more else None
        return page_response("events", [record_of_row(row) for row in page], next_cursor, format)
