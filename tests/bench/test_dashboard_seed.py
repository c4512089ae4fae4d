"""The dashboard benchmark's seeding (bench/dashboard.py) stores what production would: events in their
local days, rollups of every past day, today left dirty; and the same seed gives the same events."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count

from apps.ingestion import identity
from apps.ingestion.models import DirtyDay, Event
from apps.reports.models import ROLLUPS
from apps.reports.selectors import MetricsQuery
from bench.dashboard import events_seed, rollups_build
from tests.factories import PropertyFactory

pytestmark = pytest.mark.django_db

# Paris left summer time the day before: the days are 25 and 24 hours long.
NOW = datetime(2026, 10, 26, 15, 30, tzinfo=UTC)
DAYS = 5


def seeded(seed: int = 3):
    prop = PropertyFactory(timezone="Europe/Paris")
    report = events_seed(property=prop, events=2_000, days=DAYS, seed=seed, now=NOW)
    return prop, report


def test_seed_stores_every_event_in_its_local_day_up_to_now_and_marks_the_days_dirty():
    prop, report = seeded()
    today = NOW.astimezone(prop.tzinfo).date()
    events = Event.objects.filter(property=prop)

    assert report.events == events.count() == 2_000
    assert report.pageviews + report.custom_events == 2_000
    assert {ts.astimezone(prop.tzinfo).date() == day for ts, day in events.values_list("ts", "day")} == {True}
    assert set(events.values_list("day", flat=True)) == {today - timedelta(days=n) for n in range(DAYS)}
    assert max(events.values_list("ts", flat=True)) <= NOW
    assert set(DirtyDay.objects.filter(property=prop).values_list("day", flat=True)) == set(report.events_per_day)


def test_seed_has_returning_visitors_and_custom_events_with_data():
    prop, report = seeded()
    events = Event.objects.filter(property=prop)

    assert events.exclude(type="pageview").count() == report.custom_events > 0
    assert not events.exclude(type="pageview").filter(data={}).exists()
    returning = events.values("visitor_id").annotate(sessions=Count("session_id", distinct=True))
    assert returning.filter(sessions__gt=1).count() == report.returning_visitors > 0
    for event in events[:50]:
        assert (event.visitor_key, event.session_key) == (
            identity.visitor_key(event.visitor_id),
            identity.session_key(visitor_id=event.visitor_id, session_id=event.session_id, event_id=event.event_id),
        ), "the keys are those the ingest path gives"


def test_rollups_are_built_for_every_past_day_and_today_stays_raw():
    prop, _ = seeded()
    today = NOW.astimezone(prop.tzinfo).date()
    first_day = today - timedelta(days=DAYS - 1)

    assert rollups_build(property=prop, today=today) == DAYS - 1
    assert list(DirtyDay.objects.filter(property=prop).values_list("day", flat=True)) == [today]
    for rollup in ROLLUPS:
        assert set(rollup.objects.filter(property=prop).values_list("day", flat=True)) == {
            first_day + timedelta(days=n) for n in range(DAYS - 1)
        }
    overview = MetricsQuery(property=prop, date_from=first_day, date_to=today).calculate()[0]
    events = Event.objects.filter(property=prop)
    assert overview == {
        "pageviews": events.filter(type="pageview").count(),
        "unique_visitors": events.values("visitor_id").distinct().count(),
        "sessions": events.values("session_id", "day").distinct().count(),  # sessions end at midnight
    }


def test_the_same_seed_gives_the_same_events():
    columns = ("event_id", "type", "ts", "path", "referrer", "source", "country", "browser", "data")
    first, _ = seeded(seed=5)
    second, _ = seeded(seed=5)

    assert list(Event.objects.filter(property=first).order_by("event_id").values_list(*columns)) == list(
        Event.objects.filter(property=second).order_by("event_id").values_list(*columns)
    )
