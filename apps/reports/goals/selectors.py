"""Reads of goals: a property's goals, and one of them behind the property door."""

from django.db.models import QuerySet
from django.http import Http404

from apps.properties.models import Property
from apps.reports.models import Goal


def goals_of_property(*, property: Property) -> QuerySet[Goal]:
    """A property's goals by name (the caller has passed the property door)."""
    return property.goals.order_by("name")


def goal_access(*, property: Property, goal_id: int | str) -> Goal:
    """One goal of a property the caller has passed the door for; 404 for any other id."""
    found = property.goals.filter(pk=goal_id).first() if str(goal_id).isdigit() else None
    if found is None:
        raise Http404
    return found
