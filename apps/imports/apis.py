"""`GET /v1/properties/{property_id}/events/export`: a property's raw events, streamed as NDJSON or CSV,
in the format an import reads (docs/switching.md)."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from apps.core.api import ApplicationError, query_params_single
from apps.core.openapi import error_responses
from apps.core.throttle import ReportRateThrottle
from apps.imports.services import CSV, EXPORT_FORMATS, NDJSON, events_export
from apps.keys.authentication import REPORT_AUTHENTICATION
from apps.keys.permissions import IsMemberOrHasApiKey, request_actor
from apps.properties.selectors import property_access
from apps.reports.apis import DAY, day_param, read_key_touch
from apps.reports.periods import FIRST_DAY, LAST_DAY

CONTENT_TYPES = {NDJSON: "application/x-ndjson", CSV: "text/csv; charset=utf-8"}


class EventsExportApi(APIView):
    authentication_classes = REPORT_AUTHENTICATION
    permission_classes = [IsMemberOrHasApiKey]
    throttle_classes = [ReportRateThrottle]

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
