"""The JSON of a query and its answer, as `POST /v1/properties/{property_id}/query` gives them, and
the limits that endpoint sets on a query's days (docs/query.md)."""

from datetime import date, tzinfo
from typing import Any

from apps.reports.periods import FIRST_DAY, LAST_DAY, MAX_DAYS
from apps.reports.queries.query import AllOf, Answer, Condition, Filter, InvalidQuery, Not, Query, Row

JSON = dict[str, Any]


def query_days_check(query: Query, *, today: date, timezone: tzinfo) -> tuple[date, date]:
    """The query's first and last day for a property in `timezone` whose local date is `today`; raise
    InvalidQuery if they, or the compared period's, leave FIRST_DAY..LAST_DAY or span more than MAX_DAYS."""
    first, last = query.date_range.days(today, timezone)
    days_span_check(first, last, field="date_range")
    if query.compare is not None:
        try:
            compared = query.compare.days(first, last)
        except (ValueError, OverflowError):  # a year before year 1, or a period before it
            message = f"The compared period must lie within {FIRST_DAY}..{LAST_DAY}."
            raise InvalidQuery(message, field="include.compare") from None
        days_span_check(*compared, field="include.compare")
    return first, last


def days_span_check(first: date, last: date, *, field: str) -> None:
    """Raise InvalidQuery naming `field` if first..last leaves FIRST_DAY..LAST_DAY or spans more than MAX_DAYS."""
    if first < FIRST_DAY or last > LAST_DAY:
        raise InvalidQuery(f"Days run from {FIRST_DAY} to {LAST_DAY}.", field=field)
    if (last - first).days >= MAX_DAYS:
        raise InvalidQuery(f"A range spans at most {MAX_DAYS} days.", field=field)


def filter_json(item: Filter) -> list[Any]:
    """A filter as the request writes it."""
    if isinstance(item, Condition):
        return [item.operator, item.dimension.name, list(item.values)]
    if isinstance(item, Not):
        return ["not", filter_json(item.filter)]
    return ["and" if isinstance(item, AllOf) else "or", [filter_json(child) for child in item.filters]]


def query_json(query: Query) -> JSON:
    """The query as its request would be written with every default spelled out."""
    date_range = query.date_range
    include: JSON = {
        "totals": query.include_totals,
        "time_labels": query.include_time_labels,
        "compare": None,
        "imports": query.include_imports,
    }
    if query.compare is not None:
        custom = query.compare.custom
        include["compare"] = query.compare.period or (
            [custom.first.isoformat(), custom.last.isoformat()] if custom and custom.first and custom.last else None
        )
    bounds = (date_range.since, date_range.until) if date_range.since else (date_range.first, date_range.last)
    return {
        "metrics": list(query.metrics),
        "date_range": date_range.period or [bound.isoformat() if bound else None for bound in bounds],
        "dimensions": [d.name for d in query.dimensions],
        "filters": [filter_json(f) for f in query.filters],
        "order_by": [[name, direction] for name, direction in query.order_by],
        "pagination": {"limit": query.limit, "offset": query.offset},
        "include": include,
    }


def _rows(rows: list[Row]) -> list[JSON]:
    return [{"dimensions": row["dimensions"], "metrics": row["metrics"]} for row in rows]


def answer_json(query: Query, answer: Answer) -> JSON:
    """The endpoint's body: the rows, then `meta` (the days, whether imported totals are in them and
    why not where some are left out, and totals, time labels and the comparison when asked), then
    the query as understood."""
    meta: JSON = {
        "date_range": [answer.first.isoformat(), answer.last.isoformat()],
        "imports_included": answer.imports_included,
    }
    if answer.imports_warning is not None:
        meta["imports_warning"] = answer.imports_warning
    if answer.totals is not None:
        meta["totals"] = answer.totals
    if answer.time_labels is not None:
        meta["time_labels"] = answer.time_labels
    compared = answer.comparison
    if compared is not None:
        comparison: JSON = {
            "results": _rows(compared.rows),
            "date_range": [compared.first.isoformat(), compared.last.isoformat()],
        }
        if compared.totals is not None:
            comparison["totals"] = compared.totals
        meta["comparison"] = comparison
    return {"results": _rows(answer.rows), "meta": meta, "query": query_json(query)}
