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


# --- session metrics, time buckets, entry and exit pages -------------------------------------------

SESSION_DAYS = 20  # spans weeks and a month boundary (2026-03-01 .. 2026-03-20 and beyond with offsets)
timed_fact = st.fixed_dictionaries(
    {
        "day": st.integers(0, SESSION_DAYS - 1),
        "minute": st.integers(0, 24 * 60 - 1),
        "type": st.sampled_from(["pageview", "pageview", "click"]),
        "path": st.sampled_from(["/", "/a", "/b"]),
        "visitor_id": st.sampled_from(["v1", "v2", "v3"]),
        "session_id": st.sampled_from(["s1", "s2", "s3", "s4", "s5"]),
        "place": st.sampled_from(list(PLACES)),
    }
)
timed_query = st.fixed_dictionaries(
    {
        "start": st.integers(0, SESSION_DAYS - 1),
        "length": st.integers(1, SESSION_DAYS),
        "shape": st.sampled_from(["session", "entry_page", "exit_page"]),
        "interval": st.sampled_from([None, "hour", "day", "week", "month"]),
        "filters": st.dictionaries(
            st.sampled_from(["type", "country", "entry_page", "exit_page"]), st.sampled_from(["pageview", "GB", "/a"])
        ),
    }
)
TIMED_METRICS = ("pageviews", "unique_visitors", "sessions", "bounce_rate", "visit_duration", "views_per_session")


def timed_ts(f: dict) -> datetime:
    return datetime.combine(FIRST_DAY + timedelta(days=f["day"]), datetime.min.time(), UTC) + timedelta(
        minutes=f["minute"]
    )


def timed_batches(facts: list[dict]) -> list[AcceptedBatch]:
    user_agent = next(iter(USER_AGENTS))
    batches = []
    for place in PLACES:
        events = [
            validated_event(
                ts=timed_ts(f).isoformat(),
                url="https://example.com" + f["path"],
                **{name: f[name] for name in ("type", "path", "visitor_id", "session_id")},
            )
            for f in facts
            if f["place"] == place
        ]
        context = {"user_agent": user_agent, **PLACES[place]}
        batches.append(AcceptedBatch(0, 0, datetime(2026, 4, 1, tzinfo=UTC), events, context))
    return batches


def bucket_of(f: dict, interval: str | None):
    day = FIRST_DAY + timedelta(days=f["day"])
    if interval == "hour":
        return f"{day.isoformat()}T{f['minute'] // 60:02d}:00"
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day if interval == "day" else None


def session_ends(facts: list[dict]) -> dict[str, tuple[tuple, tuple]]:
    """Each session's first and last pageview as (ts, path, visitor), the tie-breaks the SQL uses."""
    ends = {}
    for f in facts:
        if f["type"] != "pageview":
            continue
        point = (timed_ts(f), f["path"], f["visitor_id"])
        first, last = ends.get(f["session_id"], (point, point))
        ends[f["session_id"]] = (min(first, point), max(last, point))
    return ends


def timed_expected(facts: list[dict], q: dict, date_from: date, date_to: date) -> list[dict]:
    """The report computed directly from the generated events, in Python."""
    interval = None if q["shape"] != "session" else q["interval"]
    in_range = [
        f
        for f in facts
        if date_from <= FIRST_DAY + timedelta(days=f["day"]) <= date_to
        and all(
            {"type": f["type"], "country": PLACES[f["place"]]["country"]}[name] == value
            for name, value in q["filters"].items()
            if name in ("type", "country")
        )
    ]
    ends = session_ends(in_range)
    for name, position in (("entry_page", 0), ("exit_page", 1)):
        if name in q["filters"]:
            chosen = {s for s, points in ends.items() if points[position][1] == q["filters"][name]}
            in_range = [f for f in in_range if f["session_id"] in chosen]
    if q["shape"] != "session":
        position = 0 if q["shape"] == "entry_page" else 1
        kept = {f["session_id"] for f in in_range}
        rows = defaultdict(lambda: {"sessions": 0, "visitors": set()})
        for session, points in ends.items():
            if session in kept:
                rows[points[position][1]]["sessions"] += 1
                rows[points[position][1]]["visitors"].add(points[position][2])
        return [
            {q["shape"]: path, "sessions": row["sessions"], "unique_visitors": len(row["visitors"])}
            for path, row in rows.items()
        ]
    groups = defaultdict(lambda: {"pageviews": 0, "visitors": set(), "sessions": set()})
    sessions = defaultdict(lambda: {"buckets": [], "pageviews": 0, "times": []})
    for f in in_range:
        group = groups[bucket_of(f, interval)]
        group["pageviews"] += f["type"] == "pageview"
        group["visitors"].add(f["visitor_id"])
        group["sessions"].add(f["session_id"])
        session = sessions[f["session_id"]]
        session["buckets"].append(bucket_of(f, interval))
        session["pageviews"] += f["type"] == "pageview"
        session["times"].append(timed_ts(f))
    per_bucket = defaultdict(lambda: {"all": 0, "viewing": 0, "bounces": 0, "pageviews": 0, "duration": 0.0})
    for session in sessions.values():
        totals = per_bucket[min(session["buckets"], key=lambda b: (b is None, b))]
        totals["all"] += 1
        totals["viewing"] += session["pageviews"] > 0
        totals["bounces"] += session["pageviews"] == 1
        totals["pageviews"] += session["pageviews"]
        totals["duration"] += (max(session["times"]) - min(session["times"])).total_seconds()
    query = MetricsQuery(property=None, date_from=date_from, date_to=date_to, interval=interval)
    keys = query.buckets() if interval else [None]
    rows = []
    for key in keys:
        group, totals = groups.get(key), per_bucket.get(key)
        row = {"pageviews": 0, "unique_visitors": 0, "sessions": 0}
        if group:
            row = {
                "pageviews": group["pageviews"],
                "unique_visitors": len(group["visitors"]),
                "sessions": len(group["sessions"]),
            }
        viewing = totals["viewing"] if totals else 0
        row["bounce_rate"] = round(100.0 * totals["bounces"] / viewing, 1) if viewing else 0.0
        row["visit_duration"] = round(totals["duration"] / totals["all"]) if totals and totals["all"] else 0
        row["views_per_session"] = round(totals["pageviews"] / viewing, 2) if viewing else 0.0
        if interval:
            row[query.time_key] = key
        rows.append(row)
    return rows


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.lists(timed_fact, max_size=30),
    after=st.lists(timed_fact, max_size=10),
    rolled_up=st.sets(st.integers(0, SESSION_DAYS - 1)),
    queries=st.lists(timed_query, min_size=1, max_size=4),
)
def test_session_metrics_buckets_and_entry_exit_pages_from_rollups_equal_raw(
    tenant_a, before, after, rolled_up, queries
):
    prop = tenant_a.property
    with transaction.atomic():
        events_store(batches=[replace(batch, property_id=prop.pk) for batch in timed_batches(before)])
        for offset in sorted(rolled_up):
            rollup_refresh_day(property_id=prop.pk, day=FIRST_DAY + timedelta(days=offset))
        events_store(batches=[replace(batch, property_id=prop.pk) for batch in timed_batches(after)])
        for q in queries:
            date_from = FIRST_DAY + timedelta(days=q["start"])
            date_to = date_from + timedelta(days=q["length"] - 1)
            session_shape = q["shape"] == "session"
            result = MetricsQuery(
                property=prop,
                date_from=date_from,
                date_to=date_to,
                metrics=TIMED_METRICS if session_shape else ("sessions", "unique_visitors"),
                group_by=() if session_shape else (q["shape"],),
                interval=q["interval"] if session_shape else None,
                filters=q["filters"],
                limit=1000,
            ).calculate()
            assert canonical(result) == canonical(timed_expected(before + after, q, date_from, date_to)), q
        transaction.set_rollback(True)
