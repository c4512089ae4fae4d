"""Reads of funnels: a property's funnels, and one of them behind the property door."""

from django.db.models import QuerySet
from django.http import Http404

from apps.properties.models import Property
from apps.reports.models import Funnel
from apps.reports.periods import Period
from apps.reports.queries.engine import funnel_answer
from apps.reports.queries.funnels import FunnelAnswer, FunnelQuery
from apps.reports.queries.query import DateRange, Filter
from apps.reports.queries.vocabulary import Dimension

# The funnel page's breakdown shows this many groups at most.
BREAKDOWN_GROUPS = 20


def funnels_of_property(*, property: Property) -> QuerySet[Funnel]:
    """A property's funnels by name (the caller has passed the property door)."""
    return property.funnels.order_by("name")


def funnel_access(*, property: Property, funnel_id: int | str) -> Funnel:
    """One funnel of a property the caller has passed the door for; 404 for any other id."""
    text = str(funnel_id)
    found = property.funnels.filter(pk=funnel_id).first() if text.isascii() and text.isdigit() else None
    if found is None:
        raise Http404
    return found


def funnel_report(
    *, property: Property, funnel: Funnel, period: Period, filters: tuple[Filter, ...], dimension: Dimension | None
) -> FunnelAnswer:
    """What `funnel` answers over the days of `period` under `filters`, broken down by `dimension`
    (the BREAKDOWN_GROUPS groups with the most visitors) or not: the dashboard's funnel page."""
    query = FunnelQuery(
        funnel.definition(),
        DateRange(first=period.date_from, last=period.date_to),
        filters,
        dimension,
        BREAKDOWN_GROUPS,
    )
    return funnel_answer(property=property, query=query)
