"""The demo `make run` sets up: the default dashboard range and the period it is compared with, up to
now, traffic that looks like a site's, and the same demo (plus what happened since) on a rerun."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Max, Min
from django.test import override_settings

from apps.demo.management.commands.demo_setup import DAYS, USER_AGENTS, demo_batches
from apps.ingestion.enrichment import user_agent_parse
from apps.ingestion.models import Event
from apps.properties.models import Property
from apps.reports.periods import DEFAULT_RANGE, period_named

# What each demo user agent, in order, must parse as: browser, OS, device.
EXPECTED = [
    ("Chrome", "Windows", "desktop"),
    ("Chrome", "Mac OS X", "desktop"),
    ("Safari", "Mac OS X", "desktop"),
    ("Mobile Safari", "iOS", "mobile"),
    ("Chrome Mobile", "Android", "mobile"),
    ("Edge", "Windows", "desktop"),
    ("Firefox", "Windows", "desktop"),
    ("Firefox", "Linux", "desktop"),
    ("Samsung Internet", "Android", "mobile"),
    ("Mobile Safari", "iOS", "tablet"),
]


def test_every_demo_user_agent_parses_as_the_browser_it_is():
    for (_, user_agent), expected in zip(USER_AGENTS, EXPECTED, strict=True):
        parsed = user_agent_parse(user_agent)
        assert (parsed["browser"], parsed["os"], parsed["device"]) == expected, user_agent


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo, set up once for the module's tests in a transaction rolled back after the last: each
    test's own transaction (the `db` fixture's) nests in it as a savepoint, so what one test writes
    is gone before the next."""
    var_dir = tmp_path_factory.mktemp("demo")
    with django_db_blocker.unblock(), override_settings(VAR_DIR=var_dir), transaction.atomic():
        started = datetime.now(UTC)
        call_command("demo_setup", stdout=open("/dev/null", "w"))  # noqa: SIM115
        credentials = json.loads((var_dir / "demo.json").read_text())
        yield Property.unscoped.get(public_id=credentials["property_id"]), credentials, started, var_dir
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_the_demo_covers_the_default_range_and_its_previous_period_up_to_now(demo):
    prop, _, started, _ = demo
    events = Event.objects.filter(property=prop)
    # The demo's today: the module's setup may have run before a midnight that this test runs after.
    today = started.astimezone(prop.tzinfo).date()
    first_hour = started.astimezone(prop.tzinfo).hour == 0  # today may have no visit yet
    days = {row["day"] for row in events.values("day").annotate(n=Count("id"))}
    every_day = {today - timedelta(days=n) for n in range(DAYS)}
    assert days == every_day or (first_hour and days == every_day - {today}), "every day has visits"
    assert events.aggregate(latest=Max("ts"))["latest"] <= datetime.now(UTC)

    period = period_named(DEFAULT_RANGE, today=today)
    previous = period.previous()
    assert events.aggregate(first=Min("day"))["first"] <= previous.date_from

    def pageviews(p):
        return events.filter(type="pageview", day__gte=p.date_from, day__lte=p.date_to).count()

    assert 0.5 < pageviews(period) / pageviews(previous) < 2, "compared with a period as busy as itself"


@pytest.mark.django_db
def test_the_demo_looks_like_a_sites_traffic(demo):
    prop, _, _, _ = demo
    events = Event.objects.filter(property=prop)
    assert set(events.values_list("channel", flat=True)) >= {
        "direct", "organic search", "paid search", "social", "email", "referral",
    }  # fmt: skip
    assert set(events.values_list("source", flat=True)) >= {"Google", "Bing", "DuckDuckGo", "Hacker News", "Gmail"}
    assert set(events.exclude(campaign_key="").values_list("campaign_key", flat=True)) >= {
        "cmp_brand", "monthly-update", "launch-week",
    }  # fmt: skip
    assert events.exclude(country="").values("country").distinct().count() >= 10
    assert set(events.values_list("device", flat=True)) == {"desktop", "mobile", "tablet"}
    assert {"signup", "download", "outbound"} <= set(events.values_list("type", flat=True))
    # A weekly rhythm: weekdays busier than weekends.
    by_weekday = [0] * 7
    for day, count in events.values_list("day").annotate(n=Count("id")):
        by_weekday[day.weekday()] += count
    assert min(by_weekday[:5]) > max(by_weekday[5:])


@pytest.mark.django_db
def test_demo_setup_again_reuses_the_demo_and_stores_nothing_twice(demo):
    prop, credentials, _, var_dir = demo
    before = set(Event.objects.filter(property=prop).values_list("event_id", flat=True))
    # Visits that happened between the two runs are new; the first run's are all it may keep.
    first_run_through = datetime.fromisoformat(credentials["events_through"])
    call_command("demo_setup", stdout=open("/dev/null", "w"))  # noqa: SIM115
    again = json.loads((var_dir / "demo.json").read_text())
    assert {k: again[k] for k in credentials if k != "events_through"} == {
        k: credentials[k] for k in credentials if k != "events_through"
    }
    assert Property.unscoped.filter(name=prop.name).count() == 1
    after = Event.objects.filter(property=prop)
    assert set(after.filter(ts__lte=first_run_through).values_list("event_id", flat=True)) == before
    assert after.count() == after.values("event_id").distinct().count()


def test_a_rerun_later_adds_exactly_the_visits_since():
    prop = Property(pk=1, public_id="prop_demo", timezone="Europe/Paris")
    first_run = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    later = first_run + timedelta(days=3, hours=2)

    def events(batches):
        return {event["event_id"]: event for batch in batches for event in batch.events}

    first = events(demo_batches(prop, since=None, now=first_run))
    added = events(demo_batches(prop, since=first_run, now=later))
    fresh = events(demo_batches(prop, since=None, now=later))
    assert all(first[event_id] == event for event_id, event in added.items() if event_id in first)
    new = {event_id: event for event_id, event in added.items() if event_id not in first}
    assert new and all(first_run < datetime.fromisoformat(event["ts"]) <= later for event in new.values())
    assert {**first, **new}.keys() >= fresh.keys(), "the same visits as a demo set up at the later time"
