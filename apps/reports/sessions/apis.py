"""A property's sessions (visits) one by one: `GET /v1/properties/{property_id}/sessions` pages through
those of a range of days that pass the query's filters, newest first, as JSON or NDJSON;
`GET …/sessions/{session_id}` is one of them with its events in order (docs/sessions.md)."""

import orjson
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from apps.core.api import ApplicationError, query_params_single
from apps.core.openapi import error_responses
from apps.keys.permissions import request_actor
from apps.properties.selectors import property_access
from apps.reports.apis import (
    FROM_TO,
    NDJSON_CONTENT_TYPE,
    NEXT_CURSOR_HEADER,
    ReportAccessApi,
    cursor_read,
    cursor_written,
    days_params,
    page_parameters,
    page_params,
    page_response,
    read_key_touch,
)
from apps.reports.openapi import FILTERS_DESCRIPTION
from apps.reports.queries.engine import visit_answer, visits_answer
from apps.reports.queries.query import DateRange, Filter, InvalidQuery, filters_parse
from apps.reports.queries.visits import (
    ATTRIBUTE_NAMES,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Visit,
    VisitCursor,
    VisitsQuery,
    visit_cursor_parse,
    visit_cursor_text,
    visit_id_parse,
)
from apps.reports.sessions.openapi import SESSION_DETAIL, SESSIONS_PAGE

PARAMETERS = ("from", "to", "filters", "limit", "cursor", "format")


def session_json(visit: Visit) -> dict:
    """A visit as the API writes a session."""
    return {
        "id": visit.id,
        "started_at": visit.started_at.isoformat(),
        "ended_at": visit.ended_at.isoformat(),
        "duration": visit.duration,
        "entry_page": visit.entry_page,
        "exit_page": visit.exit_page,
        "pageviews": visit.pageviews,
        "events": visit.events,
        **{name: visit.attributes[column] for name, column in ATTRIBUTE_NAMES.items()},
    }


def _cursor_read(text: str) -> VisitCursor:
    cursor = visit_cursor_parse(cursor_read(text))
    if cursor is None:
        raise ApplicationError("invalid_parameter", "cursor is not one this endpoint gave.", field="cursor")
    return cursor


def filters_param(text: str) -> tuple[Filter, ...]:
    """The filters the `filters` parameter writes as JSON (docs/query.md); a 400 naming the one at fault."""
    try:
        return filters_parse(orjson.loads(text))
    except orjson.JSONDecodeError:
        raise ApplicationError(
            "invalid_parameter", "filters must be a JSON array of filters.", field="filters"
        ) from None
    except InvalidQuery as error:
        raise ApplicationError("invalid_parameter", str(error), field=error.field) from None


class SessionsApi(ReportAccessApi):
    @extend_schema(
        tags=["sessions"],
        operation_id="sessions_list",
        summary="List sessions, newest first",
        description="The property's sessions (visits) of the days `from`..`to` that pass `filters` (those with a "
        "matching event, as every report keeps them), newest first, a page at a time: JSON `{sessions, next_cursor}`, "
        f"or NDJSON with the next page's cursor in the `{NEXT_CURSOR_HEADER}` header. Each session is listed whole: "
        "its source, pages, duration and counts; `GET …/sessions/{session_id}` gives its events (docs/sessions.md).",
        parameters=[
            *FROM_TO,
            OpenApiParameter(
                "filters",
                str,
                description=f"A JSON array of filters, as a query's (docs/query.md): {FILTERS_DESCRIPTION}",
            ),
            *page_parameters("sessions", default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(SESSIONS_PAGE, description="A page of sessions."),
            (200, NDJSON_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.STR, description="One session per line."),
            **error_responses(400, 401, 404, 429),
        },
    )
    def get(self, request, property_id: str):
        prop = property_access(actor=request_actor(request), public_id=property_id)
        params = query_params_single(request.GET)
        unknown = sorted(set(params) - set(PARAMETERS))
        if unknown:
            raise ApplicationError(
                "invalid_parameter", f"{unknown[0]} is not a parameter of this list.", field=unknown[0]
            )
        first, last = days_params(params, prop)
        filters = filters_param(params["filters"]) if "filters" in params else ()
        limit, format = page_params(params, default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT)
        before = _cursor_read(params["cursor"]) if "cursor" in params else None
        query = VisitsQuery(DateRange(first=first, last=last), filters, before, limit)
        read_key_touch(request)
        answer = visits_answer(property=prop, query=query)
        next_cursor = cursor_written(visit_cursor_text(answer.next_cursor)) if answer.next_cursor else None
        return page_response("sessions", [session_json(visit) for visit in answer.visits], next_cursor, format)


class SessionApi(ReportAccessApi):
    @extend_schema(
        tags=["sessions"],
        operation_id="session_detail",
        summary="One session with its events",
        description="The session `session_id` names (a session's `id` in the list) and every one of its events, in "
        "time order. An id that names no session of the property is a 404.",
        responses={
            200: OpenApiResponse(SESSION_DETAIL, description="The session and its events."),
            **error_responses(401, 404, 429),
        },
    )
    def get(self, request, property_id: str, session_id: str):
        prop = property_access(actor=request_actor(request), public_id=property_id)
        found = visit_id_parse(session_id)
        detail = visit_answer(property=prop, day=found[0], visit_key=found[1]) if found else None
        if detail is None:
            raise Http404
        read_key_touch(request)
        events = [{**event, "ts": event["ts"].isoformat()} for event in detail.events]
        return HttpResponse(
            orjson.dumps({"session": session_json(detail.visit), "events": events}), content_type="application/json"
        )
