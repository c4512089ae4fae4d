"""Retention by hand: three weeks of people followed by a user id hash or a visitor id, and one
cookieless visitor who cannot be followed; the answers are worked out in the comments.
test_engine_equals_oracle.py checks the engine against the oracle for drawn histories."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.goals.services import goal_create
from apps.reports.queries.engine import retention_answer
from apps.reports.queries.query import InvalidQuery
from apps.reports.queries.retention import retention_query_parse
from devtools.events import validated_event

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
RANGE = ["2026-03-02", "2026-03-22"]


def on(days: int, **fields) -> dict:
    return validated_event(ts=(MONDAY + timedelta(days=days)).isoformat(), **fields)


@pytest.fixture
def history(tenant_a):
    events = [
        # u1, signed in, on a cookieless visitor id each week: weeks 1 and 2.
        on(0, user_id_hash="u1", visitor_id="h_u1monday"),
        on(8, user_id_hash="u1", visitor_id="h_u1monday"),
        # v1, a visitor id the site keeps: weeks 1 and 3, signing up in week 3.
        on(1, visitor_id="v1"),
        on(15, visitor_id="v1", type="signup"),
        # v2: week 2 alone.
        on(9, visitor_id="v2", path="/pricing"),
        # A cookieless visitor, back the next week under another daily id: nobody to follow.
        on(2, visitor_id="h_abc"),
        on(9, visitor_id="h_abd"),
    ]
    events_store(batches=[AcceptedBatch(tenant_a.property.pk, 0, MONDAY, events, {"user_agent": "", "country": "GB"})])
    goal_create(property=tenant_a.property, name="Signup", kind="event", event_type="signup")
    return tenant_a.property


def answered(prop, **asked):
    return retention_answer(property=prop, query=retention_query_parse({"date_range": RANGE, **asked}))


def triangle(answer):
    return [
        (cohort["cohort"], cohort["visitors"], [p["visitors"] for p in cohort["returning"]])
        for cohort in answer.cohorts
    ]


def test_weekly_cohorts_come_back_in_later_weeks(history):
    answer = answered(history, period="week")
    assert triangle(answer) == [("2026-03-02", 2, [2, 1, 1]), ("2026-03-09", 1, [1, 0]), ("2026-03-16", 0, [0])]
    assert [p["percentage"] for p in answer.cohorts[0]["returning"]] == [100.0, 50.0, 50.0]
    # Five visitor ids, three of them with an identity (u1's through its user id hash).
    assert (answer.visitors, answer.identified_visitors, answer.identified_share) == (5, 3, 60.0)


def test_with_a_goal_returning_means_completing_it(history):
    assert triangle(answered(history, period="week", goal="Signup"))[0] == ("2026-03-02", 2, [0, 0, 1])
    assert triangle(answered(history, period="week", goal="No such goal"))[0] == ("2026-03-02", 2, [0, 0, 0])


def test_daily_and_monthly_periods_and_filters(history):
    daily = answered(history, period="day")
    assert len(daily.cohorts) == 21
    assert triangle(daily)[0] == ("2026-03-02", 1, [1, 0, 0, 0, 0, 0, 0, 0, 1, *[0] * 12])
    assert triangle(answered(history, period="month")) == [("2026-03-01", 3, [3])]
    # Pricing views alone: v2, in week 2.
    filtered = answered(history, period="week", filters=[["is", "event:page", ["/pricing"]]])
    assert triangle(filtered) == [("2026-03-02", 0, [0, 0, 0]), ("2026-03-09", 1, [1, 0]), ("2026-03-16", 0, [0])]
    assert (filtered.visitors, filtered.identified_visitors) == (1, 1)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"period": "year"}, "period"),
        ({"goal": ""}, "goal"),
        ({"cohort": "first"}, "cohort"),
        ({"date_range": ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]}, "date_range"),
        ({"period": "day", "date_range": ["2025-01-01", "2026-03-02"]}, "date_range"),
    ],
)
def test_a_bad_retention_query_names_its_field(request_, field):
    with pytest.raises(InvalidQuery) as raised:
        retention_query_parse({"date_range": RANGE, **request_})
    assert raised.value.field == field
