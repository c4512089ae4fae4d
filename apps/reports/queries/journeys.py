"""Journeys in the query engine: from a chosen page, goal or event, where visits went next (or came
from), page by page.

Within each visit that passes the query's filters (as everywhere: an event filter keeps events, a
visit filter whole visits), its matching pageviews and the matching events that complete the
anchor (a step as in funnels: a page or pattern, a goal, an event type) are put in time order,
events of the same moment in the order of their paths, then an anchor that is no pageview first:

- the visit's anchor is its first event completing the anchor step;
- its journey is the paths of the pageviews after the anchor (`next`) or before it, nearest first
  (`previous`), a page repeated in a row counted once (a reload; for a pageview anchor, its own
  path repeated right after it too), the first `depth` of them, ended by EXIT (or ENTRY) when the
  visit has fewer;
- `paths` are the journeys with the visits that took each, the most taken first (then by their
  steps), the first `limit`; `links` the moves between consecutive steps (step 0 being the anchor),
  per step the `limit` most taken, for a flow diagram.
"""

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from apps.reports.queries.funnels import GOAL_STEP, PAGE_STEP, STEP_KINDS, FunnelStep, step_parse
from apps.reports.queries.goals import PAGEVIEW as PAGEVIEW_GOAL
from apps.reports.queries.goals import GoalDefinition, goal_named, is_wildcard_pattern, path_pattern_regex
from apps.reports.queries.query import (
    DateRange,
    Filter,
    InvalidQuery,
    days_range_parse,
    filters_parse,
    integer_parse,
    object_parse,
)
from apps.reports.queries.safe_regex import safe_regex_compile

NEXT, PREVIOUS = "next", "previous"
EXIT, ENTRY = "(exit)", "(entry)"
MAX_DEPTH = 5
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
QUERY_FIELDS = ("anchor", "direction", "depth", "date_range", "filters", "limit")


@dataclass(frozen=True)
class JourneyQuery:
    anchor: FunnelStep
    date_range: DateRange
    direction: str = NEXT
    depth: int = 3
    filters: tuple[Filter, ...] = ()
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class JourneyAnswer:
    # The visits with an anchor.
    visits: int
    paths: list[dict[str, Any]]
    links: list[dict[str, Any]]
    first: date
    last: date


def journey_query_parse(data: object) -> JourneyQuery:
    """The JourneyQuery of a JSON request; raise InvalidQuery naming the bad field."""
    data = object_parse(data, QUERY_FIELDS, "a journey query")
    if "anchor" not in data:
        raise InvalidQuery(f'anchor is required: {{"kind": {" | ".join(STEP_KINDS)}, "value": …}}.', field="anchor")
    anchor = step_parse(data["anchor"], "anchor")
    direction = data.get("direction", NEXT)
    if direction not in (NEXT, PREVIOUS):
        raise InvalidQuery(f"direction is {NEXT} or {PREVIOUS}.", field="direction")
    depth = integer_parse(data.get("depth", 3), "depth", low=1, high=MAX_DEPTH)
    date_range = days_range_parse(data, "A journey's")
    limit = integer_parse(data.get("limit", DEFAULT_LIMIT), "limit", low=1, high=MAX_LIMIT)
    return JourneyQuery(anchor, date_range, direction, depth, filters_parse(data.get("filters", [])), limit)


# A store's event for journeys (funnels.StepEvent, the marks: bit 0 the anchor, bit 1 a pageview):
# visitor key, the visit's day and key, its time, its marks, its path.
JourneyEvent = tuple[Any, date, int, int, int, Any]
ANCHOR, PAGEVIEW = 1, 2


def journeys_walked(events: Iterable[JourneyEvent], query: JourneyQuery) -> list[tuple[str, ...]]:
    """Each visit's journey (the module's docstring), for the visits with an anchor."""
    by_visit: defaultdict[tuple[date, int], list[tuple[int, str, int]]] = defaultdict(list)
    for _, day, visit_key, ts, marks, path in events:
        by_visit[(day, visit_key)].append((ts, path or "", marks))
    journeys = []
    for visit_events in by_visit.values():
        # Of one moment, by path, then by marks: an anchor that is no pageview (1) before a pageview (2, 3).
        visit_events.sort()
        at = next((n for n, (_, _, marks) in enumerate(visit_events) if marks & ANCHOR), None)
        if at is None:
            continue
        around = visit_events[at + 1 :] if query.direction == NEXT else visit_events[:at][::-1]
        anchor_path = visit_events[at][1] if visit_events[at][2] & PAGEVIEW else None
        journeys.append(_journey((path for _, path, marks in around if marks & PAGEVIEW), anchor_path, query))
    return journeys


def page_of(anchor: FunnelStep, goals: tuple[GoalDefinition, ...]) -> str | None:
    """The path or pattern of the pageviews an anchor is: a page's, or a pageview goal's; None for
    an event or any other goal."""
    if anchor.kind == PAGE_STEP:
        return anchor.value
    if anchor.kind == GOAL_STEP:
        goal = goal_named(goals, anchor.value)
        return goal.path_pattern if goal is not None and goal.kind == PAGEVIEW_GOAL else None
    return None


def journeys_followed(sequences: Iterable[list[str]], page: str, query: JourneyQuery) -> list[tuple[str, ...]]:
    """Each visit's journey from its first pageview of `page` (a path or pattern: the anchor's,
    page_of), the visits given as their pageviews' paths in the order journeys_walked sorts them
    (EventStore.page_sequences): the same journeys, without the visits' other events."""
    anchor_at = _first_fitting(page)
    journeys = []
    for paths in sequences:
        at = anchor_at(paths)
        if at is None:
            continue
        around = paths[at + 1 :] if query.direction == NEXT else paths[:at][::-1]
        journeys.append(_journey(around, paths[at], query))
    return journeys


def _first_fitting(page: str) -> Callable[[list[str]], int | None]:
    """The index of the first path that a page step's value (a path or a pattern) fits, or None."""
    if is_wildcard_pattern(page):
        pattern = safe_regex_compile(path_pattern_regex(page))
        return lambda paths: next((n for n, path in enumerate(paths) if pattern.search(path)), None)
    return lambda paths: paths.index(page) if page in paths else None


def _journey(paths: Iterable[str], anchor_path: str | None, query: JourneyQuery) -> tuple[str, ...]:
    """The first `depth` of the pageviews' `paths` around an anchor (a pageview of `anchor_path`,
    or no pageview: None), a page repeated in a row counted once, ended by EXIT or ENTRY."""
    taken: list[str] = []
    last = anchor_path
    for path in paths:
        if path != last:
            taken.append(path)
            last = path
        if len(taken) == query.depth:
            break
    end = EXIT if query.direction == NEXT else ENTRY
    return (*taken, *[end] * (query.depth - len(taken)))


def journey_answered(journeys: list[tuple[str, ...]], query: JourneyQuery, first: date, last: date) -> JourneyAnswer:
    """The answer of a journey query from its visits' journeys."""
    paths = [{"steps": list(steps), "visits": visits} for steps, visits in _most_taken(Counter(journeys), query.limit)]
    links = []
    origin = query.anchor.value
    for step in range(query.depth):
        moves = Counter((journey[step - 1] if step else origin, journey[step]) for journey in journeys)
        for (source, target), visits in _most_taken(moves, query.limit):
            links.append({"step": step + 1, "from": source, "to": target, "visits": visits})
    return JourneyAnswer(len(journeys), paths, links, first, last)


def _most_taken(taken: Counter[Any], limit: int) -> list[tuple[Any, int]]:
    """The `limit` most taken, then in their own order: those of the top `limit` counts sorted, not
    every one (a month's 3-step journeys from a home page are some 15,000 different ones)."""
    if len(taken) > limit:
        least = heapq.nlargest(limit, taken.values())[-1]
        taken = Counter({item: visits for item, visits in taken.items() if visits >= least})
    return sorted(taken.items(), key=lambda item: (-item[1], item[0]))[:limit]
