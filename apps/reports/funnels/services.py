"""Writes of funnels: create one (checked as the engine will read it), delete one."""

from django.db import IntegrityError, transaction

from apps.core.api import ApplicationError
from apps.properties.models import Property
from apps.reports.models import Funnel
from apps.reports.queries.funnels import funnel_parse
from apps.reports.queries.query import InvalidQuery

MAX_FUNNELS_PER_PROPERTY = 50


def funnel_create(*, property: Property, name: str, steps: object, window_days: object = None) -> Funnel:
    """A new funnel of the property: 2 to 8 steps, each `{"kind": goal | page | event, "value": …}`,
    walked within a visit (`window_days` None) or within 1 to 90 days. Raise ApplicationError (400)
    naming the field (`steps[1].value`) for anything the engine could not walk."""
    name = name.strip()
    if not name or len(name) > Funnel.NAME_LENGTH:
        raise ApplicationError("invalid_funnel", "A funnel's name is 1 to 120 characters.", field="name")
    try:
        funnel = funnel_parse({"steps": steps, "window_days": window_days})
    except InvalidQuery as error:
        raise ApplicationError("invalid_funnel", str(error), field=error.field) from None
    if property.funnels.count() >= MAX_FUNNELS_PER_PROPERTY:
        raise ApplicationError("too_many_funnels", f"A property has at most {MAX_FUNNELS_PER_PROPERTY} funnels.")
    try:
        with transaction.atomic():
            return Funnel.unscoped.create(
                property=property,
                name=name,
                steps=[{"kind": step.kind, "value": step.value} for step in funnel.steps],
                window_days=funnel.window_days,
            )
    except IntegrityError:
        raise ApplicationError("funnel_exists", "The property has a funnel of this name.", field="name") from None


def funnel_delete(*, funnel: Funnel) -> None:
    """Delete a funnel: its own definition only; the events and goals it named stay."""
    funnel.delete()
