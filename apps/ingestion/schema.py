"""The ingest envelope (schema version 1): parsing and validation.

Hand-written rather than a DRF serializer: it runs once per event on the hottest path, and the
benchmark showed serializer validation alone costing more than the whole request budget. Unknown
fields are ignored everywhere (forward compatible); known fields of the wrong shape reject only the
event they belong to.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import orjson

from apps.core.api import ApplicationError

SCHEMA_VERSION = 1
MAX_BODY_BYTES = 1024 * 1024
# The event type that gives its user (identity.user_id_hash) the traits in its data (the beacon's
# identify(userIdHash, traits); a peer tracker's identify), which reports read as user:props:<key>.
IDENTIFY = "identify"
MAX_EVENTS = 500
MAX_DATA_BYTES = 8 * 1024
MAX_DATA_DEPTH = 4
MAX_DATA_KEYS = 64
# The keys of `data` a revenue goal reads (reports/queries/goals.py): an amount and its currency.
REVENUE_KEY, CURRENCY_KEY = "revenue", "currency"

# Every text field stored per event, with its maximum length: a longer value rejects the event,
# except for the fields in TRUNCATED, which are cut.
TEXT_LIMITS = {
    "event_id": 64,
    "type": 64,
    "url": 2048,
    "path": 1024,
    "title": 512,
    "referrer": 2048,
    "visitor_id": 128,
    "session_id": 128,
    "user_id_hash": 128,
    "campaign_id": 128,
    "utm_source": 256,
    "utm_medium": 256,
    "utm_campaign": 256,
    "utm_term": 256,
    "utm_content": 256,
}
TRUNCATED = frozenset({"url", "referrer", "title"})
UTM_FIELDS = ("source", "medium", "campaign", "term", "content")
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Timestamps before this are taken as a broken client clock and replaced by the server's time.
EARLIEST_TS = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class ValidatedBatch:
    events: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


class EventError(Exception):
    def __init__(self, code: str, message: str, field: str):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def json_parse(body: bytes):
    """Decode a JSON request body, or raise a 400 ApplicationError saying what is wrong with it."""
    if body.startswith(UTF8_BOM):
        body = body[len(UTF8_BOM) :]  # RFC 8259 section 8.1 lets a parser ignore one; some senders add it
    if not body:
        raise ApplicationError("empty_body", "The request body is empty; send a JSON envelope.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _json_error(body, exc) from None


def envelope_parse(body: bytes) -> dict:
    """Decode a request body into an envelope object, or raise a 400 ApplicationError."""
    envelope = json_parse(body)
    if not isinstance(envelope, dict):
        raise ApplicationError("invalid_envelope", "The envelope must be a JSON object.")
    return envelope


def _json_error(body: bytes, exc: orjson.JSONDecodeError) -> ApplicationError:
    """The clearest 400 for a body that is not JSON: say what is wrong in terms a sender can act on."""
    if not body.strip():
        return ApplicationError("empty_body", "The request body holds only whitespace; send a JSON envelope.")
    if body.startswith(UTF16_BOMS) or (len(body) >= 4 and b"\x00" in body[:4]):
        return ApplicationError(
            "invalid_json", "The body must be JSON encoded as UTF-8; it looks like UTF-16 or UTF-32."
        )
    try:
        text = body.decode()
    except UnicodeDecodeError as error:
        return ApplicationError(
            "invalid_json",
            f"The body must be JSON encoded as UTF-8; the byte at offset {error.start} "
            f"(0x{body[error.start]:02x}) is not UTF-8 (was it sent as Latin-1 or Windows-1252?).",
        )
    if text[exc.pos :].lstrip("-").startswith(("NaN", "Infinity")):
        return ApplicationError(
            "invalid_json", f"The body is not valid JSON: NaN and Infinity are not JSON numbers ({exc})."
        )
    return ApplicationError("invalid_json", f"The body is not valid JSON: {exc}")


def parse_timestamp(value) -> datetime | None:
    """Return an aware datetime for an ISO 8601 string (naive means UTC), or None if invalid."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def envelope_validate(envelope: dict, *, received_at: datetime) -> ValidatedBatch:
    """Validate the envelope and each of its events; return the accepted events and per-event errors.

    Envelope-level problems raise ApplicationError; event-level problems are collected. Whether
    the credential may write to `property_id` is the caller's to decide.
    """
    version = envelope.get("schema_version", SCHEMA_VERSION)
    if type(version) is not int:
        raise ApplicationError("invalid_field", "schema_version must be an integer.", field="schema_version")
    if version > SCHEMA_VERSION or version < 1:
        raise ApplicationError(
            "unsupported_schema_version",
            f"schema_version {version} is not supported; this server understands 1 to {SCHEMA_VERSION}.",
            field="schema_version",
        )
    property_id = envelope.get("property_id")
    if not isinstance(property_id, str) or not property_id:
        raise ApplicationError("missing_field", "property_id is required.", field="property_id")
    events = envelope.get("events")
    if not isinstance(events, list):
        raise ApplicationError("missing_field", "events must be a list of event objects.", field="events")
    if not 1 <= len(events) <= MAX_EVENTS:
        raise ApplicationError(
            "invalid_batch_size", f"events must hold 1 to {MAX_EVENTS} events, not {len(events)}.", field="events"
        )

    skew = None
    sent_at = parse_timestamp(envelope.get("sent_at"))
    if sent_at is not None:
        skew = received_at - sent_at

    batch = ValidatedBatch()
    for index, raw in enumerate(events):
        try:
            batch.events.append(event_validate(raw, skew=skew, received_at=received_at))
        except EventError as exc:
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            batch.errors.append(
                {
                    "index": index,
                    "event_id": event_id if isinstance(event_id, str) else None,
                    "code": exc.code,
                    "message": exc.message,
                    "field": exc.field,
                }
            )
    return batch


def _timestamp_corrected(ts: datetime | None, *, skew, received_at: datetime) -> datetime:
    """Shift a client timestamp by the client's clock skew; never in the future, never absurd."""
    if ts is None:
        return received_at
    if skew is not None:
        try:
            ts = ts + skew
        except OverflowError:
            return received_at
    if ts < EARLIEST_TS:
        return received_at
    return min(ts, received_at)


def _object(parent: dict, key: str, field: str) -> dict:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError("invalid_field", f"{field} must be an object.", field)
    return value


def _text(parent: dict, key: str, name: str, field: str) -> str:
    value = parent.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EventError("invalid_field", f"{field} must be a string.", field)
    if "\x00" in value:
        raise EventError("invalid_field", f"{field} must not contain NUL characters.", field)
    limit = TEXT_LIMITS[name]
    if len(value) > limit:
        if name in TRUNCATED:
            return value[:limit]
        raise EventError("too_long", f"{field} must be at most {limit} characters.", field)
    return value


def _url(parent: dict, name: str, field: str) -> str:
    """A text field that must parse as a URL (the store derives host, path and UTM fields from it)."""
    value = _text(parent, name, name, field)
    try:
        urlsplit(value)
    except ValueError:
        raise EventError("invalid_field", f"{field} is not a valid URL.", field) from None
    return value


def event_validate(raw, *, skew, received_at: datetime) -> dict:
    if not isinstance(raw, dict):
        raise EventError("invalid_event", "Each event must be a JSON object.", "event")
    event_type = _text(raw, "type", "type", "type")
    if not event_type:
        raise EventError("missing_field", "type is required (e.g. 'pageview').", "type")
    event_id = _text(raw, "event_id", "event_id", "event_id") or str(uuid.uuid4())

    ts = _timestamp_corrected(parse_timestamp(raw.get("ts")), skew=skew, received_at=received_at)

    context = _object(raw, "context", "context")
    page = _object(context, "page", "context.page")
    campaign = _object(context, "campaign", "context.campaign")
    utm = _object(campaign, "utm", "context.campaign.utm")
    identity = _object(raw, "identity", "identity")

    url = _url(page, "url", "context.page.url")
    path = _text(page, "path", "path", "context.page.path")
    if not path and url:
        path = (urlsplit(url).path or "/")[: TEXT_LIMITS["path"]]

    event = {
        "event_id": event_id,
        "type": event_type,
        "ts": ts.isoformat(),
        "url": url,
        "path": path,
        "title": _text(page, "title", "title", "context.page.title"),
        "referrer": _url(page, "referrer", "context.page.referrer"),
        "visitor_id": _text(identity, "visitor_id", "visitor_id", "identity.visitor_id"),
        "session_id": _text(identity, "session_id", "session_id", "identity.session_id"),
        "user_id_hash": _text(identity, "user_id_hash", "user_id_hash", "identity.user_id_hash"),
        "campaign_id": _text(campaign, "campaign_id", "campaign_id", "context.campaign.campaign_id"),
        "data": _data_validate(raw.get("data")),
    }
    for name in UTM_FIELDS:
        event[f"utm_{name}"] = _text(utm, name, f"utm_{name}", f"context.campaign.utm.{name}")
    return event


def _data_validate(data) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EventError("invalid_field", "data must be an object.", "data")
    keys = 0
    stack: list[tuple[dict | list, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DATA_DEPTH:
            raise EventError("data_too_deep", f"data may nest at most {MAX_DATA_DEPTH} levels.", "data")
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict):
            keys += len(value)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    if keys > MAX_DATA_KEYS:
        raise EventError("data_too_large", f"data may hold at most {MAX_DATA_KEYS} keys.", "data")
    encoded = orjson.dumps(data)
    if len(encoded) > MAX_DATA_BYTES:
        raise EventError("data_too_large", f"data may be at most {MAX_DATA_BYTES} bytes as JSON.", "data")
    if b"\\u0000" in encoded:
        raise EventError("invalid_field", "data must not contain NUL characters.", "data")
    if isinstance(data.get(REVENUE_KEY), float):
        # A revenue amount is kept as decimal text, as reports read it (a binary fraction is no sum of money).
        data[REVENUE_KEY] = format(Decimal(repr(data[REVENUE_KEY])), "f")
    return data
