"""Journeys through their API and their page: six visits of one day whose paths are worked out in
the comments, forwards and backwards, from a page and from a goal; permissions, other tenants, and
every invalid request a 400 naming its field (the engine's equality with the oracle over drawn
histories is tests/reports/queries/)."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from apps.reports.goals.services import goal_create
from devtools.events import validated_event
from tests.conftest import jwt_for, session_client_for
from tests.reports.test_cohort_retention import report_ask
from tests.reports.test_query_apis import store

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)
RANGE = ["2026-03-02", "2026-03-02"]
HOME = {"kind": "page", "value": "/"}


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
def visits(tenant_a):
    store(
        tenant_a,
        [
            *visit("v1", "/", "/pricing", "/signup", "event:signup"),
            *visit("v2", "/", "/", "/pricing", "/docs"),  # a reload of the home page counts once
            *visit("v3", "/blog", "/", "/docs"),
            *visit("v4", "/pricing"),  # never at home
            *visit("v5", "/", "/pricing", "/"),  # back home
            *visit("v6", "/"),  # home alone
        ],
    )
    goal_create(property=tenant_a.property, name="Signup", kind="event", event_type="signup")
    return tenant_a


def path(visits, *steps) -> dict:
    return {"steps": list(steps), "visits": visits}


def link(step, source, target, visits) -> dict:
    return {"step": step, "from": source, "to": target, "visits": visits}


def test_the_next_pages_from_the_home_page(client, visits):
    response = report_ask(client, visits, "journeys", {"anchor": HOME, "depth": 2, "date_range": RANGE})
    assert response.status_code == 200, response.content
    # From each visit's first /: v1 to /pricing, /signup; v2 (past its reload) to /pricing, /docs; v3 to
    # /docs and out; v5 to /pricing and home again; v6 out at once. Paths taken as often by their steps.
    assert response.json() == {
        "visits": 5,
        "paths": [
            path(1, "(exit)", "(exit)"),
            path(1, "/docs", "(exit)"),
            path(1, "/pricing", "/"),
            path(1, "/pricing", "/docs"),
            path(1, "/pricing", "/signup"),
        ],
        "links": [
            link(1, "/", "/pricing", 3),
            link(1, "/", "(exit)", 1),
            link(1, "/", "/docs", 1),
            link(2, "(exit)", "(exit)", 1),
            link(2, "/docs", "(exit)", 1),
            link(2, "/pricing", "/", 1),
            link(2, "/pricing", "/docs", 1),
            link(2, "/pricing", "/signup", 1),
        ],
        "meta": {"date_range": RANGE, "anchor": HOME, "direction": "next", "depth": 2},
    }
    limited = report_ask(client, visits, "journeys", {"anchor": HOME, "depth": 2, "date_range": RANGE, "limit": 1})
    assert limited.json()["paths"] == [path(1, "(exit)", "(exit)")]
    assert limited.json()["links"] == [link(1, "/", "/pricing", 3), link(2, "(exit)", "(exit)", 1)]


def test_the_previous_pages_to_a_goal_and_to_a_page(client, visits):
    signup = {"anchor": {"kind": "goal", "value": "Signup"}, "direction": "previous", "date_range": RANGE}
    answer = report_ask(client, visits, "journeys", signup, key=jwt_for(visits.viewer)).json()
    # v1 alone signed up, after /, /pricing and /signup: nearest first.
    assert (answer["visits"], answer["paths"]) == (1, [path(1, "/signup", "/pricing", "/")])
    assert answer["meta"]["anchor"] == {"kind": "goal", "value": "Signup"}
    pricing = {"anchor": {"kind": "page", "value": "/pricing"}, "direction": "previous", "depth": 2}
    answer = report_ask(client, visits, "journeys", {**pricing, "date_range": RANGE}).json()
    # v1, v2 (its reload once) and v5 came from / at the start of their visit; v4 began there.
    assert answer["paths"] == [path(3, "/", "(entry)"), path(1, "(entry)", "(entry)")]
    assert answer["links"][0] == link(1, "/pricing", "/", 3)


def test_filters_apply_as_everywhere(client, visits):
    body = {"anchor": HOME, "depth": 1, "date_range": RANGE, "filters": [["is_not", "event:page", ["/pricing"]]]}
    # Without /pricing: v5's / then / is a reload, so it leaves; v2 and v3 go to /docs, v1 to /signup.
    assert report_ask(client, visits, "journeys", body).json()["paths"] == [
        path(2, "(exit)"),
        path(2, "/docs"),
        path(1, "/signup"),
    ]


def test_the_read_key_and_members_ask_and_nobody_else(client, visits, tenant_b):
    body = {"anchor": HOME, "date_range": RANGE}
    assert report_ask(client, visits, "journeys", body).status_code == 200
    assert report_ask(client, visits, "journeys", body, key=jwt_for(visits.viewer)).status_code == 200
    for key in (tenant_b.read_key, jwt_for(tenant_b.owner)):
        assert report_ask(client, visits, "journeys", body, key=key).status_code == 404
    assert report_ask(client, visits, "journeys", body, key=visits.write_key).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "query"),
        ({"date_range": RANGE}, "anchor"),
        ({"anchor": "/", "date_range": RANGE}, "anchor"),
        ({"anchor": {"kind": "page"}, "date_range": RANGE}, "anchor"),
        ({"anchor": {"kind": "page", "value": "home"}, "date_range": RANGE}, "anchor.value"),
        ({"anchor": {"kind": "page", "value": ""}, "date_range": RANGE}, "anchor.value"),
        ({"anchor": {"kind": "url", "value": "/"}, "date_range": RANGE}, "anchor.kind"),
        ({"anchor": HOME}, "date_range"),
        ({"anchor": HOME, "date_range": "8d"}, "date_range"),
        ({"anchor": HOME, "date_range": ["2000-01-01", "2026-01-01"]}, "date_range"),
        ({"anchor": HOME, "date_range": ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]}, "date_range"),
        ({"anchor": HOME, "date_range": RANGE, "direction": "up"}, "direction"),
        ({"anchor": HOME, "date_range": RANGE, "depth": 0}, "depth"),
        ({"anchor": HOME, "date_range": RANGE, "depth": 6}, "depth"),
        ({"anchor": HOME, "date_range": RANGE, "depth": "3"}, "depth"),
        ({"anchor": HOME, "date_range": RANGE, "limit": 101}, "limit"),
        ({"anchor": HOME, "date_range": RANGE, "filters": [["is", "event:page", [1]]]}, "filters[0][2][0]"),
        ({"anchor": HOME, "date_range": RANGE, "steps": []}, "steps"),
    ],
)
def test_every_invalid_journey_query_is_a_400_naming_its_field(client, tenant_a, body, field):
    response = report_ask(client, tenant_a, "journeys", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == {**response.json()["error"], "code": "invalid_parameter", "field": field}


@pytest.mark.parametrize("raw", ["{", "not json", "[" * 100_000 + "]" * 100_000, '"anchor"', "null"])
def test_a_body_that_is_no_journey_query_is_a_400_never_a_5xx(client, tenant_a, raw):
    response = report_ask(client, tenant_a, "journeys", None, raw=raw)
    assert response.status_code == 400, response.content
    assert "error" in response.json()


# The dashboard's journeys page.


def journey_page(tenant, query: str = "", *, user=None):
    client = session_client_for(user or tenant.viewer)
    return client.get(f"/properties/{tenant.property.public_id}/journeys/{query}")


def flow_nodes(html: str) -> list[tuple[str, str, str]]:
    """The diagram's nodes as (step, label, visits), column by column."""
    found = []
    for step, column in re.findall(
        r'<g class="flow-column" data-step="(\d+)">(.*?)</g>\s*</g>\s*(?=<g class="flow-column"|</svg>)', html, re.S
    ):
        for label, visits in re.findall(
            r'class="flow-label"[^>]*>([^<]*)</text>\s*<text class="flow-visits"[^>]*>([^<]*)<', column
        ):
            found.append((step, label, visits))
    return found


def test_the_journeys_page_draws_the_flow_from_the_home_page_by_default(visits):
    response = journey_page(visits, f"?from={RANGE[0]}&to={RANGE[1]}&depth=2")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-figure="visits">5<' in html
    # Step 1: 3 to /pricing, 1 each to /docs and out; step 2: from them, one each.
    assert flow_nodes(html) == [
        ("0", "/", "5"),
        ("1", "/pricing", "3"),
        ("1", "/docs", "1"),
        ("1", "(exit)", "1"),
        ("2", "/", "1"),
        ("2", "/docs", "1"),
        ("2", "/signup", "1"),
        ("2", "(exit)", "2"),
    ]
    assert html.count('<path class="flow-link') == 8
    rows = re.findall(r"<tr>\s*((?:<td[^>]*>[^<]*</td>\s*)+)</tr>", html)
    assert [re.findall(r">([^<]*)</td>", row) for row in rows] == [
        [*steps, "1"]
        for steps in (
            ["(exit)", "(exit)"],
            ["/docs", "(exit)"],
            ["/pricing", "/"],
            ["/pricing", "/docs"],
            ["/pricing", "/signup"],
        )
    ]
    assert '<option value="page" selected>' in html and 'name="anchor" value="/"' in html


def test_the_journeys_page_goes_backwards_from_a_goal_under_the_filters(visits):
    query = f"?from={RANGE[0]}&to={RANGE[1]}&anchor_kind=goal&anchor=Signup&direction=previous&depth=3"
    html = journey_page(visits, query).content.decode()
    assert flow_nodes(html) == [("0", "Signup", "1"), ("1", "/signup", "1"), ("2", "/pricing", "1"), ("3", "/", "1")]
    assert '<datalist id="journey-goals"><option value="Signup"></option></datalist>' in html
    filtered = journey_page(visits, f"?from={RANGE[0]}&to={RANGE[1]}&f_path=/blog").content.decode()
    assert (
        'data-figure="visits">0<' in filtered and "No visit reached it in this period with these filters." in filtered
    )


def test_the_journeys_page_refuses_what_the_engine_refuses_with_a_400(visits, tenant_b):
    for query, message in [
        ("?anchor=home", "A page starts with /."),
        ("?anchor_kind=url", "anchor"),
        ("?direction=sideways", "direction is next or previous."),
        ("?depth=9", "Must be an integer from 1 to 5."),
    ]:
        response = journey_page(visits, query)
        assert response.status_code == 400, query
        assert message in response.content.decode(), query
    assert (
        session_client_for(tenant_b.viewer).get(f"/properties/{visits.property.public_id}/journeys/").status_code == 404
    )
    dashboard = session_client_for(visits.viewer).get(f"/properties/{visits.property.public_id}/?range=7d")
    assert f'href="/properties/{visits.property.public_id}/journeys/?range=7d"' in dashboard.content.decode()
