"""Funnels in the query engine: which visitors went through ordered steps, how many stopped where,
and how long each step took.

A step is a goal of the property, a page (a path or a pattern, as a pageview goal's) or an event
type. A funnel's steps are walked within a visit, or within a window of N days from the first step
per visitor. Over the query's range and filters (as everywhere: an event filter keeps events, a
visit filter whole visits):

- a chain is events e1..en of one visitor completing steps 1..n in order, each strictly later
  (a later timestamp: events of the same moment do not chain) than the one before, all in one
  visit, or all within the window of e1;
- a visitor reaches step n when one of their chains has n steps; their chain is the one reaching
  furthest, then the one whose times (t1, t2, …) come first, then the one whose group comes first;
- a breakdown puts each visitor in the group of their chain's first event (its dimension's value);
- per step: the visitors reaching it; the share of the first step's (conversion_rate) and of the
  previous step's (conversion_rate_step), in percent; those of the previous step who did not reach
  it (dropoff, and dropoff_percentage of the previous step's); and the median time from the
  previous step over the visitors reaching it (their chains' times), in seconds.

Events without a visitor key (none was known) are in no funnel, as they count for no visitor.
The stores give the events that complete a step (EventStore.step_events); the chains are walked
here, the same for every store, and the oracle walks them its own way (oracle.funnel_oracle).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from statistics import median
from typing import Any

from apps.reports.queries.goals import (
    EVENT,
    NO_EVENT,
    PAGEVIEW,
    GoalDefinition,
    goal_filter,
    goal_named,
    path_pattern_check,
)
from apps.reports.queries.query import (
    DateRange,
    Filter,
    InvalidQuery,
    days_range_parse,
    filters_parse,
    integer_parse,
    list_parse,
    object_parse,
)
from apps.reports.queries.vocabulary import EVENT as EVENT_SCOPE
from apps.reports.queries.vocabulary import VISIT, Dimension, dimension_lookup, metric_rounded

GOAL_STEP, PAGE_STEP, EVENT_STEP = "goal", "page", "event"
STEP_KINDS = (GOAL_STEP, PAGE_STEP, EVENT_STEP)
MIN_STEPS, MAX_STEPS = 2, 8
MAX_WINDOW_DAYS = 90
MAX_STEP_VALUE_LENGTH = 200
DEFAULT_GROUPS, MAX_GROUPS = 100, 1000
FUNNEL_FIELDS = ("steps", "window_days")
QUERY_FIELDS = (*FUNNEL_FIELDS, "date_range", "filters", "dimension", "limit")
MICROSECONDS_PER_DAY = timedelta(days=1) // timedelta(microseconds=1)


@dataclass(frozen=True)
class FunnelStep:
    kind: str
    value: str

    @property
    def label(self) -> str:
        return self.value if self.kind != EVENT_STEP else f"event {self.value}"


@dataclass(frozen=True)
class Funnel:
    """Ordered steps, walked within a visit (`window_days` None) or within N days per visitor."""

    steps: tuple[FunnelStep, ...]
    window_days: int | None = None


@dataclass(frozen=True)
class FunnelQuery:
    funnel: Funnel
    date_range: DateRange
    filters: tuple[Filter, ...] = ()
    # The breakdown: an event, visit or custom-property dimension, or none.
    dimension: Dimension | None = None
    limit: int = DEFAULT_GROUPS


@dataclass(frozen=True)
class Chain:
    """A visitor's chain: the times of its steps (microseconds since the epoch) and its group."""

    times: tuple[int, ...]
    group: str


@dataclass(frozen=True)
class FunnelAnswer:
    steps: list[dict[str, Any]]
    # Per group, in the order of their first step's visitors (most first), then their value.
    breakdown: list[dict[str, Any]] | None
    first: date
    last: date


def step_filter(step: FunnelStep, goals: tuple[GoalDefinition, ...]) -> Filter:
    """The events that complete a step (a goal the property no longer has: none)."""
    if step.kind == PAGE_STEP:
        return goal_filter(GoalDefinition(step.value, PAGEVIEW, path_pattern=step.value))
    if step.kind == EVENT_STEP:
        return goal_filter(GoalDefinition(step.value, EVENT, event_type=step.value))
    goal = goal_named(goals, step.value)
    return goal_filter(goal) if goal is not None else NO_EVENT


def funnel_parse(data: dict[str, object], field: str = "") -> Funnel:
    """The funnel of a request's `steps` and `window_days`; raise InvalidQuery naming the bad field."""
    steps = tuple(
        step_parse(item, f"{field}steps[{n}]")
        for n, item in enumerate(list_parse(data.get("steps"), f"{field}steps", min_size=MIN_STEPS, max_size=MAX_STEPS))
    )
    window = data.get("window_days")
    if window is not None:
        window = integer_parse(window, f"{field}window_days", low=1, high=MAX_WINDOW_DAYS)
    return Funnel(steps, window)


def step_parse(item: object, field: str) -> FunnelStep:
    """A step of a request (a funnel's, or a journey's anchor); raise InvalidQuery naming the bad field."""
    if not isinstance(item, dict) or set(item) != {"kind", "value"}:
        raise InvalidQuery('A step is {"kind": goal | page | event, "value": …}.', field=field)
    if item["kind"] not in STEP_KINDS:
        raise InvalidQuery(f"A step's kind is one of {', '.join(STEP_KINDS)}.", field=f"{field}.kind")
    value = item["value"]
    if not isinstance(value, str) or not 0 < len(value) <= MAX_STEP_VALUE_LENGTH or "\x00" in value:
        raise InvalidQuery(f"A step's value is 1 to {MAX_STEP_VALUE_LENGTH} characters.", field=f"{field}.value")
    if item["kind"] == PAGE_STEP:
        path_pattern_check(value, field=f"{field}.value", name="A page")
    return FunnelStep(item["kind"], value)


def funnel_query_parse(data: object, *, saved: Funnel | None = None) -> FunnelQuery:
    """The FunnelQuery of a JSON request: its own steps, or those of a `saved` funnel; raise
    InvalidQuery naming the bad field."""
    data = object_parse(data, QUERY_FIELDS if saved is None else QUERY_FIELDS[len(FUNNEL_FIELDS) :], "a funnel query")
    funnel = saved or funnel_parse(data)
    date_range = days_range_parse(data, "A funnel's")
    dimension = None
    if data.get("dimension") is not None:
        name = data["dimension"]
        dimension = dimension_lookup(name) if isinstance(name, str) else None
        if dimension is None or dimension.scope not in (EVENT_SCOPE, VISIT):
            raise InvalidQuery("A funnel breaks down by an event, visit or custom-property dimension.",
                               field="dimension")  # fmt: skip
    limit = integer_parse(data.get("limit", DEFAULT_GROUPS), "limit", low=1, high=MAX_GROUPS)
    return FunnelQuery(funnel, date_range, filters_parse(data.get("filters", [])), dimension, limit)


# A store's event that completes a step: visitor key, the visit's day and key (0 for a funnel
# within a window, which cuts no visits), its time in microseconds since the epoch, the steps it
# completes (bit n: step n + 1), its group's value.
StepEvent = tuple[Any, date, int, int, int, Any]


def chains_walked(events: Iterable[StepEvent], funnel: Funnel) -> list[Chain]:
    """Each visitor's chain (the module's docstring) from the events that complete a step."""
    by_visitor: defaultdict[Any, list[tuple[int, tuple[date, int], int, str]]] = defaultdict(list)
    for visitor, day, visit_key, ts, mask, group in events:
        if visitor is not None:
            by_visitor[visitor].append((ts, (day, visit_key), mask, "" if group is None else str(group)))
    width = len(funnel.steps)
    window = None if funnel.window_days is None else funnel.window_days * MICROSECONDS_PER_DAY
    chains = []
    for visitor_events in by_visitor.values():
        visitor_events.sort()
        best: tuple[int, tuple[int, ...], str] | None = None
        for at, (start, visit, mask, group) in enumerate(visitor_events):
            if not mask & 1:
                continue
            times = [start]
            for ts, other_visit, other_mask, _ in visitor_events[at + 1 :]:
                if window is not None and ts - start > window:
                    break
                if (window is None and other_visit != visit) or ts <= times[-1]:
                    continue
                if other_mask >> len(times) & 1:
                    times.append(ts)
                    if len(times) == width:
                        break
            # Furthest first, then the earliest times, then the first group.
            candidate = (-len(times), tuple(times), group)
            if best is None or candidate < best:
                best = candidate
        if best is not None:
            chains.append(Chain(best[1], best[2]))
    return chains


def steps_summarized(chains: list[Chain], funnel: Funnel) -> list[dict[str, Any]]:
    """Per step of the funnel, what `chains` say of it (the module's docstring)."""
    rows: list[dict[str, Any]] = []
    for n, step in enumerate(funnel.steps):
        reaching = [chain for chain in chains if len(chain.times) > n]
        visitors = len(reaching)
        first = rows[0]["visitors"] if rows else visitors
        previous = rows[-1]["visitors"] if rows else visitors
        waits = [chain.times[n] - chain.times[n - 1] for chain in reaching] if n else []
        rows.append(
            {
                "step": n + 1,
                "kind": step.kind,
                "label": step.label,
                "visitors": visitors,
                "conversion_rate": percent(visitors, first),
                "conversion_rate_step": percent(visitors, previous),
                "dropoff": previous - visitors,
                "dropoff_percentage": percent(previous - visitors, previous),
                "median_seconds_from_previous": seconds(median(waits)) if waits else None,
            }
        )
    return rows


def percent(part: int, whole: int) -> float:
    """`part` per hundred of `whole`, to 0.01 (0 of none)."""
    return metric_rounded("conversion_rate", Fraction(100 * part, whole) if whole else None)


def seconds(microseconds: float | Fraction) -> float:
    """Microseconds (a median may end in .5) as seconds to the millisecond."""
    return round(float(Fraction(microseconds) / 1_000_000), 3)


def funnel_answered(chains: list[Chain], query: FunnelQuery, first: date, last: date) -> FunnelAnswer:
    """The answer of a funnel query from its visitors' chains."""
    breakdown = None
    if query.dimension is not None:
        by_group: defaultdict[str, list[Chain]] = defaultdict(list)
        for chain in chains:
            by_group[chain.group].append(chain)
        ordered = sorted(by_group.items(), key=lambda item: (-len(item[1]), item[0]))[: query.limit]
        breakdown = [
            {"dimension": group or None, "steps": steps_summarized(group_chains, query.funnel)}
            for group, group_chains in ordered
        ]
    return FunnelAnswer(steps_summarized(chains, query.funnel), breakdown, first, last)
