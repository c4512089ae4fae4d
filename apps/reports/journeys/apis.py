"""`POST /v1/properties/{property_id}/journeys`: where the property's visits went from a page, goal or
event, for its read key or a member (docs/journeys.md)."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema

from apps.keys.permissions import request_actor
from apps.properties.selectors import property_access
from apps.reports.apis import REPORT_ERRORS, EngineQueryApi, days_query_answered
from apps.reports.journeys import openapi as journey_schemas
from apps.reports.queries.engine import journey_answer
from apps.reports.queries.journeys import JourneyAnswer, JourneyQuery, journey_query_parse


class JourneyQueryApi(EngineQueryApi):
    """`POST /v1/properties/{property_id}/journeys`: what a journey query answers over the property's
    events, for its read key or a member."""

    @extend_schema(
        tags=["journeys"],
        operation_id="journeys_query",
        summary="Where visits went from a page, goal or event (docs/journeys.md)",
        description=journey_schemas.JOURNEY_QUERY_DESCRIPTION,
        request={"application/json": journey_schemas.JOURNEY_QUERY_REQUEST},
        responses={
            200: OpenApiResponse(
                journey_schemas.JOURNEY_QUERY_ANSWER, description="The visits, their paths and the links between steps."
            ),
            **REPORT_ERRORS,
        },
    )
    def post(self, request, property_id: str):
        prop = property_access(actor=request_actor(request), public_id=property_id)
        return days_query_answered(request, prop, request.data, journey_query_parse, journey_answer, _answer_json)


def _answer_json(query: JourneyQuery, answer: JourneyAnswer) -> dict[str, Any]:
    return {
        "visits": answer.visits,
        "paths": answer.paths,
        "links": answer.links,
        "meta": {
            "date_range": [answer.first.isoformat(), answer.last.isoformat()],
            "anchor": {"kind": query.anchor.kind, "value": query.anchor.value},
            "direction": query.direction,
            "depth": query.depth,
        },
    }
