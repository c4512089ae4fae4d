"""The schema of the two query endpoints (`/v1/properties/{property_id}/query`, `/api/v2/query`):
their JSON bodies as OpenAPI 3.0 objects, which state what the parsers enforce but for the rules
between values that only words can state (docs/query.md)."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from apps.core.openapi import AutoSchema
from apps.reports.periods import DAY_PATTERN
from apps.reports.queries import plausible
from apps.reports.queries.query import (
    CALENDAR_RANGES,
    COMPARE_PERIODS,
    LAST_DAYS,
    MAX_FILTERS,
    MAX_LIMIT,
    OPERATORS,
)
from apps.reports.queries.vocabulary import (
    DIMENSIONS,
    EVENTS_OF_TYPE_PREFIX,
    MAX_EVENT_TYPE_LENGTH,
    MAX_PROP_KEY_LENGTH,
    METRICS,
    PROPS_PREFIX,
    USER_PROPS_PREFIX,
)

Schema = dict[str, Any]


class QueryBodySchema(AutoSchema):
    """The schema of a view whose JSON body is described by a plain OpenAPI object (below), which
    drf-spectacular never marks required: these views need one (no body is no query)."""

    def _get_request_body(self, direction: str = "request") -> Schema | None:
        body: Schema | None = super()._get_request_body(direction)  # drf-spectacular's own hook
        if body is not None:
            body["required"] = True
        return body


DAY: Schema = {"type": "string", "format": "date", "pattern": DAY_PATTERN}
DAYS: Schema = {"type": "array", "items": DAY, "minItems": 2, "maxItems": 2}
TIMES: Schema = {"type": "array", "items": {"type": "string", "format": "date-time"}, "minItems": 2, "maxItems": 2}
PROPS: Schema = {"type": "string", "pattern": f"^{PROPS_PREFIX}[^\\u0000]{{1,{MAX_PROP_KEY_LENGTH}}}$"}
USER_PROPS: Schema = {"type": "string", "pattern": f"^{USER_PROPS_PREFIX}[^\\u0000]{{1,{MAX_PROP_KEY_LENGTH}}}$"}
PAGINATION: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": MAX_LIMIT},
        "offset": {"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0},
    },
}
FILTERS_DESCRIPTION = (
    f"`[operator, dimension, [value, …]]` (operator one of {', '.join(OPERATORS)}), `['and' | 'or', [filter, …]]` "
    f"or `['not', filter]`; nested at most 5 deep, at most {MAX_FILTERS} in all, a value a string of at most 1024 "
    "characters, a regular expression in the safe subset of docs/query.md. Time is filtered by `date_range`."
)
FILTERS: Schema = {
    "type": "array",
    "maxItems": MAX_FILTERS,
    "description": FILTERS_DESCRIPTION,
    "items": {"type": "array", "minItems": 2, "maxItems": 3, "items": {}},
}
# The range of days of the engine's reports by days (funnels, retention, journeys), and the days an answer read.
DAYS_RANGE: Schema = {"anyOf": [{"type": "string", "enum": [*LAST_DAYS, *CALENDAR_RANGES]}, DAYS]}
DAYS_RANGE_RULES = (
    "a range's last day is not before its first, days run from 1970-01-01 to 2999-12-31 and a range spans at most "
    "3660 days"
)
DAYS_READ: Schema = {"type": "array", "items": {"type": "string", "format": "date"}}

QUERY_DESCRIPTION = (
    "The query of docs/query.md over the property's events. Rules that relate values: the last day of a range is "
    "not before its first, days run from 1970-01-01 to 2999-12-31 and a range (and the compared one) spans at most "
    "3660 days; a range of times has both offsets, its last time not before its first, and is compared with "
    "nothing; at most one time dimension, `time:hour` over at most 31 days, `time:minute` over a range of times of "
    "at most 24 hours; `include.time_labels` needs a time dimension; `order_by` names a metric or dimension of the "
    "query. Any invalid query is a 400 whose `error.field` is the path of the culprit, such as `filters[0][2][1]`."
)
QUERY_REQUEST: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["metrics", "date_range"],
    "properties": {
        "metrics": {
            "type": "array",
            "minItems": 1,
            "maxItems": 20,
            "uniqueItems": True,
            "items": {
                "type": "string",
                "anyOf": [
                    {"enum": sorted(METRICS)},
                    {"pattern": f"^{EVENTS_OF_TYPE_PREFIX}[^\\u0000]{{1,{MAX_EVENT_TYPE_LENGTH}}}$"},
                ],
            },
        },
        "date_range": {"anyOf": [{"type": "string", "enum": [*LAST_DAYS, *CALENDAR_RANGES]}, DAYS, TIMES]},
        "dimensions": {
            "type": "array",
            "maxItems": 10,
            "uniqueItems": True,
            "items": {"type": "string", "anyOf": [{"enum": sorted(DIMENSIONS)}, PROPS, USER_PROPS]},
        },
        "filters": FILTERS,
        "order_by": {
            "type": "array",
            "maxItems": 20,
            "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "string"}},
            "description": "`[metric or dimension of the query, 'asc' | 'desc']`.",
        },
        "pagination": PAGINATION,
        "include": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "totals": {"type": "boolean", "default": False},
                "time_labels": {"type": "boolean", "default": False},
                "compare": {"nullable": True, "anyOf": [{"type": "string", "enum": list(COMPARE_PERIODS)}, DAYS]},
                "imports": {
                    "type": "boolean",
                    "default": True,
                    "description": "Imported daily totals in the answer where its grain allows (docs/switching.md).",
                },
            },
        },
    },
}
ROWS: Schema = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["dimensions", "metrics"],
        "properties": {
            "dimensions": {"type": "array", "items": {"type": "string", "nullable": True}},
            "metrics": {"type": "array", "items": {"type": "number"}},
        },
    },
}
QUERY_ANSWER: Schema = {
    "type": "object",
    "required": ["results", "meta", "query"],
    "properties": {
        "results": ROWS,
        "meta": {
            "type": "object",
            "required": ["date_range", "imports_included"],
            "properties": {
                "date_range": {"type": "array", "items": {"type": "string", "format": "date"}},
                "imports_included": {"type": "boolean"},
                "imports_warning": {"type": "string", "description": "Why imported totals of the range are left out."},
                "totals": {"type": "array", "items": {"type": "number"}},
                "time_labels": {"type": "array", "items": {"type": "string"}},
                "comparison": {
                    "type": "object",
                    "properties": {
                        "results": ROWS,
                        "totals": {"type": "array", "items": {"type": "number"}},
                        "date_range": {"type": "array", "items": {"type": "string", "format": "date"}},
                    },
                },
            },
        },
        "query": {"type": "object", "description": "The query with every default spelled out."},
    },
}

PLAUSIBLE_DESCRIPTION = (
    "A drop-in for Plausible's Stats API v2 (docs/query.md lists what maps to what and what is refused). "
    "`site_id` is the property's public id or one of its domains; the Bearer token is its read key. Errors are "
    'Plausible\'s `{"error": "…"}`, a 400\'s message starting with the JSON pointer of the culprit (`#/metrics/0: '
    "…`). Rules that relate values: a range's last day is not before its first, and spans at most 3660 days "
    "between 1970 and 2999; a range of times has both offsets; `percentage` needs a dimension; at most one time "
    "dimension, `time:hour` over at most 31 days, `time:minute` over a range of times of at most 24 hours; "
    "`include.time_labels` needs a time dimension; `order_by` names a metric or dimension of the query."
)
PLAUSIBLE_REQUEST: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["site_id", "metrics", "date_range"],
    "properties": {
        "site_id": {"type": "string", "minLength": 1, "maxLength": 253},
        "metrics": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(plausible.METRICS)}},
        "date_range": {
            "anyOf": [
                {"type": "string", "enum": [*plausible.RANGES, *plausible.LAST_DAYS, "all"]},
                DAYS,
                TIMES,
            ]
        },
        "dimensions": {
            "type": "array",
            "maxItems": 10,
            "uniqueItems": True,
            "items": {"type": "string", "anyOf": [{"enum": [*plausible.DIMENSIONS, "time"]}, PROPS]},
        },
        "filters": {
            "type": "array",
            "maxItems": MAX_FILTERS,
            "description": FILTERS_DESCRIPTION + ' A fourth item may hold modifiers: `{"case_sensitive": true}`.',
            "items": {"type": "array", "minItems": 2, "maxItems": 4, "items": {}},
        },
        "order_by": {
            "type": "array",
            "maxItems": 20,
            "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "string"}},
        },
        "include": {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: {"type": "boolean", "default": False} for name in plausible.INCLUDE_FIELDS},
        },
        "pagination": PAGINATION,
    },
}
PLAUSIBLE_ANSWER: Schema = {
    "type": "object",
    "required": ["results", "meta", "query"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["dimensions", "metrics"],
                "properties": {
                    "dimensions": {"type": "array", "items": {"type": "string", "nullable": True}},
                    "metrics": {"type": "array", "items": {"type": "number", "nullable": True}},
                },
            },
        },
        "meta": {
            "type": "object",
            "properties": {
                "time_labels": {"type": "array", "items": {"type": "string"}},
                "total_rows": {"type": "integer"},
                "imports_included": {"type": "boolean"},
                "imports_skip_reason": {"type": "string"},
                "imports_warning": {"type": "string"},
            },
        },
        "query": {"type": "object", "description": "The query as Plausible echoes it."},
    },
}


class PlausibleErrorSerializer(serializers.Serializer[Any]):
    """Every error of `/api/v2/query`, as Plausible gives it."""

    error = serializers.CharField(help_text="For humans; a 400's starts with the JSON pointer of the culprit.")


_PLAUSIBLE_ERROR_MEANINGS = {
    400: "Invalid query; the message starts with the culprit's JSON pointer (`#/metrics/0: …`).",
    401: "A missing or invalid read key, or a site_id it cannot read.",
    429: "Rate limited; see `Retry-After`.",
}


def plausible_error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    return {
        status: OpenApiResponse(PlausibleErrorSerializer, description=_PLAUSIBLE_ERROR_MEANINGS[status])
        for status in statuses
    }
