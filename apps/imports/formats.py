"""The formats an import reads, each record as an event for ingestion's checks and row (storage.event_row).

- Clickmeter's raw-event record (RECORD_FIELDS), which the export writes: one stored event with the
  place and parsed user agent it was stored with, so that a round trip gives identical reports.
- Umami's `website_event` rows (its database's and its export's columns), with the browser, OS,
  device and place from the same row or from `session.csv` beside it in a zip.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from django.db.models import CharField

from apps.imports.files import InvalidFile, InvalidRecord, records, zip_members
from apps.ingestion.models import Event
from apps.ingestion.schema import UTM_FIELDS, parse_timestamp
from apps.ingestion.storage import AGENT_FIELDS, PLACE_FIELDS

PAGE_FIELDS = ("url", "path", "title", "referrer")
IDENTITY_FIELDS = ("visitor_id", "session_id", "user_id_hash")
RECORD_FIELDS = (
    "event_id",
    "type",
    "ts",
    *PAGE_FIELDS,
    *IDENTITY_FIELDS,
    "campaign_id",
    *(f"utm_{name}" for name in UTM_FIELDS),
    "data",
    "received_at",
    "arrival",
    *PLACE_FIELDS,
    *AGENT_FIELDS,
)


def _column_length(name: str) -> int:
    field = Event._meta.get_field(name)
    assert isinstance(field, CharField) and field.max_length is not None, name
    return field.max_length


# The longest value the event table keeps of each place and user agent field.
CONTEXT_LIMITS = {name: _column_length(name) for name in (*PLACE_FIELDS, *AGENT_FIELDS)}


@dataclass(frozen=True)
class ImportedEvent:
    """A record as an envelope event (for schema.event_validate), with when it was received, its
    place in the arrival order (None: from `received_at` and its position), and its context."""

    event: dict
    received_at: datetime | None
    arrival: int | None
    context: dict


def _envelope_event(fields: dict, data) -> dict:
    return {
        "event_id": fields.get("event_id") or None,
        "type": fields.get("type"),
        "ts": fields.get("ts"),
        "context": {
            "page": {name: fields.get(name) for name in PAGE_FIELDS},
            "campaign": {
                "campaign_id": fields.get("campaign_id"),
                "utm": {name: fields.get(f"utm_{name}") for name in UTM_FIELDS},
            },
        },
        "identity": {name: fields.get(name) for name in IDENTITY_FIELDS},
        "data": data,
    }


def _context(fields: dict) -> dict:
    context = {}
    for name, limit in CONTEXT_LIMITS.items():
        value = fields.get(name) or ""
        if not isinstance(value, str) or len(value) > limit:
            raise InvalidRecord(f"{name} must be text of at most {limit} characters.")
        context[name] = value
    return context


# Clickmeter


def record_of_row(row: dict) -> dict:
    """A stored event (ingestion's EVENT_COLUMNS) as the export writes it."""
    record = {name: row[name] for name in RECORD_FIELDS}
    record["ts"], record["received_at"] = row["ts"].isoformat(), row["received_at"].isoformat()
    return record


def _mapped(found: Iterator[tuple[str, int, dict]], event: Callable[[dict], ImportedEvent | None]):
    """Each found record as `event` reads it; a record it refuses is an InvalidFile naming its line."""
    for file, line, record in found:
        try:
            imported = event(record)
        except InvalidRecord as exc:
            raise InvalidFile(f"{file}, line {line}: {exc}") from None
        yield file, line, imported


def clickmeter_events(path: Path, name: str) -> Iterator[tuple[str, int, ImportedEvent | None]]:
    yield from _mapped(records(path, name), _clickmeter_event)


def _clickmeter_event(record: dict) -> ImportedEvent:
    data = record.get("data")
    if isinstance(data, str):  # CSV: the data as JSON text
        try:
            data = orjson.loads(data) if data else {}
        except orjson.JSONDecodeError:
            raise InvalidRecord("data is not a JSON object.") from None
    arrival = record.get("arrival")
    try:
        arrival = int(arrival) if arrival not in (None, "") else None
    except (TypeError, ValueError):
        raise InvalidRecord("arrival must be an integer.") from None
    return ImportedEvent(
        event=_envelope_event(record, data),
        received_at=parse_timestamp(record.get("received_at")),
        arrival=arrival,
        context=_context(record),
    )


# Umami

UMAMI_EVENTS, UMAMI_SESSIONS = "website_event.csv", "session.csv"
UMAMI_PAGEVIEW, UMAMI_CUSTOM_EVENT = "1", "2"
# Umami's names (its detect.ts) as ua-parser's, which this server's reports show.
UMAMI_BROWSERS = {
    "chrome": "Chrome",
    "crios": "Chrome Mobile iOS",
    "chromium-webview": "Chrome Mobile WebView",
    "edge-chromium": "Edge",
    "edge": "Edge",
    "edge-ios": "Edge Mobile",
    "firefox": "Firefox",
    "fxios": "Firefox iOS",
    "ios": "Mobile Safari",
    "ios-webview": "Mobile Safari UI/WKWebView",
    "safari": "Safari",
    "samsung": "Samsung Internet",
    "opera": "Opera",
    "yandexbrowser": "Yandex Browser",
    "facebook": "Facebook",
    "instagram": "Instagram",
}
UMAMI_OS = {"Mac OS": "Mac OS X", "Android OS": "Android", "Chrome OS": "Chrome OS", "Linux": "Linux", "iOS": "iOS"}
UMAMI_DEVICES = {"desktop": "desktop", "laptop": "desktop", "mobile": "mobile", "tablet": "tablet"}


def umami_events(path: Path, name: str) -> Iterator[tuple[str, int, ImportedEvent | None]]:
    """Umami's events: a CSV of `website_event`, or a zip of `website_event.csv` and `session.csv`."""
    members = zip_members(path)
    sessions: dict[str, dict] = {}
    if members and UMAMI_EVENTS not in members:
        raise InvalidFile(f"{name}: the zip holds no {UMAMI_EVENTS}.")
    if UMAMI_SESSIONS in members:
        sessions = {record.get("session_id", ""): record for _, _, record in records(path, name, member=UMAMI_SESSIONS)}
    found = records(path, name, member=UMAMI_EVENTS if members else None)
    yield from _mapped(found, lambda record: _umami_event(record, sessions.get(record.get("session_id", ""), {})))


def _umami_url(scheme_host: str, path: str, query: str) -> str:
    return f"{scheme_host}{path or '/'}{'?' + query if query else ''}" if scheme_host else ""


def _umami_event(record: dict, session: dict) -> ImportedEvent | None:
    kind, name = record.get("event_type", ""), record.get("event_name", "")
    if kind not in (UMAMI_PAGEVIEW, UMAMI_CUSTOM_EVENT) and not name:
        return None  # link and pixel hits without a name, which Umami's reports count apart
    created = parse_timestamp((record.get("created_at") or "").replace(" ", "T"))
    if created is None:
        raise InvalidRecord("created_at must be a time such as 2024-05-01 10:00:00.")
    fields = {**session, **{key: value for key, value in record.items() if value}}
    host = fields.get("hostname", "")
    referrer_host = fields.get("referrer_domain", "")
    browser = fields.get("browser", "")
    os_name = fields.get("os", "")
    place_agent = {
        "country": fields.get("country", "").upper()[:2],
        # ISO 3166-2 (DE-BE), as this server's GeoIP enrichment keeps it.
        "region": fields.get("region") or fields.get("subdivision1", ""),
        "city": fields.get("city", ""),
        "browser": UMAMI_BROWSERS.get(browser, browser),
        "os": UMAMI_OS.get(os_name, "Windows" if os_name.startswith("Windows") else os_name),
        "device": UMAMI_DEVICES.get(fields.get("device", ""), fields.get("device", "")),
    }
    event = {
        "event_id": fields.get("event_id"),
        "type": "pageview" if kind == UMAMI_PAGEVIEW else name,
        "ts": created.astimezone(UTC).isoformat(),
        "url": _umami_url(f"https://{host}" if host else "", fields.get("url_path", ""), fields.get("url_query", "")),
        "path": fields.get("url_path", ""),
        "title": fields.get("page_title", ""),
        "referrer": _umami_url(
            f"https://{referrer_host}" if referrer_host else "",
            fields.get("referrer_path", ""),
            fields.get("referrer_query", ""),
        ),
        # An Umami session is a visitor (for a month, by its salt); its visit is a session here.
        "visitor_id": f"um_{fields['session_id']}" if fields.get("session_id") else "",
        "session_id": fields.get("visit_id", ""),
        **{f"utm_{name}": fields.get(f"utm_{name}", "") for name in UTM_FIELDS},
    }
    return ImportedEvent(
        event=_envelope_event(event, {}), received_at=created, arrival=None, context=_context(place_agent)
    )
