"""What every event store does (stores/__init__.py chooses one)."""

from abc import ABC, abstractmethod
from datetime import date

from apps.properties.models import Property
from apps.reports.queries.query import Query


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
    def events_reday(self, *, property: Property) -> set[date]:
        """Recompute the property-local day of the property's events after a timezone change;
        return every day that had or now has events."""

    @abstractmethod
    def rows(self, *, property: Property, query: Query, first: date, last: date) -> list[tuple]:
        """The query's groups over the days `first`..`last`, unordered and unpaged: per group its
        dimensions' values (a time bucket as a date, or a datetime for an hour) and its metrics'
        unrounded values, in the query's order."""
