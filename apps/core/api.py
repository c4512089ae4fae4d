"""The one application error type, the one exception handler, and the JSON renderer of the API.

Every error anywhere in the API is `{"error": {"code", "message", "field"?}}` with a 4xx status.
A database that cannot be reached is a 503 with `Retry-After`; any other 5xx is a bug.
"""

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, QueryDict
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework_simplejwt.authentication import AuthUser, JWTAuthentication
from rest_framework_simplejwt.tokens import Token

if TYPE_CHECKING:
    # rest_framework.views reads the API settings, which name this module, when it is imported.
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A request the application refuses, with a machine-readable code and a human message."""

    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        status_code: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after
        if status_code is not None:
            self.status_code = status_code

    def as_dict(self) -> dict[str, dict[str, str]]:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class ServiceUnavailable(ApplicationError):
    """Nothing could be stored or read right now; the client should retry after a pause."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ParseError: "invalid_json",
}


def error_response(error: ApplicationError) -> Response:
    response = Response(error.as_dict(), status=error.status_code)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    elif error.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        response["Retry-After"] = str(settings.CLICKMETER_RETRY_AFTER_SECONDS)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn every exception raised in a DRF view into the API's JSON error format."""
    if isinstance(exc, ApplicationError):
        return error_response(exc)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        return error_response(ServiceUnavailable("unavailable", "The service is temporarily unavailable."))
    if isinstance(exc, ValidationError):
        field, messages = next(iter(exc.message_dict.items())) if hasattr(exc, "error_dict") else (None, exc.messages)
        field = None if field == NON_FIELD_ERRORS else field
        return error_response(ApplicationError("invalid_parameter", " ".join(messages), field=field))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "invalid")
        detail = exc.detail.get("detail", "Invalid request.") if isinstance(exc.detail, dict) else exc.detail
        detail = detail if isinstance(detail, str) else "Invalid request."
        response = Response({"error": {"code": code, "message": str(detail)}}, status=exc.status_code)
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            response["WWW-Authenticate"] = auth_header
        if isinstance(exc, exceptions.Throttled):
            wait: float | None = exc.wait  # type: ignore[attr-defined]  # the stubs omit Throttled.wait
            if wait:
                response["Retry-After"] = str(int(wait))
        return response
    return None


def query_params_single(params: QueryDict) -> dict[str, str]:
    """The query parameters, one value each; a parameter given twice is a 400, as the schema describes
    each one once (lists are comma-separated in one parameter)."""
    for name, values in params.lists():
        if len(values) > 1:
            raise ApplicationError(
                "invalid_parameter", f"{name} is given {len(values)} times; give it once.", field=name
            )
    return {name: values[0] for name, values in params.lists()}


# What each kind of field takes from a JSON body, exactly as the schema types it: DRF would also
# take `0` for a string, `"5"` for an integer and `"yes"` for a boolean, which the schema forbids.
_JSON_TYPES = (
    (serializers.BooleanField, (bool,), "true or false"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.ChoiceField, (str,), "a string"),
    (serializers.CharField, (str,), "a string"),
    (serializers.DateTimeField, (str,), "a string"),
    (serializers.DateField, (str,), "a string"),
    (serializers.ListField, (list,), "a list"),
    (serializers.ListSerializer, (list,), "a list"),
    (serializers.DictField, (dict,), "an object"),
    (serializers.Serializer, (dict,), "an object"),
)


def _json_type_error(field: serializers.Field[Any, Any, Any, Any], value: Any, name: str) -> ApplicationError | None:
    """The 400 for `value` if it is not of the JSON type `field` is documented with, recursively."""
    if value is None:
        return None  # null: the field's own allow_null decides
    for kind, types, described in _JSON_TYPES:
        if isinstance(field, kind):
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                return ApplicationError("invalid_parameter", f"{name} must be {described}.", field=name)
            break
    if isinstance(field, serializers.ListField | serializers.ListSerializer) and field.child is not None:
        child = field.child
        return next((error for item in value if (error := _json_type_error(child, item, name))), None)
    if isinstance(field, serializers.Serializer):
        return _json_types_error(field.fields, value, prefix=f"{name}.")
    return None


def _json_types_error(
    fields: Mapping[str, serializers.Field[Any, Any, Any, Any]], data: dict[str, Any], *, prefix: str = ""
) -> ApplicationError | None:
    for name, field in fields.items():
        if name in data and not field.read_only:
            error = _json_type_error(field, data[name], prefix + name)
            if error is not None:
                return error
    return None


def input_validated(
    serializer_class: type[serializers.Serializer[Any]], data: Any, *, partial: bool = False
) -> dict[str, Any]:
    """Validate request input with `serializer_class`; raise a 400 naming the first bad field.

    Query parameters must each be given once; a JSON body's values must have the JSON types the
    schema documents (no coercion of numbers to strings or back).
    """
    if isinstance(data, QueryDict):
        data = query_params_single(data)
    elif isinstance(data, dict):
        error = _json_types_error(serializer_class().fields, data)
        if error is not None:
            raise error
    params = serializer_class(data=data, partial=partial)
    if params.is_valid():
        validated: dict[str, Any] = params.validated_data
        return validated
    field, messages = next(iter(params.errors.items()))
    while isinstance(messages, dict):  # a list item's or a nested field's errors
        messages = next(iter(messages.values()))
    if field == api_settings.NON_FIELD_ERRORS_KEY:
        raise ApplicationError("invalid_parameter", str(messages[0]))
    raise ApplicationError("invalid_parameter", f"{field}: {messages[0]}", field=field)


# The prefixes of API keys and ingest tokens (apps.keys), which no member endpoint takes.
KEY_PREFIXES = ("wk_", "rk_", "it_")


class MemberJWTAuthentication(JWTAuthentication):
    """simplejwt's JWT authentication, answering an API key sent where a member's token belongs with
    what to send instead, rather than simplejwt's "not valid for any token type"."""

    def authenticate(self, request: Request) -> tuple[AuthUser, Token] | None:
        header = self.get_header(request)
        raw_token = self.get_raw_token(header) if header is not None else None
        if raw_token is not None and raw_token.startswith(tuple(prefix.encode() for prefix in KEY_PREFIXES)):
            raise exceptions.AuthenticationFailed(
                "API keys and ingest tokens cannot do this: use a member's access token (POST /v1/auth/token); "
                "reports also take the property's read key."
            )
        return super().authenticate(request)


# Members: a JWT (programs) or the browser session of the UI (CSRF-checked for writes).
MEMBER_AUTHENTICATION = [MemberJWTAuthentication, SessionAuthentication]


class IsMember(BasePermission):
    """Allow only a signed-in user (JWT or session); what they may touch is decided by the door."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return request.user is not None and request.user.is_authenticated


class NestedJSONParser(JSONParser):
    """DRF's JSON parser, answering JSON nested deeper than Python's recursion limit with the 400 of
    any other unreadable body rather than a RecursionError (a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deep.") from None


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data)


class SingleRendererNegotiation(BaseContentNegotiation):
    """The API speaks JSON only: skip parsing `Accept` on every request (measured in bench/ingest)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type
