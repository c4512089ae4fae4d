"""The schema of the retention query (`POST /v1/properties/{property_id}/retention`): its JSON body and
answer as OpenAPI 3.0 objects, stating what retention.retention_query_parse enforces but for the rules
only words can state (docs/retention.md)."""

from apps.reports.openapi import DAYS_RANGE, DAYS_RANGE_RULES, DAYS_READ, FILTERS, Schema
from apps.reports.queries.retention import MAX_PERIODS, PERIODS

RETENTION_QUERY_DESCRIPTION = (
    "Of the people first seen in each day, week or month of a range of days, how many came back in each period "
    "after, or completed a goal in it (docs/retention.md). People are followed by their user id hash, else a "
    "visitor id the site sends: cookieless visitors cannot return, and `meta` says what share of the range's "
    f"visitors had such an identity. Rules that relate values: {DAYS_RANGE_RULES}, and holds at most "
    f"{MAX_PERIODS} periods. Any invalid query is a 400 whose `error.field` is the path of the culprit, such as "
    "`period` or `filters[0][2]`."
)
RETENTION_QUERY_REQUEST: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["date_range"],
    "properties": {
        "period": {
            "type": "string",
            "enum": list(PERIODS),
            "default": "week",
            "description": "The cohorts' periods, in the property's timezone; a week starts on Monday.",
        },
        "date_range": DAYS_RANGE,
        "filters": FILTERS,
        "goal": {
            "type": "string",
            "nullable": True,
            "minLength": 1,
            "description": "The name of a goal of the property: returning means completing it (a name the property "
            "has no goal of is completed by nobody).",
        },
    },
}
RETENTION_QUERY_ANSWER: Schema = {
    "type": "object",
    "required": ["cohorts", "meta"],
    "properties": {
        "cohorts": {
            "type": "array",
            "description": "One per period of the range, in order.",
            "items": {
                "type": "object",
                "required": ["cohort", "visitors", "returning"],
                "properties": {
                    "cohort": {
                        "type": "string",
                        "format": "date",
                        "description": "The period's first day: the day, its week's Monday or its month's first.",
                    },
                    "visitors": {"type": "integer", "description": "The people first seen in this period."},
                    "returning": {
                        "type": "array",
                        "description": "The k-th item for the k-th period after the cohort's (0: its own), to the "
                        "range's last.",
                        "items": {
                            "type": "object",
                            "required": ["visitors", "percentage"],
                            "properties": {
                                "visitors": {
                                    "type": "integer",
                                    "description": "The cohort's people back in that period (with a goal: who "
                                    "completed it then).",
                                },
                                "percentage": {
                                    "type": "number",
                                    "description": "Their share of the cohort, in percent.",
                                },
                            },
                        },
                    },
                },
            },
        },
        "meta": {
            "type": "object",
            "required": [
                "date_range",
                "period",
                "goal",
                "visitors",
                "identified_visitors",
                "identified_share",
                "identity",
            ],
            "properties": {
                "date_range": DAYS_READ,
                "period": {"type": "string", "enum": list(PERIODS)},
                "goal": {"type": "string", "nullable": True},
                "visitors": {"type": "integer", "description": "The range's visitors under the filters."},
                "identified_visitors": {"type": "integer", "description": "Those of them with a lasting identity."},
                "identified_share": {"type": "number", "description": "Their share, in percent."},
                "identity": {"type": "string", "description": "Whom retention can follow, in a sentence."},
            },
        },
    },
}
