"""Time buckets at their edges: Sundays belong to the week of the Monday before, months start on the
1st, and hours are the property's local hours."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.selectors import MetricsQuery
from devtools.events import validated_event
from tests.conftest import tenant_create

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"


def store(prop, *timestamps: str) -> None:
    events = [
        validated_event(ts=ts, url="https://example.com/", path="/", visitor_id="v", session_id=ts) for ts in timestamps
    ]
    batch = AcceptedBatch(0, 0, datetime(2026, 4, 1, tzinfo=UTC), events, {"user_agent": FIREFOX})
    events_store(batches=[replace(batch, property_id=prop.pk)])


def pageviews(prop, date_from: date, date_to: date, interval: str) -> dict:
    query = MetricsQuery(property=prop, date_from=date_from, date_to=date_to, metrics=("pageviews",), interval=interval)
    return {row[query.time_key]: row["pageviews"] for row in query.calculate()}


def test_a_sunday_counts_in_the_week_of_the_monday_before(tenant_a):
    store(tenant_a.property, "2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z")  # Sunday, Monday
    assert pageviews(tenant_a.property, date(2026, 2, 28), date(2026, 3, 9), "week") == {
        date(2026, 2, 23): 1,
        date(2026, 3, 2): 1,
        date(2026, 3, 9): 0,
    }


def test_months_start_on_the_first(tenant_a):
    store(tenant_a.property, "2026-01-31T23:00:00Z", "2026-02-01T00:30:00Z", "2026-03-31T12:00:00Z")
    assert pageviews(tenant_a.property, date(2026, 1, 15), date(2026, 3, 31), "month") == {
        date(2026, 1, 1): 1,
        date(2026, 2, 1): 1,
        date(2026, 3, 1): 1,
    }


def test_hours_are_the_propertys_local_hours():
    tokyo = tenant_create(timezone="Asia/Tokyo").property  # UTC+9
    store(tokyo, "2026-03-01T15:30:00Z", "2026-03-01T16:10:00Z", "2026-03-02T14:59:00Z")
    hours = pageviews(tokyo, date(2026, 3, 2), date(2026, 3, 2), "hour")
    assert len(hours) == 24 and next(iter(hours)) == "2026-03-02T00:00"
    assert {hour: count for hour, count in hours.items() if count} == {
        "2026-03-02T00:00": 1,
        "2026-03-02T01:00": 1,
        "2026-03-02T23:00": 1,
    }
