import base64
import binascii
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

import orjson
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ApplicationError, exception_handler, query_params_single
from apps.core.openapi import error_responses
from apps.core.throttle import ReportRateThrottle
from apps.keys.authentication import REPORT_AUTHENTICATION, ReadKeyAuthentication
from apps.keys.permissions import HasApiKey, IsMemberOrHasApiKey, request_actor
from apps.keys.selectors import ResolvedKey
from apps.keys.services import api_keys_touch
from apps.properties.models import Property
from apps.properties.selectors import property_access, property_access_by_site_id
from apps.reports import openapi as query_schemas
from apps.reports.periods import DAY_PATTERN, FIRST_DAY, LAST_DAY, MAX_DAYS, day_parse, property_today
from apps.reports.queries import query as queries
from apps.reports.queries.bodies import answer_json, days_span_check, query_days_check
from apps.reports.queries.engine import query_answer
from apps.reports.queries.plausible import PlausibleInvalid, plausible_query
from apps.reports.selectors import (
    EVENT_DIMENSIONS,
    FILTERABLE,
    GROUPABLE,
    INTERVALS,
    MAX_HOURLY_DAYS,
    METRICS,
    SESSION_METRICS,
    InvalidQuery,
    MetricsQuery,
    report_campaigns,
    report_overview,
    report_pages,
)

DEFAULT_DAYS = 7
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


class ReportAccessApi(APIView):
    """An endpoint over one property's data, for its read key or a member, within the report rate limit."""

    authentication_classes = REPORT_AUTHENTICATION
    permission_classes = [IsMemberOrHasApiKey]
    throttle_classes = [ReportRateThrottle]


class _ReportApi(ReportAccessApi):
    """A report on one property; subclasses name their parameters and compute the body."""

    parameters: frozenset[str] = frozenset({"from", "to"})

    def get(self, request, property_id: str):
        prop = property_access(actor=request_actor(request), public_id=property_id)
        params = query_params_single(request.query_params)
        unknown = sorted(set(params) - self.parameters)
        if unknown:
            raise ApplicationError(
                "unknown_parameter",
                f"Unknown parameter {unknown[0]!r}; this report takes {', '.join(sorted(self.parameters))}.",
                field=unknown[0],
            )
        date_from, date_to = days_params(params, prop)
        if isinstance(request.auth, ResolvedKey):
            api_keys_touch(key_ids={request.auth.id}, used_at=timezone.now())
        body = {"property_id": prop.public_id, "from": date_from, "to": date_to}
        body.update(self.report(prop, date_from, date_to, params))
        return Response(body)

    def report(self, prop: Property, date_from: date, date_to: date, params) -> dict:
        raise NotImplementedError


# The schema of the reports: their parameters and bodies, for /v1/schema.
DAY = {"type": "string", "format": "date", "pattern": DAY_PATTERN}
FROM_TO = [
    OpenApiParameter(
        "from",
        DAY,
        description=f"First day, in the property's timezone; `to` - {DEFAULT_DAYS - 1} days by default. "
        f"Not after `to`; a range spans at most {MAX_DAYS} days. Days run from {FIRST_DAY} to {LAST_DAY}.",
    ),
    OpenApiParameter(
        "to",
        DAY,
        description=f"Last day (inclusive), today by default. A range spans at most {MAX_DAYS} days.",
    ),
]
LIMIT = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    description=f"At most this many rows (per time bucket with an interval), 1 to {MAX_LIMIT}.",
)
SESSION_METRICS_RULE = (
    f"{', '.join(SESSION_METRICS)} are per session and group by time only (`interval`), never with `group_by`."
)
METRICS_PARAMETERS = [
    *FROM_TO,
    LIMIT,
    OpenApiParameter(
        "metrics",
        {"type": "array", "minItems": 1, "items": {"type": "string", "enum": sorted(METRICS)}},
        explode=False,
        description="Comma-separated, at least one; pageviews, unique_visitors and sessions by default. "
        f"bounce_rate is a percent, visit_duration seconds. {SESSION_METRICS_RULE}",
    ),
    OpenApiParameter(
        "group_by",
        {"type": "array", "items": {"type": "string", "enum": sorted(GROUPABLE)}},
        explode=False,
        description="Comma-separated dimensions to group by. entry_page and exit_page group alone, without an "
        "interval, by sessions and unique_visitors only.",
    ),
    OpenApiParameter(
        "interval",
        {"type": "string", "enum": sorted(INTERVALS)},
        description=f"Also group by this calendar unit (hour: ranges of up to {MAX_HOURLY_DAYS} days).",
    ),
    *(
        OpenApiParameter(
            name,
            str,
            description=f"Only events whose {name} is exactly this, and the sessions and visitors that had one."
            if name in EVENT_DIMENSIONS
            else f"Only the sessions whose {name} is exactly this (that of their first event, or pageview for pages).",
        )
        for name in FILTERABLE
    ),
]
REPORT_ERRORS = error_responses(400, 401, 404, 429)


def _report_schema(name: str, summary: str, parameters: list, **fields) -> dict:
    body = inline_serializer(
        name,
        fields={
            "property_id": serializers.CharField(),
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            **fields,
        },
    )
    return {
        "get": extend_schema(
            tags=["reports"],
            operation_id=name.removesuffix("Report").lower() + "_report",
            summary=summary,
            parameters=parameters,
            responses={200: body, **REPORT_ERRORS},
        )
    }


def _rows(name: str, dimension: str) -> serializers.BaseSerializer:
    return inline_serializer(
        name,
        fields={
            dimension: serializers.CharField(),
            "pageviews": serializers.IntegerField(),
            "unique_visitors": serializers.IntegerField(),
        },
        many=True,
    )


@extend_schema_view(
    **_report_schema(
        "OverviewReport",
        "Pageviews, unique visitors and sessions",
        FROM_TO,
        pageviews=serializers.IntegerField(),
        unique_visitors=serializers.IntegerField(help_text="Distinct over the whole range."),
        sessions=serializers.IntegerField(),
    )
)
class OverviewApi(_ReportApi):
    def report(self, prop, date_from, date_to, params):
        return report_overview(property=prop, date_from=date_from, date_to=date_to)


@extend_schema_view(**_report_schema("PagesReport", "Top pages", [*FROM_TO, LIMIT], results=_rows("PageRow", "path")))
class PagesApi(_ReportApi):
    parameters = _ReportApi.parameters | {"limit"}

    def report(self, prop, date_from, date_to, params):
        return {"results": report_pages(property=prop, date_from=date_from, date_to=date_to, limit=_limit(params))}


@extend_schema_view(
    **_report_schema(
        "CampaignsReport",
        "Top campaigns (campaign_id, else utm.campaign)",
        [*FROM_TO, LIMIT],
        results=_rows("CampaignRow", "campaign_id"),
    )
)
class CampaignsApi(_ReportApi):
    parameters = _ReportApi.parameters | {"limit"}

    def report(self, prop, date_from, date_to, params):
        limit = _limit(params)
        return {"results": report_campaigns(property=prop, date_from=date_from, date_to=date_to, limit=limit)}


@extend_schema_view(
    **_report_schema(
        "MetricsReport",
        "Any metrics, grouped and filtered",
        METRICS_PARAMETERS,
        interval=serializers.ChoiceField(choices=INTERVALS, allow_null=True),
        metrics=serializers.ListField(child=serializers.CharField()),
        group_by=serializers.ListField(child=serializers.CharField()),
        results=serializers.ListField(
            child=serializers.DictField(),
            help_text="One object per group: its dimensions (and `date` with an interval), then its metrics.",
        ),
    )
)
class MetricsApi(_ReportApi):
    """The general report: `metrics`, `group_by`, `interval`, `limit`, and a filter per dimension."""

    parameters = _ReportApi.parameters | {"limit", "metrics", "group_by", "interval", *FILTERABLE}

    def report(self, prop, date_from, date_to, params):
        metrics = _names(params, "metrics", METRICS, default=("pageviews", "unique_visitors", "sessions"))
        group_by = _names(params, "group_by", GROUPABLE, default=())
        interval = params.get("interval")
        try:
            query = MetricsQuery(
                property=prop,
                date_from=date_from,
                date_to=date_to,
                metrics=metrics,
                group_by=group_by,
                interval=interval,
                filters={name: params[name] for name in FILTERABLE if name in params},
                limit=_limit(params),
            )
        except InvalidQuery as error:
            raise ApplicationError("invalid_parameter", str(error), field=error.field) from None
        return {
            "interval": interval,
            "metrics": list(metrics),
            "group_by": list(group_by),
            "results": query.calculate(),
        }


def day_param(params, name: str) -> date | None:
    """The day a query parameter names, None without it; a 400 naming it if it is no day."""
    value = params.get(name)
    if value is None:
        return None
    try:
        return day_parse(value)
    except ValueError as error:
        raise ApplicationError("invalid_parameter", f"{name} must be {error}.", field=name) from None


def days_params(params, prop: Property) -> tuple[date, date]:
    """The days `from` and `to` name (the last DEFAULT_DAYS to today by default); a 400 naming the one at fault."""
    date_to = day_param(params, "to") or datetime.now(prop.tzinfo).date()
    date_from = day_param(params, "from") or max(date_to - timedelta(days=DEFAULT_DAYS - 1), FIRST_DAY)
    if date_from > date_to:
        raise ApplicationError("invalid_parameter", "from must not be after to.", field="from")
    if (date_to - date_from).days >= MAX_DAYS:
        raise ApplicationError("invalid_parameter", f"A range may span at most {MAX_DAYS} days.", field="from")
    return date_from, date_to


def _limit(params) -> int:
    value = params.get("limit")
    if value is None:
        return DEFAULT_LIMIT
    if not re.fullmatch("[0-9]{1,4}", value) or not 1 <= int(value) <= MAX_LIMIT:
        raise ApplicationError("invalid_parameter", f"limit must be an integer from 1 to {MAX_LIMIT}.", field="limit")
    return int(value)


def _names(params, name: str, allowed, *, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of `allowed` names, each as written (an empty `group_by` groups by nothing)."""
    value = params.get(name)
    if value is None:
        return default
    names = tuple(dict.fromkeys(value.split(","))) if value else ()
    if any(part not in allowed for part in names) or (name == "metrics" and not names):
        raise ApplicationError(
            "invalid_parameter",
            f"{name} takes a comma-separated list of {', '.join(sorted(allowed))}; got {value!r}.",
            field=name,
        )
    return names


def cursor_written(position: str) -> str:
    """A page's cursor: the position after which the next page begins, opaque to the client."""
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def cursor_read(text: str) -> str:
    """The position a cursor (cursor_written) holds; a 400 naming `cursor` for text that is none."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApplicationError("invalid_parameter", "cursor is not one this endpoint gave.", field="cursor") from None


# A page of a list (raw events, sessions): JSON `{<items>, next_cursor}`, or NDJSON with the cursor in a header.
JSON, NDJSON = "json", "ndjson"
PAGE_FORMATS = (JSON, NDJSON)
NDJSON_CONTENT_TYPE = "application/x-ndjson"
NEXT_CURSOR_HEADER = "Clickmeter-Next-Cursor"


def page_params(params: dict[str, str], *, default_limit: int, max_limit: int) -> tuple[int, str]:
    """The `limit` and `format` of a list's parameters; a 400 naming the one at fault."""
    limit = params.get("limit", str(default_limit))
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= max_limit):
        raise ApplicationError("invalid_parameter", f"limit is a whole number from 1 to {max_limit}.", field="limit")
    format = params.get("format", JSON)
    if format not in PAGE_FORMATS:
        raise ApplicationError("invalid_parameter", "format must be json or ndjson.", field="format")
    return int(limit), format


def page_parameters(noun: str, *, default_limit: int, max_limit: int) -> list[OpenApiParameter]:
    """The OpenAPI parameters page_params reads, for a list of `noun` (plural)."""
    return [
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": max_limit},
            description=f"{noun.capitalize()} per page (default {default_limit}).",
        ),
        OpenApiParameter("cursor", str, description="The `next_cursor` of the page before."),
        OpenApiParameter("format", str, enum=list(PAGE_FORMATS), description="json (default) or ndjson."),
    ]


def page_response(name: str, items: list[dict], next_cursor: str | None, format: str) -> HttpResponse:
    """A page of a list as `format` asks: JSON `{name: items, "next_cursor": …}` (null on the last
    page), or NDJSON, one item per line, the cursor in the NEXT_CURSOR_HEADER header."""
    if format == NDJSON:
        response = HttpResponse(
            b"".join(orjson.dumps(item) + b"\n" for item in items), content_type=NDJSON_CONTENT_TYPE
        )
        if next_cursor is not None:
            response[NEXT_CURSOR_HEADER] = next_cursor
        return response
    return HttpResponse(orjson.dumps({name: items, "next_cursor": next_cursor}), content_type="application/json")


def read_key_touch(request) -> None:
    if isinstance(request.auth, ResolvedKey):
        api_keys_touch(key_ids={request.auth.id}, used_at=timezone.now())


class EngineQueryApi(ReportAccessApi):
    """A POST asking the query engine about one property: a JSON body the engine parses (the query,
    a funnel, retention, journeys), answered as JSON."""

    schema = query_schemas.QueryBodySchema()


class _OfDays(Protocol):
    @property
    def date_range(self) -> queries.DateRange: ...


OfDays = TypeVar("OfDays", bound=_OfDays)


Answered = TypeVar("Answered")


def days_query_answered(
    request,
    property: Property,
    data: object,
    parse: Callable[[object], OfDays],
    answer: Callable[..., Answered],
    as_json: Callable[[OfDays, Answered], dict[str, Any]],
) -> Response:
    """The JSON of what a query over days answers for `property`: the query `parse` reads from the
    request's `data`, its days checked (days_span_check; an invalid one is a 400 naming its field),
    answered by `answer(property=, query=)`, the read key's use recorded."""
    try:
        query = parse(data)
        days_span_check(*query.date_range.days(property_today(property), property.tzinfo), field="date_range")
    except queries.InvalidQuery as error:
        raise ApplicationError("invalid_parameter", str(error), field=error.field) from None
    read_key_touch(request)
    return Response(as_json(query, answer(property=property, query=query)))


@extend_schema_view(
    post=extend_schema(
        tags=["reports"],
        operation_id="query",
        summary="Any question as one query (docs/query.md)",
        description=query_schemas.QUERY_DESCRIPTION,
        request={"application/json": query_schemas.QUERY_REQUEST},
        responses={
            200: OpenApiResponse(query_schemas.QUERY_ANSWER, description="The rows, meta and the query as understood."),
            **REPORT_ERRORS,
        },
    )
)
class QueryApi(EngineQueryApi):
    """`POST /v1/properties/{property_id}/query`: the query of docs/query.md, for the property's read
    key or a member."""

    def post(self, request, property_id: str):
        prop = property_access(actor=request_actor(request), public_id=property_id)
        try:
            query = queries.query_parse(request.data)
            query_days_check(query, today=property_today(prop), timezone=prop.tzinfo)
            # Answering may refuse too: revenue's currency is known from the property's goals.
            answer = query_answer(property=prop, query=query)
        except queries.InvalidQuery as error:
            raise ApplicationError("invalid_parameter", str(error), field=error.field) from None
        read_key_touch(request)
        return Response(answer_json(query, answer))


PLAUSIBLE_MISSING_KEY = "Missing API key. Please use a valid Plausible API key as a Bearer Token."
PLAUSIBLE_INVALID_KEY = (
    "Invalid API key or site ID. Please make sure you're using a valid API key with access to the site you've "
    "requested."
)
MAX_SITE_ID_LENGTH = 253


def plausible_exception_handler(exc: Exception, context: dict):
    """Errors as Plausible gives them, `{"error": "…"}`: a missing key, a bad one and a site the key
    cannot see are 401s, as there."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.NotAuthenticated):
        has_credentials = "authorization" in context["request"].headers
        message = PLAUSIBLE_INVALID_KEY if has_credentials else PLAUSIBLE_MISSING_KEY
    elif isinstance(exc, exceptions.AuthenticationFailed | Http404 | exceptions.NotFound):
        response.status_code = 401
        response["WWW-Authenticate"] = 'Bearer realm="clickmeter"'
        message = PLAUSIBLE_INVALID_KEY
    else:
        message = response.data["error"]["message"]
    response.data = {"error": message}
    return response


@extend_schema_view(
    post=extend_schema(
        tags=["plausible"],
        operation_id="plausible_query",
        summary="Plausible's Stats API v2, as a drop-in",
        description=query_schemas.PLAUSIBLE_DESCRIPTION,
        request={"application/json": query_schemas.PLAUSIBLE_REQUEST},
        responses={
            200: OpenApiResponse(query_schemas.PLAUSIBLE_ANSWER, description="Plausible's answer shape."),
            **query_schemas.plausible_error_responses(400, 401, 429),
        },
    )
)
class PlausibleQueryApi(APIView):
    """`POST /api/v2/query`: Plausible's Stats API v2 with the property's read key as the Bearer
    token and `site_id` naming the property by its public id or one of its domains."""

    authentication_classes = [ReadKeyAuthentication]
    permission_classes = [HasApiKey]
    throttle_classes = [ReportRateThrottle]
    schema = query_schemas.QueryBodySchema()

    def get_exception_handler(self):
        return plausible_exception_handler

    def post(self, request):
        data = request.data
        site_id = data.get("site_id") if isinstance(data, dict) else None
        if site_id is None:
            raise ApplicationError(
                "invalid_parameter", "Missing site ID. Please provide the required site_id parameter with your request."
            )
        if not isinstance(site_id, str) or not 0 < len(site_id) <= MAX_SITE_ID_LENGTH or "\x00" in site_id:
            raise Http404
        prop = property_access_by_site_id(actor=request_actor(request), site_id=site_id)
        body = {name: value for name, value in data.items() if name != "site_id"}
        try:
            answer = plausible_query(property=prop, site_id=site_id, data=body)
        except PlausibleInvalid as error:
            raise ApplicationError("invalid_parameter", str(error)) from None
        read_key_touch(request)
        return Response(answer)
