"""Plausible's Stats API v2 over our engine: its request read into a Query, and the answer written
back in its shape (docs/query.md, "Plausible's Stats API v2").

Plausible's names mostly are ours. What this adds: its `percentage` metric (a group's visitors as a
percentage of the range's, rounded to 0.1 as Plausible does), the `time` dimension (a bucket chosen
by the range's length), the `all`, `28d` and `90d` ranges, filter modifiers, `include.total_rows`
and `include.imports`, and its echo of the query. What we cannot answer is refused, naming the field
as Plausible does, as a JSON pointer (`#/metrics/1`).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from apps.properties.models import Property
from apps.reports.periods import property_today
from apps.reports.queries.bodies import query_days_check
from apps.reports.queries.engine import query_answer
from apps.reports.queries.query import MAX_LIMIT, InvalidQuery, Query, query_parse, time_labels
from apps.reports.queries.vocabulary import PROPS_PREFIX, TIME, Dimension
from apps.reports.stores import event_store

JSON = dict[str, Any]

METRICS = (
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "events",
    "percentage",
    "conversion_rate",
)
UNSUPPORTED_METRICS = (
    "group_conversion_rate",
    "scroll_depth",
    "time_on_page",
    "total_revenue",
    "average_revenue",
)
DIMENSIONS = (
    "event:goal",
    "event:name",
    "event:page",
    "event:hostname",
    "visit:source",
    "visit:referrer",
    "visit:channel",
    "visit:utm_source",
    "visit:utm_medium",
    "visit:utm_campaign",
    "visit:utm_term",
    "visit:utm_content",
    "visit:country",
    "visit:region",
    "visit:city",
    "visit:device",
    "visit:browser",
    "visit:os",
    "visit:entry_page",
    "visit:exit_page",
    "time:minute",
    "time:hour",
    "time:day",
    "time:week",
    "time:month",
)
UNSUPPORTED_DIMENSIONS = (
    "segment",
    "visit:screen",
    "visit:browser_version",
    "visit:os_version",
    "visit:country_name",
    "visit:region_name",
    "visit:city_name",
    "visit:entry_page_hostname",
    "visit:exit_page_hostname",
)
# Plausible's ranges that are ours too, and the ones that are days ending today here.
RANGES = ("day", "7d", "30d", "91d", "month", "6mo", "12mo", "year")
LAST_DAYS = {"28d": 28, "90d": 90}
REQUEST_FIELDS = ("site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "include", "pagination")
INCLUDE_FIELDS = ("time_labels", "total_rows", "imports")
BOOLEAN_OPERATORS = ("and", "or", "not")


class PlausibleInvalid(ValueError):
    """A request Plausible's API would refuse, or that we cannot answer; `pointer` names the field."""

    def __init__(self, message: str, *, pointer: str):
        super().__init__(f"{pointer}: {message}")
        self.pointer = pointer


def pointer_of(field: str) -> str:
    """Our field path (`filters[0][2]`, `pagination.limit`) as a JSON pointer (`#/filters/0/2`)."""
    parts = [part for part in re.split(r"[.\[\]]+", field) if part]
    return "#/" + "/".join(parts) if parts and field != "query" else "#"


def _invalid(message: str, field: str) -> PlausibleInvalid:
    return PlausibleInvalid(message, pointer=pointer_of(field))


@dataclass(frozen=True)
class PlausibleQuery:
    """Our Query for a Plausible request, and what the answer needs besides."""

    query: Query
    metrics: tuple[str, ...]  # Plausible's, `percentage` included, in its order
    first: date
    last: date
    filters: list[Any]
    include: JSON
    total_rows: bool
    time_labels: bool


def plausible_query_parse(
    data: object, *, today: date, timezone: tzinfo, first_day: Callable[[], date]
) -> PlausibleQuery:
    """Read Plausible's request (without its site_id) for a property in `timezone` whose local date
    is `today` and whose `all` range begins on `first_day()`; raise PlausibleInvalid naming the field."""
    if not isinstance(data, dict):
        raise PlausibleInvalid("The query must be a JSON object.", pointer="#")
    for name in data:
        if name not in REQUEST_FIELDS:
            raise _invalid("Schema does not allow additional properties.", str(name))
    for name in ("metrics", "date_range"):
        if name not in data:
            raise PlausibleInvalid(f"Required property {name} was not present.", pointer="#")
    metrics = _metrics(data["metrics"])
    date_range = _date_range(data["date_range"], today=today, first_day=first_day)
    try:
        span = query_parse({"metrics": ["visitors"], "date_range": date_range})
    except InvalidQuery as error:
        raise _invalid(str(error), error.field) from None
    first, last = span.date_range.days(today, timezone)
    dimensions = _dimensions(data.get("dimensions", []), first, last)
    if "percentage" in metrics and not dimensions:
        raise _invalid(
            "Metric `percentage` can only be queried with a dimension.", f"metrics[{metrics.index('percentage')}]"
        )
    filters = data.get("filters", [])
    if "conversion_rate" in metrics and "event:goal" not in dimensions and not _names_goal(filters):
        raise _invalid(
            "Metric `conversion_rate` can only be queried with event:goal filters or dimensions.",
            f"metrics[{metrics.index('conversion_rate')}]",
        )
    include = _include(data.get("include", {}))
    time_labels = bool(include.get("time_labels"))
    ours = [m for m in metrics if m != "percentage"]
    if "percentage" in metrics and "visitors" not in ours:
        ours.append("visitors")
    request = {
        "metrics": ours,
        "date_range": date_range,
        "dimensions": dimensions,
        "filters": _filters(filters, "filters", depth=1),
        "order_by": _order_by(data.get("order_by", []), dimensions),
        "pagination": data.get("pagination", {}),
        "include": {"totals": "percentage" in metrics, "imports": bool(include.get("imports"))},
    }
    try:
        query = query_parse(request)
        query_days_check(query, today=today, timezone=timezone)
    except InvalidQuery as error:
        raise _invalid(str(error), error.field) from None
    if time_labels and query.time_dimension is None:
        raise _invalid("Requires a time dimension.", "include.time_labels")
    return PlausibleQuery(
        query=query,
        metrics=tuple(metrics),
        first=first,
        last=last,
        filters=filters,
        include={name: value for name, value in include.items() if value},
        total_rows=bool(include.get("total_rows")),
        time_labels=time_labels,
    )


def _names_goal(filters: object) -> bool:
    """Whether one of Plausible's filters (top level) is on event:goal."""
    return isinstance(filters, list) and any(
        isinstance(f, list) and len(f) == 3 and f[1] == "event:goal" and f[0] not in BOOLEAN_OPERATORS for f in filters
    )


def _metrics(value: object) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _invalid("Expected a non-empty list of metrics.", "metrics")
    metrics: list[str] = []
    for n, name in enumerate(value):
        if name in UNSUPPORTED_METRICS:
            raise _invalid(f"Metric `{name}` is not supported by Clickmeter.", f"metrics[{n}]")
        if not isinstance(name, str) or name not in METRICS:
            raise _invalid(f"Invalid metric {_shown(name)}", f"metrics[{n}]")
        if name in metrics:
            raise _invalid("Expected items to be unique but they were not.", "metrics")
        metrics.append(name)
    return metrics


def _date_range(value: object, *, today: date, first_day: Callable[[], date]) -> object:
    """The range as our query writes it: `all`, `28d` and `90d` become days."""
    if value == "all":
        return [min(first_day(), today).isoformat(), today.isoformat()]
    if isinstance(value, str) and value in LAST_DAYS:
        return [(today - timedelta(days=LAST_DAYS[value] - 1)).isoformat(), today.isoformat()]
    if isinstance(value, str) and value not in RANGES:
        raise _invalid(f"Invalid date range {_shown(value)}", "date_range")
    return value


def _dimensions(value: object, first: date, last: date) -> list[str]:
    if not isinstance(value, list):
        raise _invalid("Type mismatch. Expected Array.", "dimensions")
    dimensions: list[str] = []
    for n, name in enumerate(value):
        if name == "time":
            name = _time_bucket(first, last)
        if isinstance(name, str) and name in UNSUPPORTED_DIMENSIONS:
            raise _invalid(f"Dimension `{name}` is not supported by Clickmeter.", f"dimensions[{n}]")
        if not isinstance(name, str) or not (name in DIMENSIONS or _is_prop(name)):
            raise _invalid(f"Invalid dimension {_shown(name)}", f"dimensions[{n}]")
        dimensions.append(name)
    return dimensions


def _time_bucket(first: date, last: date) -> str:
    """Plausible's `time`: hours for up to two days, days for up to 40, weeks up to a year, else months."""
    days = (last - first).days + 1
    if days <= 2:
        return "time:hour"
    if days <= 40:
        return "time:day"
    return "time:week" if days <= 366 else "time:month"


def _is_prop(name: str) -> bool:
    return name.startswith(PROPS_PREFIX) and len(name) > len(PROPS_PREFIX)


def _filters(value: object, field: str, *, depth: int) -> object:
    """Plausible's filters as ours: the same tree, integers as text, the modifiers we honour dropped."""
    if not isinstance(value, list):
        return value  # query_parse names it
    return [_filter(item, f"{field}[{n}]", depth=depth) for n, item in enumerate(value)]


def _filter(item: object, field: str, *, depth: int) -> object:
    if not isinstance(item, list) or not item or depth > 10:
        return item
    operator = item[0]
    if operator in ("and", "or") and len(item) == 2:
        return [operator, _filters(item[1], f"{field}[1]", depth=depth + 1)]
    if operator == "not" and len(item) == 2:
        return [operator, _filter(item[1], f"{field}[1]", depth=depth + 1)]
    if operator in ("has_done", "has_not_done", "matches_wildcard", "matches_wildcard_not"):
        raise _invalid(f"Filter operator `{operator}` is not supported by Clickmeter.", f"{field}[0]")
    if len(item) < 2:
        return item
    dimension = item[1]
    if isinstance(dimension, str) and dimension in UNSUPPORTED_DIMENSIONS:
        raise _invalid(f"Filtering by `{dimension}` is not supported by Clickmeter.", f"{field}[1]")
    if len(item) == 4:
        _modifiers(item[3], f"{field}[3]")
        item = item[:3]
    if len(item) == 3 and isinstance(item[2], list):
        clauses = [str(c) if isinstance(c, int) and not isinstance(c, bool) else c for c in item[2]]
        return [operator, dimension, clauses]
    return item


def _modifiers(value: object, field: str) -> None:
    if not isinstance(value, dict):
        raise _invalid("Type mismatch. Expected Object.", field)
    for name, flag in value.items():
        if name != "case_sensitive" or not isinstance(flag, bool):
            raise _invalid("Only the modifier case_sensitive (true or false) exists.", f"{field}.{name}")
        if not flag:
            raise _invalid("case_sensitive: false is not supported by Clickmeter; filters are case-sensitive.", field)


def _order_by(value: object, dimensions: list[str]) -> object:
    """Plausible's order: `percentage` orders as visitors do, `time` as the bucket it chose."""
    if not isinstance(value, list):
        return value
    time_dimension = next((d for d in dimensions if d.startswith("time:")), None)
    ordered: list[object] = []
    for entry in value:
        if isinstance(entry, list) and len(entry) == 2:
            name = entry[0]
            if name == "percentage":
                name = "visitors"
            elif name == "time" and time_dimension is not None:
                name = time_dimension
            entry = [name, entry[1]]
        ordered.append(entry)
    return ordered


def _include(value: object) -> JSON:
    if not isinstance(value, dict):
        raise _invalid("Type mismatch. Expected Object.", "include")
    for name, flag in value.items():
        if name not in INCLUDE_FIELDS:
            raise _invalid("Schema does not allow additional properties.", f"include.{name}")
        if not isinstance(flag, bool):
            raise _invalid("Type mismatch. Expected Boolean.", f"include.{name}")
    return dict(value)


def _shown(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else "value"


def plausible_query(*, property: Property, site_id: str, data: object) -> JSON:
    """Plausible's answer to its request `data` about `property` (named `site_id` by the client)."""
    today = property_today(property)
    parsed = plausible_query_parse(data, today=today, timezone=property.tzinfo, first_day=lambda: _first_day(property))
    query = parsed.query
    asked = query
    if parsed.total_rows:  # every row, to count them; the page is cut below
        query = replace(query, limit=MAX_LIMIT, offset=0)
    answer = query_answer(property=property, query=query)
    rows = answer.rows
    if parsed.total_rows:
        rows = rows[asked.offset : asked.offset + asked.limit]
    total_visitors = answer.totals[query.metrics.index("visitors")] if answer.totals is not None else 0
    results = [
        {"dimensions": row["dimensions"], "metrics": _metrics_of(parsed, row["metrics"], total_visitors)}
        for row in rows
    ]
    meta: JSON = {}
    if parsed.include.get("imports"):
        meta["imports_included"] = answer.imports_included
        if answer.imports_warning is not None:
            meta.update(imports_skip_reason="unsupported_query", imports_warning=answer.imports_warning)
        elif not answer.imports_included:
            meta["imports_skip_reason"] = "no_imported_data"
    if parsed.time_labels:
        meta["time_labels"] = time_labels(query, answer.first, answer.last, property.tzinfo)
    if parsed.total_rows:
        meta["total_rows"] = len(answer.rows)
    return {
        "results": results,
        "meta": dict(sorted(meta.items())),
        "query": _echo(property.tzinfo, site_id, parsed),
    }


def _metrics_of(parsed: PlausibleQuery, values: list[int | float], total_visitors: int | float) -> list[Any]:
    by_name: dict[str, int | float | None] = dict(zip(parsed.query.metrics, values, strict=True))
    if "percentage" in parsed.metrics:
        visitors = values[parsed.query.metrics.index("visitors")]
        by_name["percentage"] = round(visitors / total_visitors * 100, 1) if total_visitors else None
    return [by_name[name] for name in parsed.metrics]


def _first_day(property: Property) -> date:
    """Where `all` begins: the property's first event's day, or the day it was created."""
    first_event = event_store().first_day(property=property)
    created = property.created_at.astimezone(property.tzinfo).date()
    return min(first_event, created) if first_event is not None else created


def _echo(timezone: tzinfo, site_id: str, parsed: PlausibleQuery) -> JSON:
    """The query as Plausible echoes it: its range as local date-times, every default spelled out."""
    query = parsed.query
    dimensions = [d.name for d in query.dimensions]
    order_by = [
        ["percentage" if (n == "visitors" and "visitors" not in parsed.metrics) else n, d] for n, d in query.order_by
    ]
    if not order_by:
        order_by = _default_order(query.time_dimension, parsed.metrics)
    start = datetime.combine(parsed.first, time.min, timezone)
    end = datetime.combine(parsed.last, time(23, 59, 59), timezone)
    if query.date_range.since is not None and query.date_range.until is not None:
        start, end = query.date_range.since.astimezone(timezone), query.date_range.until.astimezone(timezone)
    return {
        "site_id": site_id,
        "metrics": list(parsed.metrics),
        "date_range": [start.isoformat(), end.isoformat()],
        "filters": parsed.filters,
        "dimensions": dimensions,
        "order_by": order_by,
        "include": parsed.include,
        "pagination": {"limit": query.limit, "offset": query.offset},
    }


def _default_order(time_dimension: Dimension | None, metrics: tuple[str, ...]) -> list[list[str]]:
    order = [[time_dimension.name, "asc"]] if time_dimension is not None and time_dimension.scope == TIME else []
    return [*order, [metrics[0], "desc"]]
