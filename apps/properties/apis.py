"""The properties API: list, create, read, change and delete properties."""

import zoneinfo

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts.apis import MemberAuthenticatedApi
from apps.accounts.selectors import organization_access
from apps.core.api import input_validated
from apps.core.openapi import error_responses
from apps.core.tenancy import Role
from apps.properties import hooks
from apps.properties.selectors import properties_of_user, property_access
from apps.properties.services import (
    DOMAINS_MAX,
    domain_normalize,
    origin_normalize,
    property_create_with_keys,
    property_delete,
    property_update,
)

# Retention is subtracted from today's date: keep it well inside the calendar.
RETENTION_MAX_DAYS = 100 * 366
LIMIT_MAX = 2**31 - 1


# What the schema promises origin_normalize accepts (it also takes IPv6 hosts and ports up to 65535).
ORIGIN_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,4})?/?$"
TIMEZONES = sorted(zoneinfo.available_timezones())


@extend_schema_field({"type": "string", "maxLength": 300, "pattern": ORIGIN_PATTERN})
class OriginField(serializers.CharField):
    pass


def _origins_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=OriginField(max_length=300, validators=[origin_normalize]),  # type: ignore[list-item]  # DRF ignores what a validator returns
        help_text="Browser origins allowed to send events: `https://example.com`, or `https://*.example.com` "
        "for its subdomains. A property created without them allows `https://` each of its domains.",
        **kwargs,
    )


# What the schema promises domain_normalize accepts (it also takes names in other scripts, as IDNA).
DOMAIN_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"


@extend_schema_field({"type": "string", "maxLength": 253, "pattern": DOMAIN_PATTERN})
class DomainField(serializers.CharField):
    pass


def _domains_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=DomainField(max_length=253, validators=[domain_normalize]),  # type: ignore[list-item]  # DRF ignores what a validator returns
        max_length=DOMAINS_MAX,
        help_text="The site's hostnames (`example.com`), the primary first. A hostname belongs to one property "
        "on the whole server.",
        **kwargs,
    )


# The schema lists the names once, without a description per name (which would be the name again).
@extend_schema_field({"type": "string", "enum": TIMEZONES})
class TimezoneField(serializers.ChoiceField):
    pass


def _timezone_field(**kwargs) -> serializers.ChoiceField:
    return TimezoneField(
        choices=TIMEZONES,
        error_messages={"invalid_choice": '"{input}" is not an IANA timezone name.'},
        help_text="An IANA name (`Europe/Paris`); reports count days in it.",
        **kwargs,
    )


class FirstKeysField(serializers.ListField):
    """A new property's first keys with their secrets: the keys app's data (hooks.FirstKeys), which
    apps/keys/openapi.py describes in the schema."""


class PropertyOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    organization = serializers.CharField(source="organization.public_id", help_text="The organisation's id.")
    name = serializers.CharField()
    domains = serializers.ListField(child=serializers.CharField(), help_text="The site's hostnames, the primary first.")
    allowed_origins = serializers.ListField(child=serializers.CharField())
    timezone = serializers.CharField()
    retention_days = serializers.IntegerField()
    ingest_limit_per_key = serializers.IntegerField(help_text="Ingest requests per minute per key (0: no limit).")
    ingest_limit_per_address = serializers.IntegerField(
        help_text="Ingest requests per minute per client address (0: no limit)."
    )
    created_at = serializers.DateTimeField()


class PropertiesApi(MemberAuthenticatedApi):
    """`/v1/properties`: the properties a member may see; create one (admins of its organisation)."""

    class FilterSerializer(serializers.Serializer):
        organization = serializers.CharField(max_length=32, required=False)

    class InputSerializer(serializers.Serializer):
        organization = serializers.CharField(max_length=32, help_text="The organisation's id (`org_…`).")
        name = serializers.CharField(max_length=200)
        domains = _domains_field(required=False, default=list)
        allowed_origins = _origins_field(required=False)
        timezone = _timezone_field(required=False, default="UTC")

    class CreatedSerializer(PropertyOutputSerializer):
        keys = FirstKeysField(help_text="Its first write and read keys, with their secrets.")

    @extend_schema(
        tags=["properties"],
        summary="List properties",
        parameters=[
            OpenApiParameter(
                "organization",
                {"type": "string", "minLength": 1, "maxLength": 32},
                description="Only this organisation's (`org_…`); 404 if not yours.",
            )
        ],
        responses={200: PropertyOutputSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request):
        params = input_validated(self.FilterSerializer, request.query_params)
        organization = None
        if "organization" in params:
            organization = organization_access(user=request.user, public_id=params["organization"])
        organizations = None if organization is None else [organization]
        properties = properties_of_user(user=request.user, organizations=organizations)
        return Response(PropertyOutputSerializer(properties, many=True).data)

    @extend_schema(
        tags=["properties"],
        summary="Create a property",
        description="Needs the admin role in the organisation. The response holds the property's first write "
        "and read keys with their secrets, which are never shown again.",
        request=InputSerializer,
        responses={201: CreatedSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request):
        params = input_validated(self.InputSerializer, request.data)
        organization = organization_access(user=request.user, public_id=params.pop("organization"), role=Role.ADMIN)
        prop, secrets = property_create_with_keys(organization=organization, **params)
        keys = hooks.first_keys().api_data(property=prop, secrets=secrets)
        return Response({**PropertyOutputSerializer(prop).data, "keys": keys}, status=status.HTTP_201_CREATED)


class PropertyApi(MemberAuthenticatedApi):
    """`/v1/properties/{property_id}`: read (viewers), change (admins) or delete (owners) a property."""

    class UpdateSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        domains = _domains_field()
        allowed_origins = _origins_field()
        timezone = _timezone_field()
        retention_days = serializers.IntegerField(min_value=1, max_value=RETENTION_MAX_DAYS)
        ingest_limit_per_key = serializers.IntegerField(min_value=0, max_value=LIMIT_MAX)
        ingest_limit_per_address = serializers.IntegerField(min_value=0, max_value=LIMIT_MAX)

    @extend_schema(
        tags=["properties"],
        summary="Get a property",
        responses={200: PropertyOutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request, property_id: str):
        prop = property_access(actor=request.user, public_id=property_id)
        return Response(PropertyOutputSerializer(prop).data)

    @extend_schema(
        tags=["properties"],
        operation_id="properties_update",
        summary="Change a property",
        description="Needs the admin role. Send only the fields to change. A new timezone re-counts the "
        "stored events' days in it.",
        request=UpdateSerializer,
        responses={200: PropertyOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request, property_id: str):
        prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
        changes = input_validated(self.UpdateSerializer, request.data, partial=True)
        return Response(PropertyOutputSerializer(property_update(property=prop, **changes)).data)

    @extend_schema(
        tags=["properties"],
        summary="Delete a property",
        description="Needs the owner role. Deletes the property with its keys, events and reports.",
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404)},
    )
    def delete(self, request, property_id: str):
        property_delete(property=property_access(actor=request.user, public_id=property_id, role=Role.OWNER))
        return Response(status=status.HTTP_204_NO_CONTENT)
