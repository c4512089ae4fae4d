"""`/v1/properties/{property_id}/funnels`: a property's funnels for its members, created and deleted
by its admins; and `…/funnels/query`, what a funnel answers, for its read key or a member."""

from functools import partial
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts.apis import MemberAuthenticatedApi
from apps.core.api import ApplicationError, input_validated
from apps.core.openapi import error_responses
from apps.core.tenancy import Role
from apps.keys.permissions import request_actor
from apps.properties.selectors import property_access
from apps.reports.apis import REPORT_ERRORS, EngineQueryApi, days_query_answered
from apps.reports.funnels import openapi as funnel_schemas
from apps.reports.funnels.selectors import funnel_access, funnels_of_property
from apps.reports.funnels.services import funnel_create, funnel_delete
from apps.reports.models import Funnel
from apps.reports.queries.engine import funnel_answer
from apps.reports.queries.funnels import FunnelAnswer, FunnelQuery, funnel_query_parse


@extend_schema_field(funnel_schemas.STEPS)
class FunnelStepsField(serializers.JSONField):
    """Checked by funnel_create, as the engine reads it, so a 400 names the step at fault (`steps[1].value`)."""


class FunnelSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=Funnel.NAME_LENGTH, help_text="One funnel of a name per property.")
    steps = FunnelStepsField(
        help_text="The steps in order: a goal of the property (by name), a page (a path from /, `*` any text within a"
        " segment, `**` any text) or a custom event (by type)."
    )
    window_days = serializers.IntegerField(
        min_value=1,
        max_value=funnel_schemas.MAX_WINDOW_DAYS,
        allow_null=True,
        required=False,
        default=None,
        help_text="Walk the steps within this many days of a visitor's first step; null: within one visit.",
    )
    created_at = serializers.DateTimeField(read_only=True)


class FunnelsApi(MemberAuthenticatedApi):
    """`/v1/properties/{property_id}/funnels`: list a property's funnels (members), or create one (admins)."""

    @extend_schema(
        tags=["funnels"],
        operation_id="funnels_list",
        summary="List a property's funnels",
        responses={200: FunnelSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request, property_id: str):
        prop = property_access(actor=request.user, public_id=property_id)
        return Response(FunnelSerializer(funnels_of_property(property=prop), many=True).data)

    @extend_schema(
        tags=["funnels"],
        operation_id="funnels_create",
        summary="Create a funnel",
        request=FunnelSerializer,
        responses={201: FunnelSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request, property_id: str):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        funnel = funnel_create(property=prop, **input_validated(FunnelSerializer, request.data))
        return Response(FunnelSerializer(funnel).data, status=status.HTTP_201_CREATED)


class FunnelApi(MemberAuthenticatedApi):
    """`/v1/properties/{property_id}/funnels/{funnel_id}`: DELETE removes a funnel (admins)."""

    @extend_schema(
        tags=["funnels"],
        operation_id="funnels_delete",
        summary="Delete a funnel",
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404)},
    )
    def delete(self, request, property_id: str, funnel_id: int):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        funnel_delete(funnel=funnel_access(property=prop, funnel_id=funnel_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class FunnelQueryApi(EngineQueryApi):
    """`POST /v1/properties/{property_id}/funnels/query`: what a funnel, given or kept, answers over the
    property's events, for its read key or a member."""

    @extend_schema(
        tags=["funnels"],
        operation_id="funnels_query",
        summary="What a funnel answers (docs/funnels.md)",
        description=funnel_schemas.FUNNEL_QUERY_DESCRIPTION,
        request={"application/json": funnel_schemas.FUNNEL_QUERY_REQUEST},
        responses={
            200: OpenApiResponse(
                funnel_schemas.FUNNEL_QUERY_ANSWER, description="The steps, the breakdown and the funnel as walked."
            ),
            **REPORT_ERRORS,
        },
    )
    def post(self, request, property_id: str):
        prop = property_access(actor=request_actor(request), public_id=property_id)
        data = request.data
        saved = None
        if isinstance(data, dict) and "funnel_id" in data:
            data = dict(data)
            saved = funnel_access(property=prop, funnel_id=_funnel_id(data.pop("funnel_id"))).definition()
        parse = partial(funnel_query_parse, saved=saved)
        return days_query_answered(request, prop, data, parse, funnel_answer, _answer_json)


def _funnel_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= funnel_schemas.MAX_FUNNEL_ID:
        raise ApplicationError("invalid_parameter", "funnel_id is the id of a funnel, an integer.", field="funnel_id")
    return value


def _answer_json(query: FunnelQuery, answer: FunnelAnswer) -> dict[str, Any]:
    funnel = query.funnel
    return {
        "steps": answer.steps,
        "breakdown": answer.breakdown,
        "meta": {
            "date_range": [answer.first.isoformat(), answer.last.isoformat()],
            "funnel": {
                "steps": [{"kind": step.kind, "value": step.value} for step in funnel.steps],
                "window_days": funnel.window_days,
            },
        },
    }
