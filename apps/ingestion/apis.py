from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ApplicationError
from apps.core.http import client_ip
from apps.core.openapi import error_responses
from apps.ingestion.schema import (
    MAX_BODY_BYTES,
    MAX_DATA_BYTES,
    MAX_DATA_DEPTH,
    MAX_DATA_KEYS,
    MAX_EVENTS,
    SCHEMA_VERSION,
    TEXT_LIMITS,
    TRUNCATED,
    envelope_parse,
    envelope_validate,
)
from apps.ingestion.services import RequestClient, events_receive
from apps.keys.authentication import WriteKeyAuthentication
from apps.keys.permissions import HasApiKey
from apps.keys.services import INGEST_TOKEN_KIND

ACCEPTED_CONTENT_TYPES = frozenset({"", "application/json", "text/plain"})


# The envelope as the schema documents it. These serializers describe; apps/ingestion/schema.py
# parses (hand-written for speed). Every field but `property_id`, `events` and `type` is optional,
# and unknown fields are ignored.
def _text(name: str, help_text: str = "") -> serializers.CharField:
    if name in TRUNCATED:
        help_text = f"{help_text} Cut to {TEXT_LIMITS[name]} characters.".strip()
        return serializers.CharField(required=False, help_text=help_text)
    return serializers.CharField(required=False, max_length=TEXT_LIMITS[name], help_text=help_text)


class PageSerializer(serializers.Serializer):
    url = _text("url")
    path = _text("path", "Taken from `url` when absent.")
    title = _text("title")
    referrer = _text("referrer")


class UtmSerializer(serializers.Serializer):
    source = _text("utm_source")  # type: ignore[assignment]  # a field: DRF takes it out of the class
    medium = _text("utm_medium")
    campaign = _text("utm_campaign")
    term = _text("utm_term")
    content = _text("utm_content")


class CampaignSerializer(serializers.Serializer):
    campaign_id = _text("campaign_id")
    utm = UtmSerializer(required=False)


class ContextSerializer(serializers.Serializer):
    page = PageSerializer(required=False)
    campaign = CampaignSerializer(required=False)


class IdentitySerializer(serializers.Serializer):
    visitor_id = _text("visitor_id", "Without one, a daily cookieless visitor hash is used.")
    session_id = _text("session_id")
    user_id_hash = _text("user_id_hash", "A hash of your user id; never the id itself.")


class EventSerializer(serializers.Serializer):
    event_id = _text("event_id", "Deduplication key: an event sent twice with the same id counts once.")
    type = serializers.CharField(max_length=TEXT_LIMITS["type"], help_text="`pageview` or a custom event name.")
    ts = serializers.DateTimeField(
        required=False, help_text="When it happened; missing or invalid means now. Corrected by `sent_at`."
    )
    context = ContextSerializer(required=False)  # type: ignore[assignment]  # a field: DRF takes it out of the class
    identity = IdentitySerializer(required=False)
    data = serializers.DictField(  # type: ignore[assignment]  # a field: DRF takes it out of the class
        required=False,
        help_text=f"Custom properties: at most {MAX_DATA_KEYS} keys, {MAX_DATA_DEPTH} levels, "
        f"{MAX_DATA_BYTES} bytes as JSON.",
    )


class EnvelopeSerializer(serializers.Serializer):
    schema_version = serializers.IntegerField(
        required=False, min_value=1, max_value=SCHEMA_VERSION, help_text="1 when absent."
    )
    property_id = serializers.CharField(help_text="The property of the write key or token.")
    sent_at = serializers.DateTimeField(
        required=False, help_text="The client's clock when sending, to correct the events' `ts` for its skew."
    )
    events = serializers.ListField(child=EventSerializer(), min_length=1, max_length=MAX_EVENTS)


class EventErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The event's position in `events`.")
    event_id = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events durably queued.")
    rejected = serializers.IntegerField(help_text="Events refused; see `errors`.")
    errors = EventErrorSerializer(many=True)  # type: ignore[assignment]  # a field: DRF takes it out of the class
    dropped = serializers.IntegerField(required=False, help_text="Events from a bot, dropped and counted.")


class EventIngestApi(APIView):
    """`POST /v1/events`: validate an envelope and make its good events durable before answering 202."""

    authentication_classes = [WriteKeyAuthentication]
    permission_classes = [HasApiKey]
    parser_classes = []

    @extend_schema(
        tags=["ingest"],
        operation_id="events_ingest",
        summary="Send events",
        description=f"A batch of 1 to {MAX_EVENTS} events, at most {MAX_BODY_BYTES} bytes, as `application/json` "
        "or `text/plain` (what `navigator.sendBeacon` sends). One bad event does not sink the batch: it is "
        "listed in `errors` and the rest are accepted. A browser's `Origin` must be one the property allows.",
        request={"application/json": EnvelopeSerializer, "text/plain": EnvelopeSerializer},
        responses={
            202: OpenApiResponse(IngestResultSerializer, description="The accepted events are durably queued."),
            **error_responses(400, 401, 403, 404, 411, 413, 415, 429, 503),
        },
        examples=[
            OpenApiExample(
                "A pageview",
                request_only=True,
                value={
                    "property_id": "prop_abc123",
                    "events": [{"type": "pageview", "context": {"page": {"url": "https://example.com/pricing"}}}],
                },
            )
        ],
    )
    def post(self, request):
        received_at = timezone.now()
        body = body_read(request)
        key = request.auth
        envelope = envelope_parse(body)
        batch = envelope_validate(envelope, received_at=received_at)
        if envelope["property_id"] != key.property_public_id:
            if key.kind == INGEST_TOKEN_KIND:
                raise AuthenticationFailed("This ingest token is for another property.")
            raise ApplicationError(
                "property_not_found", "No such property for this key.", field="property_id", status_code=404
            )
        result = events_receive(key=key, batch=batch, client=request_client(request), received_at=received_at)
        return Response(result, status=status.HTTP_202_ACCEPTED)


def request_client(request) -> RequestClient:
    return RequestClient(
        ip=client_ip(request.META, trusted_proxies=settings.CLICKMETER_TRUSTED_PROXIES),
        user_agent=request.headers.get("user-agent", ""),
        origin=request.headers.get("origin"),
    )


def body_read(request, *, content_types: frozenset[str] = ACCEPTED_CONTENT_TYPES) -> bytes:
    """Read the request body, of at most MAX_BODY_BYTES, whether sent with a length or chunked."""
    content_type = request.content_type.partition(";")[0].strip().lower()
    if content_type not in content_types:
        raise ApplicationError(
            "unsupported_media_type",
            f"Send the body as {' or '.join(sorted(filter(None, content_types)))}.",
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    too_large = ApplicationError(
        "payload_too_large",
        f"The body exceeds {MAX_BODY_BYTES} bytes; send fewer events per batch.",
        status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )
    meta = request.META
    declared = meta.get("CONTENT_LENGTH") or ""
    if declared:
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise too_large
        stream = request.stream
    elif meta.get("wsgi.input_terminated"):
        # No length: a chunked body, which the server decodes and ends (gunicorn does; WSGI's
        # `wsgi.input_terminated`). Django reads only bodies of a declared length.
        stream = meta["wsgi.input"]
    elif "HTTP_TRANSFER_ENCODING" in meta:
        raise ApplicationError(
            "length_required",
            "This server cannot read a chunked body; send it with a Content-Length header.",
            status_code=status.HTTP_411_LENGTH_REQUIRED,
        )
    else:
        stream = None
    try:
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
    except Exception:  # the server's own error types: a malformed chunk, a client gone mid-body
        raise ApplicationError("unreadable_body", "The request body could not be read to its end.") from None
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    return body
