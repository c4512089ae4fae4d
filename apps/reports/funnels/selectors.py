"""Reads of funnels: a property's funnels, and one of them behind the property door."""

from django.db.models import QuerySet
from django.http import Http404

from apps.properties.models import Property
from apps.reports.models import Funnel


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
