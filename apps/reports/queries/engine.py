"""The engine: a Query answered by the event store (stores/: one compiler per store), filled,
ordered and paged as query.py says, the same for every store and equal to the oracle
(tests/reports/queries/), through the report cache.
"""

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from apps.properties.models import Property
from apps.reports.goals.selectors import goals_of_property
from apps.reports.periods import property_today
from apps.reports.queries.cache import report_cached
from apps.reports.queries.funnels import (
    GOAL_STEP,
    FunnelAnswer,
    FunnelQuery,
    FunnelStep,
    chains_walked,
    funnel_answered,
    step_filter,
)
from apps.reports.queries.goals import (
    PAGEVIEWS,
    GoalDefinition,
    conversion_rows,
    goal_filters_resolved,
    is_wildcard_pattern,
    names_goals,
)
from apps.reports.queries.imported import Imported, Labels, imported_totals, merged_rows, with_visit_parts
from apps.reports.queries.journeys import (
    JourneyAnswer,
    JourneyQuery,
    journey_answered,
    journeys_followed,
    journeys_walked,
    page_of,
)
from apps.reports.queries.query import Answer, DateRange, Filter, Query, Row, rows_in_order, time_labels
from apps.reports.queries.retention import RetentionAnswer, RetentionQuery, retention_answered
from apps.reports.queries.visits import (
    VISIT_EVENT_FIELDS,
    VisitDetail,
    VisitsAnswer,
    VisitsQuery,
    visit_of_row,
)
from apps.reports.queries.vocabulary import DIMENSIONS, metric_rounded
from apps.reports.stores import event_store


def query_answer(*, property: Property, query: Query) -> Answer:
    """What `query` answers over the property's events, its range ending at the property's today."""
    first, last = query.date_range.days(property_today(property), property.tzinfo)
    goals = _goals(property) if names_goals(query) else ()
    answer = _answer(property, query, goals, first, last)
    if query.compare is None:
        return answer
    return replace(answer, comparison=_answer(property, query, goals, *query.compare.days(first, last)))


Goals = tuple[GoalDefinition, ...]


def funnel_answer(*, property: Property, query: FunnelQuery) -> FunnelAnswer:
    """What a funnel query answers over the property's events (funnels.py), through the report cache."""

    def computed(
        first: date, last: date, goals: tuple[GoalDefinition, ...], filters: tuple[Filter, ...]
    ) -> FunnelAnswer:
        steps = tuple(step_filter(step, goals) for step in query.funnel.steps)
        events = event_store().step_events(
            property=property,
            first=first,
            last=last,
            filters=filters,
            steps=steps,
            dimension=query.dimension,
            in_visits=query.funnel.window_days is None,
        )
        return funnel_answered(chains_walked(events, query.funnel), query, first, last)

    return _over_goals(property, query, computed)


def retention_answer(*, property: Property, query: RetentionQuery) -> RetentionAnswer:
    """What a retention query answers over the property's events (retention.py), through the report cache."""

    def computed(first: date, last: date, goals: Goals, filters: tuple[Filter, ...]) -> RetentionAnswer:
        goal = step_filter(FunnelStep(GOAL_STEP, query.goal), goals) if query.goal is not None else None
        counted, visitors, identified = event_store().cohorts(
            property=property, first=first, last=last, filters=filters, goal=goal, period=query.period
        )
        return retention_answered(counted, visitors, identified, query, first, last)

    return _over_goals(property, query, computed)


def journey_answer(*, property: Property, query: JourneyQuery) -> JourneyAnswer:
    """What a journey query answers over the property's events (journeys.py), through the report cache."""

    def computed(
        first: date, last: date, goals: tuple[GoalDefinition, ...], filters: tuple[Filter, ...]
    ) -> JourneyAnswer:
        page = page_of(query.anchor, goals)
        if page is not None and not filters:
            # From a page or a pageview goal, journeys need only the visits' pageviews: one row per visit.
            exact = None if is_wildcard_pattern(page) else page
            sequences = event_store().page_sequences(property=property, first=first, last=last, containing=exact)
            return journey_answered(journeys_followed(sequences, page, query), query, first, last)
        # Bit 0 the anchor, bit 1 a pageview (journeys.ANCHOR, journeys.PAGEVIEW).
        steps = (step_filter(query.anchor, goals), PAGEVIEWS)
        events = event_store().step_events(
            property=property, first=first, last=last, filters=filters, steps=steps, dimension=DIMENSIONS["event:page"]
        )
        return journey_answered(journeys_walked(events, query), query, first, last)

    return _over_goals(property, query, computed)


def visits_answer(*, property: Property, query: VisitsQuery) -> VisitsAnswer:
    """A page of the visits a visits query lists over the property's events (visits.py), through the report cache."""

    def computed(first: date, last: date, goals: Goals, filters: tuple[Filter, ...]) -> VisitsAnswer:
        rows = event_store().visits_page(
            property=property, first=first, last=last, filters=filters, before=query.before, limit=query.limit + 1
        )
        visits = [visit_of_row(row) for row in rows]
        return VisitsAnswer(visits[: query.limit], len(visits) > query.limit, first, last)

    return _over_goals(property, query, computed)


def visit_answer(*, property: Property, day: date, visit_key: int) -> VisitDetail | None:
    """The property's visit `visit_key` of `day` with its events (visits.py), None if it has none,
    through the report cache."""

    def computed() -> VisitDetail | None:
        store = event_store()
        rows = store.visits_page(
            property=property, first=day, last=day, filters=(), before=None, limit=1, visit_key=visit_key
        )
        if not rows:
            return None
        events = store.visit_events(property=property, day=day, visit_key=visit_key)
        shown = [{name: event[name] for name in VISIT_EVENT_FIELDS} for event in events]
        return VisitDetail(visit_of_row(rows[0]), shown)

    return report_cached(property=property, date_from=day, date_to=day, identity=("visit", visit_key), compute=computed)


class _OverDays(Protocol):
    @property
    def date_range(self) -> DateRange: ...

    @property
    def filters(self) -> tuple[Filter, ...]: ...


Computed = TypeVar("Computed")


def _over_goals(
    property: Property,
    query: _OverDays,
    compute: Callable[[date, date, Goals, tuple[Filter, ...]], Computed],
) -> Computed:
    """compute(first, last, goals, filters) of a query over days that may name the property's goals
    (its days, the goals, its filters with those on goals resolved), through the report cache."""
    first, last = query.date_range.days(property_today(property), property.tzinfo)
    goals = _goals(property)
    filters = goal_filters_resolved(query.filters, goals)
    return report_cached(
        property=property,
        date_from=first,
        date_to=last,
        identity=(query, goals),
        compute=lambda: compute(first, last, goals, filters),
    )


def _goals(property: Property) -> tuple[GoalDefinition, ...]:
    return tuple(
        GoalDefinition(
            name=goal.name,
            kind=goal.kind,
            path_pattern=goal.path_pattern,
            event_type=goal.event_type,
            properties=tuple(sorted(goal.properties.items())),
            currency=goal.currency,
        )
        for goal in goals_of_property(property=property)
    )


def _answer(property: Property, query: Query, goals: tuple[GoalDefinition, ...], first: date, last: date) -> Answer:
    if query.date_range.since is not None:
        # A range of times is what a live view asks, a window that moves with the clock: each is
        # asked once, and keeping it would only fill the cache.
        return _computed(property, query, goals, first, last)
    return report_cached(
        property=property,
        date_from=first,
        date_to=last,
        # The goals as they are now: a goal changed, the same query asks another question.
        identity=(query, goals),
        compute=lambda: _computed(property, query, goals, first, last),
    )


def _computed(property: Property, query: Query, goals: tuple[GoalDefinition, ...], first: date, last: date) -> Answer:
    imported = imported_totals(property=property, query=query, first=first, last=last)
    rows = _rows(property, query, goals, first, last, imported)
    labels = time_labels(query, first, last, property.tzinfo)
    if query.include_time_labels and len(query.dimensions) == 1:
        present = {row["dimensions"][0] for row in rows}
        zero = [metric_rounded(name, None) for name in query.metrics]
        rows += [{"dimensions": [label], "metrics": zero} for label in labels if label not in present]
    rows = rows_in_order(query, rows)[query.offset : query.offset + query.limit]
    totals = None
    if query.include_totals:
        whole = Query(
            metrics=query.metrics,
            date_range=query.date_range,
            filters=query.filters,
            include_imports=query.include_imports,
        )
        whole_imported = imported_totals(property=property, query=whole, first=first, last=last)
        totals = _rows(property, whole, goals, first, last, whole_imported)[0]["metrics"]
    return Answer(
        rows,
        first,
        last,
        totals,
        labels if query.include_time_labels else None,
        imports_included=imported.groups is not None,
        imports_warning=imported.warning,
    )


def _rows(
    property: Property, query: Query, goals: tuple[GoalDefinition, ...], first: date, last: date, imported: Imported
) -> list[Row]:
    width = len(query.dimensions)
    store = event_store()
    labelled: list[tuple[Labels, Sequence[Any]]]

    def fetch(asked: Query) -> list[tuple[Any, ...]]:
        return store.rows(property=property, query=asked, first=first, last=last)

    if imported.groups is None:
        fetched = conversion_rows(query, goals, fetch) if names_goals(query) else fetch(query)
        labelled = [(_labels(row[:width]), row[width:]) for row in fetched]
    else:
        stored = [(_labels(row[:width]), row[width:]) for row in fetch(with_visit_parts(query))]
        imported_groups = {_labels(group): counts for group, counts in imported.groups.items()}
        labelled = merged_rows(query, stored, imported_groups)
    return [
        {
            "dimensions": list(group),
            "metrics": [metric_rounded(name, value) for name, value in zip(query.metrics, values, strict=True)],
        }
        for group, values in labelled
    ]


def _labels(values: tuple[Any, ...]) -> tuple[str | None, ...]:
    return tuple(_label(value) for value in values)


def _label(value: object) -> str | None:
    """A dimension's value as answered: a blank as None, a time bucket as its label (query.time_labels)."""
    if value in ("", None):
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:00")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
