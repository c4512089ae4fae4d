"""Journeys by hand: a few visits whose paths are worked out in the comments, forwards and
backwards, from a page and from a goal. test_engine_equals_oracle.py checks the engine against the
oracle for drawn histories."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.goals.services import goal_create
from apps.reports.queries.engine import journey_answer
from apps.reports.queries.journeys import journey_query_parse
from apps.reports.queries.query import InvalidQuery
from devtools.events import validated_event

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)
RANGE = ["2026-03-02", "2026-03-02"]


def visit(visitor: str, *steps: str) -> list[dict]:
    """A visit of pageviews a minute apart (a step "event:<type>" is a custom event)."""
    return [
        validated_event(
            ts=(NOON + timedelta(minutes=n)).isoformat(),
            visitor_id=visitor,
            session_id="s",
            **({"type": step.removeprefix("event:")} if step.startswith("event:") else {"path": step}),
        )
        for n, step in enumerate(steps)
    ]


@pytest.fixture
def history(tenant_a):
    events = [
        *visit("v1", "/", "/pricing", "/signup", "event:signup"),
        *visit("v2", "/", "/", "/pricing", "/docs"),  # a reload of the home page counts once
        *visit("v3", "/blog", "/", "/docs"),
        *visit("v4", "/pricing"),  # never at home
    ]
    events_store(batches=[AcceptedBatch(tenant_a.property.pk, 0, NOON, events, {"user_agent": "", "country": "GB"})])
    goal_create(property=tenant_a.property, name="Signup", kind="event", event_type="signup")
    return tenant_a.property


def answered(prop, **asked):
    return journey_answer(property=prop, query=journey_query_parse({"date_range": RANGE, **asked}))


def test_next_pages_from_the_home_page(history):
    answer = answered(history, anchor={"kind": "page", "value": "/"}, depth=2)
    assert answer.visits == 3
    # Visits taken as often ordered by their steps.
    assert answer.paths == [
        {"steps": ["/docs", "(exit)"], "visits": 1},
        {"steps": ["/pricing", "/docs"], "visits": 1},
        {"steps": ["/pricing", "/signup"], "visits": 1},
    ]
    assert answer.links == [
        {"step": 1, "from": "/", "to": "/pricing", "visits": 2},
        {"step": 1, "from": "/", "to": "/docs", "visits": 1},
        {"step": 2, "from": "/docs", "to": "(exit)", "visits": 1},
        {"step": 2, "from": "/pricing", "to": "/docs", "visits": 1},
        {"step": 2, "from": "/pricing", "to": "/signup", "visits": 1},
    ]


def test_previous_pages_to_a_goal(history):
    answer = answered(history, anchor={"kind": "goal", "value": "Signup"}, direction="previous", depth=3, limit=1)
    assert answer.visits == 1
    assert answer.paths == [{"steps": ["/signup", "/pricing", "/"], "visits": 1}]
    entry = answered(history, anchor={"kind": "page", "value": "/pricing"}, direction="previous", depth=2)
    assert entry.paths == [
        {"steps": ["/", "(entry)"], "visits": 2},
        {"steps": ["(entry)", "(entry)"], "visits": 1},
    ]


def test_filters_apply_as_everywhere(history):
    answer = answered(
        history, anchor={"kind": "page", "value": "/"}, depth=1, filters=[["is_not", "event:page", ["/pricing"]]]
    )
    assert answer.paths == [{"steps": ["/docs"], "visits": 2}, {"steps": ["/signup"], "visits": 1}]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({}, "anchor"),
        ({"anchor": {"kind": "page", "value": "home"}}, "anchor.value"),
        ({"anchor": {"kind": "url", "value": "/"}}, "anchor.kind"),
        ({"anchor": {"kind": "page", "value": "/"}, "direction": "up"}, "direction"),
        ({"anchor": {"kind": "page", "value": "/"}, "depth": 6}, "depth"),
        ({"anchor": {"kind": "page", "value": "/"}, "limit": 0}, "limit"),
        ({"anchor": {"kind": "page", "value": "/"}, "steps": []}, "steps"),
    ],
)
def test_a_bad_journey_query_names_its_field(request_, field):
    with pytest.raises(InvalidQuery) as raised:
        journey_query_parse({"date_range": RANGE, **request_})
    assert raised.value.field == field
