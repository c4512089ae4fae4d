"""`/v1/properties/{property_id}/goals`: a property's goals for its members; admins create and delete them."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts.apis import MemberAuthenticatedApi
from apps.core.api import input_validated
from apps.core.openapi import error_responses
from apps.core.tenancy import Role
from apps.properties.selectors import property_access
from apps.reports.goals.selectors import goal_access, goals_of_property
from apps.reports.goals.services import MAX_GOAL_PROPERTIES, goal_create, goal_delete
from apps.reports.models import Goal
from apps.reports.queries.query import MAX_VALUE_LENGTH


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": MAX_VALUE_LENGTH},
        "maxProperties": MAX_GOAL_PROPERTIES,
    }
)
class GoalPropertiesField(serializers.JSONField):
    """Checked by goal_create, strictly: an object of texts (a number would be a text that never matches)."""


class GoalSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(
        max_length=Goal.NAME_LENGTH,
        help_text="What `event:goal` filters and groups by; one goal of a name per property.",
    )
    kind = serializers.ChoiceField(choices=Goal.KINDS)
    path_pattern = serializers.CharField(
        max_length=Goal.PATH_PATTERN_LENGTH,
        required=False,
        default="",
        allow_blank=True,
        help_text="Pageview goals (required): a path from /, `*` any text within a segment, `**` any text"
        " (`/blog/**`). None for event goals.",
    )
    event_type = serializers.CharField(
        max_length=Goal.EVENT_TYPE_LENGTH,
        required=False,
        default="",
        allow_blank=True,
        help_text="Event goals (required): the event's type. None for pageview goals.",
    )
    properties = GoalPropertiesField(
        required=False,
        default=dict,
        help_text='Event goals: custom properties the event must carry, compared as text (`{"plan": "pro"}`);'
        " keys of 1 to 128 characters.",
    )
    currency = serializers.CharField(
        max_length=3,
        required=False,
        default="",
        allow_blank=True,
        help_text="Event goals, optional: a currency (ISO 4217, as `EUR`) makes a revenue goal, whose events'"
        " `data.revenue` amounts in that currency `total_revenue` and `average_revenue` sum.",
    )
    created_at = serializers.DateTimeField(read_only=True)


class GoalsApi(MemberAuthenticatedApi):
    """`/v1/properties/{property_id}/goals`: list a property's goals (members), or create one (admins)."""

    @extend_schema(
        tags=["goals"],
        operation_id="goals_list",
        summary="List a property's goals",
        responses={200: GoalSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request, property_id: str):
        prop = property_access(actor=request.user, public_id=property_id)
        return Response(GoalSerializer(goals_of_property(property=prop), many=True).data)

    @extend_schema(
        tags=["goals"],
        operation_id="goals_create",
        summary="Create a goal",
        request=GoalSerializer,
        responses={201: GoalSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request, property_id: str):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        goal = goal_create(property=prop, **input_validated(GoalSerializer, request.data))
        return Response(GoalSerializer(goal).data, status=status.HTTP_201_CREATED)


class GoalApi(MemberAuthenticatedApi):
    """`/v1/properties/{property_id}/goals/{goal_id}`: DELETE removes a goal (admins)."""

    @extend_schema(
        tags=["goals"],
        operation_id="goals_delete",
        summary="Delete a goal",
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404)},
    )
    def delete(self, request, property_id: str, goal_id: int):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        goal_delete(goal=goal_access(property=prop, goal_id=goal_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
