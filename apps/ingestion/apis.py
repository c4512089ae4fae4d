from django.conf import settings
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.ingestion.enrichment import client_ip
from apps.ingestion.schema import MAX_BODY_BYTES, envelope_parse, envelope_validate
from apps.ingestion.services import RequestClient, events_receive
from apps.keys.authentication import WriteKeyAuthentication
from apps.keys.permissions import HasApiKey
from apps.keys.services import INGEST_TOKEN_KIND
from config.api import ApplicationError

ACCEPTED_CONTENT_TYPES = frozenset({"", "application/json", "text/plain"})


class EventIngestApi(APIView):
    """`POST /v1/events`: validate an envelope and make its good events durable before answering 202."""

    authentication_classes = [WriteKeyAuthentication]
    permission_classes = [HasApiKey]
    parser_classes = []

    def post(self, request):
        received_at = timezone.now()
        body = _body_read(request)
        key = request.auth
        envelope = envelope_parse(body)
        batch = envelope_validate(envelope, received_at=received_at)
        if envelope["property_id"] != key.property_public_id:
            if key.kind == INGEST_TOKEN_KIND:
                raise AuthenticationFailed("This ingest token is for another property.")
            raise ApplicationError(
                "property_not_found", "No such property for this key.", field="property_id", status_code=404
            )
        client = RequestClient(
            ip=client_ip(request.META, trusted_proxies=settings.CLICKMETER_TRUSTED_PROXIES),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            origin=request.META.get("HTTP_ORIGIN"),
        )
        result = events_receive(key=key, batch=batch, client=client, received_at=received_at)
        return Response(result, status=status.HTTP_202_ACCEPTED)


def _body_read(request) -> bytes:
    content_type = request.content_type.partition(";")[0].strip().lower()
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise ApplicationError(
            "unsupported_media_type",
            "Send the envelope as application/json (or text/plain, as navigator.sendBeacon does).",
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    too_large = ApplicationError(
        "payload_too_large",
        f"The body exceeds {MAX_BODY_BYTES} bytes; send fewer events per batch.",
        status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise too_large
    stream = request.stream
    body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    return body
