"""Drop-in ingest for other analytics servers' trackers (apps/ingestion/peers/): Plausible's
`/api/event`, Umami's `/api/send` and `/api/batch`, PostHog's capture paths and start-up calls.

Each request is turned into envelope events and takes the path of `POST /v1/events`: the same
validation, origin check, bot filter, enrichment, rate limits and buffer. Only the property is found
another way: by a domain (Plausible), the property id (Umami) or a write key as the project token
(PostHog).
"""

import copy
from collections import defaultdict
from datetime import datetime

import orjson
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ApplicationError
from apps.ingestion.apis import ACCEPTED_CONTENT_TYPES, body_read, request_client
from apps.ingestion.peers import plausible, posthog, umami
from apps.ingestion.schema import ValidatedBatch, envelope_parse, envelope_validate, json_parse
from apps.ingestion.services import events_receive
from apps.keys.models import ApiKey
from apps.keys.selectors import ResolvedKey, api_key_resolve, site_sender_resolve

# Also a form's type: what curl sends without -H, and PostHog's beacons; the body is read as JSON anyway.
PEER_CONTENT_TYPES = ACCEPTED_CONTENT_TYPES | {"application/x-www-form-urlencoded"}


def _body(request) -> bytes:
    return body_read(request, content_types=PEER_CONTENT_TYPES)


def _receive(request, *, sender: ResolvedKey, events: list, received_at: datetime, sent_at=None) -> dict:
    """Validate peer events as an envelope of `sender`'s property and receive them as `/v1/events` does."""
    if events:
        envelope = {"property_id": sender.property_public_id, "events": events, "sent_at": sent_at}
        batch = envelope_validate(envelope, received_at=received_at)
    else:
        batch = ValidatedBatch()  # nothing to store, but the origin and bot rules still answer
    return events_receive(key=sender, batch=batch, client=request_client(request), received_at=received_at)


def _event_errors(result: dict) -> list[ApplicationError]:
    """The per-event errors of a receive, as the 400s a one-event peer request answers."""
    return [ApplicationError(error["code"], error["message"], field=error["field"]) for error in result["errors"]]


class _PeerIngestApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    parser_classes: list = []


@extend_schema(exclude=True)
class PlausibleEventApi(_PeerIngestApi):
    """`POST /api/event`: one event from Plausible's script, npm tracker or Events API; 202 `ok`."""

    def post(self, request):
        received_at = timezone.now()
        domains, events = plausible.plausible_event_parse(envelope_parse(_body(request)))
        senders = [sender for domain in domains if (sender := site_sender_resolve(hostname=domain)) is not None]
        if not senders:
            raise ApplicationError(
                "property_not_found",
                f"No property has the domain {', '.join(domains)}: add it to the property's domains.",
                field="domain",
                status_code=404,
            )
        for sender in senders:  # a request naming several sites counts on each, as Plausible's does
            result = _receive(request, sender=sender, events=copy.deepcopy(events), received_at=received_at)
            if errors := _event_errors(result):
                raise errors[0]
        return HttpResponse("ok", status=status.HTTP_202_ACCEPTED, content_type="text/plain")


def _umami_receive(request, messages: list, *, received_at: datetime) -> list[tuple[int, ApplicationError]]:
    """Receive Umami messages, in one batch per property; the refused ones, by index."""
    refused: list[tuple[int, ApplicationError]] = []
    groups: dict[ResolvedKey, list[tuple[int, dict]]] = defaultdict(list)
    for index, message in enumerate(messages):
        try:
            website = umami.umami_website(message)
            sender = site_sender_resolve(public_id=website)
            if sender is None:
                raise ApplicationError(
                    "property_not_found", f"No property has the id {website}.", field=umami.WEBSITE, status_code=404
                )
            event = umami.umami_event_parse(message, property_public_id=sender.property_public_id)
        except ApplicationError as exc:
            refused.append((index, exc))
            continue
        received = groups[sender]  # also for messages that store nothing: the origin and bot rules answer
        if event is not None:
            received.append((index, event))
    for sender, indexed in groups.items():
        result = _receive(request, sender=sender, events=[event for _, event in indexed], received_at=received_at)
        errors = _event_errors(result)
        refused.extend((indexed[error["index"]][0], exc) for error, exc in zip(result["errors"], errors, strict=True))
    return sorted(refused, key=lambda item: item[0])


@extend_schema(exclude=True)
class UmamiSendApi(_PeerIngestApi):
    """`POST /api/send`: one `{type, payload}` from Umami's tracker; answered as Umami answers."""

    def post(self, request):
        refused = _umami_receive(request, [envelope_parse(_body(request))], received_at=timezone.now())
        if refused:
            raise refused[0][1]
        return Response({"cache": ""})


@extend_schema(exclude=True)
class UmamiBatchApi(_PeerIngestApi):
    """`POST /api/batch`: a list of `{type, payload}`; each bad message is named in `details`."""

    def post(self, request):
        messages = umami.umami_batch(json_parse(_body(request)))
        refused = _umami_receive(request, messages, received_at=timezone.now())
        return Response(
            {
                "size": len(messages),
                "processed": len(messages) - len(refused),
                "errors": len(refused),
                "details": [{"index": index, **exc.as_dict()["error"]} for index, exc in refused],
                "cache": "",
            }
        )


@extend_schema(exclude=True)
class PostHogCaptureApi(_PeerIngestApi):
    """`POST /e/`, `/i/v0/e/`, `/batch/`, `/capture/`: events from PostHog's library or API."""

    def post(self, request):
        received_at = timezone.now()
        compression = request.GET.get("compression") or request.headers.get("content-encoding", "")
        body = posthog.posthog_body_decode(_body(request), compression=compression.lower())
        token, sent_at, raw = posthog.posthog_events(body)
        sender = api_key_resolve(secret=token, kind=ApiKey.Kind.WRITE)
        if sender is None:
            raise ApplicationError(
                "invalid_token", "The project token is not an active write key of a property.", status_code=401
            )
        events = [
            event
            for raw_event in raw
            if (event := posthog.posthog_event_parse(raw_event, property_public_id=sender.property_public_id))
            is not None
        ]
        result = _receive(request, sender=sender, events=events, received_at=received_at, sent_at=sent_at)
        return Response({"status": 1, **result})


@extend_schema(exclude=True)
class PostHogFlagsApi(_PeerIngestApi):
    """`POST /flags/`, `/decide/`: no feature flags, recordings off."""

    def post(self, request):
        return Response(posthog.FLAGS)

    get = post


@extend_schema(exclude=True)
class PostHogConfigApi(_PeerIngestApi):
    """`GET /array/<token>/config`: the project's remote configuration, the same for every project."""

    def get(self, request, token: str):
        return Response({"token": token, **posthog.REMOTE_CONFIG})


def posthog_config_js(request, token: str) -> HttpResponse:
    """`GET /array/<token>/config.js`: the remote configuration as the script the library loads."""
    config = orjson.dumps({"config": {"token": token, **posthog.REMOTE_CONFIG}, "siteApps": []}).decode()
    script = (
        "(function(){var c=window._POSTHOG_REMOTE_CONFIG=window._POSTHOG_REMOTE_CONFIG||{};"
        f"c[{orjson.dumps(token).decode()}]={config};}})();"
    )
    return HttpResponse(script, content_type="application/javascript; charset=utf-8")
