"""Funnels by hand: a small history whose answers are worked out in the comments, over a visit and
over windows of days; ties, a visit cut at midnight, a retried event and a breakdown among them.
test_engine_equals_oracle.py checks the engine against the oracle for drawn histories."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.queries.engine import funnel_answer
from apps.reports.queries.funnels import funnel_query_parse
from apps.reports.queries.query import InvalidQuery
from devtools.events import validated_event

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 3, 1, tzinfo=UTC)
STEPS = [{"kind": "page", "value": "/"}, {"kind": "page", "value": "/pricing"}, {"kind": "event", "value": "signup"}]
RANGE = ["2026-03-01", "2026-03-03"]


def at(days: int = 0, hours: int = 10, minutes: int = 0) -> str:
    return (DAY + timedelta(days=days, hours=hours, minutes=minutes)).isoformat()


@pytest.fixture
def history(tenant_a):
    signup = validated_event(ts=at(minutes=3), type="signup", visitor_id="v1", session_id="s")
    events = [
        # v1: all three steps in one visit, a minute and then two apart (the signup retried below).
        validated_event(ts=at(), path="/", visitor_id="v1", session_id="s", data={"plan": "pro"}),
        validated_event(ts=at(minutes=1), path="/pricing", visitor_id="v1", session_id="s"),
        signup,
        # v2: the three at the same moment: events of one moment do not chain.
        validated_event(ts=at(), path="/", visitor_id="v2", session_id="s"),
        validated_event(ts=at(), path="/pricing", visitor_id="v2", session_id="s"),
        validated_event(ts=at(), type="signup", visitor_id="v2", session_id="s"),
        # v3: pricing before home: the order counts.
        validated_event(ts=at(hours=9), path="/pricing", visitor_id="v3", session_id="s"),
        validated_event(ts=at(hours=9, minutes=5), path="/", visitor_id="v3", session_id="s"),
        # v4: one session across midnight, which ends a visit: two minutes apart, in two visits.
        validated_event(ts=at(hours=23, minutes=59), path="/", visitor_id="v4", session_id="s", data={"plan": "pro"}),
        validated_event(ts=at(days=1, hours=0, minutes=1), path="/pricing", visitor_id="v4", session_id="s"),
        # v5: pricing exactly two days after home.
        validated_event(ts=at(), path="/", visitor_id="v5", session_id="s"),
        validated_event(ts=at(days=2), path="/pricing", visitor_id="v5", session_id="t"),
        # No visitor id: no visitor to count.
        validated_event(ts=at(), path="/"),
    ]
    context = {"user_agent": "", "country": "GB"}
    events_store(batches=[AcceptedBatch(tenant_a.property.pk, 0, DAY, events, context)])
    events_store(batches=[AcceptedBatch(tenant_a.property.pk, 0, DAY + timedelta(hours=1), [signup], context)])
    return tenant_a.property


def answered(prop, **asked):
    return funnel_answer(property=prop, query=funnel_query_parse({"steps": STEPS, "date_range": RANGE, **asked}))


def column(steps, name):
    return [step[name] for step in steps]


def test_within_a_visit_only_v1_goes_through(history):
    steps = answered(history).steps
    assert column(steps, "visitors") == [5, 1, 1]
    assert column(steps, "conversion_rate") == [100.0, 20.0, 20.0]
    assert column(steps, "conversion_rate_step") == [100.0, 20.0, 100.0]
    assert column(steps, "dropoff") == [0, 4, 0]
    assert column(steps, "dropoff_percentage") == [0.0, 80.0, 0.0]
    assert column(steps, "median_seconds_from_previous") == [None, 60.0, 120.0]
    assert column(steps, "label") == ["/", "/pricing", "event signup"]


def test_a_window_of_a_day_joins_the_visits_across_midnight(history):
    steps = answered(history, window_days=1).steps
    # v1 (60 s) and v4 (120 s across midnight); v5's two days are beyond the window.
    assert column(steps, "visitors") == [5, 2, 1]
    assert column(steps, "median_seconds_from_previous") == [None, 90.0, 120.0]


def test_a_window_holds_its_last_moment(history):
    steps = answered(history, window_days=2).steps
    assert column(steps, "visitors") == [5, 3, 1]
    assert column(steps, "median_seconds_from_previous") == [None, 120.0, 120.0]


def test_a_breakdown_puts_each_visitor_in_the_group_of_their_first_step(history):
    breakdown = answered(history, window_days=1, dimension="event:props:plan").breakdown
    # v2, v3 and v5 without a plan; v1 and v4 on a home page view of plan pro.
    assert [group["dimension"] for group in breakdown] == [None, "pro"]
    assert column(breakdown[0]["steps"], "visitors") == [3, 0, 0]
    assert column(breakdown[1]["steps"], "visitors") == [2, 2, 1]
    assert answered(history, window_days=1, dimension="event:props:plan", limit=1).breakdown == breakdown[:1]


def test_filters_apply_as_everywhere(history):
    # Events other than v1's dropped: the others never begin.
    steps = answered(history, filters=[["is", "event:props:plan", ["pro"]]]).steps
    assert column(steps, "visitors") == [2, 0, 0]
    assert column(answered(history, date_range=["2026-03-02", "2026-03-03"]).steps, "visitors") == [0, 0, 0]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"steps": STEPS[:1]}, "steps"),
        ({"steps": [*STEPS, {"kind": "page", "value": "/"}] * 3}, "steps"),
        ({"steps": [STEPS[0], {"kind": "url", "value": "/"}]}, "steps[1].kind"),
        ({"steps": [STEPS[0], {"kind": "page", "value": "pricing"}]}, "steps[1].value"),
        ({"steps": [STEPS[0], {"kind": "page"}]}, "steps[1]"),
        ({"steps": STEPS, "window_days": 0}, "window_days"),
        ({"steps": STEPS, "window_days": 91}, "window_days"),
        ({"steps": STEPS, "dimension": "event:goal"}, "dimension"),
        ({"steps": STEPS, "dimension": "time:day"}, "dimension"),
        ({"steps": STEPS, "limit": 0}, "limit"),
        ({"steps": STEPS, "metrics": ["visitors"]}, "metrics"),
        ({"steps": STEPS, "date_range": ["2026-03-01T00:00:00Z", "2026-03-01T10:00:00Z"]}, "date_range"),
    ],
)
def test_a_bad_funnel_query_names_its_field(request_, field):
    with pytest.raises(InvalidQuery) as raised:
        funnel_query_parse({"date_range": RANGE, **request_})
    assert raised.value.field == field
