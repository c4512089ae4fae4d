"""Retention in the query engine: of the people first seen in a period, how many came back in each
period after.

Counting people across days needs an identity that lasts: the cookieless visitor id is a daily
hash (it changes at midnight UTC by design), so only the ids a site sends are followed, an event's
identity being its `user_id_hash`, else its `visitor_id` unless that is the server's daily hash
(identity.COOKIELESS_PREFIX begins it). Every answer says what share of the range's visitors had one, so that a
site without one sees why its triangle is empty instead of a silent zero.

Over the query's range and filters (as everywhere), with periods of a day, a week (from Monday) or a
month in the property's timezone:

- a person's cohort is the period of their first matching event in the range;
- a cohort's `visitors` are its people; its k-th returning count is those of them with a matching
  event in the k-th period after the cohort's (k = 0: the cohort's own, every one of them), or,
  with a goal, with an event completing the goal in that period (k = 0 included);
- each count also as a share of the cohort, in percent; the periods run to the range's last.

The stores count the cohorts' people per period, and those who completed the goal
(EventStore.cohorts); the triangle is laid out here, the same for every store.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from apps.reports.queries.funnels import percent
from apps.reports.queries.query import DateRange, Filter, InvalidQuery, days_range_parse, filters_parse, object_parse
from apps.reports.queries.vocabulary import time_bucket

PERIODS = ("day", "week", "month")
QUERY_FIELDS = ("period", "date_range", "filters", "goal")
# A year of days: every named range holds at most as many periods.
MAX_PERIODS = 366


@dataclass(frozen=True)
class RetentionQuery:
    period: str
    date_range: DateRange
    filters: tuple[Filter, ...] = ()
    # The name of a goal of the property: returning means completing it.
    goal: str | None = None


@dataclass(frozen=True)
class RetentionAnswer:
    cohorts: list[dict[str, Any]]
    # The range's visitors, those of them with a lasting identity, and their share in percent.
    visitors: int
    identified_visitors: int
    first: date
    last: date

    @property
    def identified_share(self) -> float:
        return percent(self.identified_visitors, self.visitors)


def retention_query_parse(data: object) -> RetentionQuery:
    """The RetentionQuery of a JSON request; raise InvalidQuery naming the bad field."""
    data = object_parse(data, QUERY_FIELDS, "a retention query")
    period = data.get("period", "week")
    if period not in PERIODS:
        raise InvalidQuery(f"A period is one of {', '.join(PERIODS)}.", field="period")
    date_range = days_range_parse(data, "Retention's")
    first, last = date_range.first, date_range.last
    if first is not None and last is not None and len(periods_of(period, first, last)) > MAX_PERIODS:
        raise InvalidQuery(f"A range holds at most {MAX_PERIODS} periods.", field="date_range")
    goal = data.get("goal")
    if goal is not None and (not isinstance(goal, str) or not goal):
        raise InvalidQuery("goal names a goal of the property.", field="goal")
    return RetentionQuery(period, date_range, filters_parse(data.get("filters", [])), goal)


def period_of(period: str, day: date) -> str:
    """The label of the period holding a local day: the day, its week's Monday or its month's first day."""
    return time_bucket(period, datetime.combine(day, time()))


def periods_of(period: str, first: date, last: date) -> list[str]:
    """The labels of the periods from the one holding `first` to the one holding `last`."""
    labels: list[str] = []
    day = first
    while day <= last:
        label = period_of(period, day)
        if not labels or labels[-1] != label:
            labels.append(label)
        day = date.fromordinal(day.toordinal() + 1)
    return labels


# A store's cohort period: the first day of a cohort's period, of a period of it (the cohort's own or
# a later one), its people with a matching event in that period, and those with one completing the goal.
CohortPeriod = tuple[date, date, int, int]


def retention_answered(
    counted: Iterable[CohortPeriod], visitors: int, identified: int, query: RetentionQuery, first: date, last: date
) -> RetentionAnswer:
    """The answer of a retention query from its cohorts' periods and the range's visitor counts."""
    labels = periods_of(query.period, first, last)
    index = {label: n for n, label in enumerate(labels)}
    sizes = [0] * len(labels)
    # returning[c][k]: the people of cohort c back in the k-th period after theirs.
    returning = [[0] * (len(labels) - c) for c in range(len(labels))]
    for cohort_day, period_day, people, completed in counted:
        cohort, at = index[cohort_day.isoformat()], index[period_day.isoformat()]
        if at == cohort:
            sizes[cohort] = people
        returning[cohort][at - cohort] = int(completed) if query.goal is not None else people
    rows = [
        {
            "cohort": label,
            "visitors": sizes[c],
            "returning": [{"visitors": n, "percentage": percent(n, sizes[c])} for n in returning[c]],
        }
        for c, label in enumerate(labels)
    ]
    return RetentionAnswer(rows, visitors, identified, first, last)
