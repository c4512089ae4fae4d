"""Migration 0005 adds Event.visit_key empty: it must mark every day with events dirty, so that no
report reads an empty key as a visit until the rollup refresh has stored the keys."""

import importlib

import pytest
from django.apps import apps

from apps.ingestion.models import DirtyDay, Event
from apps.reports.services import rollup_refresh_dirty_days
from tests.reports.test_visits import DAY, pageview, send

pytestmark = pytest.mark.django_db

migration = importlib.import_module("apps.ingestion.migrations.0005_event_visit_key")


def test_every_day_with_events_is_dirty_until_the_refresh_stores_its_visit_keys(client, tenant_a, tenant_b):
    send(client, tenant_a, [pageview("e1", 0, "https://example.com/")])
    send(client, tenant_b, [pageview("e1", 0, "https://example.com/")])
    assert rollup_refresh_dirty_days(quiet_seconds=0) == 2
    Event.objects.update(visit_key=None)  # as the column is when the migration adds it

    migration.days_mark_dirty(apps, None)

    dirty = set(DirtyDay.objects.values_list("property_id", "day"))
    assert {(p, str(d)) for p, d in dirty} == {(tenant_a.property.pk, DAY), (tenant_b.property.pk, DAY)}
    assert rollup_refresh_dirty_days(quiet_seconds=0) == 2
    assert not Event.objects.filter(visit_key=None).exists()
