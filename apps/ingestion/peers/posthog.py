"""PostHog's JavaScript library: its capture paths (`/e/`, `/i/v0/e/`, `/batch/`, `/capture/`) and
the calls it makes to start (`/flags/`, `/decide/`, `/array/<token>/config[.js]`).

A capture body is JSON, gzipped (`?compression=gzip-js`, or a gzip body), or base64 in a form
field `data` (`?compression=base64`); it holds one event, a list of them, or `{api_key, batch,
sent_at}`. The project token (`api_key`, `token`, or each event's `properties.token`) is a write
key of the property. An event's `uuid` is its event id; `$pageview` is a pageview, and every other
event is stored under its own name (`$pageleave` included: it ends the visit's duration) but for
the ones that record sessions or edit groups, which Clickmeter does not keep. `$identify` and
`$set` with person properties (`$set`, in the event or its properties) are stored as an `identify`
event of the person (`distinct_id`): its traits, which `user:props:<key>` reads (docs/query.md);
without them they are not stored.
"""

import base64
import binascii
import zlib
from urllib.parse import parse_qs

from apps.core.api import ApplicationError
from apps.ingestion.peers import object_field, person_id_hash, text_field
from apps.ingestion.schema import IDENTIFY, MAX_BODY_BYTES, json_parse

PAGEVIEW = "$pageview"
NOT_STORED = frozenset({"$snapshot", "$groupidentify", "$create_alias", "$feature_flag_called"})
PERSON_EVENTS = frozenset({"$identify", "$set"})
DIRECT = "$direct"
TITLE = "title"
NOT_DATA = frozenset({"token", "distinct_id"})
GZIP_MAGIC = b"\x1f\x8b"
# What the library may read back to start without errors: no flags, no recordings. `surveys` is
# left out: any value of it, false too, makes the library load its surveys script.
REMOTE_CONFIG = {
    "supportedCompression": ["gzip", "gzip-js"],
    "hasFeatureFlags": False,
    "sessionRecording": False,
    "autocapture_opt_out": False,
    "autocaptureExceptions": False,
    "capturePerformance": False,
    "heatmaps": False,
    "siteApps": [],
    "elementsChainAsString": True,
    "defaultIdentifiedOnly": True,
}
FLAGS = {
    **REMOTE_CONFIG,
    "flags": {},
    "featureFlags": {},
    "featureFlagPayloads": {},
    "errorsWhileComputingFlags": False,
    "quotaLimited": [],
}


def posthog_body_decode(body: bytes, *, compression: str) -> dict | list:
    """A capture body as JSON, whatever encoding the library chose; a 400 saying which one failed."""
    if body.startswith(b"data=") or compression == "base64":
        fields = parse_qs(body.decode("latin-1"))
        body = (fields.get("data") or [""])[0].encode("latin-1")
        try:
            body = base64.b64decode(body, validate=False)
        except (binascii.Error, ValueError):
            raise ApplicationError("invalid_body", "The data field is not base64.") from None
    if body.startswith(GZIP_MAGIC) or compression in {"gzip", "gzip-js"}:
        inflate = zlib.decompressobj(wbits=31)
        try:
            body = inflate.decompress(body, MAX_BODY_BYTES + 1)
        except zlib.error as exc:
            raise ApplicationError("invalid_body", f"The body is not gzip: {exc}.") from None
        if len(body) > MAX_BODY_BYTES or inflate.unconsumed_tail:
            raise ApplicationError(
                "payload_too_large", f"The body inflates beyond {MAX_BODY_BYTES} bytes.", status_code=413
            )
    decoded = json_parse(body)
    if not isinstance(decoded, dict | list):
        raise ApplicationError("invalid_body", "The body must be an event, a list of events, or {api_key, batch}.")
    return decoded


def posthog_events(body: dict | list) -> tuple[str, str | None, list[dict]]:
    """The project token, the client's `sent_at` and the raw events of a decoded capture body."""
    if isinstance(body, list):
        raw, token, sent_at = body, "", None
    elif isinstance(body.get("batch"), list):
        raw, token, sent_at = body["batch"], text_field(body, "api_key"), body.get("sent_at")
    else:
        raw, token, sent_at = [body], text_field(body, "api_key") or text_field(body, "token"), None
    if not raw:
        raise ApplicationError("missing_field", "The body holds no events.", field="batch")
    for event in raw:
        if token or not isinstance(event, dict):
            break
        token = text_field(event, "api_key") or text_field(object_field(event, "properties"), "token")
    if not token:
        raise ApplicationError("missing_field", "The project token (api_key or properties.token) is required.")
    return token, sent_at if isinstance(sent_at, str) else None, raw


def posthog_event_parse(event, *, property_public_id: str) -> dict | None:
    """One PostHog event as an envelope event; None for the events Clickmeter does not keep. An event
    of the wrong shape is passed on for the envelope's checks to refuse, naming its place in the batch."""
    if not isinstance(event, dict):
        return event
    name = event.get("event")
    if isinstance(name, str) and (name in NOT_STORED or name.startswith("$$")):
        return None
    properties = event.get("properties") or {}
    if not isinstance(properties, dict):
        return {"type": name, "data": properties}
    referrer = properties.get("$referrer")
    page = {"url": properties.get("$current_url"), "referrer": None if referrer == DIRECT else referrer}
    data = {key: value for key, value in properties.items() if not key.startswith("$") and key not in NOT_DATA}
    if name == PAGEVIEW and isinstance(data.get(TITLE), str):
        page[TITLE] = data.pop(TITLE)
    distinct_id = properties.get("distinct_id", event.get("distinct_id"))
    device_id = properties.get("$device_id") or distinct_id
    identity = {"session_id": properties.get("$session_id")}
    if isinstance(device_id, str | int) and device_id != "":
        identity["visitor_id"] = "ph_" + person_id_hash(str(device_id), property_public_id=property_public_id)
    identified = isinstance(distinct_id, str | int) and distinct_id != ""
    if name in PERSON_EVENTS:
        # posthog-js sends them beside the properties; other libraries within them.
        traits = event.get("$set") or properties.get("$set")
        if not (identified and isinstance(traits, dict) and traits):
            return None
        name, data = IDENTIFY, traits
    if identified and (properties.get("$is_identified") or name == IDENTIFY):
        identity["user_id_hash"] = person_id_hash(str(distinct_id), property_public_id=property_public_id)
    return {
        "event_id": event.get("uuid"),
        "type": "pageview" if name == PAGEVIEW else name,
        "ts": event.get("timestamp"),
        "context": {"page": page},
        "identity": identity,
        "data": data,
    }
