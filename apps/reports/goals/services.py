"""Writes of goals: create one (checked as the engine will read it), delete one."""

import re

from django.db import IntegrityError, transaction

from apps.core.api import ApplicationError
from apps.properties.models import Property
from apps.reports.models import Goal
from apps.reports.queries.goals import path_pattern_check
from apps.reports.queries.query import MAX_VALUE_LENGTH, InvalidQuery
from apps.reports.queries.vocabulary import MAX_PROP_KEY_LENGTH

MAX_GOALS_PER_PROPERTY = 50
MAX_GOAL_PROPERTIES = 10
CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def goal_create(
    *,
    property: Property,
    name: str,
    kind: str,
    path_pattern: str = "",
    event_type: str = "",
    properties: dict[str, str] | None = None,
    currency: str = "",
) -> Goal:
    """A new goal of the property: a pageview goal names a path pattern (starting with /), an event
    goal an event type and optionally custom properties' values and a currency (a revenue goal).
    Raise ApplicationError (400) naming the field for anything the engine could not count."""
    name = name.strip()
    properties = properties or {}
    if not name or len(name) > Goal.NAME_LENGTH:
        raise ApplicationError("invalid_goal", "A goal's name is 1 to 120 characters.", field="name")
    if kind == Goal.PAGEVIEW:
        _path_pattern_check(path_pattern)
        if event_type or properties or currency:
            field = "currency" if currency and not (event_type or properties) else "event_type"
            raise ApplicationError("invalid_goal", "A pageview goal names a path pattern only.", field=field)
    elif kind == Goal.EVENT:
        if not event_type or len(event_type) > Goal.EVENT_TYPE_LENGTH or "\x00" in event_type:
            raise ApplicationError("invalid_goal", "An event goal names an event type of 1 to 64 characters.",
                                   field="event_type")  # fmt: skip
        if path_pattern:
            raise ApplicationError("invalid_goal", "An event goal has no path pattern.", field="path_pattern")
        _properties_check(properties)
        if currency and not CURRENCY_CODE.fullmatch(currency):
            raise ApplicationError("invalid_goal", "A currency is a code of three capital letters (ISO 4217), as EUR.",
                                   field="currency")  # fmt: skip
    else:
        raise ApplicationError("invalid_goal", "A goal's kind is pageview or event.", field="kind")
    if property.goals.count() >= MAX_GOALS_PER_PROPERTY:
        raise ApplicationError("too_many_goals", f"A property has at most {MAX_GOALS_PER_PROPERTY} goals.")
    try:
        with transaction.atomic():
            return Goal.unscoped.create(
                property=property,
                name=name,
                kind=kind,
                path_pattern=path_pattern,
                event_type=event_type,
                properties=properties,
                currency=currency,
            )
    except IntegrityError:
        raise ApplicationError("goal_exists", "The property has a goal of this name.", field="name") from None


def _path_pattern_check(pattern: str) -> None:
    if len(pattern) > Goal.PATH_PATTERN_LENGTH:
        raise ApplicationError("invalid_goal", "A path pattern has at most 200 characters.", field="path_pattern")
    try:
        path_pattern_check(pattern, field="path_pattern")
    except InvalidQuery as error:
        raise ApplicationError("invalid_goal", str(error), field=error.field) from None


def _properties_check(properties: object) -> None:
    if not isinstance(properties, dict) or len(properties) > MAX_GOAL_PROPERTIES:
        raise ApplicationError("invalid_goal", f"properties is an object of at most {MAX_GOAL_PROPERTIES} keys.",
                               field="properties")  # fmt: skip
    for key, value in properties.items():
        if not 0 < len(key) <= MAX_PROP_KEY_LENGTH or "\x00" in key:
            raise ApplicationError("invalid_goal", f"A property's key is 1 to {MAX_PROP_KEY_LENGTH} characters.",
                                   field="properties")  # fmt: skip
        if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH or "\x00" in value:
            raise ApplicationError("invalid_goal", f"A property's value is text of at most {MAX_VALUE_LENGTH}"
                                   " characters, compared with the event's as text (true, 42).",
                                   field=f"properties.{key}")  # fmt: skip


def goal_delete(*, goal: Goal) -> None:
    """Delete a goal: reports stop counting it from the next request (the report cache keys on goals)."""
    goal.delete()
