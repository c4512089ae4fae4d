"""Reports computed from rollups (plus raw events for dirty days) equal reports computed from raw events."""

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ingestion.identity import visitor_key
from apps.ingestion.models import DirtyDay
from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.models import ROLLUPS, EventRollup, SessionRollup
from apps.reports.selectors import DIMENSIONS, MetricsQuery
from apps.reports.services import rollup_refresh_day, rollup_refresh_dirty_days
from apps.reports.stores.database.grains import GRAINS
from devtools.events import validated_event

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
        # Few distinct times in a day, so that many events tie and arrival order decides.
        "minute": st.integers(0, 2),
        "received": st.integers(0, 2),
        "campaign_id": st.sampled_from(["", "cmp_1"]),
        "utm_campaign": st.sampled_from(["", "spring"]),
        "utm_source": st.sampled_from(["", "", "partner"]),
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


RECEIVED = datetime(2026, 4, 1, tzinfo=UTC)
CAMPAIGN_FIELDS = ("campaign_id", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def fact_ts(f: dict) -> datetime:
    return datetime.combine(FIRST_DAY + timedelta(days=f["day"]), datetime.min.time(), UTC) + timedelta(
        hours=12, minutes=f["minute"]
    )


def as_event(f: dict) -> dict:
    fields = {name: f[name] for name in ("type", "path", "visitor_id", "session_id") if name in f}
    fields.update({name: f[name] for name in CAMPAIGN_FIELDS if name in f})
    if "event_id" in f:
        fields["event_id"] = f["event_id"]
    return validated_event(
        ts=fact_ts(f).isoformat(), url="https://example.com" + f["path"], referrer=f.get("referrer", ""), **fields
    )


def batches_of(facts: list[dict]) -> list[AcceptedBatch]:
    """One batch per time received, place and user agent (what a request says of all its events);
    each fact learns its position in its batch, with which arrival order breaks ties."""
    batches = []
    for received in sorted({f["received"] for f in facts}):
        for place in PLACES:
            for user_agent in USER_AGENTS:
                batch = [
                    f for f in facts if (f["received"], f["place"], f["user_agent"]) == (received, place, user_agent)
                ]
                for position, f in enumerate(batch):
                    f["position"] = position
                context = {"user_agent": user_agent, **PLACES[place]}
                received_at = RECEIVED + timedelta(seconds=received)
                batches.append(AcceptedBatch(0, 0, received_at, [as_event(f) for f in batch], context))
    return batches


def buckets(date_from: date, date_to: date, interval: str) -> list:
    """Every bucket of the range as MetricsQuery keys them: local hours, days, Mondays, first days of months."""
    days = [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]
    if interval == "hour":
        return [f"{day.isoformat()}T{hour:02d}:00" for day in days for hour in range(24)]
    if interval == "week":
        return sorted({day - timedelta(days=day.weekday()) for day in days})
    if interval == "month":
        return sorted({day.replace(day=1) for day in days})
    return days


def numbered(facts: list[dict], first: int = 0) -> list[dict]:
    """The facts with event ids, numbered backwards so that their byte order is not their arrival order."""
    return [{**f, "event_id": f"ev{9999 - first - n:04d}"} for n, f in enumerate(facts)]


def in_order(f: dict, ts=fact_ts) -> tuple:
    """Time, then arrival (time received, position in the batch), then event id."""
    return ts(f), f["received"], f["position"], f["event_id"]


def with_visits(facts: list[dict], ts=fact_ts) -> list[dict]:
    """The facts, each with its `session`: its visitor's session id on its day, split where an event
    carries a campaign other than the last one its session carried; an event without a session id
    is a session of its own."""
    sessions = defaultdict(list)
    for f in facts:
        base = (f["visitor_id"], f["session_id"], f["day"]) if f["session_id"] else ("own", f["event_id"])
        sessions[base].append(f)
    visited = []
    for base, events in sessions.items():
        visit, last_campaign = 0, ("",) * len(CAMPAIGN_FIELDS)
        for n, f in enumerate(sorted(events, key=lambda f: in_order(f, ts))):
            campaign = tuple(f.get(name, "") for name in CAMPAIGN_FIELDS)
            if any(campaign):
                visit += n > 0 and campaign != last_campaign
                last_campaign = campaign
            visited.append({**f, "session": (*base, visit)})
    return visited


def first_events(facts: list[dict], ts=fact_ts) -> dict[tuple, dict]:
    """Each session's first event, in time and arrival order."""
    firsts = {}
    for f in facts:
        session = f["session"]
        if session not in firsts or in_order(f, ts) < in_order(firsts[session], ts):
            firsts[session] = f
    return firsts


def dimension_values(f: dict, first: dict) -> dict:
    """The event's own dimensions, and its session's (those of the session's `first` event)."""
    return {
        "date": FIRST_DAY + timedelta(days=f["day"]),
        "type": f["type"],
        "path": f["path"],
        "campaign_id": first["campaign_id"] or first["utm_campaign"],
        **REFERRERS[first["referrer"]],
        # A utm_source without a known referrer names the source of a referral.
        **(
            {"source": first["utm_source"], "channel": "referral"}
            if not first["referrer"] and first["utm_source"]
            else {}
        ),
        **PLACES[first["place"]],
        **USER_AGENTS[first["user_agent"]],
    }


def expected(facts: list[dict], q: dict) -> list[dict]:
    """The report computed directly from the generated events, in Python."""
    date_from = FIRST_DAY + timedelta(days=q["start"])
    date_to = date_from + timedelta(days=q["length"] - 1)
    dims = (["date"] if q["interval"] else []) + [d for d in DIMENSIONS if d in q["group_by"]]
    groups = defaultdict(lambda: {"pageviews": 0, "events": 0, "visitors": set(), "sessions": set()})
    facts = with_visits(facts)
    firsts = first_events(facts)
    for f in facts:
        values = dimension_values(f, firsts[f["session"]])
        if not date_from <= values["date"] <= date_to or any(values[k] != v for k, v in q["filters"].items()):
            continue
        group = groups[tuple(values[d] or None for d in dims)]
        group["events"] += 1
        group["pageviews"] += f["type"] == "pageview"
        if f["visitor_id"]:
            group["visitors"].add(f["visitor_id"])
        group["sessions"].add(f["session"])
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
    before, after = numbered(before), numbered(after, first=len(before))
    with transaction.atomic():
        events_store(batches=[replace(batch, property_id=prop.pk) for batch in batches_of(before)])
        for offset in sorted(rolled_up):
            rollup_refresh_day(property_id=prop.pk, day=FIRST_DAY + timedelta(days=offset))
        # Events stored after a refresh make their days dirty again: those days must come from raw.
        events_store(batches=[replace(batch, property_id=prop.pk) for batch in batches_of(after)])
        for q in queries:
            assert canonical(calculated(prop, q)) == canonical(expected(before + after, q))
        transaction.set_rollback(True)


def test_the_database_store_refreshes_every_rollup_and_each_from_its_grain():
    # The refresh inserts the rows of GRAINS; it deletes, as erasure and retention do, those of ROLLUPS.
    assert [grain.rollup for grain in GRAINS.values()] == list(ROLLUPS)


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
            "minute": 0,
        }
    ]
    events_store(batches=[AcceptedBatch(prop.pk, 0, datetime.now(UTC), [as_event(f) for f in facts * 3])])
    assert rollup_refresh_day(property_id=prop.pk, day=FIRST_DAY)
    assert not DirtyDay.objects.filter(property=prop).exists()
    assert list(EventRollup.objects.values_list("path", "visitor_key", "events")) == [("/", visitor_key("v1"), 3)]
    assert list(SessionRollup.objects.values_list("entry_path", "pageviews", "events")) == [("/", 3, 3)]
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
        "minute": 0,
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
    for received, place in enumerate(PLACES):
        batch = [f for f in facts if f["place"] == place]
        for position, f in enumerate(batch):
            f.update(received=received, position=position)
        events = [
            validated_event(
                ts=timed_ts(f).isoformat(),
                url="https://example.com" + f["path"],
                **{name: f[name] for name in ("type", "path", "visitor_id", "session_id", "event_id")},
            )
            for f in batch
        ]
        context = {"user_agent": user_agent, **PLACES[place]}
        batches.append(AcceptedBatch(0, 0, RECEIVED + timedelta(seconds=received), events, context))
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


def timed_expected(facts: list[dict], q: dict, date_from: date, date_to: date) -> list[dict]:
    """The report computed directly from the generated events, in Python."""
    interval = None if q["shape"] != "session" else q["interval"]
    in_range = with_visits([f for f in facts if date_from <= FIRST_DAY + timedelta(days=f["day"]) <= date_to])
    sessions = defaultdict(list)
    for f in in_range:
        sessions[f["session"]].append(f)
    firsts = first_events(in_range, ts=timed_ts)
    pageviews = [f for f in in_range if f["type"] == "pageview"]
    entries = first_events(pageviews, ts=timed_ts)
    exits = {}  # the last pageview, in time and arrival order
    for f in pageviews:
        if f["session"] not in exits or in_order(f, timed_ts) > in_order(exits[f["session"]], timed_ts):
            exits[f["session"]] = f

    def session_values(session: tuple) -> dict:
        return {
            "country": PLACES[firsts[session]["place"]]["country"],
            "entry_page": entries[session]["path"] if session in entries else "",
            "exit_page": exits[session]["path"] if session in exits else "",
        }

    def matches(f: dict) -> bool:
        values = {"type": f["type"], **session_values(f["session"])}
        return all(values[name] == value for name, value in q["filters"].items())

    matching = [f for f in in_range if matches(f)]
    kept = {f["session"] for f in matching}
    if q["shape"] != "session":
        rows = defaultdict(lambda: {"sessions": 0, "visitors": set()})
        for session in kept:
            path = session_values(session)[q["shape"]]
            if path:
                rows[path]["sessions"] += 1
                rows[path]["visitors"].add(session[0])
        return [
            {q["shape"]: path, "sessions": row["sessions"], "unique_visitors": len(row["visitors"])}
            for path, row in rows.items()
        ]
    groups = defaultdict(lambda: {"pageviews": 0, "visitors": set(), "sessions": set()})
    for f in matching:
        group = groups[bucket_of(f, interval)]
        group["pageviews"] += f["type"] == "pageview"
        group["visitors"].add(f["visitor_id"])
        group["sessions"].add(f["session"])
    per_bucket = defaultdict(lambda: {"all": 0, "viewing": 0, "bounces": 0, "pageviews": 0, "duration": 0.0})
    for session in kept:
        events = sessions[session]
        views = sum(f["type"] == "pageview" for f in events)
        totals = per_bucket[bucket_of(firsts[session], interval)]
        totals["all"] += 1
        totals["viewing"] += views > 0
        totals["bounces"] += views == 1
        totals["pageviews"] += views
        times = [timed_ts(f) for f in events]
        totals["duration"] += (max(times) - min(times)).total_seconds()
    keys = buckets(date_from, date_to, interval) if interval else [None]
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
            row["hour" if interval == "hour" else "date"] = key
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
    before, after = numbered(before), numbered(after, first=len(before))
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
