from datetime import UTC, date, datetime, timedelta

import pytest

from apps.ingestion.models import DirtyDay, Event
from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.models import ROLLUPS
from apps.reports.services import retention_enforce, rollup_refresh_dirty_days
from devtools.events import validated_event

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 22)


def on(day: date) -> dict:
    return validated_event(
        ts=datetime.combine(day, datetime.min.time(), UTC).isoformat(), visitor_id="v", session_id="s"
    )


def test_events_and_rollups_older_than_the_propertys_retention_are_deleted(tenant_a, tenant_b):
    tenant_a.property.retention_days = 30
    tenant_a.property.save()
    old, kept = TODAY - timedelta(days=31), TODAY - timedelta(days=30)
    for tenant in (tenant_a, tenant_b):
        events_store(batches=[AcceptedBatch(tenant.property.pk, 0, datetime.now(UTC), [on(old), on(kept)])])
    rollup_refresh_dirty_days(quiet_seconds=0)
    events_store(batches=[AcceptedBatch(tenant_a.property.pk, 0, datetime.now(UTC), [on(old)])])  # dirty again

    assert retention_enforce(today=TODAY) == 2
    assert list(Event.objects.filter(property=tenant_a.property).values_list("day", flat=True)) == [kept]
    for rollup in ROLLUPS:
        assert not rollup.objects.filter(property=tenant_a.property, day=old).exists()
        assert rollup.objects.filter(property=tenant_a.property, day=kept).exists()
    assert not DirtyDay.objects.filter(property=tenant_a.property, day=old).exists()
    assert Event.objects.filter(property=tenant_b.property).count() == 2, "the default retention is 400 days"
