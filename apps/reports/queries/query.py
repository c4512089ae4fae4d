"""One question to the engine: a frozen, validated Query, and its parser from the JSON request shape
of docs/query.md (close to Plausible's Stats API v2)."""

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, TypedDict

from apps.reports.queries.safe_regex import UnsafePattern, safe_regex_compile, safe_regex_re2
from apps.reports.queries.vocabulary import (
    CLOCK_BUCKETS,
    GOAL,
    TIME,
    Dimension,
    dimension_lookup,
    metric_lookup,
    time_bucket,
)

IS, IS_NOT, CONTAINS, CONTAINS_NOT, MATCHES, MATCHES_NOT = (
    "is",
    "is_not",
    "contains",
    "contains_not",
    "matches",
    "matches_not",
)
OPERATORS = (IS, IS_NOT, CONTAINS, CONTAINS_NOT, MATCHES, MATCHES_NOT)
# Named date ranges, ending today in the property's timezone: "7d" is today and the six days before.
LAST_DAYS = {"day": 1, "7d": 7, "28d": 28, "30d": 30, "91d": 91}
CALENDAR_RANGES = ("month", "6mo", "12mo", "year")
COMPARE_PERIODS = ("previous_period", "year_over_year")
DEFAULT_LIMIT = 10_000
MAX_LIMIT = 10_000
MAX_VALUES = 100
MAX_VALUE_LENGTH = 1024
MAX_FILTER_DEPTH = 5
MAX_FILTERS = 50
MAX_HOURLY_DAYS = 31
MAX_MINUTE_HOURS = 24
# The times a range may name: their local days, in any timezone, lie within the days a store keeps.
TIMES = (datetime(1970, 1, 2, tzinfo=UTC), datetime(2999, 12, 30, tzinfo=UTC))
QUERY_FIELDS = ("metrics", "date_range", "dimensions", "filters", "order_by", "pagination", "include")
INCLUDE_FIELDS = ("totals", "time_labels", "compare", "imports")


class InvalidQuery(ValueError):
    """A request that is not a query; `field` names the culprit, as `filters[1][2]`."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Condition:
    """A dimension's value is (is_not: is none of) `values`, contains one, or matches one."""

    operator: str
    dimension: Dimension
    values: tuple[str, ...]


@dataclass(frozen=True)
class AllOf:
    filters: tuple["Filter", ...]


@dataclass(frozen=True)
class AnyOf:
    filters: tuple["Filter", ...]


@dataclass(frozen=True)
class Not:
    filter: "Filter"


Filter = Condition | AllOf | AnyOf | Not


@dataclass(frozen=True)
class DateRange:
    """A named range (`period`, resolved against the property's today), the days first..last, or
    the times since..until (both included, aware, in UTC); one of the three."""

    period: str | None = None
    first: date | None = None
    last: date | None = None
    since: datetime | None = None
    until: datetime | None = None

    def days(self, today: date, timezone: tzinfo) -> tuple[date, date]:
        """The first and last day of the range, for a property in `timezone` whose local date is `today`."""
        if self.since is not None and self.until is not None:
            return self.since.astimezone(timezone).date(), self.until.astimezone(timezone).date()
        if self.period is None:
            assert self.first is not None and self.last is not None
            return self.first, self.last
        if self.period in LAST_DAYS:
            return today - timedelta(days=LAST_DAYS[self.period] - 1), today
        months = {"month": 1, "6mo": 6, "12mo": 12}.get(self.period)
        if months is None:  # year
            return date(today.year, 1, 1), date(today.year, 12, 31)
        start_month = today.year * 12 + today.month - months
        first = date(start_month // 12, start_month % 12 + 1, 1)
        return first, today.replace(day=calendar.monthrange(today.year, today.month)[1])


@dataclass(frozen=True)
class Compare:
    """The period a query's range is compared with: the one just before it, the same days a year
    before, or the days of `custom`."""

    period: str | None = None
    custom: DateRange | None = None

    def days(self, first: date, last: date) -> tuple[date, date]:
        if self.custom is not None:
            assert self.custom.first is not None and self.custom.last is not None
            return self.custom.first, self.custom.last
        if self.period == "previous_period":
            length = last - first + timedelta(days=1)
            return first - length, last - length
        return _year_before(first), _year_before(last)


@dataclass(frozen=True)
class Query:
    """What to compute (metrics) for which groups (dimensions) of which events (filters, all of
    which must hold, over `date_range`), in which order and page, with what besides."""

    metrics: tuple[str, ...]
    date_range: DateRange
    dimensions: tuple[Dimension, ...] = ()
    filters: tuple[Filter, ...] = ()
    # (metric or dimension name, "asc" or "desc"); what they leave tied is ordered by the default
    # (time ascending, the first metric descending, the dimensions ascending).
    order_by: tuple[tuple[str, str], ...] = ()
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    include_totals: bool = False
    # With a time dimension: the range's every bucket, and a zero row for each bucket without one
    # when time is the only dimension.
    include_time_labels: bool = False
    compare: Compare | None = None
    # Whether the answer takes in imported daily totals where its grain allows (queries/imported.py).
    include_imports: bool = True

    @property
    def time_dimension(self) -> Dimension | None:
        return next((d for d in self.dimensions if d.scope == TIME), None)


class Row(TypedDict):
    dimensions: list[str | None]
    metrics: list[int | float]


@dataclass(frozen=True)
class Answer:
    """The rows of a query (in its order and page), its totals, the range's time buckets and the
    answer over the compared period, when asked."""

    rows: list[Row]
    first: date
    last: date
    totals: list[int | float] | None = None
    time_labels: list[str] | None = None
    comparison: "Answer | None" = None
    # Whether imported daily totals are in the numbers; where the range has some they could not join,
    # why not.
    imports_included: bool = False
    imports_warning: str | None = None


def query_parse(data: object) -> Query:
    """The Query a JSON request (already decoded) asks; raise InvalidQuery naming the bad field."""
    data = object_parse(data, QUERY_FIELDS, "a query")
    metrics = _metrics_parse(_required(data, "metrics"))
    date_range = date_range_parse(_required(data, "date_range"), "date_range")
    dimensions = _dimensions_parse(data.get("dimensions", []))
    filters = filters_parse(data.get("filters", []))
    order_by = _order_by_parse(data.get("order_by", []), {*metrics, *(d.name for d in dimensions)})
    limit, offset = _pagination_parse(data.get("pagination", {}))
    totals, time_labels, compare, imports = _include_parse(data.get("include", {}))
    time_dimension = next((d for d in dimensions if d.scope == TIME), None)
    if time_labels and time_dimension is None:
        raise InvalidQuery("time_labels needs a time dimension.", field="include.time_labels")
    if time_dimension is not None and time_dimension.column in CLOCK_BUCKETS:
        _clock_range_check(time_dimension, date_range, field=f"dimensions[{dimensions.index(time_dimension)}]")
    if compare is not None and date_range.since is not None:
        raise InvalidQuery("A range of times is compared with nothing; give days to compare.", field="include.compare")
    return Query(
        metrics=metrics,
        date_range=date_range,
        dimensions=dimensions,
        filters=filters,
        order_by=order_by,
        limit=limit,
        offset=offset,
        include_totals=totals,
        include_time_labels=time_labels,
        compare=compare,
        include_imports=imports,
    )


def _required(data: dict[str, object], name: str) -> object:
    if name not in data:
        raise InvalidQuery(f"{name} is required.", field=name)
    return data[name]


def object_parse(data: object, fields: tuple[str, ...], what: str) -> dict[str, Any]:
    """`data` as the JSON object of `what` (as "a funnel query"), holding none but `fields`."""
    if not isinstance(data, dict):
        raise InvalidQuery(f"{what[:1].upper()}{what[1:]} is a JSON object.", field="query")
    for name in data:
        if name not in fields:
            raise InvalidQuery(f"Unknown field; {what} has {', '.join(fields)}.", field=str(name))
    return data


def days_range_parse(data: dict[str, Any], whose: str) -> DateRange:
    """The required `date_range` of `whose` (as "A funnel's") query, which is of days, not times."""
    date_range = date_range_parse(_required(data, "date_range"), "date_range")
    if date_range.since is not None:
        raise InvalidQuery(f"{whose} range is of days: a named range or [first day, last day].", field="date_range")
    return date_range


def list_parse(value: object, field: str, *, min_size: int = 0, max_size: int | None = None) -> list[object]:
    if not isinstance(value, list):
        raise InvalidQuery("Must be a list.", field=field)
    if len(value) < min_size:
        raise InvalidQuery(f"Must hold at least {min_size} item{'s' * (min_size > 1)}.", field=field)
    if max_size is not None and len(value) > max_size:
        raise InvalidQuery(f"Must hold at most {max_size} items.", field=field)
    return value


def _metrics_parse(value: object) -> tuple[str, ...]:
    names: list[str] = []
    for n, name in enumerate(list_parse(value, "metrics", min_size=1, max_size=20)):
        if not isinstance(name, str) or metric_lookup(name) is None:
            raise InvalidQuery("Unknown metric (docs/query.md lists them).", field=f"metrics[{n}]")
        if name in names:
            raise InvalidQuery("A metric is named twice.", field=f"metrics[{n}]")
        names.append(name)
    return tuple(names)


def _dimensions_parse(value: object) -> tuple[Dimension, ...]:
    dimensions: list[Dimension] = []
    for n, name in enumerate(list_parse(value, "dimensions", max_size=10)):
        dimension = dimension_lookup(name) if isinstance(name, str) else None
        if dimension is None:
            raise InvalidQuery("Unknown dimension (docs/query.md lists them).", field=f"dimensions[{n}]")
        if dimension in dimensions:
            raise InvalidQuery("A dimension is named twice.", field=f"dimensions[{n}]")
        if dimension.scope == TIME and any(d.scope == TIME for d in dimensions):
            raise InvalidQuery("A query has at most one time dimension.", field=f"dimensions[{n}]")
        dimensions.append(dimension)
    return tuple(dimensions)


def _date_parse(value: object, field: str) -> date:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidQuery("A date is written YYYY-MM-DD.", field=field)


def time_parse(value: object, field: str) -> datetime:
    if isinstance(value, str):
        try:
            written = datetime.fromisoformat(value)
            moment = written.astimezone(UTC)
        except (ValueError, OverflowError):
            pass
        else:
            if written.tzinfo is None:
                raise InvalidQuery("A time needs its offset: Z or ±HH:MM.", field=field)
            if not TIMES[0] <= moment <= TIMES[1]:
                raise InvalidQuery(f"Times run from {TIMES[0].date()} to {TIMES[1].date()}.", field=field)
            return moment
    raise InvalidQuery("A time is written YYYY-MM-DDTHH:MM:SS with its offset (Z or ±HH:MM).", field=field)


def date_range_parse(value: object, field: str) -> DateRange:
    if isinstance(value, str):
        if value not in (*LAST_DAYS, *CALENDAR_RANGES):
            raise InvalidQuery(
                f"A date range is one of {', '.join((*LAST_DAYS, *CALENDAR_RANGES))}, [first day, last day]"
                " or [first time, last time].",
                field=field,
            )
        return DateRange(period=value)
    pair = list_parse(value, field, min_size=2, max_size=2)
    if isinstance(pair[0], str) and len(pair[0]) > 10:
        since, until = time_parse(pair[0], f"{field}[0]"), time_parse(pair[1], f"{field}[1]")
        if until < since:
            raise InvalidQuery("The last time comes before the first.", field=f"{field}[1]")
        return DateRange(since=since, until=until)
    first, last = _date_parse(pair[0], f"{field}[0]"), _date_parse(pair[1], f"{field}[1]")
    if last < first:
        raise InvalidQuery("The last day comes before the first.", field=f"{field}[1]")
    return DateRange(first=first, last=last)


def _clock_range_check(dimension: Dimension, date_range: DateRange, *, field: str) -> None:
    """time:hour spans at most MAX_HOURLY_DAYS days; time:minute a range of times of at most
    MAX_MINUTE_HOURS hours."""
    if dimension.column == "minute":
        if date_range.since is None or date_range.until is None:
            raise InvalidQuery("time:minute needs a date_range of times, [first time, last time].", field=field)
        if date_range.until - date_range.since > timedelta(hours=MAX_MINUTE_HOURS):
            raise InvalidQuery(f"time:minute spans at most {MAX_MINUTE_HOURS} hours.", field=field)
        return
    if date_range.since is not None and date_range.until is not None:
        longest = (date_range.until - date_range.since).days + 1
    elif date_range.period is not None:
        longest = LAST_DAYS.get(date_range.period, 31 if date_range.period == "month" else MAX_HOURLY_DAYS + 1)
    else:
        assert date_range.first is not None and date_range.last is not None
        longest = (date_range.last - date_range.first).days + 1
    if longest > MAX_HOURLY_DAYS:
        raise InvalidQuery(f"time:hour spans at most {MAX_HOURLY_DAYS} days.", field=field)


def filters_parse(value: object) -> tuple[Filter, ...]:
    counted = [0]
    return tuple(
        _filter_parse(item, f"filters[{n}]", depth=1, counted=counted)
        for n, item in enumerate(list_parse(value, "filters", max_size=MAX_FILTERS))
    )


def _filter_parse(value: object, field: str, *, depth: int, counted: list[int]) -> Filter:
    """[operator, dimension, values], ["and" | "or", [filter, …]] or ["not", filter]."""
    if depth > MAX_FILTER_DEPTH:
        raise InvalidQuery(f"Filters nest at most {MAX_FILTER_DEPTH} deep.", field=field)
    counted[0] += 1
    if counted[0] > MAX_FILTERS:
        raise InvalidQuery(f"A query has at most {MAX_FILTERS} filters.", field=field)
    items = list_parse(value, field, min_size=2, max_size=3)
    operator = items[0]
    if operator in ("and", "or"):
        if len(items) != 2:
            raise InvalidQuery(f'["{operator}", [filter, …]] has two items.', field=field)
        children = list_parse(items[1], f"{field}[1]", min_size=1, max_size=MAX_FILTERS)
        parsed = tuple(
            _filter_parse(child, f"{field}[1][{n}]", depth=depth + 1, counted=counted)
            for n, child in enumerate(children)
        )
        return AllOf(parsed) if operator == "and" else AnyOf(parsed)
    if operator == "not":
        if len(items) != 2:
            raise InvalidQuery('["not", filter] has two items.', field=field)
        return Not(_filter_parse(items[1], f"{field}[1]", depth=depth + 1, counted=counted))
    if not isinstance(operator, str) or operator not in OPERATORS:
        raise InvalidQuery(f"An operator is one of {', '.join((*OPERATORS, 'and', 'or', 'not'))}.", field=f"{field}[0]")
    if len(items) != 3:
        raise InvalidQuery(f'["{operator}", dimension, [value, …]] has three items.', field=field)
    dimension = dimension_lookup(items[1]) if isinstance(items[1], str) else None
    if dimension is None or dimension.scope == TIME:
        raise InvalidQuery("Unknown dimension to filter by (time is filtered by date_range).", field=f"{field}[1]")
    if dimension.scope == GOAL and depth > 1:
        # A conversion rate is of the visitors the other filters keep: a goal filter must stand apart.
        raise InvalidQuery("A filter on event:goal stands at the top level of filters.", field=f"{field}[1]")
    values: list[str] = []
    for n, item in enumerate(list_parse(items[2], f"{field}[2]", min_size=1, max_size=MAX_VALUES)):
        value_field = f"{field}[2][{n}]"
        if not isinstance(item, str) or len(item) > MAX_VALUE_LENGTH:
            raise InvalidQuery(f"A value is a string of at most {MAX_VALUE_LENGTH} characters.", field=value_field)
        if "\x00" in item:
            raise InvalidQuery("A value may not contain NUL.", field=value_field)
        if operator in (MATCHES, MATCHES_NOT):
            try:
                safe_regex_re2(item)
            except UnsafePattern as exc:
                raise InvalidQuery(f"Not a supported regular expression: {exc}.", field=value_field) from None
        values.append(item)
    return Condition(operator, dimension, tuple(values))


def _order_by_parse(value: object, names: set[str]) -> tuple[tuple[str, str], ...]:
    order: list[tuple[str, str]] = []
    for n, item in enumerate(list_parse(value, "order_by", max_size=20)):
        name, direction = list_parse(item, f"order_by[{n}]", min_size=2, max_size=2)
        if not isinstance(name, str) or name not in names:
            raise InvalidQuery("Orders by a metric or dimension of the query.", field=f"order_by[{n}][0]")
        if not isinstance(direction, str) or direction not in ("asc", "desc"):
            raise InvalidQuery('A direction is "asc" or "desc".', field=f"order_by[{n}][1]")
        order.append((name, direction))
    return tuple(order)


def integer_parse(value: object, field: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidQuery(f"Must be an integer from {low} to {high}.", field=field)
    return value


def _pagination_parse(value: object) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise InvalidQuery("pagination is an object with limit and offset.", field="pagination")
    for name in value:
        if name not in ("limit", "offset"):
            raise InvalidQuery("pagination has limit and offset.", field=f"pagination.{name}")
    limit = integer_parse(value.get("limit", DEFAULT_LIMIT), "pagination.limit", low=1, high=MAX_LIMIT)
    offset = integer_parse(value.get("offset", 0), "pagination.offset", low=0, high=10**9)
    return limit, offset


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidQuery("Must be true or false.", field=field)
    return value


def _include_parse(value: object) -> tuple[bool, bool, Compare | None, bool]:
    if not isinstance(value, dict):
        raise InvalidQuery(f"include is an object with {', '.join(INCLUDE_FIELDS)}.", field="include")
    for name in value:
        if name not in INCLUDE_FIELDS:
            raise InvalidQuery(f"include has {', '.join(INCLUDE_FIELDS)}.", field=f"include.{name}")
    totals = _flag(value.get("totals", False), "include.totals")
    time_labels = _flag(value.get("time_labels", False), "include.time_labels")
    imports = _flag(value.get("imports", True), "include.imports")
    compare = value.get("compare")
    if compare is None:
        return totals, time_labels, None, imports
    if isinstance(compare, str):
        if compare not in COMPARE_PERIODS:
            raise InvalidQuery(
                f"compare is one of {', '.join(COMPARE_PERIODS)} or [first, last].", field="include.compare"
            )
        return totals, time_labels, Compare(period=compare), imports
    custom = date_range_parse(compare, "include.compare")
    if custom.first is None:
        raise InvalidQuery(f"compare is one of {', '.join(COMPARE_PERIODS)} or [first, last].", field="include.compare")
    return totals, time_labels, Compare(custom=custom), imports


def _year_before(day: date) -> date:
    """The same date a year before (28 February for the 29th)."""
    if (day.month, day.day) == (2, 29):
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def time_labels(query: Query, first: date, last: date, timezone: tzinfo) -> list[str]:
    """Every time bucket of the query's range (first..last, or its times in `timezone`) for its time
    dimension, in order (none without one)."""
    if query.time_dimension is None:
        return []
    bucket = query.time_dimension.column
    since, until = query.date_range.since, query.date_range.until
    if bucket in CLOCK_BUCKETS and since is not None and until is not None:
        # Every offset in use is a whole number of quarter hours: a quarter-hour walk meets every local hour.
        step = timedelta(minutes=1 if bucket == "minute" else 15)
        moments = [since + step * n for n in range(int((until - since) / step) + 1)] + [until]
        return sorted({time_bucket(bucket, moment.astimezone(timezone)) for moment in moments})
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if bucket == "hour":
        return [f"{day.isoformat()} {hour:02d}:00:00" for day in days for hour in range(24)]
    return sorted({time_bucket(bucket, datetime.combine(day, time())) for day in days})


def rows_in_order(query: Query, rows: list[Row]) -> list[Row]:
    """`rows` in the query's order, then the default: time ascending, the first metric descending,
    the dimensions ascending (text in byte order, a blank first). Metrics compare as answered
    (rounded), so every store orders alike."""
    names = [d.name for d in query.dimensions]
    default = [(d.name, "asc") for d in query.dimensions if d.scope == TIME]
    default += [(query.metrics[0], "desc")]
    default += [(d.name, "asc") for d in query.dimensions if d.scope != TIME]

    def key(name: str) -> Callable[[Row], str | int | float]:
        if name in names:
            index = names.index(name)
            return lambda row: row["dimensions"][index] or ""
        index = query.metrics.index(name)
        return lambda row: row["metrics"][index]

    for name, direction in reversed([*query.order_by, *default]):
        rows = sorted(rows, key=key(name), reverse=direction == "desc")
    return rows


def filter_holds(filter: Filter, values_of: Callable[[Dimension], list[str]]) -> bool:
    """Whether `filter` holds for what has the values `values_of(dimension)` (README, "Definitions")."""
    if isinstance(filter, AllOf):
        return all(filter_holds(f, values_of) for f in filter.filters)
    if isinstance(filter, AnyOf):
        return any(filter_holds(f, values_of) for f in filter.filters)
    if isinstance(filter, Not):
        return not filter_holds(filter.filter, values_of)
    return condition_holds(filter, values_of(filter.dimension))


def condition_holds(condition: Condition, values: list[str]) -> bool:
    """Whether one of `values` is, contains or matches one of the condition's (negated: none does)."""
    if condition.operator in (IS, IS_NOT):
        found = any(value in condition.values for value in values)
    elif condition.operator in (CONTAINS, CONTAINS_NOT):
        found = any(wanted in value for value in values for wanted in condition.values)
    else:
        found = any(safe_regex_compile(pattern).search(value) for value in values for pattern in condition.values)
    return found if condition.operator in (IS, CONTAINS, MATCHES) else not found


def filtered_dimensions(filters: tuple[Filter, ...]) -> list[Dimension]:
    """Every dimension `filters` name, nested ones included."""
    found: list[Dimension] = []
    for f in filters:
        if isinstance(f, AllOf | AnyOf):
            found += filtered_dimensions(f.filters)
        elif isinstance(f, Not):
            found += filtered_dimensions((f.filter,))
        else:
            found.append(f.dimension)
    return found
