"""The oracle: a Query evaluated in plain Python over a property's raw events, slow and obviously right.

Every store's compiled query must answer exactly what this answers (tests/reports/queries/). It
follows README's "Definitions" step by step and shares nothing with the SQL but the vocabulary:

1. An event's day is its local date. Its session is its `session_key` on that day (a session ends at
   local midnight), in time order: `ts`, then `arrival`, then `event_id` (byte order).
2. A visit is a session split where an event carries a campaign (`campaign_id` or a UTM field) other
   than the last one the session carried; the first event never splits. The n-th visit of a session
   (from 0) is keyed by the session's key moved n towards zero.
3. A visit's dimensions are its first event's; its entry and exit page the paths of its first and
   last pageview.
4. An event matches when it lies in the range (its local day within the days; within the times,
   both included, for a range of times, its visit still cut from whole days) and each filter holds
   for its own value (event dimensions) or its visit's (visit dimensions): an event-dimension filter
   keeps the matching events, a visit-dimension one whole visits. The visits a query keeps are those
   with a matching event.
5. Event metrics count the matching events of a group (and the distinct visits and visitors that
   had one); visit metrics describe the whole visits kept, in the group of each of their matching
   events, their time being the bucket where the visit began. A query of visit metrics alone has
   the groups of its visits only (by time: the buckets where a kept visit began).
6. An event's user trait (`user:props:<key>`) is the last non-empty value of `key` in the data of
   its user's identify events, all of the property's, in order; '' for an event without a user.
7. An event completes a pageview goal when it is a pageview of a path the goal's pattern fits (`**`
   any text, `*` any text without a slash), an event goal when its type is the goal's and its
   custom properties have the goal's values. Its `event:goal` values are the goals it completes:
   a filter holds when one of them passes the condition (is_not: none), and the event is in the
   group of each; grouped by goal, the goal filters instead keep the goals whose names pass them.
   Conversions count a group's events that complete a goal (and their distinct
   visitors); the conversion rate is unique conversions per hundred visitors of the events that
   pass the filters other than those on goals, in the same group without its goal. Revenue sums the
   `data.revenue` (decimal text or an integer) of a group's events that complete a goal with a
   currency, carried in that currency, among the goals of the positive goal filters (or all);
   grouped by goal, the row's goal's; those goals must have one currency.
8. A funnel (funnels.py) is walked over the matching events of each visitor (with a visitor key):
   every chain of events completing its steps in order, each at a later time than the one
   before, in one visit or within the window of the first, is tried; the visitor's is the longest,
   then the one of the earliest times, then of the first group (the first event's value).
9. Retention (retention.py) follows the identities of the matching events (a user id hash, else a
   visitor id that is not a cookieless one) from the period of their first to each later period of
   the range in which they had a matching event (with a goal: one completing it).
10. A journey (journeys.py) starts at a visit's first matching event completing the anchor, its
   pageviews and anchors in time, path and kind order, and reads the paths of the pageviews after
   (or before) it, a page repeated in a row once.
11. A visits list (visits.py) holds the visits with a matching event, whole, from the newest start.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from fractions import Fraction
from itertools import product
from typing import Any

from apps.ingestion.identity import COOKIELESS_PREFIX
from apps.ingestion.schema import CURRENCY_KEY, IDENTIFY, REVENUE_KEY
from apps.reports.queries.funnels import (
    EVENT_STEP,
    PAGE_STEP,
    FunnelAnswer,
    FunnelQuery,
    FunnelStep,
    percent,
    seconds,
)
from apps.reports.queries.goals import AMOUNT_TEXT, PAGEVIEW, GoalDefinition
from apps.reports.queries.journeys import ENTRY, EXIT, NEXT, JourneyAnswer, JourneyQuery
from apps.reports.queries.query import (
    CONTAINS,
    IS,
    MATCHES,
    Answer,
    Condition,
    Filter,
    InvalidQuery,
    Query,
    Row,
    condition_holds,
    filter_holds,
    rows_in_order,
    time_labels,
)
from apps.reports.queries.retention import RetentionAnswer, RetentionQuery
from apps.reports.queries.visits import Visit, VisitsQuery
from apps.reports.queries.vocabulary import (
    EVENTS_OF_TYPE_PREFIX,
    GOAL,
    PROPS_PREFIX,
    REVENUE_METRICS,
    TIME,
    USER_PROPS_PREFIX,
    VISIT,
    VISIT_ATTRIBUTE_COLUMNS,
    Dimension,
    metric_rounded,
    prop_text,
    time_bucket,
)

VISIT_METRICS = ("bounce_rate", "views_per_visit", "visit_duration")
CAMPAIGN_FIELDS = ("campaign_id", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

# An Event row as QuerySet.values() gives it.
EventRow = dict[str, Any]
# A group's dimension values, '' for an absent one.
Group = tuple[str, ...]
# The local day and session_key of a session, and the visit's number in it.
VisitKey = tuple[date, int, int]


@dataclass
class _Visit:
    key: VisitKey
    events: list[EventRow]
    attributes: dict[str, str]

    @property
    def first(self) -> EventRow:
        return self.events[0]


# A matching event in its visit.
Matching = tuple[EventRow, _Visit]


def query_oracle(
    *, timezone: tzinfo, events: list[EventRow], query: Query, today: date, goals: tuple[GoalDefinition, ...] = ()
) -> Answer:
    """What `query` answers over `events` of a property in `timezone` whose local date is `today`,
    the property's goals being `goals`."""
    first, last = query.date_range.days(today, timezone)
    events = _with_traits(events)
    answer = _answer(timezone, events, query, goals, first, last)
    if query.compare is None:
        return answer
    compared_first, compared_last = query.compare.days(first, last)
    comparison = _answer(timezone, events, query, goals, compared_first, compared_last)
    return Answer(answer.rows, first, last, answer.totals, answer.time_labels, comparison)


def _answer(
    timezone: tzinfo, events: list[EventRow], query: Query, goals: tuple[GoalDefinition, ...], first: date, last: date
) -> Answer:
    in_range = [e for e in events if first <= _local(e["ts"], timezone).date() <= last]
    visits = _visits(in_range, timezone)
    window = query.date_range

    def passing(filters: tuple[Filter, ...]) -> list[tuple[EventRow, _Visit]]:
        return [
            (e, visit)
            for visit in visits
            for e in visit.events
            if (window.since is None or window.since <= e["ts"] <= window.until)
            and all(_holds(f, e, visit, goals) for f in filters)
        ]

    matching = passing(query.filters)
    goal_conditions = [f for f in query.filters if isinstance(f, Condition) and f.dimension.scope == GOAL]
    positive = [c for c in goal_conditions if c.operator in (IS, CONTAINS, MATCHES)]
    context = tuple(g for g in goals if all(condition_holds(c, [g.name]) for c in positive))
    currencies = {g.currency for g in context if g.currency}
    revenue_asked = [name for name in query.metrics if name in REVENUE_METRICS]
    if revenue_asked and len(currencies) != 1:
        raise InvalidQuery("Revenue needs the revenue goals of one currency.",
                           field=f"metrics[{query.metrics.index(revenue_asked[0])}]")  # fmt: skip
    revenue_of = (next(iter(currencies)), context) if revenue_asked else None
    not_goals = tuple(f for f in query.filters if f not in goal_conditions)
    # The conversion rate's visitors: those of the events the filters other than on goals keep.
    rate_base = passing(not_goals) if "conversion_rate" in query.metrics else []
    if any(d.scope == GOAL for d in query.dimensions):
        # Grouped by goal, the goal filters choose the goals (by name) instead of the events.
        kept = tuple(g for g in goals if all(condition_holds(c, [g.name]) for c in goal_conditions))
        rows = _grouped(query, passing(not_goals), timezone, kept, rate_base, revenue_of)
    else:
        rows = _grouped(query, matching, timezone, goals, rate_base, revenue_of)
    labels = time_labels(query, first, last, timezone)
    if query.include_time_labels and len(query.dimensions) == 1:
        present = {row["dimensions"][0] for row in rows}
        zero = [metric_rounded(name, None) for name in query.metrics]
        rows += [{"dimensions": [label], "metrics": zero} for label in labels if label not in present]
    rows = rows_in_order(query, rows)[query.offset : query.offset + query.limit]
    totals: list[int | float] | None = None
    if query.include_totals:
        whole = Query(metrics=query.metrics, date_range=query.date_range)
        totals = _grouped(whole, matching, timezone, goals, rate_base, revenue_of)[0]["metrics"]
    return Answer(rows, first, last, totals, labels if query.include_time_labels else None)


def _with_traits(events: list[EventRow]) -> list[EventRow]:
    """The events, each with its user's traits (`traits`: key -> text): from the user's identify
    events in order, each key's last non-empty value; none for an event without a user."""
    traits: defaultdict[str, dict[str, str]] = defaultdict(dict)
    for e in sorted((e for e in events if e["type"] == IDENTIFY and e["user_id_hash"]), key=_in_order):
        for key, value in e["data"].items():
            if text := prop_text(value):
                traits[e["user_id_hash"]][key] = text
    return [{**e, "traits": traits.get(e["user_id_hash"], {}) if e["user_id_hash"] else {}} for e in events]


def _local(ts: datetime, timezone: tzinfo) -> datetime:
    return ts.astimezone(timezone)


def _in_order(event: EventRow) -> tuple[datetime, int, str]:
    return event["ts"], event["arrival"], event["event_id"]


def _visits(events: list[EventRow], timezone: tzinfo) -> list[_Visit]:
    """The visits of `events` (whole local days), each with its events in order."""
    sessions: defaultdict[tuple[date, int], list[EventRow]] = defaultdict(list)
    for e in events:
        sessions[(_local(e["ts"], timezone).date(), e["session_key"])].append(e)
    visits = []
    for session, session_events in sessions.items():
        carried: tuple[str, ...] | None = None
        number = 0
        current: list[EventRow] = []
        for n, e in enumerate(sorted(session_events, key=_in_order)):
            campaign = tuple(e[name] for name in CAMPAIGN_FIELDS)
            if any(campaign):
                if n > 0 and campaign != carried:
                    visits.append(_visit((*session, number), current))
                    number, current = number + 1, []
                carried = campaign
            current.append(e)
        visits.append(_visit((*session, number), current))
    return visits


def _visit(key: VisitKey, events: list[EventRow]) -> _Visit:
    pageviews = [e for e in events if e["type"] == "pageview"]
    attributes = {name: events[0][name] for name in VISIT_ATTRIBUTE_COLUMNS}
    attributes["entry_path"] = pageviews[0]["path"] if pageviews else ""
    attributes["exit_path"] = pageviews[-1]["path"] if pageviews else ""
    return _Visit(key, events, attributes)


def _value(dimension: Dimension, event: EventRow, visit: _Visit, timezone: tzinfo | None = None) -> str:
    """The dimension's value for `event` in `visit` ('' when absent); a time dimension's bucket is
    the event's, or the visit's start when `event` is the visit's first."""
    if dimension.scope == VISIT:
        return visit.attributes[dimension.column]
    if dimension.scope == TIME:
        assert timezone is not None, "time dimensions are grouped by, never filtered by"
        return time_bucket(dimension.column, _local(event["ts"], timezone))
    if dimension.name.startswith(PROPS_PREFIX):
        return prop_text(event["data"].get(dimension.column))
    if dimension.name.startswith(USER_PROPS_PREFIX):
        trait: str = event["traits"].get(dimension.column, "")
        return trait
    text: str = event[dimension.column]
    return text


def _values(
    dimension: Dimension, event: EventRow, visit: _Visit, timezone: tzinfo | None, goals: tuple[GoalDefinition, ...]
) -> list[str]:
    """The dimension's values for `event`: the goals it completes, or its one value."""
    if dimension.scope == GOAL:
        return [goal.name for goal in goals if _completes(goal, event)]
    return [_value(dimension, event, visit, timezone)]


def _completes(goal: GoalDefinition, event: EventRow) -> bool:
    if goal.kind == PAGEVIEW:
        return event["type"] == PAGEVIEW and _path_fits(goal.path_pattern, event["path"])
    return event["type"] == goal.event_type and all(
        prop_text(event["data"].get(key)) == value for key, value in goal.properties
    )


def _path_fits(pattern: str, path: str) -> bool:
    """Whether the path pattern fits the whole path, by trying every split at each wildcard."""
    if not pattern:
        return not path
    if pattern.startswith("**"):
        return any(_path_fits(pattern[2:], path[n:]) for n in range(len(path) + 1))
    if pattern[0] == "*":
        return any(_path_fits(pattern[1:], path[n:]) for n in range(len(path) + 1) if "/" not in path[:n])
    return path[:1] == pattern[0] and _path_fits(pattern[1:], path[1:])


def _holds(filter: Filter, event: EventRow, visit: _Visit, goals: tuple[GoalDefinition, ...]) -> bool:
    return filter_holds(filter, lambda dimension: _values(dimension, event, visit, None, goals))


def _grouped(
    query: Query,
    matching: list[tuple[EventRow, _Visit]],
    timezone: tzinfo,
    goals: tuple[GoalDefinition, ...],
    rate_base: list[tuple[EventRow, _Visit]],
    revenue_of: tuple[str, tuple[GoalDefinition, ...]] | None = None,
) -> list[Row]:
    """One row per group of the matching events, with the query's metrics (an event completing
    several goals is in the group of each); revenue in the currency of `revenue_of`'s goals."""
    events_by_group: defaultdict[Group, list[tuple[EventRow, _Visit]]] = defaultdict(list)
    visits_by_group: defaultdict[Group, dict[VisitKey, _Visit]] = defaultdict(dict)
    for e, visit in matching:
        for group in product(*(_values(d, e, visit, timezone, goals) for d in query.dimensions)):
            events_by_group[group].append((e, visit))
        started = [_values(d, visit.first if d.scope == TIME else e, visit, timezone, goals) for d in query.dimensions]
        for group in product(*started):
            visits_by_group[group][visit.key] = visit
    # A group is one of the events' when a metric counts events, one of the visits' when one describes
    # visits (by time, a visit is in the bucket where it began, not in those of its later events).
    counts_events = not all(name in VISIT_METRICS for name in query.metrics)
    groups: set[Group] = (set(events_by_group) if counts_events else set()) | (
        set(visits_by_group) if any(name in VISIT_METRICS for name in query.metrics) else set()
    )
    if not query.dimensions:
        groups = {()}
    goal_at = next((n for n, d in enumerate(query.dimensions) if d.scope == GOAL), None)
    base_visitors: dict[Group, int | float] = {}
    if "conversion_rate" in query.metrics:
        without_goal = replace(query, dimensions=tuple(d for d in query.dimensions if d.scope != GOAL))
        base_visitors = {
            tuple(value or "" for value in row["dimensions"]): row["metrics"][0]
            for row in _grouped(replace(without_goal, metrics=("visitors",)), rate_base, timezone, goals, [])
        }

    def revenue(name: str, group: Group) -> Decimal | None:
        assert revenue_of is not None
        currency, context = revenue_of
        earning = [g for g in context if g.currency]
        if goal_at is not None:
            earning = [g for g in goals if g.name == group[goal_at] and g.currency]
        amounts = [
            Decimal(prop_text(e["data"].get(REVENUE_KEY)))
            for e, _ in events_by_group.get(group, [])
            if any(_completes(g, e) for g in earning)
            and prop_text(e["data"].get(CURRENCY_KEY)) == currency
            and AMOUNT_TEXT.fullmatch(prop_text(e["data"].get(REVENUE_KEY)))
        ]
        if name == "total_revenue":
            return sum(amounts, Decimal(0))
        return sum(amounts, Decimal(0)) / len(amounts) if amounts else None

    def rate(group: Group) -> Fraction | None:
        base = base_visitors.get(group[:goal_at] + group[goal_at + 1 :] if goal_at is not None else group)
        converted = _metric("unique_conversions", events_by_group.get(group, []), [], goals)
        return Fraction(100 * int(converted), int(base)) if base else None

    return [
        {
            "dimensions": [value or None for value in group],
            "metrics": [
                metric_rounded(name, rate(group))
                if name == "conversion_rate"
                else metric_rounded(name, revenue(name, group))
                if name in REVENUE_METRICS
                else _metric(name, events_by_group.get(group, []), list(visits_by_group.get(group, {}).values()), goals)
                for name in query.metrics
            ],
        }
        for group in groups
    ]


def _metric(
    name: str, events: list[tuple[EventRow, _Visit]], visits: list[_Visit], goals: tuple[GoalDefinition, ...]
) -> int | float:
    """`name` over a group's matching events, or (visit metrics) its whole visits."""
    value: int | Fraction | None
    if name in ("conversions", "unique_conversions"):
        converting = [e for e, _ in events if any(_completes(goal, e) for goal in goals)]
        if name == "conversions":
            value = len(converting)
        else:
            value = len({e["visitor_key"] for e in converting if e["visitor_key"] is not None})
    elif name == "events":
        value = len(events)
    elif name == "pageviews":
        value = sum(e["type"] == "pageview" for e, _ in events)
    elif name.startswith(EVENTS_OF_TYPE_PREFIX):
        value = sum(e["type"] == name.removeprefix(EVENTS_OF_TYPE_PREFIX) for e, _ in events)
    elif name == "visitors":
        value = len({e["visitor_key"] for e, _ in events if e["visitor_key"] is not None})
    elif name == "visits":
        value = len({visit.key for _, visit in events})
    else:
        views = [sum(e["type"] == "pageview" for e in visit.events) for visit in visits]
        viewing = sum(count > 0 for count in views)
        if name == "bounce_rate":
            value = Fraction(100 * sum(count == 1 for count in views), viewing) if viewing else None
        elif name == "views_per_visit":
            value = Fraction(sum(views), viewing) if viewing else None
        else:
            lengths = sum((visit.events[-1]["ts"] - visit.first["ts"]) // timedelta(microseconds=1) for visit in visits)
            value = Fraction(lengths, 1_000_000 * len(visits)) if visits else None
    return metric_rounded(name, value)


def funnel_oracle(
    *, timezone: tzinfo, events: list[EventRow], query: FunnelQuery, today: date, goals: tuple[GoalDefinition, ...] = ()
) -> FunnelAnswer:
    """What a funnel query answers over `events` of a property in `timezone` whose local date is
    `today`, the property's goals being `goals`."""
    events = _with_traits(events)
    first, last = query.date_range.days(today, timezone)
    funnel = query.funnel
    in_range = [e for e in events if first <= _local(e["ts"], timezone).date() <= last]
    by_visitor: defaultdict[Any, list[Matching]] = defaultdict(list)
    for visit in _visits(in_range, timezone):
        for e in visit.events:
            if e["visitor_key"] is not None and all(_holds(f, e, visit, goals) for f in query.filters):
                by_visitor[e["visitor_key"]].append((e, visit))

    def group(e: EventRow, visit: _Visit) -> str:
        return _value(query.dimension, e, visit) if query.dimension is not None else ""

    def chains(visitor_events: list[Matching], chain: list[Matching]) -> Iterator[list[Matching]]:
        """Every chain that extends `chain` (itself included, when it has a step)."""
        if chain:
            yield chain
        if len(chain) == len(funnel.steps):
            return
        for e, visit in visitor_events:
            if not _completes_step(funnel.steps[len(chain)], e, goals):
                continue
            if chain:
                start, previous = chain[0], chain[-1]
                if e["ts"] <= previous[0]["ts"]:
                    continue
                if funnel.window_days is None and visit.key != start[1].key:
                    continue
                if funnel.window_days is not None and e["ts"] - start[0]["ts"] > timedelta(days=funnel.window_days):
                    continue
            yield from chains(visitor_events, [*chain, (e, visit)])

    chosen: list[tuple[list[int], str]] = []
    for visitor_events in by_visitor.values():
        tried = [([_microseconds(e["ts"]) for e, _ in chain], group(*chain[0])) for chain in chains(visitor_events, [])]
        if tried:
            chosen.append(min(tried, key=lambda tried_chain: (-len(tried_chain[0]), tried_chain[0], tried_chain[1])))
    breakdown = None
    if query.dimension is not None:
        groups = sorted({name for _, name in chosen}, key=lambda name: (-sum(g == name for _, g in chosen), name))
        breakdown = [
            {"dimension": name or None, "steps": _funnel_steps(funnel.steps, [t for t, g in chosen if g == name])}
            for name in groups[: query.limit]
        ]
    return FunnelAnswer(_funnel_steps(funnel.steps, [times for times, _ in chosen]), breakdown, first, last)


def _completes_step(step: FunnelStep, event: EventRow, goals: tuple[GoalDefinition, ...]) -> bool:
    if step.kind == PAGE_STEP:
        return event["type"] == PAGEVIEW and _path_fits(step.value, event["path"])
    if step.kind == EVENT_STEP:
        return bool(event["type"] == step.value)
    return any(goal.name == step.value and _completes(goal, event) for goal in goals)


def _microseconds(ts: datetime) -> int:
    return (ts - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _funnel_steps(steps: tuple[FunnelStep, ...], chains: list[list[int]]) -> list[dict[str, Any]]:
    """Per step: the visitors whose chain reaches it, the shares of the first and previous step's,
    who stopped before it, and the median wait from the step before."""
    counts = [sum(len(times) > n for times in chains) for n in range(len(steps))]
    rows = []
    for n, step in enumerate(steps):
        previous = counts[n - 1] if n else counts[0]
        waits = sorted(times[n] - times[n - 1] for times in chains if len(times) > n) if n else []
        middle = len(waits) // 2
        wait = Fraction(waits[middle] + waits[~middle], 2) if waits else None
        rows.append(
            {
                "step": n + 1,
                "kind": step.kind,
                "label": step.label,
                "visitors": counts[n],
                "conversion_rate": percent(counts[n], counts[0]),
                "conversion_rate_step": percent(counts[n], previous),
                "dropoff": previous - counts[n],
                "dropoff_percentage": percent(previous - counts[n], previous),
                "median_seconds_from_previous": seconds(wait) if wait is not None else None,
            }
        )
    return rows


def retention_oracle(
    *,
    timezone: tzinfo,
    events: list[EventRow],
    query: RetentionQuery,
    today: date,
    goals: tuple[GoalDefinition, ...] = (),
) -> RetentionAnswer:
    """What a retention query answers over `events` of a property in `timezone` whose local date is
    `today`, the property's goals being `goals`."""
    events = _with_traits(events)
    first, last = query.date_range.days(today, timezone)
    in_range = [e for e in events if first <= _local(e["ts"], timezone).date() <= last]
    matching = [
        e
        for visit in _visits(in_range, timezone)
        for e in visit.events
        if all(_holds(f, e, visit, goals) for f in query.filters)
    ]

    def period(e: EventRow) -> str:
        return time_bucket(query.period, _local(e["ts"], timezone))

    def identity(e: EventRow) -> str:
        if e["user_id_hash"]:
            return str(e["user_id_hash"])
        visitor: str = e["visitor_id"]
        return visitor if not visitor.startswith(COOKIELESS_PREFIX) else ""

    goal = [g for g in goals if g.name == query.goal]
    seen: defaultdict[str, set[str]] = defaultdict(set)
    did_goal: defaultdict[str, set[str]] = defaultdict(set)
    for e in matching:
        if identity(e):
            seen[identity(e)].add(period(e))
            if goal and _completes(goal[0], e):
                did_goal[identity(e)].add(period(e))
    labels = sorted({time_bucket(query.period, datetime.combine(first + timedelta(days=n), time()))
                     for n in range((last - first).days + 1)})  # fmt: skip
    cohorts = []
    for n, label in enumerate(labels):
        people = [person for person, periods in seen.items() if min(periods) == label]
        returned = did_goal if query.goal is not None else seen
        counts = [sum(later in returned[person] for person in people) for later in labels[n:]]
        cohorts.append(
            {
                "cohort": label,
                "visitors": len(people),
                "returning": [{"visitors": count, "percentage": percent(count, len(people))} for count in counts],
            }
        )
    visitors = {e["visitor_key"] for e in matching if e["visitor_key"] is not None}
    identified = {e["visitor_key"] for e in matching if e["visitor_key"] is not None and identity(e)}
    return RetentionAnswer(cohorts, len(visitors), len(identified), first, last)


def journey_oracle(
    *,
    timezone: tzinfo,
    events: list[EventRow],
    query: JourneyQuery,
    today: date,
    goals: tuple[GoalDefinition, ...] = (),
) -> JourneyAnswer:
    """What a journey query answers over `events` of a property in `timezone` whose local date is
    `today`, the property's goals being `goals`."""
    events = _with_traits(events)
    first, last = query.date_range.days(today, timezone)
    in_range = [e for e in events if first <= _local(e["ts"], timezone).date() <= last]
    journeys = []
    for visit in _visits(in_range, timezone):
        kept = [
            e
            for e in visit.events
            if all(_holds(f, e, visit, goals) for f in query.filters)
            and (e["type"] == PAGEVIEW or _completes_step(query.anchor, e, goals))
        ]
        kept.sort(key=lambda e: (e["ts"], e["path"], e["type"] == PAGEVIEW))
        anchors = [n for n, e in enumerate(kept) if _completes_step(query.anchor, e, goals)]
        if not anchors:
            continue
        anchor = kept[anchors[0]]
        around = kept[anchors[0] + 1 :] if query.direction == NEXT else kept[: anchors[0]][::-1]
        paths = [anchor["path"]] if anchor["type"] == PAGEVIEW else []
        for e in around:
            if e["type"] == PAGEVIEW and (not paths or paths[-1] != e["path"]):
                paths.append(e["path"])
        walked = paths[1:] if anchor["type"] == PAGEVIEW else paths
        walked = walked[: query.depth]
        journeys.append(tuple(walked + [EXIT if query.direction == NEXT else ENTRY] * (query.depth - len(walked))))
    taken = sorted(set(journeys), key=lambda steps: (-journeys.count(steps), steps))
    paths_taken = [{"steps": list(steps), "visits": journeys.count(steps)} for steps in taken[: query.limit]]
    links = []
    for step in range(query.depth):
        moves = [(j[step - 1] if step else query.anchor.value, j[step]) for j in journeys]
        for source, target in sorted(set(moves), key=lambda move: (-moves.count(move), move))[: query.limit]:
            links.append({"step": step + 1, "from": source, "to": target, "visits": moves.count((source, target))})
    return JourneyAnswer(len(journeys), paths_taken, links, first, last)


def visits_oracle(
    *,
    timezone: tzinfo,
    events: list[EventRow],
    query: VisitsQuery,
    today: date,
    goals: tuple[GoalDefinition, ...] = (),
) -> list[Visit]:
    """Every visit a visits query lists over `events` of a property in `timezone` whose local date is
    `today`, newest first, ignoring the query's page (`before` and `limit`)."""
    events = _with_traits(events)
    first, last = query.date_range.days(today, timezone)
    in_range = [e for e in events if first <= _local(e["ts"], timezone).date() <= last]
    listed = []
    for visit in _visits(in_range, timezone):
        if not any(all(_holds(f, e, visit, goals) for f in query.filters) for e in visit.events):
            continue
        day, session_key, number = visit.key
        attributes = {name: visit.attributes[name] for name in VISIT_ATTRIBUTE_COLUMNS}
        listed.append(
            Visit(
                day=day,
                # grains.visits_sql's key of a session's n-th visit: the session's moved n towards zero.
                key=session_key - number if session_key > 0 else session_key + number,
                started_at=visit.first["ts"],
                ended_at=max(e["ts"] for e in visit.events),
                entry_page=visit.attributes["entry_path"],
                exit_page=visit.attributes["exit_path"],
                pageviews=sum(e["type"] == PAGEVIEW for e in visit.events),
                events=len(visit.events),
                attributes=attributes,
            )
        )
    return sorted(listed, key=lambda v: (v.started_at, v.day, v.key), reverse=True)


def visit_events_oracle(*, timezone: tzinfo, events: list[EventRow], day: date, visit_key: int) -> list[EventRow]:
    """The events of the visit of `day` whose key (visits_oracle's) is `visit_key`, in order."""
    for visit in _visits([e for e in events if _local(e["ts"], timezone).date() == day], timezone):
        _, session_key, number = visit.key
        if (session_key - number if session_key > 0 else session_key + number) == visit_key:
            return visit.events
    return []
