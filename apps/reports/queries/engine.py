"""The engine: a Query answered by the event store (stores/: one compiler per store), filled,
ordered and paged as query.py says, the same for every store and equal to the oracle
(tests/reports/queries/), through the report cache.
"""

from dataclasses import replace
from datetime import date, datetime

from apps.properties.models import Property
from apps.reports.periods import property_today
from apps.reports.queries.cache import report_cached
from apps.reports.queries.query import Answer, Query, Row, rows_in_order, time_labels
from apps.reports.queries.vocabulary import metric_rounded
from apps.reports.stores import event_store


def query_answer(*, property: Property, query: Query) -> Answer:
    """What `query` answers over the property's events, its range ending at the property's today."""
    first, last = query.date_range.days(property_today(property), property.tzinfo)
    answer = _answer(property, query, first, last)
    if query.compare is None:
        return answer
    return replace(answer, comparison=_answer(property, query, *query.compare.days(first, last)))


def _answer(property: Property, query: Query, first: date, last: date) -> Answer:
    if query.date_range.since is not None:
        # A range of times is what a live view asks, a window that moves with the clock: each is
        # asked once, and keeping it would only fill the cache.
        return _computed(property, query, first, last)
    return report_cached(
        property=property,
        date_from=first,
        date_to=last,
        identity=query,
        compute=lambda: _computed(property, query, first, last),
    )


def _computed(property: Property, query: Query, first: date, last: date) -> Answer:
    rows = _rows(property, query, first, last)
    labels = time_labels(query, first, last, property.tzinfo)
    if query.include_time_labels and len(query.dimensions) == 1:
        present = {row["dimensions"][0] for row in rows}
        zero = [metric_rounded(name, None) for name in query.metrics]
        rows += [{"dimensions": [label], "metrics": zero} for label in labels if label not in present]
    rows = rows_in_order(query, rows)[query.offset : query.offset + query.limit]
    totals = None
    if query.include_totals:
        whole = Query(metrics=query.metrics, date_range=query.date_range, filters=query.filters)
        totals = _rows(property, whole, first, last)[0]["metrics"]
    return Answer(rows, first, last, totals, labels if query.include_time_labels else None)


def _rows(property: Property, query: Query, first: date, last: date) -> list[Row]:
    width = len(query.dimensions)
    return [
        {
            "dimensions": [_label(value) for value in row[:width]],
            "metrics": [metric_rounded(name, value) for name, value in zip(query.metrics, row[width:], strict=True)],
        }
        for row in event_store().rows(property=property, query=query, first=first, last=last)
    ]


def _label(value: object) -> str | None:
    """A dimension's value as answered: a blank as None, a time bucket as its label (query.time_labels)."""
    if value in ("", None):
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:00")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
