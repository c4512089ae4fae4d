"""`POST /v1/properties/{property_id}/retention`: the property's retention cohorts, for its read key
or a member (docs/retention.md)."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema

from apps.keys.permissions import request_actor
from apps.properties.selectors import property_access
from apps.reports.apis import REPORT_ERRORS, EngineQueryApi, days_query_answered
from apps.reports.queries.engine import retention_answer
from apps.reports.queries.retention import RetentionAnswer, RetentionQuery, retention_query_parse
from apps.reports.retention import IDENTITY
from apps.reports.retention import openapi as retention_schemas


class RetentionQueryApi(EngineQueryApi):
    """`POST /v1/properties/{property_id}/retention`: what a retention query answers over the property's
    events, for its read key or a member."""

    @extend_schema(
        tags=["retention"],
        operation_id="retention_query",
        summary="Who came back, by cohort (docs/retention.md)",
        description=retention_schemas.RETENTION_QUERY_DESCRIPTION,
        request={"application/json": retention_schemas.RETENTION_QUERY_REQUEST},
        responses={
            200: OpenApiResponse(
                retention_schemas.RETENTION_QUERY_ANSWER, description="The cohorts, and whom they could follow."
            ),
            **REPORT_ERRORS,
        },
    )
    def post(self, request, property_id: str):
        prop = property_access(actor=request_actor(request), public_id=property_id)
        return days_query_answered(request, prop, request.data, retention_query_parse, retention_answer, _answer_json)


def _answer_json(query: RetentionQuery, answer: RetentionAnswer) -> dict[str, Any]:
    return {
        "cohorts": answer.cohorts,
        "meta": {
            "date_range": [answer.first.isoformat(), answer.last.isoformat()],
            "period": query.period,
            "goal": query.goal,
            "visitors": answer.visitors,
            "identified_visitors": answer.identified_visitors,
            "identified_share": answer.identified_share,
            "identity": IDENTITY,
        },
    }
