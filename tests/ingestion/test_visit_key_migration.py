"""Migration 0005 adds Event.visit_key empty, as if every event's visit were its session: it must
mark every day with events dirty, so that reports compute visits split by a campaign until the
rollup refresh has stored their keys."""

import importlib

import pytest
from django.apps import apps

from apps.ingestion.models import DirtyDay, Event
from apps.reports.services import rollup_refresh_dirty_days
from tests.reports.test_visits import DAY, pageview, send, visits_by_entry_page

pytestmark = pytest.mark.django_db

migration = importlib.import_module("apps.ingestion.migrations.0005_event_visit_key")


def test_every_day_with_events_is_dirty_until_the_refresh_stores_its_visit_keys(client, tenant_a, tenant_b):
    campaign = pageview("e2", 20, "https://example.com/offer?utm_source=news&utm_campaign=may")
    click = {**pageview("e3", 30, "https://example.com/"), "type": "click", "data": {"button": "buy"}}
    send(client, tenant_a, [pageview("e1", 0, "https://example.com/"), campaign, click])
    send(client, tenant_b, [pageview("e1", 0, "https://example.com/")])
    assert rollup_refresh_dirty_days(quiet_seconds=0) == 2
    assert visits_by_entry_page(client, tenant_a) == [{"dimensions": ["/offer"], "metrics": [1, 1]}]
    Event.objects.update(visit_key=None)  # as the column is when the migration adds it

    migration.days_mark_dirty(apps, None)

    dirty = {(property_id, str(day)) for property_id, day in DirtyDay.objects.values_list("property_id", "day")}
    assert dirty == {(tenant_a.property.pk, DAY), (tenant_b.property.pk, DAY)}
    assert visits_by_entry_page(client, tenant_a) == [{"dimensions": ["/offer"], "metrics": [1, 1]}]
    assert rollup_refresh_dirty_days(quiet_seconds=0) == 2
    assert visits_by_entry_page(client, tenant_a) == [{"dimensions": ["/offer"], "metrics": [1, 1]}]
