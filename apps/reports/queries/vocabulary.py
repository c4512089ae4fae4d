"""The metrics and dimensions a query may name, written once.

A dimension is an event's own (its type, page, hostname, custom properties), its visit's (those of
the visit's first event, and its entry and exit page) or a time bucket in the property's timezone.
A metric counts the matching events (and the visits and visitors that had one), or describes the
whole visits a filter keeps, each in the time bucket where it began. README, "Definitions".
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

EVENT = "event"
VISIT = "visit"
TIME = "time"
# The goals an event completes (queries/goals.py resolves them into filters before a store sees them).
GOAL = "goal"


@dataclass(frozen=True)
class Dimension:
    """A name a query groups or filters by; `column` is the Event field (or visit attribute) it reads."""

    name: str
    scope: str
    column: str


@dataclass(frozen=True)
class Metric:
    """A name a query computes; `scope` VISIT for those that describe whole visits."""

    name: str
    scope: str


_EVENT_COLUMNS = {"event:name": "type", "event:page": "path", "event:hostname": "hostname"}
# A visit's attributes are its first event's columns; entry and exit page are the paths of its first
# and last pageview.
_VISIT_COLUMNS = {
    "visit:source": "source",
    "visit:referrer": "referrer_host",
    "visit:channel": "channel",
    "visit:campaign": "campaign_key",
    "visit:utm_source": "utm_source",
    "visit:utm_medium": "utm_medium",
    "visit:utm_campaign": "utm_campaign",
    "visit:utm_term": "utm_term",
    "visit:utm_content": "utm_content",
    "visit:country": "country",
    "visit:region": "region",
    "visit:city": "city",
    "visit:browser": "browser",
    "visit:os": "os",
    "visit:device": "device",
    "visit:entry_page": "entry_path",
    "visit:exit_page": "exit_path",
}
# What a visit takes from its first event (README, "Definitions"): the Event columns.
VISIT_ATTRIBUTE_COLUMNS = (
    "campaign_key",
    "source",
    "referrer_host",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "country",
    "region",
    "city",
    "browser",
    "os",
    "device",
)
# Local minutes, hours, days, weeks starting on Monday, months.
TIME_BUCKETS = ("minute", "hour", "day", "week", "month")
# The buckets of a time of day, which a query reads from raw events (rollups keep days).
CLOCK_BUCKETS = ("minute", "hour")


def time_bucket(bucket: str, local: datetime) -> str:
    """The label of the `bucket` (one of TIME_BUCKETS) holding the local time `local`: its minute as
    YYYY-MM-DD HH:MM:00, its hour as YYYY-MM-DD HH:00:00, else its day, its week's Monday or its
    month's first day as YYYY-MM-DD."""
    day = local.date()
    if bucket == "minute":
        return f"{day.isoformat()} {local.hour:02d}:{local.minute:02d}:00"
    if bucket == "hour":
        return f"{day.isoformat()} {local.hour:02d}:00:00"
    if bucket == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if bucket == "month":
        return day.replace(day=1).isoformat()
    return day.isoformat()


DIMENSIONS = {
    **{name: Dimension(name, EVENT, column) for name, column in _EVENT_COLUMNS.items()},
    **{name: Dimension(name, VISIT, column) for name, column in _VISIT_COLUMNS.items()},
    **{f"time:{bucket}": Dimension(f"time:{bucket}", TIME, bucket) for bucket in TIME_BUCKETS},
}
GOAL_DIMENSION = Dimension("event:goal", GOAL, "goal")
# event:props:<key> reads the top-level `key` of the event's `data`.
PROPS_PREFIX = "event:props:"
# user:props:<key> reads the trait `key` of the event's user (its `user_id_hash`): the value of
# `key` in the `data` of the user's last identify event (schema.IDENTIFY) that gave it one (in arrival order: time,
# arrival, event id), at the time of the query; '' for an event without a user or such a trait.
USER_PROPS_PREFIX = "user:props:"
MAX_PROP_KEY_LENGTH = 128

METRICS = {
    "visitors": Metric("visitors", EVENT),
    "visits": Metric("visits", EVENT),
    "pageviews": Metric("pageviews", EVENT),
    "events": Metric("events", EVENT),
    "views_per_visit": Metric("views_per_visit", VISIT),
    "bounce_rate": Metric("bounce_rate", VISIT),
    "visit_duration": Metric("visit_duration", VISIT),
    "conversions": Metric("conversions", GOAL),
    "unique_conversions": Metric("unique_conversions", GOAL),
    "conversion_rate": Metric("conversion_rate", GOAL),
    "total_revenue": Metric("total_revenue", GOAL),
    "average_revenue": Metric("average_revenue", GOAL),
}
# The parts of bounce rate, views per visit and visit duration over the visits a query keeps, which
# a store answers like metrics for the engine to add imported totals to (queries/imported.py): the
# visits of one pageview, the visits with pageviews, their pageviews, the visits' summed length in
# microseconds, the visits. No request names them.
VISIT_PARTS = ("bounces", "pageview_visits", "visit_pageviews", "visit_microseconds", "visit_count")
CONVERSION_METRICS = frozenset(name for name, metric in METRICS.items() if metric.scope == GOAL)
REVENUE_METRICS = frozenset(("total_revenue", "average_revenue"))
CENT = Decimal("0.01")
# events:<type> counts the matching events of one type (events:signup).
EVENTS_OF_TYPE_PREFIX = "events:"
MAX_EVENT_TYPE_LENGTH = 64


def dimension_lookup(name: str) -> Dimension | None:
    """The dimension called `name`, or None if there is none."""
    for prefix in (PROPS_PREFIX, USER_PROPS_PREFIX):
        if name.startswith(prefix):
            key = name.removeprefix(prefix)
            return Dimension(name, EVENT, key) if 0 < len(key) <= MAX_PROP_KEY_LENGTH and "\x00" not in key else None
    if name == GOAL_DIMENSION.name:
        return GOAL_DIMENSION
    return DIMENSIONS.get(name)


def metric_lookup(name: str) -> Metric | None:
    """The metric called `name`, or None if there is none."""
    if name.startswith(EVENTS_OF_TYPE_PREFIX):
        event_type = name.removeprefix(EVENTS_OF_TYPE_PREFIX)
        return (
            Metric(name, EVENT) if 0 < len(event_type) <= MAX_EVENT_TYPE_LENGTH and "\x00" not in event_type else None
        )
    return METRICS.get(name)


def metric_rounded(name: str, value: float | Fraction | Decimal | None) -> int | float:
    """A metric's value as answered: counts as integers; bounce rate (percent) to 0.1, views per visit,
    conversion rate (percent) and revenue to 0.01, visit duration to whole seconds; no value (no visit
    to describe, no visitor to convert) as zero."""
    if name == "bounce_rate":
        return round(float(value), 1) if value is not None else 0.0
    if name in REVENUE_METRICS:
        # Money to the cent, half a cent up.
        assert value is None or isinstance(value, Decimal), "revenue is summed in decimals"
        return float(value.quantize(CENT, ROUND_HALF_UP)) if value is not None else 0.0
    if name in ("views_per_visit", "conversion_rate"):
        return round(float(value), 2) if value is not None else 0.0
    if name == "visit_duration":
        return round(float(value)) if value is not None else 0
    return int(value or 0)


def user_prop_column(key: str) -> str:
    """The column a store's fact rows answer the trait `key` in (stores join it in by this name)."""
    return "u_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def prop_text(value: object) -> str:
    """A custom property's value as text: strings as they are, true/false, integers in decimal;
    anything else (null, fractions, lists, objects) is absent."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    return ""
