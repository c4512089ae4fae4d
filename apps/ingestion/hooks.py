"""What the apps above this one add to ingestion, registered from their AppConfig.ready().

Apps depend one way (docs/architecture.md): ingestion turns accepted batches into event rows, but
the event store that keeps them (the database's tables, or another store) belongs to the reports
app, which hands in its write here.
"""

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

_events_write: Callable[[list[dict]], None] | None = None


def events_write_register(write: Callable[[list[dict]], None]) -> None:
    """`write(rows)`: insert event rows (storage.EVENT_COLUMNS) into the event store, skipping any
    (property, event_id) already stored."""
    global _events_write
    _events_write = write


def events_write(rows: list[dict]) -> None:
    if _events_write is None:
        raise ImproperlyConfigured("No app registered the event store's write (the reports app does, in its ready()).")
    _events_write(rows)
