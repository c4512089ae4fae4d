"""What every event store does (stores/__init__.py chooses one)."""

from abc import ABC, abstractmethod
from datetime import date, datetime
from typing import Protocol

from apps.properties.models import Property
from apps.reports.periods import Period
from apps.reports.queries.query import AnyOf, DateRange, Filter, Query
from apps.reports.queries.visits import VisitCursor
from apps.reports.queries.vocabulary import VISIT_ATTRIBUTE_COLUMNS, Dimension

# The event columns a raw-event query may match exactly (apps/imports/apis.EventsQueryApi).
EVENT_FILTER_COLUMNS = (
    "type",
    "path",
    "hostname",
    *VISIT_ATTRIBUTE_COLUMNS,
    "visitor_id",
    "session_id",
    "user_id_hash",
)


def marked_query(first: date, last: date, filters: tuple[Filter, ...], dimension: Dimension | None = None) -> Query:
    """The query of the raw events a store marks (EventStore.step_events, cohorts), by which a
    compiler knows what to read and join."""
    return Query(
        metrics=("events",),
        date_range=DateRange(first=first, last=last),
        dimensions=(dimension,) if dimension is not None else (),
        filters=filters,
    )


class Compiled(Protocol):
    """A query over a property's range as a store compiles it, marked by `marks` (funnel steps, a
    retention goal), which the rows it reads must be able to test."""

    def rows(self) -> list[tuple]: ...

    def step_rows(self, *, in_visits: bool) -> list[tuple]: ...

    def cohort_rows(self, period: str) -> tuple[list[tuple], int, int]: ...

    def visit_rows(self, *, before: VisitCursor | None, limit: int, visit_key: int | None) -> list[tuple]: ...


class EventStore(ABC):
    @abstractmethod
    def write(self, rows: list[dict]) -> None:
        """Insert event rows (ingestion's EVENT_COLUMNS), skipping any (property, event_id) already
        stored, so that a batch written twice counts once."""

    @abstractmethod
    def day_refresh(self, *, property_id: int, day: date) -> None:
        """Recompute the day's rollups, and the visit of each of its events, from its raw events."""

    @abstractmethod
    def days_delete_before(self, *, property_id: int, day: date) -> int:
        """Delete the property's raw events and rollups of the days before `day`; return the events deleted."""

    @abstractmethod
    def events_delete(self, *, property_id: int, event_id_prefix: str) -> set[date]:
        """Delete the property's raw events whose id begins with `event_id_prefix` (an import's);
        return the days they were of, whose rollups are then stale."""

    @abstractmethod
    def events_page(
        self,
        *,
        property: Property,
        since: datetime,
        until: datetime,
        equal: dict[str, str],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[dict]:
        """Up to `limit` of the property's raw events (EVENT_COLUMNS) of times since..until (both
        included) whose columns named in `equal` (EVENT_FILTER_COLUMNS) have those values, in time
        and then id order, after the (time, id) `after`."""

    @abstractmethod
    def subject_events(self, *, property: Property, field: str, value: str) -> list[dict]:
        """The property's raw events (EVENT_COLUMNS) whose `field` (identity.SUBJECT_FIELDS) is `value`."""

    @abstractmethod
    def subject_delete(self, *, property_id: int, field: str, value: str) -> dict[date, int]:
        """Delete the property's raw events whose `field` (identity.SUBJECT_FIELDS) is `value`; return
        how many of each day, whose rollups are then stale."""

    @abstractmethod
    def events_reday(self, *, property: Property) -> set[date]:
        """Recompute the property-local day of the property's events after a timezone change;
        return every day that had or now has events."""

    @abstractmethod
    def compiled(
        self, *, property: Property, query: Query, first: date, last: date, marks: tuple[Filter, ...] = ()
    ) -> Compiled:
        """The query over the property's days `first`..`last`, compiled for this store."""

    def rows(self, *, property: Property, query: Query, first: date, last: date) -> list[tuple]:
        """The query's groups over the days `first`..`last`, unordered and unpaged: per group its
        dimensions' values (a time bucket as a date, or a datetime for an hour) and its metrics'
        unrounded values, in the query's order."""
        return self.compiled(property=property, query=query, first=first, last=last).rows()

    def step_events(
        self,
        *,
        property: Property,
        first: date,
        last: date,
        filters: tuple[Filter, ...],
        steps: tuple[Filter, ...],
        dimension: Dimension | None,
        in_visits: bool = True,
    ) -> list[tuple]:
        """The events of the days `first`..`last` that pass `filters` and complete one of `steps`, as
        funnels.StepEvent: visitor key, the visit's day and key (0 unless `in_visits`: no visit cut
        from its session), the time in microseconds since the epoch, the steps completed (bit n:
        steps[n]), and `dimension`'s value (None without one)."""
        query = marked_query(first, last, (*filters, AnyOf(steps)), dimension)
        compiled = self.compiled(property=property, query=query, first=first, last=last, marks=steps)
        return compiled.step_rows(in_visits=in_visits)

    @abstractmethod
    def page_sequences(self, *, property: Property, first: date, last: date, containing: str | None) -> list[list[str]]:
        """Per visit of the days `first`..`last` with a pageview (of the path `containing`, if
        given), the paths of its pageviews in time order, those of one moment by path as bytes."""

    def cohorts(
        self,
        *,
        property: Property,
        first: date,
        last: date,
        filters: tuple[Filter, ...],
        goal: Filter | None,
        period: str,
    ) -> tuple[list[tuple], int, int]:
        """The lasting identities (sql.identity_value) of the events of the days `first`..`last` that
        pass `filters`, by cohort, as retention.CohortPeriod: per period (`day`, `week` or `month`, as
        time buckets are) of an identity's first such event and period of any, the identities, and
        those of them with an event passing `goal` in that period; then the distinct visitors of
        those events, and of those with an identity."""
        query = marked_query(first, last, filters)
        marks = (goal,) if goal is not None else ()
        return self.compiled(property=property, query=query, first=first, last=last, marks=marks).cohort_rows(period)

    def visits_page(
        self,
        *,
        property: Property,
        first: date,
        last: date,
        filters: tuple[Filter, ...],
        before: VisitCursor | None,
        limit: int,
        visit_key: int | None = None,
    ) -> list[tuple]:
        """Up to `limit` of the visits of the days `first`..`last` with an event that passes `filters`
        (queries/visits.py), as visits.VISIT_ROW_COLUMNS: newest first (by start, day and key, all
        descending), those after `before` in that order; with `visit_key`, only the visit of that key."""
        query = marked_query(first, last, filters)
        compiled = self.compiled(property=property, query=query, first=first, last=last)
        return compiled.visit_rows(before=before, limit=limit, visit_key=visit_key)

    @abstractmethod
    def visit_events(self, *, property: Property, day: date, visit_key: int) -> list[dict]:
        """The raw events (EVENT_COLUMNS) of the property's visit `visit_key` of `day`, in time,
        arrival and event id order."""

    @abstractmethod
    def events(self, *, property: Property, day: date | None = None) -> list[dict]:
        """The raw events of the property (ingestion's EVENT_COLUMNS, as written), of one day or of
        all, by day and event id."""

    @abstractmethod
    def events_per_day(self, *, property: Property) -> dict[date, int]:
        """How many raw events of the property each day holds (days with none left out)."""

    @abstractmethod
    def first_day(self, *, property: Property) -> date | None:
        """The day of the property's first stored event; None before its first."""

    @abstractmethod
    def event_data(
        self, *, property: Property, first: date, last: date, event_type: str, filters: tuple[Filter, ...], limit: int
    ) -> list[dict]:
        """How often each key of the `data` of the range's `event_type` events that pass `filters`
        took each value (as text: strings as they are, other JSON as PostgreSQL's jsonb writes it,
        null as None), with the distinct visitors: the `limit` most frequent pairs, then by key and value."""

    @abstractmethod
    def visitors_by_day(self, *, periods: dict[Property, Period]) -> dict[tuple[int, date | None], int]:
        """Distinct visitors of each property per day of its period, by (property pk, day), and over
        the whole period, by (property pk, None): in one round trip for any number of properties."""

    @abstractmethod
    def schema_migrate(self) -> None:
        """Create or upgrade what the store keeps outside the database's migrations."""
