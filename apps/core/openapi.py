"""What the OpenAPI schema (`/v1/schema`, `manage.py spectacular`) needs to know that drf-spectacular
cannot see: our authentication classes, our error format, and component names.

REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] names the AutoSchema below, so this module (and with it the
authentication extensions it registers) is loaded before any schema is generated. It must not
import drf_spectacular.views, which reads that setting while being imported.
"""

from typing import Any

from django.conf import settings
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import Direction, OpenApiResponse
from rest_framework import serializers
from rest_framework.request import Request

# An OpenAPI schema object, as drf-spectacular builds it.
Schema = dict[str, Any]


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, naming a serializer nested in a view after the view as well
    (`ApiKeysApi.InputSerializer` -> `ApiKeysInput`), so every view may call its own `InputSerializer`."""

    def get_serializer_name(self, serializer: serializers.Serializer[Any], direction: Direction) -> str:
        *outer, name = type(serializer).__qualname__.split(".")
        if not outer or outer[-1] == "<locals>":
            return name
        return outer[-1].removesuffix("Api").removesuffix("Serializer") + name


WRITE_KEY_SCHEMES = ["writeKey", "writeKeyHeader", "writeKeyQuery", "ingestTokenQuery"]


class WriteKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.keys.authentication.WriteKeyAuthentication"
    name = WRITE_KEY_SCHEMES

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> list[Schema]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": "A property's write key (`wk_…`), or a short-lived ingest token (`it_…`) minted "
                "with its read key.",
            },
            {"type": "apiKey", "in": "header", "name": "X-Write-Key", "description": "A write key (`wk_…`)."},
            {
                "type": "apiKey",
                "in": "query",
                "name": "key",
                "description": "A write key (`wk_…`), for `navigator.sendBeacon`, which cannot set headers.",
            },
            {
                "type": "apiKey",
                "in": "query",
                "name": "token",
                "description": "An ingest token (`it_…`), for `navigator.sendBeacon`.",
            },
        ]

    def get_security_requirement(self, auto_schema: openapi.AutoSchema) -> list[dict[str, list[Any]]]:
        # Any one of them (OR), not all together.
        return [{name: []} for name in WRITE_KEY_SCHEMES]


class ReadKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.keys.authentication.ReadKeyAuthentication"
    name = "readKey"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> Schema:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A property's read key (`rk_…`), for servers. Never put it in a URL.",
        }


class JwtScheme(OpenApiAuthenticationExtension):
    target_class = "rest_framework_simplejwt.authentication.JWTAuthentication"
    match_subclasses = True  # apps.core.api.MemberJWTAuthentication
    name = "jwt"
    priority = 1  # over drf-spectacular's own simplejwt extension, for the description

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> Schema:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A member's access token from `POST /v1/auth/token` (valid for minutes; refresh it).",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "rest_framework.authentication.SessionAuthentication"
    name = "session"
    priority = 1  # over drf-spectacular's own, for the description

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> Schema:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The signed-in browser session of the dashboard. Writes need the CSRF token in "
            "the `X-CSRFToken` header.",
        }


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error of the API: a 4xx (or a 503) with this body."""

    class DetailSerializer(serializers.Serializer[Any]):
        code = serializers.CharField(help_text="Machine-readable, e.g. `invalid_parameter`, `not_found`.")
        message = serializers.CharField(help_text="For humans.")
        field = serializers.CharField(required=False, help_text="The input at fault, when there is one.")

    error = DetailSerializer()


_ERROR_MEANINGS = {
    400: "Invalid input; `error.field` names it.",
    401: "Missing or invalid credentials.",
    403: "Refused: the credentials are valid but may not do this (a member's role is too low, or a browser "
    "origin the property does not allow).",
    404: "No such object, or one of another organisation (the two are indistinguishable).",
    409: "The request conflicts with the object's state.",
    411: "A chunked body this server cannot read; send it with `Content-Length`.",
    413: "The body is too large.",
    415: "Unsupported content type.",
    429: "Rate limited; see `Retry-After`.",
    503: "Temporarily unable to store or read; retry after `Retry-After` seconds.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the given error statuses, each with the API's error body."""
    return {status: OpenApiResponse(ErrorSerializer, description=_ERROR_MEANINGS[status]) for status in statuses}


# No text may hold NUL (apps/core/middleware.py refuses it in parameters; forms and serializers in fields).
WITHOUT_NUL = "^[^\\u0000]*$"


def _strings_without_nul(schema: object) -> None:
    """Give `schema`, and the schemas inside it, the pattern WITHOUT_NUL where a string is free text."""
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema):
        schema["pattern"] = WITHOUT_NUL
    for key in ("items", "additionalProperties"):
        _strings_without_nul(schema.get(key))
    for nested in (schema.get("properties") or {}).values():
        _strings_without_nul(nested)
    for nested in schema.get("allOf", []) + schema.get("oneOf", []) + schema.get("anyOf", []):
        _strings_without_nul(nested)


def postprocess_text_without_nul(
    result: Schema, generator: SchemaGenerator, request: Request | None, public: bool
) -> Schema:
    """State in the schema that no parameter or request field may contain NUL (U+0000)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                _strings_without_nul(parameter.get("schema"))
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _strings_without_nul(component)
    return result
