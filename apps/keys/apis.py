from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.apis import MemberAuthenticatedApi
from apps.core.api import input_validated
from apps.core.openapi import error_responses
from apps.core.tenancy import Role
from apps.core.throttle import ReportRateThrottle
from apps.keys.authentication import ReadKeyAuthentication
from apps.keys.models import ApiKey
from apps.keys.permissions import HasApiKey
from apps.keys.selectors import api_key_access, api_keys_of_property
from apps.keys.services import (
    INGEST_TOKEN_MAX_SECONDS,
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    ingest_token_mint,
)
from apps.properties.models import Property
from apps.properties.selectors import property_access


class ApiKeyOutputSerializer(serializers.Serializer):
    """A key as members see it: never its secret or hash."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ApiKey.Kind.choices)
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The secret's first characters, to recognise it.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="To the minute.")
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    status = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=["active", "expired", "revoked"]))
    def get_status(self, api_key: ApiKey) -> str:
        return api_key.status(timezone.now())


class ApiKeyCreatedSerializer(ApiKeyOutputSerializer):
    secret = serializers.CharField(help_text="Shown in this response only; store it now.")


def api_key_created_data(api_key: ApiKey, secret: str) -> dict:
    return {**ApiKeyOutputSerializer(api_key).data, "secret": secret}


def property_keys_created_data(*, property: Property, secrets: dict[str, str]) -> list[dict]:
    """A new property's first keys, with their secrets, as the properties API's answer shows them."""
    return [api_key_created_data(key, secrets[key.kind]) for key in api_keys_of_property(property=property)]


class ApiKeysApi(MemberAuthenticatedApi):
    """`/v1/properties/{property_id}/keys`: list a property's keys, or create one (admins)."""

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ApiKey.Kind.choices)
        name = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
        expires_at = serializers.DateTimeField(
            required=False, allow_null=True, default=None, help_text="In the future; none (null) never expires."
        )

    @extend_schema(
        tags=["keys"],
        operation_id="keys_list",
        summary="List a property's keys",
        responses={200: ApiKeyOutputSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request, property_id: str):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        return Response(ApiKeyOutputSerializer(api_keys_of_property(property=prop), many=True).data)

    @extend_schema(
        tags=["keys"],
        operation_id="keys_create",
        summary="Create a key",
        request=InputSerializer,
        responses={201: ApiKeyCreatedSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request, property_id: str):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        params = input_validated(self.InputSerializer, request.data)
        api_key, secret = api_key_create(property=prop, **params)
        return Response(api_key_created_data(api_key, secret), status=status.HTTP_201_CREATED)


class ApiKeyApi(MemberAuthenticatedApi):
    """`/v1/properties/{property_id}/keys/{key_id}`: one key (admins); DELETE revokes it."""

    @extend_schema(
        tags=["keys"],
        operation_id="keys_retrieve",
        summary="Get a key",
        responses={200: ApiKeyOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, property_id: str, key_id: int):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        return Response(ApiKeyOutputSerializer(api_key_access(property=prop, key_id=key_id)).data)

    @extend_schema(
        tags=["keys"],
        operation_id="keys_revoke",
        summary="Revoke a key",
        description="Every server refuses the key within a second. It stays listed, as revoked.",
        responses={204: OpenApiResponse(description="Revoked."), **error_responses(401, 403, 404)},
    )
    def delete(self, request, property_id: str, key_id: int):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        api_key_revoke(api_key=api_key_access(property=prop, key_id=key_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyRotateApi(MemberAuthenticatedApi):
    """`POST /v1/properties/{property_id}/keys/{key_id}/rotate`: replace a key, keeping the old one
    working for the rotation grace period."""

    class OutputSerializer(ApiKeyCreatedSerializer):
        previous = ApiKeyOutputSerializer(help_text="The rotated key, now expiring at `expires_at`.")

    @extend_schema(
        tags=["keys"],
        operation_id="keys_rotate",
        summary="Rotate a key",
        description="Creates a key of the same kind and name. The old key keeps working until its new "
        "`expires_at` (CLICKMETER_KEY_ROTATION_GRACE_HOURS, 24 by default), so clients can switch over.",
        request=None,
        responses={201: OutputSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request, property_id: str, key_id: int):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        old_key = api_key_access(property=prop, key_id=key_id)
        new_key, secret = api_key_rotate(api_key=old_key)
        body = {**api_key_created_data(new_key, secret), "previous": ApiKeyOutputSerializer(old_key).data}
        return Response(body, status=status.HTTP_201_CREATED)


class IngestTokenCreateApi(APIView):
    """`POST /v1/properties/{id}/ingest-tokens`: the owner's backend mints a short-lived ingest token."""

    authentication_classes = [ReadKeyAuthentication]
    permission_classes = [HasApiKey]
    throttle_classes = [ReportRateThrottle]

    class InputSerializer(serializers.Serializer):
        expires_in = serializers.IntegerField(min_value=1, max_value=INGEST_TOKEN_MAX_SECONDS, default=3600)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="`it_…`: send it as a write key (Bearer or `?token=`).")
        property_id = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(
        tags=["ingest"],
        operation_id="ingest_tokens_create",
        summary="Mint an ingest token",
        description="A server holding the read key mints a token that lets a browser send events to this "
        "property for `expires_in` seconds (at most a day). Revoking the read key revokes its tokens.",
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 401, 404, 429)},
    )
    def post(self, request, property_id: str):
        prop = property_access(actor=request.auth, public_id=property_id)
        params = input_validated(self.InputSerializer, request.data)
        token, expires_at = ingest_token_mint(
            api_key_id=request.auth.id,
            property_public_id=prop.public_id,
            expires_in=params["expires_in"],
        )
        return Response(
            {"token": token, "property_id": prop.public_id, "expires_at": expires_at}, status=status.HTTP_201_CREATED
        )
