"""The engine answers what the oracle answers, exactly, for every query drawn: metrics (counts,
events of a type, visit metrics, conversions), event, visit, custom-property, goal and time
dimensions, nested filters with every operator, goal filters, order, pagination, totals, time
labels and a compared period, over the property's goals drawn too; and so do funnels, retention,
journeys and the sessions list, page by page.

Event histories go through the real storage path (events_store, some days rolled up, the others
left dirty) into the configured event store; the oracle reads the stored rows back.
test_engine_on_other_stores.py runs this module again on SQLite and on ClickHouse.
"""

import os
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from hypothesis import HealthCheck, given, target
from hypothesis import settings as examples
from hypothesis import strategies as st

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.models import Goal
from apps.reports.periods import property_today
from apps.reports.queries.engine import (
    funnel_answer,
    journey_answer,
    query_answer,
    retention_answer,
    visit_answer,
    visits_answer,
)
from apps.reports.queries.funnels import funnel_query_parse
from apps.reports.queries.goals import GoalDefinition
from apps.reports.queries.journeys import journey_query_parse
from apps.reports.queries.oracle import (
    funnel_oracle,
    journey_oracle,
    query_oracle,
    retention_oracle,
    visit_events_oracle,
    visits_oracle,
)
from apps.reports.queries.query import DateRange, InvalidQuery, filters_parse, query_parse
from apps.reports.queries.retention import retention_query_parse
from apps.reports.queries.visits import VISIT_EVENT_FIELDS, VisitsQuery
from apps.reports.services import rollup_refresh_day
from apps.reports.stores import event_store
from devtools.events import validated_event
from tests.conftest import tenant_create
from tests.factories import PropertyFactory
from tests.reports.queries.histories import DAYS, DEVICES, FIRST_DAY, TIMEZONES, batches_of, fact
from tests.reports.test_rollup_equivalence import RECEIVED, numbered

pytestmark = pytest.mark.django_db
# (database vendor, event store) this run is for: test_engine_on_other_stores.py sets other ones.
EXPECTED_STORES = tuple(os.environ.get("TEST_EXPECTED_STORES", "postgresql,database").split(","))

METRICS = [
    "visitors",
    "visits",
    "pageviews",
    "events",
    "events:signup",
    "events:click",
    "bounce_rate",
    "views_per_visit",
    "visit_duration",
    "conversions",
    "unique_conversions",
    "conversion_rate",
    "total_revenue",
    "average_revenue",
]
# Goals to draw a property's from: paths exact and with both wildcards, events with and without properties.
GOALS = [
    GoalDefinition("Home", "pageview", path_pattern="/"),
    GoalDefinition("Page a", "pageview", path_pattern="/a"),
    GoalDefinition("Any page", "pageview", path_pattern="/**"),
    GoalDefinition("One segment", "pageview", path_pattern="/*"),
    GoalDefinition("b pages", "pageview", path_pattern="/b*"),
    GoalDefinition("Signup", "event", event_type="signup"),
    GoalDefinition("Pro signup", "event", event_type="signup", properties=(("plan", "pro"),)),
    GoalDefinition("Click 2", "event", event_type="click", properties=(("plan", "2"),)),
    GoalDefinition("Signup EUR", "event", event_type="signup", currency="EUR"),
    GoalDefinition("Pro signup EUR", "event", event_type="signup", properties=(("plan", "pro"),), currency="EUR"),
    GoalDefinition("Click USD", "event", event_type="click", currency="USD"),
]
GOAL_VALUES = [*(goal.name for goal in GOALS), "page", "Nope"]
GOAL_PATTERNS = ["^Page", "signup$", "a"]
# Values to filter each dimension by: ones the events have, parts of them, other cases, blanks.
VALUES = {
    "event:name": ["pageview", "click", "view", "Click"],
    "event:page": ["/", "/a", "a", "/b"],
    "event:hostname": ["example.com", "www.", "EXAMPLE.COM"],
    "event:props:plan": ["pro", "Pro", "2", "true", "1.5", ""],
    "user:props:plan": ["pro", "Pro", "2", "true", ""],
    "visit:source": ["Google", "partner", "", "oo"],
    "visit:campaign": ["cmp_1", "spring", ""],
    "visit:channel": ["direct", "referral", "social"],
    "visit:utm_source": ["partner", ""],
    "visit:country": ["GB", "", "G"],
    "visit:device": ["mobile", "desktop"],
    "visit:browser": ["Firefox", "Chrome"],
    "visit:entry_page": ["/a", "/", ""],
    "visit:exit_page": ["/b", ""],
}
PATTERNS = ["^/a", "^$", "a|b", "^[a-z]+\\.com$", "(?:pro|2)", "o.g", "^.$"]
GROUPS = [*VALUES, "visit:city", "visit:os", "event:goal"]
TIME = ["time:day", "time:week", "time:month", "time:hour", "time:minute"]


def condition():
    dimension = st.sampled_from(sorted(VALUES))
    exact = dimension.flatmap(
        lambda d: st.tuples(
            st.sampled_from(["is", "is_not", "contains", "contains_not"]),
            st.just(d),
            st.lists(st.sampled_from(VALUES[d]), min_size=1, max_size=2),
        )
    )
    pattern = st.tuples(
        st.sampled_from(["matches", "matches_not"]),
        dimension,
        st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=2),
    )
    return st.one_of(exact, pattern).map(list)


def goal_condition():
    """A filter on goals (at the top level, where they stand)."""
    exact = st.tuples(
        st.sampled_from(["is", "is_not", "contains", "contains_not"]),
        st.just("event:goal"),
        st.lists(st.sampled_from(GOAL_VALUES), min_size=1, max_size=2),
    )
    pattern = st.tuples(
        st.sampled_from(["matches", "matches_not"]),
        st.just("event:goal"),
        st.lists(st.sampled_from(GOAL_PATTERNS), min_size=1, max_size=2),
    )
    return st.one_of(exact, pattern).map(list)


filters = st.recursive(
    condition(),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=1, max_size=3)).map(list),
        st.tuples(st.just("not"), inner).map(list),
    ),
    max_leaves=4,
)


def days_drawn(draw) -> list[str]:
    """A range of days around the history's, as a query's date_range."""
    start = draw(st.integers(-1, DAYS - 1))
    length = draw(st.integers(1, DAYS + 1 - start))
    return [
        (FIRST_DAY + timedelta(days=start)).isoformat(),
        (FIRST_DAY + timedelta(days=start + length - 1)).isoformat(),
    ]


@st.composite
def queries(draw) -> dict:
    days = days_drawn(draw)
    # Now and then visitors alone, by a time bucket at most, unfiltered: the database store reads
    # them from identity rows (compiler._visitors_alone).
    visitors_alone = draw(st.integers(0, 5)) == 0
    if visitors_alone:
        metrics, dimensions, query_filters = ["visitors"], [], []
    else:
        metrics = draw(st.lists(st.sampled_from(METRICS), min_size=1, max_size=4, unique=True))
        dimensions = draw(st.lists(st.sampled_from(GROUPS), max_size=2, unique=True))
        # Pageviews alone, as the dashboard asks: visit rows answer it (engine._pageviews_only).
        query_filters = (
            draw(st.sampled_from([[], [], [], [["is", "event:name", ["pageview"]]]]))
            + draw(st.lists(filters, max_size=2))
            + draw(st.lists(goal_condition(), max_size=1))
        )
    bucket = draw(st.sampled_from([None, None, *TIME]))
    if bucket:
        dimensions.insert(draw(st.integers(0, len(dimensions))), bucket)
    names = [*metrics, *dimensions]
    query: dict = {
        "metrics": metrics,
        "date_range": days,
        "dimensions": dimensions,
        "filters": query_filters,
        "order_by": [
            [name, draw(st.sampled_from(["asc", "desc"]))]
            for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
        ],
        "pagination": {"limit": draw(st.sampled_from([10_000, 1, 3])), "offset": draw(st.sampled_from([0, 0, 1]))},
        "include": {
            "totals": draw(st.booleans()),
            "time_labels": bool(bucket) and draw(st.booleans()),
        },
    }
    if bucket == "time:minute" or draw(st.integers(0, 4)) == 0:
        # A range of times (what the realtime view asks), up to 24 hours, starting near the events:
        # around local midnight and 11:40 in UTC and in Kolkata (UTC+05:30), often on an event's second.
        midnight = datetime.combine(date.fromisoformat(days[0]), time(), UTC)
        since = midnight + timedelta(minutes=draw(st.sampled_from([-335, -331, -330, -3, -1, 0, 1, 370, 699, 700])))
        until = since + timedelta(minutes=draw(st.sampled_from([0, 1, 2, 30, 90, 24 * 60])))
        query["date_range"] = [since.isoformat(), until.isoformat()]
    elif draw(st.booleans()):
        query["include"]["compare"] = "previous_period"
    return query


def over_drawn_histories(*, facts, asked):
    """The test run for drawn histories (`facts`) of the property in a drawn timezone, with drawn
    goals and some days rolled up, asked what `asked` draws (a list of it)."""

    def decorated(test):
        drawn = given(
            timezone=st.sampled_from(TIMEZONES),
            facts=facts,
            rolled_up=st.sets(st.integers(-1, DAYS)),
            asked=st.lists(asked, min_size=1, max_size=4),
            goals=st.lists(st.sampled_from(GOALS), max_size=4, unique=True),
        )(test)
        return examples(
            max_examples=int(os.environ.get("TEST_ORACLE_EXAMPLES", "100")),
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )(drawn)

    return decorated


@over_drawn_histories(facts=st.lists(fact, min_size=5, max_size=40), asked=queries())
def test_the_engine_answers_what_the_oracle_answers(tenant_a, timezone, facts, rolled_up, asked, goals):
    with stored_history(tenant_a, timezone, facts, rolled_up, goals) as (prop, events):
        for request in asked:
            query = query_parse(request)
            try:
                expected = query_oracle(
                    timezone=prop.tzinfo, events=events, query=query, today=property_today(prop), goals=tuple(goals)
                )
            except InvalidQuery as refused:
                # Revenue of no currency, or of several: refused alike, naming the metric.
                with pytest.raises(InvalidQuery) as raised:
                    query_answer(property=prop, query=query)
                assert raised.value.field == refused.field, request
                continue
            assert query_answer(property=prop, query=query) == expected, request


@contextmanager
def stored_history(tenant, timezone, facts, rolled_up, goals):
    """A new property of the tenant's in `timezone` with `goals`, the history of `facts` stored
    through the storage path, the days of `rolled_up` rolled up before the late ones arrive: (the
    property, its stored events); the database's part taken back afterwards. A store outside the
    database keeps its events, under an id that no later example's property has: a ClickHouse
    deletion is a mutation of ~1 s, more than the example itself."""
    assert (connection.vendor, settings.CLICKMETER_EVENT_STORE) == EXPECTED_STORES
    with transaction.atomic():
        prop = PropertyFactory(organization=tenant.property.organization, timezone=timezone)
        for goal in goals:
            Goal.unscoped.create(
                property=prop,
                name=goal.name,
                kind=goal.kind,
                path_pattern=goal.path_pattern,
                event_type=goal.event_type,
                properties=dict(goal.properties),
                currency=goal.currency,
            )
        batches = [replace(b, property_id=prop.pk) for b in batches_of(numbered(facts), prop.tzinfo)]
        # Late events: those received last, and the replays, arrive after their days were rolled up.
        late = RECEIVED + timedelta(seconds=2)
        events_store(batches=[b for b in batches if b.received_at < late])
        for offset in sorted(rolled_up):
            rollup_refresh_day(property_id=prop.pk, day=FIRST_DAY + timedelta(days=offset))
        events_store(batches=[b for b in batches if b.received_at >= late])
        yield prop, event_store().events(property=prop)
        transaction.set_rollback(True)


STEPS = [
    {"kind": "page", "value": "/"},
    {"kind": "page", "value": "/a"},
    {"kind": "page", "value": "/b"},
    {"kind": "page", "value": "/**"},
    {"kind": "event", "value": "click"},
    {"kind": "event", "value": "signup"},
    *({"kind": "goal", "value": goal.name} for goal in GOALS[::2]),
]


# Histories for funnels: visitors with a visitor id, sessions with an id, few campaigns (each new
# one splits a visit), more moments apart: chains are walked, ties, midnight and windows among them.
funnel_fact = st.tuples(
    fact,
    st.fixed_dictionaries(
        {
            "visitor_id": st.sampled_from(["v1", "v2", "v3", "v3", ""]),
            "session_id": st.sampled_from(["s1", "s1", "s2", ""]),
            "minute": st.sampled_from([-2, -1, 0, 1, 2, 3, 5, 8, 13, 700]),
            "campaign_id": st.sampled_from(["", "", "", "", "cmp_1"]),
            "utm_campaign": st.sampled_from(["", "", "", "", "spring"]),
            "utm_source": st.just(""),
        }
    ),
).map(lambda drawn: {**drawn[0], **drawn[1], **DEVICES[drawn[1]["visitor_id"]]})


@st.composite
def funnel_queries(draw) -> dict:
    return {
        "steps": draw(st.lists(st.sampled_from(STEPS), min_size=2, max_size=4)),
        "window_days": draw(st.sampled_from([None, None, 1, 2])),
        "date_range": days_drawn(draw),
        # Fewer filters than queries draw: a funnel needs several matching events of one visitor.
        "filters": draw(st.sampled_from([[], [], [["is", "event:name", ["pageview"]]]]))
        + draw(st.sampled_from([[], [], [draw(filters)]]))
        + draw(st.sampled_from([[], [], [["is_not", "event:goal", ["Nope"]]], [["is_not", "event:goal", ["Signup"]]]])),
        "dimension": draw(st.sampled_from([None, None, *(name for name in GROUPS if name != "event:goal")])),
        "limit": draw(st.sampled_from([100, 100, 1])),
    }


@over_drawn_histories(facts=st.lists(funnel_fact, min_size=15, max_size=50), asked=funnel_queries())
def test_funnels_answer_what_the_oracle_answers(tenant_a, timezone, facts, rolled_up, asked, goals):
    further = 0
    with stored_history(tenant_a, timezone, facts, rolled_up, goals) as (prop, events):
        for request in asked:
            query = funnel_query_parse(request)
            expected = funnel_oracle(
                timezone=prop.tzinfo, events=events, query=query, today=property_today(prop), goals=tuple(goals)
            )
            assert funnel_answer(property=prop, query=query) == expected, request
            further += sum(step["visitors"] for step in expected.steps[1:])
    # Towards histories whose visitors go further than a first step.
    target(further, label="visitors past the first step")


def test_every_operator_is_case_sensitive_and_blank_props_are_absent_ones(tenant_a):
    prop = tenant_a.property
    ts = datetime.combine(FIRST_DAY, time(12), UTC)
    events = [
        validated_event(ts=ts.isoformat(), path="/About", visitor_id="v1", data={"plan": "Pro"}),
        validated_event(ts=ts.isoformat(), path="/about", visitor_id="v2", data={"plan": 1.5}),
        validated_event(ts=ts.isoformat(), path="/pricing", visitor_id="v3", data={"plan": True}),
    ]
    events_store(batches=[AcceptedBatch(prop.pk, 0, ts, events, {"user_agent": "", "country": "GB"})])
    day = FIRST_DAY.isoformat()

    def pageviews(*filters: list) -> int:
        query = query_parse({"metrics": ["pageviews"], "date_range": [day, day], "filters": list(filters)})
        return int(query_answer(property=prop, query=query).rows[0]["metrics"][0])

    assert pageviews(["contains", "event:page", ["About"]]) == 1
    assert pageviews(["is", "event:page", ["/ABOUT"]]) == 0
    assert pageviews(["matches", "event:page", ["^/a"]]) == 1
    assert pageviews(["contains_not", "event:page", ["bout"]]) == 1
    assert pageviews(["is", "event:props:plan", ["Pro"]]) == 1
    assert pageviews(["is", "event:props:plan", ["pro"]]) == 0
    assert pageviews(["is", "event:props:plan", ["true"]]) == 1
    assert pageviews(["is", "event:props:plan", [""]]) == 1, "a fraction is no value"


# Histories for retention: people followed by a user id hash, by a visitor id, or not at all (a
# cookieless id, which lasts a day).
retention_fact = st.tuples(funnel_fact, st.sampled_from(["", "", "u1", "u2"])).map(
    lambda drawn: {
        **drawn[0],
        "user_id_hash": drawn[1],
        # v2 is cookieless: the server's daily hash.
        "visitor_id": {"v2": "h_2c41"}.get(drawn[0]["visitor_id"], drawn[0]["visitor_id"]),
    }
)


@st.composite
def retention_queries(draw) -> dict:
    return {
        "period": draw(st.sampled_from(["day", "week", "month"])),
        "date_range": days_drawn(draw),
        "filters": draw(st.sampled_from([[], [], [draw(filters)], [draw(goal_condition())]])),
        "goal": draw(st.sampled_from([None, None, *(goal.name for goal in GOALS[:4])])),
    }


@over_drawn_histories(facts=st.lists(retention_fact, min_size=5, max_size=40), asked=retention_queries())
def test_retention_answers_what_the_oracle_answers(tenant_a, timezone, facts, rolled_up, asked, goals):
    returning = anonymous = 0
    with stored_history(tenant_a, timezone, facts, rolled_up, goals) as (prop, events):
        for request in asked:
            query = retention_query_parse(request)
            expected = retention_oracle(
                timezone=prop.tzinfo, events=events, query=query, today=property_today(prop), goals=tuple(goals)
            )
            assert retention_answer(property=prop, query=query) == expected, request
            returning += sum(period["visitors"] for cohort in expected.cohorts for period in cohort["returning"][1:])
            anonymous += expected.visitors - expected.identified_visitors
    # Towards histories whose people come back, beside visitors who cannot be followed.
    target(returning, label="returning visitors")
    target(anonymous, label="visitors without an identity")


# Histories for journeys: two visitors of one session each, so that visits hold several pages.
journey_fact = st.tuples(funnel_fact, st.sampled_from(["v1", "v2"])).map(
    lambda drawn: {**drawn[0], "session_id": "s1", "visitor_id": drawn[1], **DEVICES[drawn[1]]}
)


@st.composite
def journey_queries(draw) -> dict:
    return {
        "anchor": draw(st.sampled_from(STEPS)),
        "direction": draw(st.sampled_from(["next", "previous"])),
        "depth": draw(st.integers(1, 3)),
        "date_range": days_drawn(draw),
        "filters": draw(st.sampled_from([[], [], [draw(filters)], [draw(goal_condition())]])),
        "limit": draw(st.sampled_from([20, 20, 2])),
    }


@st.composite
def page_journey_queries(draw) -> dict:
    """Journeys from a page or a pageview goal without filters: those read from page sequences
    (journeys_followed)."""
    pageview_goals = {goal.name for goal in GOALS if goal.kind == "pageview"}
    anchors = [s for s in STEPS if s["kind"] == "page" or (s["kind"] == "goal" and s["value"] in pageview_goals)]
    return {**draw(journey_queries()), "anchor": draw(st.sampled_from(anchors)), "filters": []}


@over_drawn_histories(
    facts=st.lists(journey_fact, min_size=5, max_size=40), asked=st.one_of(journey_queries(), page_journey_queries())
)
def test_journeys_answer_what_the_oracle_answers(tenant_a, timezone, facts, rolled_up, asked, goals):
    walked = 0
    with stored_history(tenant_a, timezone, facts, rolled_up, goals) as (prop, events):
        for request in asked:
            query = journey_query_parse(request)
            expected = journey_oracle(
                timezone=prop.tzinfo, events=events, query=query, today=property_today(prop), goals=tuple(goals)
            )
            assert journey_answer(property=prop, query=query) == expected, request
            walked += sum(step not in ("(exit)", "(entry)") for path in expected.paths for step in path["steps"])
    # Towards histories whose journeys go somewhere.
    target(walked, label="pages walked")


@st.composite
def visits_queries(draw) -> dict:
    return {
        "date_range": days_drawn(draw),
        "filters": draw(
            st.sampled_from([[], [], [draw(filters)], [draw(goal_condition())], [["is", "event:name", ["pageview"]]]])
        ),
        "limit": draw(st.sampled_from([2, 5, 1000])),
    }


@over_drawn_histories(facts=st.lists(fact, min_size=5, max_size=40), asked=visits_queries())
def test_sessions_list_what_the_oracle_lists_page_by_page(tenant_a, timezone, facts, rolled_up, asked, goals):
    listed = 0
    with stored_history(tenant_a, timezone, facts, rolled_up, goals) as (prop, events):
        for request in asked:
            first, last = (date.fromisoformat(day) for day in request["date_range"])
            query = VisitsQuery(
                DateRange(first=first, last=last), filters_parse(request["filters"]), None, request["limit"]
            )
            expected = visits_oracle(
                timezone=prop.tzinfo, events=events, query=query, today=property_today(prop), goals=tuple(goals)
            )
            found = []
            while True:
                answer = visits_answer(property=prop, query=query)
                assert len(answer.visits) <= query.limit, request
                found += answer.visits
                if answer.next_cursor is None:
                    break
                query = replace(query, before=answer.next_cursor)
            assert found == expected, request
            for visit in expected[:3]:
                detail = visit_answer(property=prop, day=visit.day, visit_key=visit.key)
                assert detail is not None and detail.visit == visit, request
                in_order = visit_events_oracle(timezone=prop.tzinfo, events=events, day=visit.day, visit_key=visit.key)
                assert detail.events == [{name: e[name] for name in VISIT_EVENT_FIELDS} for e in in_order], request
            listed += len(expected)
    # Towards histories with many visits to page through.
    target(listed, label="visits listed")


def test_a_users_traits_are_those_of_their_last_identify_and_group_their_events_before_and_after(tenant_a):
    prop = tenant_a.property
    noon = datetime.combine(FIRST_DAY, time(12), UTC)

    def at(minutes: int, **fields) -> dict:
        return validated_event(ts=(noon + timedelta(minutes=minutes)).isoformat(), **fields)

    events = [
        at(0, path="/", visitor_id="v1", user_id_hash="u1"),
        at(1, type="identify", visitor_id="v1", user_id_hash="u1", data={"plan": "free", "seats": 1}),
        at(2, path="/pricing", visitor_id="v1", user_id_hash="u1"),
        # A later identify changes one trait and leaves the others; an empty value changes none.
        at(3, type="identify", visitor_id="v1", user_id_hash="u1", data={"plan": "pro", "seats": None}),
        at(4, type="identify", visitor_id="v2", user_id_hash="u2", data={"plan": "team", "admin": True}),
        at(5, path="/docs", visitor_id="v2", user_id_hash="u2"),
        at(6, path="/", visitor_id="v3"),
        # Another property's user of the same hash gives this property's nothing.
    ]
    events_store(batches=[AcceptedBatch(prop.pk, 0, noon, events, {"user_agent": "", "country": "GB"})])
    other = tenant_create()
    events_store(
        batches=[
            AcceptedBatch(other.property.pk, 0, noon, [at(9, type="identify", user_id_hash="u2", data={"plan": "x"})])
        ]
    )
    day = FIRST_DAY.isoformat()

    def pageviews_by(dimension: str, *filters: list) -> dict:
        query = query_parse(
            {"metrics": ["pageviews"], "date_range": [day, day], "dimensions": [dimension], "filters": list(filters)}
        )
        return {row["dimensions"][0]: row["metrics"][0] for row in query_answer(property=prop, query=query).rows}

    # Grouped by the traits the users have now, whenever their events were; no trait is a blank (None).
    assert pageviews_by("user:props:plan") == {"pro": 2, "team": 1, None: 1}
    assert pageviews_by("user:props:seats") == {"1": 2, None: 2}
    assert pageviews_by("user:props:admin", ["is_not", "user:props:plan", ["pro"]]) == {"true": 1, None: 1}
    # The identify events match too (they have no page).
    by_page = {"/": 1, "/pricing": 1, "/docs": 1, None: 0}
    assert pageviews_by("event:page", ["is", "user:props:plan", ["pro", "team"]]) == by_page
