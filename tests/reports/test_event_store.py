"""The event store is chosen by CLICKMETER_EVENT_STORE, and the ingest path writes through it."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.ingestion import hooks
from apps.ingestion.models import Event
from apps.reports import stores
from apps.reports.stores import event_store
from apps.reports.stores.database import DatabaseStore
from tests.reports.test_visits import pageview, send

pytestmark = pytest.mark.django_db


def test_the_default_store_is_the_database(settings):
    assert settings.CLICKMETER_EVENT_STORE == "database"
    assert isinstance(event_store(), DatabaseStore)


def test_an_unknown_store_is_refused_by_name(settings):
    settings.CLICKMETER_EVENT_STORE = "mongodb"
    with pytest.raises(ImproperlyConfigured, match="CLICKMETER_EVENT_STORE='mongodb': choose one of database"):
        event_store()


class CountingStore(DatabaseStore):
    """The database store, counting the rows written through it."""

    written: list[str] = []

    def write(self, rows: list[dict]) -> None:
        self.written.extend(row["event_id"] for row in rows)
        super().write(rows)


def test_ingested_events_are_written_through_the_chosen_store(client, tenant_a, settings, monkeypatch):
    monkeypatch.setitem(stores.STORES, "counting", CountingStore)
    settings.CLICKMETER_EVENT_STORE = "counting"
    send(client, tenant_a, [pageview("e1", 0, "https://example.com/"), pageview("e2", 1, "https://example.com/a")])
    assert CountingStore.written == ["e1", "e2"]
    assert set(Event.objects.values_list("event_id", flat=True)) == {"e1", "e2"}


def test_without_a_registered_store_ingestion_refuses_to_write(monkeypatch):
    monkeypatch.setattr(hooks, "_events_write", None)
    with pytest.raises(ImproperlyConfigured, match="the reports app does"):
        hooks.events_write([{"event_id": "e1"}])
