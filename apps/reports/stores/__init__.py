"""The event store: where every property's raw events and rollups live, and what the ingest path,
the rollup refresh, the privacy jobs and the query engine ask of it (base.EventStore). One
implementation per store, chosen by CLICKMETER_EVENT_STORE; properties, keys, accounts and the
dirty-day marks stay in the database (DATABASE_URL) whatever the store.
"""

from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.reports.stores.base import EventStore
from apps.reports.stores.clickhouse import ClickHouseStore
from apps.reports.stores.database import DatabaseStore

STORES: dict[str, type[EventStore]] = {"database": DatabaseStore, "clickhouse": ClickHouseStore}


def event_store() -> EventStore:
    """The store CLICKMETER_EVENT_STORE names."""
    return _store(settings.CLICKMETER_EVENT_STORE)


@cache
def _store(name: str) -> EventStore:
    if name not in STORES:
        raise ImproperlyConfigured(f"CLICKMETER_EVENT_STORE={name!r}: choose one of {', '.join(STORES)}.")
    return STORES[name]()
