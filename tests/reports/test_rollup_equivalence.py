"""Reports computed from rollups (plus raw events for dirty days) equal reports computed from raw events."""

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ingestion.models import DirtyDay
from apps.ingestion.services import AcceptedBatch, events_store
from apps.reports.models import DailyRollup
from apps.reports.selectors import DIMENSIONS, MetricsQuery
from apps.reports.services import rollup_refresh_day, rollup_refresh_dirty_days
from tests.factories import validated_event

pytestmark = pytest.mark.django_db

FIRST_DAY = date(2026, 3, 1)
# What the store derives from each generated input, so the oracle can work without the store.
REFERRERS = {
    "": {"source": "", "channel": "direct"},
    "https://www.google.com/": {"source": "Google", "channel": "organic search"},
    "https://t.co/x": {"source": "X (Twitter)", "channel": "social"},
}
PLACES = {
    "london": {"country": "GB", "region": "GB-ENG", "city": "London"},
    "nowhere": {"country": "", "region": "", "city": ""},
}
USER_AGENTS = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0": {
        "browser": "Firefox",
        "os": "Linux",
        "device": "desktop",
    },
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1": {"browser": "Mobile Safari", "os": "iOS", "device": "mobile"},
}
GROUPABLE = ["path", "campaign_id", "type", "source", "channel", "country", "city", "browser", "device"]
DAYS = 6
METRIC_NAMES = ("pageviews", "unique_visitors", "sessions", "events")

fact = st.fixed_dictionaries(
    {
        "day": st.integers(0, DAYS - 1),
        "type": st.sampled_from(["pageview", "pageview", "click"]),
        "path": st.sampled_from(["/", "/a", "/b"]),
        "campaign_id": st.sampled_from(["", "cmp_1"]),
        "utm_campaign": st.sampled_from(["", "spring"]),
        "visitor_id": st.sampled_from(["", "v1", "v2", "v3"]),
        "session_id": st.sampled_from(["", "s1", "s2", "s3", "s4"]),
        "referrer": st.sampled_from(list(REFERRERS)),
        "place": st.sampled_from(list(PLACES)),
        "user_agent": st.sampled_from(list(USER_AGENTS)),
    }
).map(
    # The store derives a session for any event with a visitor and no session; keep the generated
    # data to what it leaves untouched, so that the oracle below needs no session logic.
    lambda f: {**f, "session_id": f["session_id"] or ("s1" if f["visitor_id"] else "")}
)
query = st.fixed_dictionaries(
    {
        "start": st.integers(0, DAYS - 1),
        "length": st.integers(1, DAYS),
        "group_by": st.lists(st.sampled_from(GROUPABLE), unique=True, max_size=2),
        "interval": st.sampled_from([None, "day"]),
        "filters": st.dictionaries(
            st.sampled_from(["type", "path", "campaign_id", "channel", "country", "browser"]),
            st.sampled_from(["pageview", "/a", "cmp_1", "spring", "social", "GB", "Firefox"]),
        ),
    }
)


def as_event(f: dict) -> dict:
    ts = datetime.combine(FIRST_DAY + timedelta(days=f["day"]), datetime.min.time(), UTC) + timedelta(hours=12)
    fields = {name: f[name] for name in ("type", "path", "campaign_id", "utm_campaign", "visitor_id", "session_id")}
    return validated_event(ts=ts.isoformat(), url="https://example.com" + f["path"], referrer=f["referrer"], **fields)


def batches_of(facts: list[dict]) -> list[AcceptedBatch]:
    """One batch per (place, user agent): they are what a request says of all its events."""
    batches = []
    for place in PLACES:
        for user_agent in USER_AGENTS:
            events = [as_event(f) for f in facts if (f["place"], f["user_agent"]) == (place, user_agent)]
            context = {"user_agent": user_agent, **PLACES[place]}
            batches.append(AcceptedBatch(0, 0, datetime(2026, 4, 1, tzinfo=UTC), events, context))
    return batches


def dimension_values(f: dict) -> dict:
    return {
        "date": FIRST_DAY + timedelta(days=f["day"]),
        "type": f["type"],
        "path": f["path"],
        "campaign_id": f["campaign_id"] or f["utm_campaign"],
        **REFERRERS[f["referrer"]],
        **PLACES[f["place"]],
        **USER_AGENTS[f["user_agent"]],
    }


def expected(facts: list[dict], q: dict) -> list[dict]:
    """The report computed directly from the generated events, in Python."""
    date_from = FIRST_DAY + timedelta(days=q["start"])
    date_to = date_from + timedelta(days=q["length"] - 1)
    dims = (["date"] if q["interval"] else []) + [d for d in DIMENSIONS if d in q["group_by"]]
    groups = defaultdict(lambda: {"pageviews": 0, "events": 0, "visitors": set(), "sessions": set()})
    for f in facts:
        values = dimension_values(f)
        if not date_from <= values["date"] <= date_to or any(values[k] != v for k, v in q["filters"].items()):
            continue
        group = groups[tuple(values[d] or None for d in dims)]
        group["events"] += 1
        group["pageviews"] += f["type"] == "pageview"
        if f["visitor_id"]:
            group["visitors"].add(f["visitor_id"])
        if f["session_id"]:
            group["sessions"].add(f["session_id"])
    rows = [
        {
            **dict(zip(dims, key, strict=True)),
            "pageviews": g["pageviews"],
            "unique_visitors": len(g["visitors"]),
            "sessions": len(g["sessions"]),
            "events": g["events"],
        }
        for key, g in groups.items()
    ]
    if dims == ["date"]:
        present = {row["date"] for row in rows}
        day = date_from
        while day <= date_to:
            if day not in present:
                rows.append({"date": day, **dict.fromkeys(METRIC_NAMES, 0)})
            day += timedelta(days=1)
    if not dims:
        rows = rows or [dict.fromkeys(METRIC_NAMES, 0)]
    return rows


def calculated(prop, q: dict) -> list[dict]:
    date_from = FIRST_DAY + timedelta(days=q["start"])
    return MetricsQuery(
        property=prop,
        date_from=date_from,
        date_to=date_from + timedelta(days=q["length"] - 1),
        metrics=METRIC_NAMES,
        group_by=tuple(q["group_by"]),
        interval=q["interval"],
        filters=q["filters"],
        limit=1000,
    ).calculate()


def canonical(rows: list[dict]) -> list[tuple]:
    return sorted((tuple(sorted(row.items(), key=lambda kv: kv[0])) for row in rows), key=repr)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.lists(fact, max_size=30),
    after=st.lists(fact, max_size=10),
    rolled_up=st.sets(st.integers(0, DAYS - 1)),
    queries=st.lists(query, min_size=1, max_size=4),
)
def test_reports_from_rollups_plus_dirty_raw_equal_reports_from_raw(tenant_a, before, after, rolled_up, queries):
    prop = tenant_a.property
    with transaction.atomic():
        events_store(batches=[replace(batch, property_id=prop.pk) for batch in batches_of(before)])
        for offset in sorted(rolled_up):
            rollup_refresh_day(property_id=prop.pk, day=FIRST_DAY + timedelta(days=offset))
        # Events stored after a refresh make their days dirty again: those days must come from raw.
        events_store(batches=[replace(batch, property_id=prop.pk) for batch in batches_of(after)])
        for q in queries:
            assert canonical(calculated(prop, q)) == canonical(expected(before + after, q))
        transaction.set_rollback(True)


def test_refresh_replaces_the_days_rollup_and_clears_its_mark(tenant_a):
    prop = tenant_a.property
    facts = [
        {
            "day": 0,
            "type": "pageview",
            "path": "/",
            "campaign_id": "",
            "utm_campaign": "",
            "visitor_id": "v1",
            "session_id": "s1",
            "referrer": "",
        }
    ]
    events_store(batches=[AcceptedBatch(prop.pk, 0, datetime.now(UTC), [as_event(f) for f in facts * 3])])
    assert rollup_refresh_day(property_id=prop.pk, day=FIRST_DAY)
    assert not DirtyDay.objects.filter(property=prop).exists()
    assert list(DailyRollup.objects.values_list("path", "visitor_id", "events")) == [("/", "v1", 3)]
    assert not rollup_refresh_day(property_id=prop.pk, day=FIRST_DAY), "a clean day needs no refresh"


def test_only_settled_days_are_refreshed(tenant_a, settings):
    prop = tenant_a.property
    fact = {
        "type": "pageview",
        "path": "/",
        "campaign_id": "",
        "utm_campaign": "",
        "visitor_id": "v",
        "session_id": "s",
        "referrer": "",
    }
    events_store(batches=[AcceptedBatch(prop.pk, 0, datetime.now(UTC), [as_event({**fact, "day": 0})])])
    settings.CLICKMETER_ROLLUP_QUIET_SECONDS = 3600
    settings.CLICKMETER_ROLLUP_MAX_STALENESS_SECONDS = 7200
    assert rollup_refresh_dirty_days() == 0, "a day still receiving events waits"
    DirtyDay.objects.update(first_marked_at=datetime.now(UTC) - timedelta(hours=3))
    assert rollup_refresh_dirty_days() == 1, "a day dirty for too long is refreshed anyway"
    events_store(batches=[AcceptedBatch(prop.pk, 0, datetime.now(UTC), [as_event({**fact, "day": 1})])])
    assert rollup_refresh_dirty_days(quiet_seconds=0) == 1
    assert not DirtyDay.objects.exists()
