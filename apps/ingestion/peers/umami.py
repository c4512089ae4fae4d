"""Umami's tracker: `POST /api/send` (one `{type, payload}`) and `POST /api/batch` (a list of them).

`payload.website` names the property (its id, which the snippet's `data-website-id` carries);
`hostname` and `url` (a path and query, or a whole URL) make the page's address, as Umami reads
them; `referrer`, `title` (URI-encoded by older trackers), `name` and `data` (a custom event and its
properties), `id` (a person id from `umami.identify`, kept only as a keyed hash) and `timestamp`
(seconds). An `identify` request with a person id and `data` is stored as an `identify` event of the
person: its traits, which `user:props:<key>` reads (docs/query.md); `performance` requests, and
identify requests without both, are answered and not stored.
"""

from datetime import UTC, datetime
from urllib.parse import unquote

from apps.core.api import ApplicationError
from apps.ingestion.peers import object_field, person_id_hash, text_field
from apps.ingestion.schema import IDENTIFY

EVENT = "event"
NOT_STORED = frozenset({"performance"})
MAX_BATCH = 100
WEBSITE = "payload.website"


def umami_website(message: dict) -> str:
    """The website id of one `{type, payload}` message; a 400 if it names none."""
    if not isinstance(message, dict):
        raise ApplicationError("invalid_body", "Send {type, payload} as a JSON object.")
    website = text_field(object_field(message, "payload"), "website")
    if not website:
        raise ApplicationError("missing_field", "payload.website is required: the property id.", field=WEBSITE)
    return website


def umami_event_parse(message: dict, *, property_public_id: str) -> dict | None:
    """One Umami message (umami_website has read it) as an envelope event; None for what is not stored."""
    kind = text_field(message, "type") or EVENT
    if kind in NOT_STORED:
        return None
    if kind not in (EVENT, IDENTIFY):
        raise ApplicationError("invalid_field", "type must be event, identify or performance.", field="type")
    payload = message["payload"]
    if kind == IDENTIFY and not (text_field(payload, "id") and object_field(payload, "data")):
        return None
    hostname, url = text_field(payload, "hostname"), text_field(payload, "url")
    if url.startswith("/") and hostname:
        url = f"https://{hostname}{url}"
    title = text_field(payload, "title")
    event = {
        "type": IDENTIFY if kind == IDENTIFY else text_field(payload, "name") or "pageview",
        "context": {"page": {"url": url, "referrer": text_field(payload, "referrer"), "title": unquote(title)}},
        "data": object_field(payload, "data"),
    }
    if person := text_field(payload, "id"):
        event["identity"] = {"user_id_hash": person_id_hash(person, property_public_id=property_public_id)}
    if timestamp := payload.get("timestamp"):
        try:
            event["ts"] = datetime.fromtimestamp(int(timestamp), UTC).isoformat()
        except (TypeError, ValueError, OverflowError, OSError):
            raise ApplicationError(
                "invalid_field", "payload.timestamp must be seconds since 1970.", field="payload.timestamp"
            ) from None
    return event


def umami_batch(body) -> list[dict]:
    """The messages of a `/api/batch` body: a list of 1 to MAX_BATCH `{type, payload}` objects."""
    if not isinstance(body, list) or not 1 <= len(body) <= MAX_BATCH:
        raise ApplicationError("invalid_body", f"Send a JSON list of 1 to {MAX_BATCH} {{type, payload}} objects.")
    return body
