"""The engine's entry point: what a Query answers for a property.

Temporary: this evaluates the oracle over the property's raw events, so the query endpoints can be
built and tested before the SQL engine lands; the engine's own module replaces this one.
"""

from typing import Any

from apps.ingestion.models import Event
from apps.properties.models import Property
from apps.reports.periods import property_today
from apps.reports.queries.oracle import query_oracle
from apps.reports.queries.query import Answer, Query


def query_answer(*, property: Property, query: Query) -> Answer:
    """What `query` answers over `property`'s events, its today being its local date now."""
    events: list[dict[str, Any]] = [dict(row) for row in Event.objects.filter(property=property).values()]
    return query_oracle(timezone=property.tzinfo, events=events, query=query, today=property_today(property))
