"""The schema of the journey query (`POST /v1/properties/{property_id}/journeys`): its JSON body and
answer as OpenAPI 3.0 objects, stating what journeys.journey_query_parse enforces but for the rules
only words can state (docs/journeys.md)."""

from apps.reports.funnels.openapi import STEP
from apps.reports.openapi import DAYS_RANGE, DAYS_RANGE_RULES, DAYS_READ, FILTERS, Schema
from apps.reports.queries.journeys import DEFAULT_LIMIT, ENTRY, EXIT, MAX_DEPTH, MAX_LIMIT, NEXT, PREVIOUS

JOURNEY_QUERY_DESCRIPTION = (
    "Where the visits that reached an anchor (a page, a goal or an event, as a funnel's step) went next, or came "
    f"from, page by page, over a range of days and the filters (docs/journeys.md). Rules that relate values: "
    f"{DAYS_RANGE_RULES}; a page anchor's path starts with /. Any invalid query is a 400 whose `error.field` is the "
    "path of the culprit, such as `anchor.value`."
)
JOURNEY_QUERY_REQUEST: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["anchor", "date_range"],
    "properties": {
        "anchor": {**STEP, "description": "Where the journeys start (`next`) or end (`previous`)."},
        "direction": {
            "type": "string",
            "enum": [NEXT, PREVIOUS],
            "default": NEXT,
            "description": "The pages after the anchor, or those before it, nearest first.",
        },
        "depth": {"type": "integer", "minimum": 1, "maximum": MAX_DEPTH, "default": 3, "description": "Pages."},
        "date_range": DAYS_RANGE,
        "filters": FILTERS,
        "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_LIMIT,
            "default": DEFAULT_LIMIT,
            "description": "At most this many paths, and links per step, the most taken first.",
        },
    },
}
STEP_DESCRIPTION = f"A page's path, or `{EXIT}` (`{ENTRY}`) where the visit had no more pages."
JOURNEY_QUERY_ANSWER: Schema = {
    "type": "object",
    "required": ["visits", "paths", "links", "meta"],
    "properties": {
        "visits": {"type": "integer", "description": "The visits that reached the anchor."},
        "paths": {
            "type": "array",
            "description": "The journeys taken, the most taken first.",
            "items": {
                "type": "object",
                "required": ["steps", "visits"],
                "properties": {
                    "steps": {
                        "type": "array",
                        "items": {"type": "string", "description": STEP_DESCRIPTION},
                        "description": "`depth` pages from the anchor's, nearest first.",
                    },
                    "visits": {"type": "integer"},
                },
            },
        },
        "links": {
            "type": "array",
            "description": "The moves from one step to the next (for a flow diagram), per step the most taken first.",
            "items": {
                "type": "object",
                "required": ["step", "from", "to", "visits"],
                "properties": {
                    "step": {"type": "integer", "description": "1 for the moves from the anchor."},
                    "from": {"type": "string", "description": "The anchor's value at step 1, else a step."},
                    "to": {"type": "string", "description": STEP_DESCRIPTION},
                    "visits": {"type": "integer"},
                },
            },
        },
        "meta": {
            "type": "object",
            "required": ["date_range", "anchor", "direction", "depth"],
            "properties": {
                "date_range": DAYS_READ,
                "anchor": STEP,
                "direction": {"type": "string", "enum": [NEXT, PREVIOUS]},
                "depth": {"type": "integer"},
            },
        },
    },
}
