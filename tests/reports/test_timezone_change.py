from datetime import UTC, date, datetime

import pytest

from apps.ingestion.models import DirtyDay, Event
from apps.ingestion.storage import AcceptedBatch, events_store
from apps.properties.services import property_timezone_set
from apps.reports.models import ROLLUPS
from apps.reports.selectors import report_overview
from apps.reports.services import rollup_refresh_dirty_days
from devtools.events import validated_event

pytestmark = pytest.mark.django_db


def test_changing_the_timezone_moves_events_to_their_new_local_days(tenant_a):
    prop = tenant_a.property
    late_evening = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # 2 March in Tokyo
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 1 March in both
    events = [validated_event(ts=ts.isoformat(), visitor_id="v", session_id="s") for ts in (late_evening, noon)]
    events_store(batches=[AcceptedBatch(prop.pk, 0, datetime.now(UTC), events)])
    rollup_refresh_dirty_days(quiet_seconds=0)
    assert report_overview(property=prop, date_from=date(2026, 3, 1), date_to=date(2026, 3, 1))["pageviews"] == 2

    property_timezone_set(property=prop, timezone_name="Asia/Tokyo")
    prop.refresh_from_db()
    assert prop.timezone == "Asia/Tokyo"
    assert sorted(Event.objects.values_list("day", flat=True)) == [date(2026, 3, 1), date(2026, 3, 2)]
    assert set(DirtyDay.objects.values_list("day", flat=True)) == {date(2026, 3, 1), date(2026, 3, 2)}
    for day in (date(2026, 3, 1), date(2026, 3, 2)):
        assert report_overview(property=prop, date_from=day, date_to=day)["pageviews"] == 1
    rollup_refresh_dirty_days(quiet_seconds=0)
    for rollup in ROLLUPS:
        assert set(rollup.objects.values_list("day", flat=True)) == {date(2026, 3, 1), date(2026, 3, 2)}
    for day in (date(2026, 3, 1), date(2026, 3, 2)):
        assert report_overview(property=prop, date_from=day, date_to=day)["pageviews"] == 1


def test_a_day_left_without_events_loses_its_rollup(tenant_a):
    prop = tenant_a.property
    late_evening = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    event = validated_event(ts=late_evening.isoformat(), visitor_id="v", session_id="s")
    events_store(batches=[AcceptedBatch(prop.pk, 0, datetime.now(UTC), [event])])
    rollup_refresh_dirty_days(quiet_seconds=0)
    property_timezone_set(property=prop, timezone_name="Asia/Tokyo")
    assert report_overview(property=prop, date_from=date(2026, 3, 1), date_to=date(2026, 3, 1))["pageviews"] == 0
    rollup_refresh_dirty_days(quiet_seconds=0)
    assert report_overview(property=prop, date_from=date(2026, 3, 1), date_to=date(2026, 3, 1))["pageviews"] == 0
    for rollup in ROLLUPS:
        assert list(rollup.objects.values_list("day", flat=True)) == [date(2026, 3, 2)]


def test_an_unknown_timezone_changes_nothing(tenant_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        property_timezone_set(property=tenant_a.property, timezone_name="Mars/Olympus")
    tenant_a.property.refresh_from_db()
    assert tenant_a.property.timezone == "UTC"
