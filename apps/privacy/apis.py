"""`POST /v1/properties/{property_id}/subjects/erase` and `…/subjects/access`: a person's erasure and
access requests, made by a property's admins for them (docs/privacy.md)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.accounts.apis import MemberAuthenticatedApi
from apps.core.api import ApplicationError
from apps.core.openapi import error_responses
from apps.core.tenancy import Role
from apps.ingestion.identity import SUBJECT_FIELDS
from apps.privacy.services import MAX_ID_LENGTH, subject_access, subject_erase
from apps.properties.selectors import property_access
from apps.reports.openapi import QueryBodySchema

# The one id that names the person (the service checks it too; this is what the schema states).
SUBJECT_REQUEST = {
    "oneOf": [
        {
            "type": "object",
            "additionalProperties": False,
            "required": [name],
            "properties": {name: {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}},
        }
        for name in SUBJECT_FIELDS
    ]
}


def _subject(request) -> tuple[str, str]:
    data = request.data
    if not isinstance(data, dict) or len(data) != 1 or next(iter(data)) not in SUBJECT_FIELDS:
        raise ApplicationError(
            "invalid_field", f"Name the person by one of {' or '.join(SUBJECT_FIELDS)}.", field="body"
        )
    ((field, value),) = data.items()
    return field, value


class SubjectEraseApi(MemberAuthenticatedApi):
    schema = QueryBodySchema()

    @extend_schema(
        tags=["privacy"],
        operation_id="subject_erase",
        summary="Erase a person's events",
        description="Deletes every event of the visitor or user in the property, on whichever store keeps them, "
        "and rebuilds the rollups of their days; an event of theirs still buffered is dropped when it is drained. "
        "The audit record names them by a keyed hash only.",
        request={"application/json": SUBJECT_REQUEST},
        responses={
            200: inline_serializer(
                "SubjectErased",
                {
                    "request_id": serializers.IntegerField(),
                    "events_deleted": serializers.IntegerField(),
                    "requested_at": serializers.DateTimeField(),
                },
            ),
            **error_responses(400, 401, 403, 404),
        },
    )
    def post(self, request, property_id: str):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        field, value = _subject(request)
        erased = subject_erase(property=prop, field=field, value=value, requested_by=request.user.email)
        return Response({"request_id": erased.pk, "events_deleted": erased.events, "requested_at": erased.requested_at})


class SubjectAccessApi(MemberAuthenticatedApi):
    schema = QueryBodySchema()

    @extend_schema(
        tags=["privacy"],
        operation_id="subject_access",
        summary="What is held on a person",
        description="Every event of the visitor or user in the property, as the raw-event export writes it "
        "(a subject access request); the audit record names them by a keyed hash only.",
        request={"application/json": SUBJECT_REQUEST},
        responses={200: dict, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request, property_id: str):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        field, value = _subject(request)
        return Response(subject_access(property=prop, field=field, value=value, requested_by=request.user.email))
