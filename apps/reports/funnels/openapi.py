"""The schema of the funnel query (`POST /v1/properties/{property_id}/funnels/query`): its JSON body
and answer as OpenAPI 3.0 objects, stating what funnels.funnel_query_parse enforces but for the rules
only words can state (docs/funnels.md)."""

from apps.reports.openapi import DAYS_RANGE, DAYS_RANGE_RULES, DAYS_READ, FILTERS, PROPS, Schema
from apps.reports.queries.funnels import (
    DEFAULT_GROUPS,
    MAX_GROUPS,
    MAX_STEP_VALUE_LENGTH,
    MAX_STEPS,
    MAX_WINDOW_DAYS,
    MIN_STEPS,
    STEP_KINDS,
)
from apps.reports.queries.vocabulary import DIMENSIONS, EVENT, VISIT

STEP: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "value"],
    "properties": {
        "kind": {"type": "string", "enum": list(STEP_KINDS)},
        "value": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_STEP_VALUE_LENGTH,
            "description": "A goal's name; a page's path from /, where `*` is any text within a segment and `**` "
            "any text; or an event's type.",
        },
    },
}
STEPS: Schema = {"type": "array", "minItems": MIN_STEPS, "maxItems": MAX_STEPS, "items": STEP}
WINDOW_DAYS: Schema = {
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_WINDOW_DAYS,
    "nullable": True,
    "description": "Walk the steps within this many days of a visitor's first step; null: within one visit.",
}
# The largest id a funnel may have (PostgreSQL's bigint).
MAX_FUNNEL_ID = 2**63 - 1
BREAKDOWN_DIMENSIONS = sorted(name for name, found in DIMENSIONS.items() if found.scope in (EVENT, VISIT))

FUNNEL_QUERY_DESCRIPTION = (
    "Which visitors went through a funnel's steps in order, over a range of days and the filters (docs/funnels.md): "
    "the funnel's own `steps` and `window_days`, or `funnel_id`, a funnel the property keeps (then without "
    "`steps` and `window_days`). Rules that relate values: "
    f"{DAYS_RANGE_RULES}; a page step's path starts with /. Any invalid query is a 400 whose `error.field` is "
    "the path of the culprit, such as `steps[1].value`; a `funnel_id` the property does not keep is a 404."
)
FUNNEL_QUERY_REQUEST: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["date_range"],
    "properties": {
        "funnel_id": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_FUNNEL_ID,
            "description": "A funnel the property keeps.",
        },
        "steps": STEPS,
        "window_days": WINDOW_DAYS,
        "date_range": DAYS_RANGE,
        "filters": FILTERS,
        "dimension": {
            "type": "string",
            "nullable": True,
            "anyOf": [{"enum": BREAKDOWN_DIMENSIONS}, PROPS],
            "description": "Break the visitors down by the value of this dimension at their first step.",
        },
        "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_GROUPS,
            "default": DEFAULT_GROUPS,
            "description": "At most this many groups of the breakdown, those with the most visitors first.",
        },
    },
}
STEP_ANSWER: Schema = {
    "type": "object",
    "required": [
        "step",
        "kind",
        "label",
        "visitors",
        "conversion_rate",
        "conversion_rate_step",
        "dropoff",
        "dropoff_percentage",
        "median_seconds_from_previous",
    ],
    "properties": {
        "step": {"type": "integer", "description": "1 for the first step."},
        "kind": {"type": "string", "enum": list(STEP_KINDS)},
        "label": {"type": "string"},
        "visitors": {"type": "integer", "description": "The visitors who reached this step."},
        "conversion_rate": {"type": "number", "description": "Their share of the first step's, in percent."},
        "conversion_rate_step": {"type": "number", "description": "Their share of the previous step's, in percent."},
        "dropoff": {"type": "integer", "description": "The previous step's visitors who did not reach this one."},
        "dropoff_percentage": {"type": "number", "description": "Their share of the previous step's, in percent."},
        "median_seconds_from_previous": {
            "type": "number",
            "nullable": True,
            "description": "The median time from the previous step over the visitors reaching this one; null for "
            "the first step and for a step no visitor reached.",
        },
    },
}
STEPS_ANSWER: Schema = {"type": "array", "items": STEP_ANSWER}
FUNNEL_QUERY_ANSWER: Schema = {
    "type": "object",
    "required": ["steps", "breakdown", "meta"],
    "properties": {
        "steps": STEPS_ANSWER,
        "breakdown": {
            "type": "array",
            "nullable": True,
            "description": "With a `dimension`: per value of it, its visitors' steps; null without.",
            "items": {
                "type": "object",
                "required": ["dimension", "steps"],
                "properties": {"dimension": {"type": "string", "nullable": True}, "steps": STEPS_ANSWER},
            },
        },
        "meta": {
            "type": "object",
            "required": ["date_range", "funnel"],
            "properties": {
                "date_range": DAYS_READ,
                "funnel": {
                    "type": "object",
                    "required": ["steps", "window_days"],
                    "properties": {"steps": STEPS, "window_days": WINDOW_DAYS},
                },
            },
        },
    },
}
