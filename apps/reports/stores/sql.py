"""What every store's SQL shares: SQL text with its parameters, the expressions that differ per
database (a Dialect per database; an expression that takes a parameter holds exactly one `%s`,
after the SQL expressions it is given), and the query engine's filters written with them.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from apps.ingestion.identity import COOKIELESS_PREFIX
from apps.reports.queries.query import CONTAINS, CONTAINS_NOT, IS, IS_NOT, MATCHES, AllOf, AnyOf, Condition, Filter, Not
from apps.reports.queries.safe_regex import literal_prefix
from apps.reports.queries.vocabulary import PROPS_PREFIX, USER_PROPS_PREFIX, VISIT, Dimension, user_prop_column


@dataclass
class Sql:
    """SQL text with its parameters, in the order the text holds them."""

    text: str
    params: list[Any] = field(default_factory=list)


class Dialect(ABC):
    """The expressions the engine writes per store; `column` arguments are SQL expressions."""

    # Appended to a text key the engine groups by: compared as bytes, not in a language's order.
    # Time buckets are grouped as the database's own values and written as labels in Python.
    byte_order = ""

    @abstractmethod
    def contains(self, column: str) -> str:
        """Whether the parameter occurs in `column`, case-sensitively."""

    @abstractmethod
    def matches(self, column: str) -> str:
        """Whether the parameter (a pattern of the safe subset) matches somewhere in `column`."""

    def event_column(self, column: str) -> str:
        """A column of a fact row's event."""
        return f"e.{column}"

    def visit_column(self, column: str) -> str:
        """A column of a fact row's visit (one of grains.SESSION_ROW_COLUMNS)."""
        return f"s.{column}"

    @abstractmethod
    def prop(self) -> str:
        """The top-level property named by the parameter of a fact row's event data, as text:
        strings as they are, true/false, integers in decimal; '' for anything else or none."""

    @abstractmethod
    def day(self, day: str) -> str:
        """A date column's day (a date, or text YYYY-MM-DD)."""

    @abstractmethod
    def week(self, day: str) -> str:
        """The Monday of the week of a date column (a date, or text YYYY-MM-DD)."""

    @abstractmethod
    def month(self, day: str) -> str:
        """The first day of the month of a date column (a date, or text YYYY-MM-DD)."""

    @abstractmethod
    def clock(self, ts: str, bucket: str) -> str:
        """A time's local minute or hour (`bucket`, one of CLOCK_BUCKETS) in the timezone named by
        the parameter (a local time, or its label as vocabulary.time_bucket writes it)."""

    @abstractmethod
    def microseconds_between(self, first: str, last: str) -> str:
        """The whole microseconds from time `first` to time `last`, exactly (an integer)."""

    @abstractmethod
    def starts_with(self, column: str) -> str:
        """Whether `column` begins with the parameter."""

    @abstractmethod
    def epoch_microseconds(self, ts: str) -> str:
        """The whole microseconds from the Unix epoch to time `ts`, exactly (an integer)."""


def day_read(value: date | str) -> date:
    """A day as a database answers it: a date, or its text (SQLite, chdb)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def identity_value(dialect: Dialect) -> Sql:
    """A fact row's event's lasting identity (retention.py): its user id hash, else its visitor id
    unless that is a cookieless one, else ''."""
    user, visitor = dialect.event_column("user_id_hash"), dialect.event_column("visitor_id")
    return Sql(
        f"CASE WHEN {user} <> '' THEN {user} WHEN {visitor} <> '' AND NOT ({dialect.starts_with(visitor)})"
        f" THEN {visitor} ELSE '' END",
        [COOKIELESS_PREFIX],
    )


def fact_value(dimension: Dimension, dialect: Dialect) -> Sql:
    """An event or visit dimension's value of a fact row (e: its event, s: its visit)."""
    if dimension.scope == VISIT:
        return Sql(dialect.visit_column(dimension.column))
    if dimension.name.startswith(PROPS_PREFIX):
        return Sql(dialect.prop(), [dimension.column])
    if dimension.name.startswith(USER_PROPS_PREFIX):
        return Sql(dialect.event_column(user_prop_column(dimension.column)))
    return Sql(dialect.event_column(dimension.column))


def user_prop_keys(dimensions: list[Dimension]) -> list[str]:
    """The traits (user:props:<key>) among `dimensions`, each once, which the fact rows must carry."""
    return list(dict.fromkeys(d.column for d in dimensions if d.name.startswith(USER_PROPS_PREFIX)))


def filter_sql(filters: tuple[Filter, ...], dialect: Dialect) -> tuple[str, list[Any]]:
    """What holds for a fact row (e: its event, s: its visit) that passes every one of `filters`,
    as SQL and its parameters ('' for no filter)."""
    parts = [holds(f, dialect) for f in filters]
    return " AND ".join(p.text for p in parts), [v for p in parts for v in p.params]


def marks_sql(marks: tuple[Filter, ...], dialect: Dialect) -> Sql:
    """The marks a fact row passes, as an integer: bit n for marks[n] (0 without marks)."""
    tested = [holds(mark, dialect) for mark in marks]
    if not tested:
        return Sql("0")
    return Sql(
        " + ".join(f"CASE WHEN {mark.text} THEN {1 << n} ELSE 0 END" for n, mark in enumerate(tested)),
        [p for mark in tested for p in mark.params],
    )


def holds(filter: Filter, dialect: Dialect) -> Sql:
    if isinstance(filter, AllOf | AnyOf):
        parts = [holds(f, dialect) for f in filter.filters]
        joiner = " AND " if isinstance(filter, AllOf) else " OR "
        return Sql(f"({joiner.join(p.text for p in parts)})", [v for p in parts for v in p.params])
    if isinstance(filter, Not):
        inner = holds(filter.filter, dialect)
        return Sql(f"NOT {inner.text}", inner.params)
    return _condition(filter, dialect)


def _condition(condition: Condition, dialect: Dialect) -> Sql:
    value = fact_value(condition.dimension, dialect)
    if condition.operator in (IS, IS_NOT):
        found = f"{value.text} IN ({', '.join(['%s'] * len(condition.values))})"
        params = [*value.params, *condition.values]
    elif condition.operator in (CONTAINS, CONTAINS_NOT):
        tests = [Sql(dialect.contains(value.text), [*value.params, wanted]) for wanted in condition.values]
        found = " OR ".join(t.text for t in tests)
        params = [p for t in tests for p in t.params]
    else:
        tests = [_matches(value, wanted, dialect) for wanted in condition.values]
        found = " OR ".join(t.text for t in tests)
        params = [p for t in tests for p in t.params]
    positive = condition.operator in (IS, CONTAINS, MATCHES)
    return Sql(f"({found})" if positive else f"(NOT ({found}))", params)


def _matches(value: Sql, pattern: str, dialect: Dialect) -> Sql:
    """Whether `value` matches `pattern`, its literal prefix tested first where it has one: a regular
    expression over every row of a range costs several times a prefix test (bench/dashboard)."""
    matched = Sql(dialect.matches(value.text), [*value.params, pattern])
    prefix = literal_prefix(pattern)
    if not prefix:
        return matched
    return Sql(f"({dialect.starts_with(value.text)} AND {matched.text})", [*value.params, prefix, *matched.params])
