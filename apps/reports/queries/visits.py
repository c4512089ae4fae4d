"""Sessions one by one: the visits of a range of days that pass a query's filters, newest first, a page
at a time, and the events of one visit in order (docs/sessions.md).

A visit is the engine's everywhere (oracle.py, rules 1 to 4): a session of a local day, split where
a new campaign begins; its attributes are its first event's, its entry and exit page the paths of its
first and last pageview, its start and end the times of its first and last event. A filter keeps the
visits with a matching event (an event filter), or whole visits (a visit filter), and the visit is
listed whole: all its pageviews and events, not only the matching ones.

Visits are listed by start, then day, then key, newest first. A page ends with the position of its
last visit (a VisitCursor); the next page lists the visits after it in that order, so that a visit
stored while a client pages through is never listed twice and no other is skipped.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from apps.reports.periods import day_parse
from apps.reports.queries.query import DateRange, Filter
from apps.reports.queries.vocabulary import DIMENSIONS, VISIT, VISIT_ATTRIBUTE_COLUMNS, metric_rounded

DEFAULT_LIMIT, MAX_LIMIT = 50, 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What a store answers per visit (EventStore.visits_page), in this order: the start and end as whole
# microseconds since the epoch.
VISIT_ROW_COLUMNS = (
    "day",
    "session_key",
    *VISIT_ATTRIBUTE_COLUMNS,
    "entry_path",
    "exit_path",
    "pageviews",
    "events",
    "first_microseconds",
    "last_microseconds",
)
# A visit's attributes by the names its dimensions have (`visit:<name>`), as the API writes them.
ATTRIBUTE_NAMES = {
    dimension.name.removeprefix("visit:"): dimension.column
    for dimension in DIMENSIONS.values()
    if dimension.scope == VISIT and dimension.column in VISIT_ATTRIBUTE_COLUMNS
}
# What a visit's event shows of the stored event (ingestion's EVENT_COLUMNS).
VISIT_EVENT_FIELDS = ("ts", "type", "hostname", "path", "data")
# A visit's place in the list: its start (microseconds since the epoch), its day and key.
VisitCursor = tuple[int, date, int]


@dataclass(frozen=True)
class VisitsQuery:
    """The visits of `date_range` with an event passing `filters`, the `limit` after `before`."""

    date_range: DateRange
    filters: tuple[Filter, ...] = ()
    before: VisitCursor | None = None
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class Visit:
    day: date
    key: int
    started_at: datetime
    ended_at: datetime
    entry_page: str
    exit_page: str
    pageviews: int
    events: int
    # VISIT_ATTRIBUTE_COLUMNS' values ('' for none).
    attributes: dict[str, str] = field(hash=False)

    @property
    def id(self) -> str:
        """The visit's identifier in URLs: its local day and key (visit_id_parse reads it)."""
        return f"{self.day.isoformat()}.{self.key}"

    @property
    def cursor(self) -> VisitCursor:
        return (self.started_at - EPOCH) // timedelta(microseconds=1), self.day, self.key

    @property
    def duration(self) -> int:
        """From its first event to its last, in whole seconds (as visit_duration is rounded)."""
        return int(metric_rounded("visit_duration", (self.ended_at - self.started_at).total_seconds()))


@dataclass(frozen=True)
class VisitsAnswer:
    visits: list[Visit]
    # Whether visits follow the last of these (the next page's cursor is its).
    more: bool
    first: date
    last: date

    @property
    def next_cursor(self) -> VisitCursor | None:
        return self.visits[-1].cursor if self.more else None


@dataclass(frozen=True)
class VisitDetail:
    visit: Visit
    # Its events in time and arrival order, VISIT_EVENT_FIELDS of each.
    events: list[dict[str, Any]]


def visit_of_row(row: tuple[Any, ...]) -> Visit:
    """The Visit of a store's row (VISIT_ROW_COLUMNS)."""
    values = dict(zip(VISIT_ROW_COLUMNS, row, strict=True))
    day = values["day"]
    return Visit(
        day=date.fromisoformat(day) if isinstance(day, str) else day,
        key=int(values["session_key"]),
        started_at=EPOCH + timedelta(microseconds=int(values["first_microseconds"])),
        ended_at=EPOCH + timedelta(microseconds=int(values["last_microseconds"])),
        entry_page=values["entry_path"] or "",
        exit_page=values["exit_path"] or "",
        pageviews=int(values["pageviews"]),
        events=int(values["events"]),
        attributes={column: values[column] or "" for column in VISIT_ATTRIBUTE_COLUMNS},
    )


def visit_id_parse(text: str) -> tuple[date, int] | None:
    """The day and key a visit id (Visit.id) names; None for text that is no visit id."""
    day, dot, key = text.partition(".")
    number = _int64(key)
    if not dot or number is None:
        return None
    try:
        return day_parse(day), number
    except ValueError:
        return None


def visit_cursor_text(cursor: VisitCursor) -> str:
    """A cursor as text: the start, then the visit's id."""
    started, day, key = cursor
    return f"{started}:{day.isoformat()}.{key}"


def visit_cursor_parse(text: str) -> VisitCursor | None:
    """The cursor visit_cursor_text wrote; None for text it did not write."""
    started, colon, visit_id = text.partition(":")
    at, visit = _int64(started), visit_id_parse(visit_id)
    if not colon or at is None or visit is None:
        return None
    return at, *visit


def _int64(text: str) -> int | None:
    """The signed 64-bit integer `text` writes in decimal; None for anything else."""
    digits = text.removeprefix("-")
    if not (0 < len(digits) <= 19 and digits.isascii() and digits.isdigit()):
        return None
    return int(text) if -(2**63) <= int(text) < 2**63 else None
