"""The schema of the sessions list (`GET /v1/properties/{property_id}/sessions`) and of one session
(`GET …/sessions/{session_id}`): a session as OpenAPI 3.0 objects (docs/sessions.md)."""

from apps.reports.openapi import Schema
from apps.reports.queries.visits import ATTRIBUTE_NAMES

SESSION: Schema = {
    "type": "object",
    "required": [
        "id",
        "started_at",
        "ended_at",
        "duration",
        "entry_page",
        "exit_page",
        "pageviews",
        "events",
        *ATTRIBUTE_NAMES,
    ],
    "properties": {
        "id": {"type": "string", "description": "The session's id: its local day and key (`GET …/sessions/{id}`)."},
        "started_at": {"type": "string", "format": "date-time", "description": "Its first event's time."},
        "ended_at": {"type": "string", "format": "date-time", "description": "Its last event's time."},
        "duration": {"type": "integer", "description": "From its first event to its last, in whole seconds."},
        "entry_page": {"type": "string", "description": "Its first pageview's path ('' without pageviews)."},
        "exit_page": {"type": "string", "description": "Its last pageview's path ('' without pageviews)."},
        "pageviews": {"type": "integer"},
        "events": {"type": "integer", "description": "All its events, pageviews included."},
        **{
            name: {"type": "string", "description": f"Its first event's, as the dimension visit:{name} ('' for none)."}
            for name in ATTRIBUTE_NAMES
        },
    },
}
SESSIONS_PAGE: Schema = {
    "type": "object",
    "required": ["sessions", "next_cursor"],
    "properties": {
        "sessions": {"type": "array", "items": SESSION, "description": "Newest first."},
        "next_cursor": {
            "type": "string",
            "nullable": True,
            "description": "The `cursor` of the next page; null on the last.",
        },
    },
}
SESSION_EVENT: Schema = {
    "type": "object",
    "required": ["ts", "type", "hostname", "path", "data"],
    "properties": {
        "ts": {"type": "string", "format": "date-time"},
        "type": {"type": "string", "description": "pageview, or a custom event's type."},
        "hostname": {"type": "string"},
        "path": {"type": "string"},
        "data": {"type": "object", "description": "The event's custom properties."},
    },
}
SESSION_DETAIL: Schema = {
    "type": "object",
    "required": ["session", "events"],
    "properties": {
        "session": SESSION,
        "events": {"type": "array", "items": SESSION_EVENT, "description": "Every event of the session, in order."},
    },
}
