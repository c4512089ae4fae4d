"""Retention through its API and its page: cohorts of people over three weeks of stored events, whose
answers are worked out in the comments; the identity notice, permissions, other tenants, and every
invalid request a 400 naming its field (the engine's equality with the oracle over drawn histories is
tests/reports/queries/)."""

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest

from apps.keys.models import ApiKey
from apps.reports.goals.services import goal_create
from apps.reports.retention import IDENTITY
from devtools.events import validated_event
from tests.conftest import jwt_for, session_client_for
from tests.reports.test_query_apis import store

pytestmark = pytest.mark.django_db

# Three weeks, Monday to Sunday: W1 from 2 March, W2 from 9 March, W3 from 16 March (the property's days are UTC's).
MONDAY = date(2026, 3, 2)
RANGE = ["2026-03-02", "2026-03-22"]


def report_ask(client, tenant, endpoint: str, body, *, key=None, raw=None):
    """POST a query to one of the property's report endpoints, with its read key unless `key` is given."""
    return client.post(
        f"/v1/properties/{tenant.property.public_id}/{endpoint}",
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key or tenant.read_key}",
    )


def seen(days: int, visitor: str, *, type="pageview", **fields) -> dict:
    """An event at noon `days` after MONDAY, in a visit of its own day."""
    ts = datetime.combine(MONDAY + timedelta(days=days), time(12), UTC)
    return validated_event(type=type, ts=ts.isoformat(), visitor_id=visitor, session_id=f"{visitor}-{days}", **fields)


@pytest.fixture
def people(tenant_a):
    store(
        tenant_a,
        [
            # u1, signed in (a user id hash) on a cookieless visitor id: W1, W2 and W3.
            *(seen(days, "h_u1", user_id_hash="u1", path="/") for days in (0, 9, 18)),
            # v1, a visitor id the site keeps: twice in W1, then a signup in W3.
            seen(1, "v1", path="/"),
            seen(3, "v1", path="/docs"),
            seen(14, "v1", type="signup", path="/signup"),
            # v2: W1 from the news, W2.
            seen(2, "v2", path="/", utm_source="news"),
            seen(8, "v2", path="/"),
            # v3: W2, signing up the same day.
            seen(8, "v3", path="/pricing"),
            seen(8, "v3", type="signup", path="/pricing"),
            # v4: W3's Sunday.
            seen(20, "v4", path="/"),
            # Cookieless visitors, each a daily hash: nobody to follow.
            seen(0, "h_a", path="/"),
            seen(7, "h_b", path="/blog"),
            seen(15, "h_c", path="/"),
        ],
    )
    goal_create(property=tenant_a.property, name="Signup", kind="event", event_type="signup")
    return tenant_a


def returning(*pairs) -> list[dict]:
    return [{"visitors": visitors, "percentage": percentage} for visitors, percentage in pairs]


def meta(visitors, identified, share, **fields) -> dict:
    return {
        "date_range": RANGE,
        "period": "week",
        "goal": None,
        "visitors": visitors,
        "identified_visitors": identified,
        "identified_share": share,
        "identity": IDENTITY,
        **fields,
    }


def test_weekly_cohorts_count_the_people_back_in_each_later_week(client, people):
    response = report_ask(client, people, "retention", {"period": "week", "date_range": RANGE})
    assert response.status_code == 200, response.content
    # W1's people: u1, v1, v2; back in W2: u1 and v2; in W3: u1 and v1. W2's: v3, not back. W3's: v4.
    # Eight visitor ids, five of them with an identity (u1 through its user id hash).
    assert response.json() == {
        "cohorts": [
            {"cohort": "2026-03-02", "visitors": 3, "returning": returning((3, 100.0), (2, 66.67), (2, 66.67))},
            {"cohort": "2026-03-09", "visitors": 1, "returning": returning((1, 100.0), (0, 0.0))},
            {"cohort": "2026-03-16", "visitors": 1, "returning": returning((1, 100.0))},
        ],
        "meta": meta(8, 5, 62.5),
    }


def test_with_a_goal_returning_means_completing_it(client, people):
    answer = report_ask(client, people, "retention", {"date_range": RANGE, "goal": "Signup"}).json()
    # v1 signs up in W3 (two weeks after W1); v3 in its own week, W2; nobody of W3.
    assert [(c["visitors"], c["returning"]) for c in answer["cohorts"]] == [
        (3, returning((0, 0.0), (0, 0.0), (1, 33.33))),
        (1, returning((1, 100.0), (0, 0.0))),
        (1, returning((0, 0.0))),
    ]
    assert answer["meta"] == meta(8, 5, 62.5, goal="Signup")


def test_daily_and_monthly_cohorts_and_the_dashboards_filters(client, people):
    daily = report_ask(client, people, "retention", {"period": "day", "date_range": RANGE}).json()
    assert len(daily["cohorts"]) == 21
    # 2 March's person is u1 (h_a cannot be followed), back on the 11th and the 20th.
    assert [p["visitors"] for p in daily["cohorts"][0]["returning"]] == [1, *[0] * 8, 1, *[0] * 8, 1, 0, 0]
    monthly = report_ask(client, people, "retention", {"period": "month", "date_range": RANGE}).json()
    assert monthly["cohorts"] == [{"cohort": "2026-03-01", "visitors": 5, "returning": returning((5, 100.0))}]
    # From the news: v2's first visit alone, so v2 is not back (its W2 visit came from nowhere).
    news = {"date_range": RANGE, "filters": [["is", "visit:utm_source", ["news"]]]}
    filtered = report_ask(client, people, "retention", news, key=jwt_for(people.viewer)).json()
    assert [(c["visitors"], [p["visitors"] for p in c["returning"]]) for c in filtered["cohorts"]] == [
        (1, [1, 0, 0]),
        (0, [0, 0]),
        (0, [0]),
    ]
    assert filtered["meta"] == meta(1, 1, 100.0)


def test_a_range_of_cookieless_visitors_alone_says_nobody_has_a_lasting_identity(client, people):
    # 9 March: h_b alone.
    answer = report_ask(client, people, "retention", {"period": "day", "date_range": ["2026-03-09"] * 2}).json()
    assert answer["cohorts"] == [{"cohort": "2026-03-09", "visitors": 0, "returning": returning((0, 0.0))}]
    assert {name: answer["meta"][name] for name in ("visitors", "identified_visitors", "identified_share")} == {
        "visitors": 1,
        "identified_visitors": 0,
        "identified_share": 0.0,
    }


def test_the_read_key_and_members_ask_and_nobody_else(client, people, tenant_b):
    body = {"date_range": RANGE}
    assert report_ask(client, people, "retention", body).status_code == 200
    assert ApiKey.unscoped.get(property=people.property, kind="read").last_used_at is not None
    for member in (people.viewer, people.owner):
        assert report_ask(client, people, "retention", body, key=jwt_for(member)).status_code == 200
    signed_in = session_client_for(people.viewer).post(
        f"/v1/properties/{people.property.public_id}/retention", json.dumps(body), content_type="application/json"
    )
    assert signed_in.status_code == 200, signed_in.content
    # Another organisation's credentials find no such property; a write key reads nothing.
    theirs = [
        report_ask(client, people, "retention", body, key=key) for key in (tenant_b.read_key, jwt_for(tenant_b.owner))
    ]
    missing = client.post(
        "/v1/properties/prop_doesnotexist0000/retention",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant_b.read_key}",
    )
    assert [(r.status_code, r.json()) for r in theirs] == [(404, missing.json())] * 2
    assert report_ask(client, people, "retention", body, key=people.write_key).status_code == 401
    anonymous = client.post(
        f"/v1/properties/{people.property.public_id}/retention", json.dumps(body), content_type="application/json"
    )
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "query"),
        ({}, "date_range"),
        ({"date_range": "8d"}, "date_range"),
        ({"date_range": ["2026-03-22", "2026-03-02"]}, "date_range[1]"),
        ({"date_range": ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]}, "date_range"),
        ({"period": "day", "date_range": ["2025-01-01", "2026-03-02"]}, "date_range"),
        ({"period": "month", "date_range": ["2000-01-01", "2026-01-01"]}, "date_range"),
        ({"period": "year", "date_range": RANGE}, "period"),
        ({"period": None, "date_range": RANGE}, "period"),
        ({"goal": "", "date_range": RANGE}, "goal"),
        ({"goal": 5, "date_range": RANGE}, "goal"),
        ({"filters": [["is", "event:page", [1]]], "date_range": RANGE}, "filters[0][2][0]"),
        ({"filters": "visit:source", "date_range": RANGE}, "filters"),
        ({"cohort": "first", "date_range": RANGE}, "cohort"),
    ],
)
def test_every_invalid_retention_query_is_a_400_naming_its_field(client, tenant_a, body, field):
    response = report_ask(client, tenant_a, "retention", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == {**response.json()["error"], "code": "invalid_parameter", "field": field}


@pytest.mark.parametrize("raw", ["{", "not json", "[" * 100_000 + "]" * 100_000, '"period"', "null"])
def test_a_body_that_is_no_retention_query_is_a_400_never_a_5xx(client, tenant_a, raw):
    response = report_ask(client, tenant_a, "retention", None, raw=raw)
    assert response.status_code == 400, response.content
    assert "error" in response.json()


# The dashboard's retention page.


def retention_page(tenant, query: str = "", *, user=None):
    client = session_client_for(user or tenant.viewer)
    return client.get(f"/properties/{tenant.property.public_id}/retention/{query}")


def test_the_retention_page_shows_the_triangle_shaded_by_tenths_with_the_identified_share(people):
    response = retention_page(people, f"?from={RANGE[0]}&to={RANGE[1]}&period=week")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-figure="identified_share">62.5%<' in html and 'data-figure="identified_visitors">5<' in html
    assert IDENTITY in html
    assert '<th scope="col" class="numeric">Week 2</th>' in html
    assert '<time datetime="2026-03-02">Week of 2 Mar 2026</time>' in html
    # W1: 100 % (3), 66.67 % (2) twice; W2's second week 0 %; a blank cell where W3 has no week after it.
    cells = [
        '<td class="numeric retention-cell share-10"><span class="retention-percentage">100%</span>'
        ' <span class="retention-count">3</span></td>',
        '<td class="numeric retention-cell share-6"><span class="retention-percentage">66.7%</span>'
        ' <span class="retention-count">2</span></td>',
        '<td class="numeric retention-cell share-0"><span class="retention-percentage">0%</span>'
        ' <span class="retention-count">0</span></td>',
        '<td class="retention-later"></td>',
    ]
    for cell in cells:
        assert cell in html, cell
    assert html.count('class="retention-later"') == 3
    assert '<option value="week" selected>' in html and '<option value="Signup">Completing “Signup”</option>' in html
    with_goal = retention_page(people, f"?from={RANGE[0]}&to={RANGE[1]}&goal=Signup").content.decode()
    assert '<span class="retention-percentage">33.3%</span> <span class="retention-count">1</span>' in with_goal
    news = retention_page(people, f"?from={RANGE[0]}&to={RANGE[1]}&f_utm_source=news").content.decode()
    assert 'data-figure="visitors">1<' in news and 'data-figure="identified_share">100%<' in news


def test_the_retention_page_says_plainly_when_nobody_has_a_lasting_identity(people):
    html = retention_page(people, "?from=2026-03-09&to=2026-03-09&period=day").content.decode()
    assert "No visitor in this period has a lasting identity" in html
    assert 'data-figure="identified_share">0%<' in html and "clickmeter.identify(userIdHash)" in html
    assert "<code>visitor_id</code>" in html and "retention-table" not in html
    empty = retention_page(people, "?from=2026-04-01&to=2026-04-02").content.decode()
    assert "No visitor in this period." in empty and "retention-table" not in empty


def test_the_retention_page_refuses_choices_it_cannot_show_with_a_400(people, tenant_b):
    for query, message in [
        ("?period=year", "A period is one of day, week, month."),
        ("?goal=Nothing", "This property has no such goal."),
        ("?period=day&from=2026-01-01&to=2026-06-30", "This page shows at most 92 periods"),
    ]:
        response = retention_page(people, query)
        assert response.status_code == 400, query
        assert message in response.content.decode()
    goal_create(property=tenant_b.property, name="Theirs", kind="event", event_type="x")
    assert retention_page(people, "?goal=Theirs").status_code == 400
    assert (
        session_client_for(tenant_b.viewer).get(f"/properties/{people.property.public_id}/retention/").status_code
        == 404
    )
    dashboard = session_client_for(people.viewer).get(f"/properties/{people.property.public_id}/?range=7d")
    assert f'href="/properties/{people.property.public_id}/retention/?range=7d"' in dashboard.content.decode()
