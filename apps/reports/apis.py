from datetime import date, datetime, timedelta

from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.keys.authentication import REPORT_AUTHENTICATION
from apps.keys.permissions import IsMemberOrHasApiKey, request_actor
from apps.keys.selectors import ResolvedKey, property_access
from apps.keys.services import api_keys_touch
from apps.keys.throttling import ReportRateThrottle
from apps.properties.models import Property
from apps.reports.selectors import (
    DIMENSIONS,
    FILTERABLE,
    INTERVALS,
    METRICS,
    MetricsQuery,
    report_campaigns,
    report_overview,
    report_pages,
)
from config.api import ApplicationError

DEFAULT_DAYS = 7
MAX_DAYS = 3660
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


class OverviewApi(_ReportApi):
    def report(self, prop, date_from, date_to, params):
        return report_overview(property=prop, date_from=date_from, date_to=date_to)


class PagesApi(_ReportApi):
    parameters = _ReportApi.parameters | {"limit"}

    def report(self, prop, date_from, date_to, params):
        return {"results": report_pages(property=prop, date_from=date_from, date_to=date_to, limit=_limit(params))}


class CampaignsApi(_ReportApi):
    parameters = _ReportApi.parameters | {"limit"}

    def report(self, prop, date_from, date_to, params):
        limit = _limit(params)
        return {"results": report_campaigns(property=prop, date_from=date_from, date_to=date_to, limit=limit)}


class MetricsApi(_ReportApi):
    """The general report: `metrics`, `group_by`, `interval`, `limit`, and a filter per dimension."""

    parameters = _ReportApi.parameters | {"limit", "metrics", "group_by", "interval", *FILTERABLE}

    def report(self, prop, date_from, date_to, params):
        metrics = _names(params, "metrics", METRICS, default=("pageviews", "unique_visitors", "sessions"))
        group_by = _names(params, "group_by", DIMENSIONS.keys() - {"date"}, default=())
        interval = params.get("interval") or None
        if interval is not None and interval not in INTERVALS:
            raise ApplicationError(
                "invalid_parameter", f"interval must be one of {', '.join(INTERVALS)}.", field="interval"
            )
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
