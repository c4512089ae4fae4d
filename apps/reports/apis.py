from datetime import date, datetime, timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.keys.authentication import REPORT_AUTHENTICATION
from apps.keys.permissions import IsMemberOrHasApiKey, request_actor
from apps.keys.selectors import ResolvedKey, property_access
from apps.keys.services import api_keys_touch
from apps.keys.throttling import ReportRateThrottle
from apps.properties.models import Property
from apps.reports.periods import MAX_DAYS
from apps.reports.selectors import (
    EVENT_DIMENSIONS,
    FILTERABLE,
    GROUPABLE,
    INTERVALS,
    MAX_HOURLY_DAYS,
    METRICS,
    InvalidQuery,
    MetricsQuery,
    report_campaigns,
    report_overview,
    report_pages,
)
from config.api import ApplicationError
from config.openapi import error_responses

DEFAULT_DAYS = 7
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


class _ReportApi(APIView):
    """A report on one property for its read key or a member; subclasses name their parameters and
    compute the body."""

    authentication_classes = REPORT_AUTHENTICATION
    permission_classes = [IsMemberOrHasApiKey]
    throttle_classes = [ReportRateThrottle]
    parameters: frozenset[str] = frozenset({"from", "to"})

    def get(self, request, property_id: str):
        prop = property_access(actor=request_actor(request), public_id=property_id)
        params = request.query_params
        unknown = sorted(set(params) - self.parameters)
        if unknown:
            raise ApplicationError(
                "unknown_parameter",
                f"Unknown parameter {unknown[0]!r}; this report takes {', '.join(sorted(self.parameters))}.",
                field=unknown[0],
            )
        date_from, date_to = _date_range(params, prop)
        if isinstance(request.auth, ResolvedKey):
            api_keys_touch(key_ids={request.auth.id}, used_at=timezone.now())
        body = {"property_id": prop.public_id, "from": date_from, "to": date_to}
        body.update(self.report(prop, date_from, date_to, params))
        return Response(body)

    def report(self, prop: Property, date_from: date, date_to: date, params) -> dict:
        raise NotImplementedError


# The schema of the reports: their parameters and bodies, for /v1/schema.
FROM_TO = [
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description=f"First day, in the property's timezone; `to` - {DEFAULT_DAYS - 1} days by default.",
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description=f"Last day (inclusive), today by default. A range spans at most {MAX_DAYS} days.",
    ),
]
LIMIT = OpenApiParameter(
    "limit",
    int,
    description=f"At most this many rows (per day with an interval), 1 to {MAX_LIMIT}.",
    default=DEFAULT_LIMIT,
)
METRICS_PARAMETERS = [
    *FROM_TO,
    LIMIT,
    OpenApiParameter(
        "metrics",
        str,
        many=True,
        explode=False,
        enum=list(METRICS),
        description="Comma-separated; pageviews, unique_visitors and sessions by default. bounce_rate (percent), "
        "visit_duration (seconds) and views_per_session are per session and group by time only.",
    ),
    OpenApiParameter(
        "group_by",
        str,
        many=True,
        explode=False,
        enum=list(GROUPABLE),
        description="Comma-separated dimensions to group by (entry_page and exit_page alone, without an interval).",
    ),
    OpenApiParameter(
        "interval",
        str,
        enum=list(INTERVALS),
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


def _rows(name: str, dimension: str) -> serializers.ListSerializer:
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
        interval = params.get("interval") or None
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


def _date(params, name: str) -> date | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApplicationError("invalid_parameter", f"{name} must be a date like 2026-01-31.", field=name) from None


def _date_range(params, prop: Property) -> tuple[date, date]:
    date_to = _date(params, "to") or datetime.now(prop.tzinfo).date()
    date_from = _date(params, "from") or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise ApplicationError("invalid_parameter", "from must not be after to.", field="from")
    if (date_to - date_from).days >= MAX_DAYS:
        raise ApplicationError("invalid_parameter", f"A range may span at most {MAX_DAYS} days.", field="from")
    return date_from, date_to


def _limit(params) -> int:
    value = params.get("limit")
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise ApplicationError("invalid_parameter", f"limit must be an integer from 1 to {MAX_LIMIT}.", field="limit")
    return int(value)


def _names(params, name: str, allowed, *, default: tuple[str, ...]) -> tuple[str, ...]:
    value = params.get(name)
    if value is None:
        return default
    names = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    invalid = [part for part in names if part not in allowed]
    if invalid or (name == "metrics" and not names):
        raise ApplicationError(
            "invalid_parameter",
            f"{name} takes a comma-separated list of {', '.join(sorted(allowed))}; got {value!r}.",
            field=name,
        )
    return names
