"""Goals in the query engine. A goal is a filter of events (`goal_filter`); before a store sees a
query, `conversion_rows` turns what the query says of goals into filters and queries the stores
already answer:

- a filter on `event:goal` keeps the events that complete the goals it names (`is`, `contains`,
  `matches` and their negations compare the goals' names); it stands at the top level of the
  filters (query.py checks), so that a conversion rate can leave it out;
- the `event:goal` dimension asks the query once per goal, with that goal's filter added; the goal
  filters then choose which goals are asked (as in Plausible: a breakdown by goal filtered to
  some goals lists those);
- `conversions` and `unique_conversions` are the events and the visitors of the events that
  complete a goal: the goals of the dimension or of a positive goal filter when the query has one,
  any of the property's goals otherwise;
- `conversion_rate` is unique conversions per hundred visitors of the same group (without the goal
  dimension) over the query's filters without its goal filters;
- `total_revenue` and `average_revenue` sum the amounts of a group's events that complete a revenue
  goal (an event goal with a currency) and carry its currency, and average them per such event.
  The goals are those of the query's positive goal filters, or all the property's; their revenue
  goals must have one currency (no rates are applied: each amount counts in its own currency), or
  the query is refused. Grouped by goal, a goal's row has its own revenue (none for a goal without
  a currency). An amount is `data.revenue` as decimal text or an integer (ingestion writes a JSON
  fraction as decimal text); anything else adds nothing.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from apps.ingestion.schema import CURRENCY_KEY, REVENUE_KEY
from apps.reports.queries import vocabulary
from apps.reports.queries.query import (
    CONTAINS,
    CONTAINS_NOT,
    IS,
    IS_NOT,
    MATCHES,
    MATCHES_NOT,
    AllOf,
    AnyOf,
    Condition,
    Filter,
    InvalidQuery,
    Not,
    Query,
)
from apps.reports.queries.safe_regex import ESCAPABLE, UnsafePattern, safe_regex_compile, safe_regex_re2
from apps.reports.queries.vocabulary import (
    CONVERSION_METRICS,
    DIMENSIONS,
    GOAL,
    PROPS_PREFIX,
    REVENUE_METRICS,
    Dimension,
)

# The kinds of goal (models.Goal); a pageview goal is completed by events of the type pageview.
PAGEVIEW, EVENT = "pageview", "event"
POSITIVE = {IS: IS, CONTAINS: CONTAINS, MATCHES: MATCHES, IS_NOT: IS, CONTAINS_NOT: CONTAINS, MATCHES_NOT: MATCHES}
PAGEVIEWS = Condition(IS, DIMENSIONS["event:name"], (PAGEVIEW,))
# What a revenue goal reads of an event's data, and how an amount is written.
AMOUNT = Dimension(f"{PROPS_PREFIX}{REVENUE_KEY}", vocabulary.EVENT, REVENUE_KEY)
CURRENCY = Dimension(f"{PROPS_PREFIX}{CURRENCY_KEY}", vocabulary.EVENT, CURRENCY_KEY)
AMOUNT_TEXT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,12})?")
# Every event has a type (ingestion refuses one without): a filter no event passes, for goals none of which is named.
NO_EVENT = Condition(IS, DIMENSIONS["event:name"], ("",))


@dataclass(frozen=True)
class GoalDefinition:
    """A goal as the engine and the oracle read it (models.Goal's fields), hashable for the report cache."""

    name: str
    kind: str
    path_pattern: str = ""
    event_type: str = ""
    properties: tuple[tuple[str, str], ...] = ()
    # A revenue goal's currency (ISO 4217), '' for none.
    currency: str = ""


def goal_named(goals: tuple[GoalDefinition, ...], name: str) -> GoalDefinition | None:
    """The goal of that name among a property's (names are unique per property); None if it has none."""
    return next((goal for goal in goals if goal.name == name), None)


def is_wildcard_pattern(pattern: str) -> bool:
    """Whether a path pattern has a wildcard; one without is a path, matched as it is."""
    return "*" in pattern


def path_pattern_regex(pattern: str) -> str:
    """The regular expression (safe_regex's subset) of a path pattern: `**` any text, `*` any text
    without a slash, everything else itself, the whole path."""
    parts, position = ["^"], 0
    while position < len(pattern):
        if pattern.startswith("**", position):
            parts.append(".*")
            position += 2
            continue
        character = pattern[position]
        parts.append("[^/]*" if character == "*" else f"\\{character}" if character in ESCAPABLE else character)
        position += 1
    return "".join(parts) + "$"


def path_pattern_check(pattern: str, *, field: str, name: str = "A path pattern") -> None:
    """Raise InvalidQuery naming `field` unless `pattern` starts with / and its regular expression is
    one the engine matches (safe_regex)."""
    if not pattern.startswith("/"):
        raise InvalidQuery(f"{name} starts with /.", field=field)
    try:
        safe_regex_re2(path_pattern_regex(pattern))
    except UnsafePattern as error:
        raise InvalidQuery(f"{name} cannot be matched: {error}.", field=field) from None


def goal_filter(goal: GoalDefinition) -> Filter:
    """The events that complete `goal`."""
    if goal.kind == PAGEVIEW:
        if is_wildcard_pattern(goal.path_pattern):
            page = Condition(MATCHES, DIMENSIONS["event:page"], (path_pattern_regex(goal.path_pattern),))
        else:
            page = Condition(IS, DIMENSIONS["event:page"], (goal.path_pattern,))
        return AllOf((PAGEVIEWS, page))
    properties = tuple(
        Condition(IS, Dimension(f"{PROPS_PREFIX}{key}", vocabulary.EVENT, key), (value,))
        for key, value in goal.properties
    )
    return AllOf((Condition(IS, DIMENSIONS["event:name"], (goal.event_type,)), *properties))


def goals_named(condition: Condition, goals: tuple[GoalDefinition, ...]) -> tuple[GoalDefinition, ...]:
    """The goals whose name the condition's positive form holds for (`is_not A`: goal A)."""
    operator = POSITIVE[condition.operator]
    if operator == IS:
        return tuple(goal for goal in goals if goal.name in condition.values)
    if operator == CONTAINS:
        return tuple(goal for goal in goals if any(value in goal.name for value in condition.values))
    patterns = [safe_regex_compile(value) for value in condition.values]
    return tuple(goal for goal in goals if any(pattern.search(goal.name) for pattern in patterns))


def goal_name_holds(condition: Condition, name: str) -> bool:
    """Whether a goal condition holds for the goal called `name`."""
    named = bool(goals_named(condition, (GoalDefinition(name, EVENT),)))
    return named if condition.operator == POSITIVE[condition.operator] else not named


def _any_goal(goals: tuple[GoalDefinition, ...]) -> Filter:
    return AnyOf(tuple(goal_filter(goal) for goal in goals)) if goals else NO_EVENT


def _goal_condition_resolved(condition: Condition, goals: tuple[GoalDefinition, ...]) -> Filter:
    named = _any_goal(goals_named(condition, goals))
    return named if condition.operator == POSITIVE[condition.operator] else Not(named)


def goal_filters_resolved(filters: tuple[Filter, ...], goals: tuple[GoalDefinition, ...]) -> tuple[Filter, ...]:
    """`filters` with each (top-level) filter on goals as the filter of the events it keeps."""
    return tuple(
        _goal_condition_resolved(f, goals) if isinstance(f, Condition) and f.dimension.scope == GOAL else f
        for f in filters
    )


def names_goals(query: Query) -> bool:
    """Whether the query says anything of goals, so that it needs them resolved."""
    return (
        any(d.scope == GOAL for d in query.dimensions)
        or any(isinstance(f, Condition) and f.dimension.scope == GOAL for f in query.filters)
        or any(name in CONVERSION_METRICS for name in query.metrics)
    )


def goals_in_context(goal_conditions: list[Condition], goals: tuple[GoalDefinition, ...]) -> tuple[GoalDefinition, ...]:
    """The goals a query's conversions are of: those its positive goal filters name, or all."""
    positive = [c for c in goal_conditions if c.operator == POSITIVE[c.operator]]
    if not positive:
        return goals
    return tuple(goal for goal in goals if all(goal in goals_named(c, goals) for c in positive))


def revenue_currency(query: Query, context: tuple[GoalDefinition, ...]) -> str:
    """The one currency of the revenue goals in context; raise InvalidQuery naming the revenue metric."""
    currencies = sorted({goal.currency for goal in context if goal.currency})
    if len(currencies) != 1:
        name = next(name for name in query.metrics if name in REVENUE_METRICS)
        problem = (
            "no revenue goal" if not currencies else f"revenue goals of several currencies ({', '.join(currencies)})"
        )
        raise InvalidQuery(
            f"{name} sums the revenue goals of one currency; the query's goals have {problem}: filter by goal.",
            field=f"metrics[{query.metrics.index(name)}]",
        )
    return currencies[0]


# A store's rows of a query: its dimensions' values, then its metrics' unrounded values.
Fetch = Callable[[Query], list[tuple[Any, ...]]]


def conversion_rows(query: Query, goals: tuple[GoalDefinition, ...], fetch: Fetch) -> list[tuple[Any, ...]]:
    """The rows of a query that names goals, from store queries that do not (see the module's docstring)."""
    goal_conditions = [f for f in query.filters if isinstance(f, Condition) and f.dimension.scope == GOAL]
    other_filters = tuple(f for f in query.filters if f not in goal_conditions)
    resolved = (*other_filters, *(_goal_condition_resolved(c, goals) for c in goal_conditions))
    goal_at = next((n for n, d in enumerate(query.dimensions) if d.scope == GOAL), None)
    dimensions = tuple(d for d in query.dimensions if d.scope != GOAL)
    context = goals_in_context(goal_conditions, goals)
    in_context = goal_at is not None or any(c.operator == POSITIVE[c.operator] for c in goal_conditions)
    if goal_at is not None:
        # Grouped by goal, the goal filters choose the groups: the goals whose names they keep.
        goals = tuple(goal for goal in goals if all(goal_name_holds(c, goal.name) for c in goal_conditions))
        resolved = other_filters

    def grouped(metrics: tuple[str, ...], filters: tuple[Filter, ...]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        """Metrics by group (the goal's name in its place), asked once per goal with the goal dimension."""
        asked = replace(query, metrics=metrics, dimensions=dimensions, filters=filters)
        width = len(dimensions)
        if goal_at is None:
            return {tuple(row[:width]): tuple(row[width:]) for row in fetch(asked)}
        # With events counted too: a store answers a query without dimensions with a row even where
        # no event matched, and a goal nobody completed is no group.
        counted = metrics if "events" in metrics else (*metrics, "events")
        events_at = width + counted.index("events")
        found = {}
        for goal in goals:
            for row in fetch(replace(asked, metrics=counted, filters=(*filters, goal_filter(goal)))):
                if row[events_at]:
                    found[(*row[:goal_at], goal.name, *row[goal_at:width])] = tuple(row[width : width + len(metrics)])
        return found

    plain = tuple(name for name in query.metrics if name not in CONVERSION_METRICS)
    converting = CONVERSION_METRICS.intersection(query.metrics)
    columns: dict[str, dict[tuple[Any, ...], Any]] = {}
    if in_context:
        asked = tuple(dict.fromkeys((*plain, *(("events", "visitors") if converting else ()))))
        rows = grouped(asked, resolved)
        for n, name in enumerate(asked):
            columns[name] = {group: values[n] for group, values in rows.items()}
        groups = list(rows)
        if converting:
            columns["conversions"], columns["unique_conversions"] = columns["events"], columns["visitors"]
    else:
        rows = grouped(plain or ("visitors",), resolved)
        for n, name in enumerate(plain):
            columns[name] = {group: values[n] for group, values in rows.items()}
        groups = list(rows)
        if converting:
            converted = grouped(("events", "visitors"), (*resolved, _any_goal(goals)))
            columns["conversions"] = {group: values[0] for group, values in converted.items()}
            columns["unique_conversions"] = {group: values[1] for group, values in converted.items()}
    if REVENUE_METRICS.intersection(query.metrics):
        currency = revenue_currency(query, context)
        width = len(dimensions)

        def amounts(filters: tuple[Filter, ...], name: str | None = None) -> dict[tuple[Any, ...], list[Decimal]]:
            """Per group (the goal `name` in its place), its total revenue and its events with an amount."""
            currency_is = Condition(IS, CURRENCY, (currency,))
            asked = replace(query, metrics=("events",), dimensions=(*dimensions, AMOUNT),
                            filters=(*filters, currency_is))  # fmt: skip
            found: dict[tuple[Any, ...], list[Decimal]] = {}
            for row in fetch(asked):
                if AMOUNT_TEXT.fullmatch(row[width] or ""):
                    group = (*row[:goal_at], name, *row[goal_at:width]) if name is not None else tuple(row[:width])
                    total = found.setdefault(group, [Decimal(0), Decimal(0)])
                    total[0] += Decimal(row[width]) * row[width + 1]
                    total[1] += row[width + 1]
            return found

        if goal_at is not None:
            revenue = {}
            for goal in goals:
                if goal.currency:
                    revenue.update(amounts((*resolved, goal_filter(goal)), goal.name))
        else:
            revenue = amounts((*resolved, _any_goal(tuple(g for g in context if g.currency))))
        columns["total_revenue"] = {group: revenue.get(group, [Decimal(0)])[0] for group in groups}
        columns["average_revenue"] = {
            group: revenue[group][0] / revenue[group][1] if group in revenue else None for group in groups
        }
    if "conversion_rate" in converting:
        width = len(dimensions)
        of_groups = replace(query, metrics=("visitors",), dimensions=dimensions, filters=other_filters)
        visitors = {tuple(row[:width]): row[width] for row in fetch(of_groups)}
        columns["conversion_rate"] = {}
        for group in groups:
            base = visitors.get(group[:goal_at] + group[goal_at + 1 :] if goal_at is not None else group)
            unique = columns["unique_conversions"].get(group) or 0
            columns["conversion_rate"][group] = Fraction(100 * unique, base) if base else None
    return [(*group, *(columns[name].get(group) for name in query.metrics)) for group in groups]
