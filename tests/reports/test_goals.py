"""Goals: the API, the settings page and the admin that keep them, and the reports that count them, through /v1's query
and Plausible's Stats API (the engine's equality with the oracle over drawn goals is
tests/reports/queries/test_engine_equals_oracle.py)."""

import json

import pytest

from apps.reports.models import Goal
from tests.conftest import jwt_for, session_client_for
from tests.reports.test_query_apis import D1, D2, D3, ask, plausible, traffic  # noqa: F401

pytestmark = pytest.mark.django_db
RANGE = [D1.isoformat(), D3.isoformat()]


def goals_url(tenant) -> str:
    return f"/v1/properties/{tenant.property.public_id}/goals"


def goal_post(client, tenant, body, *, user=None):
    return client.post(
        goals_url(tenant),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {jwt_for(user or tenant.admin)}",
    )


@pytest.fixture
def goals(client, traffic):  # noqa: F811
    for body in (
        {"name": "Pricing", "kind": "pageview", "path_pattern": "/pricing"},
        {"name": "Any page", "kind": "pageview", "path_pattern": "/**"},
        {"name": "Signup", "kind": "event", "event_type": "signup"},
        {"name": "Pro plan", "kind": "event", "event_type": "pageview", "properties": {"plan": "pro"}},
    ):
        assert goal_post(client, traffic, body).status_code == 201
    return traffic


def test_admins_create_and_delete_goals_and_members_list_them(client, goals, tenant_b):
    listed = client.get(goals_url(goals), HTTP_AUTHORIZATION=f"Bearer {jwt_for(goals.viewer)}")
    assert listed.status_code == 200
    assert [(g["name"], g["kind"], g["path_pattern"], g["event_type"], g["properties"]) for g in listed.json()] == [
        ("Any page", "pageview", "/**", "", {}),
        ("Pricing", "pageview", "/pricing", "", {}),
        ("Pro plan", "event", "", "pageview", {"plan": "pro"}),
        ("Signup", "event", "", "signup", {}),
    ]
    viewer = goal_post(client, goals, {"name": "X", "kind": "pageview", "path_pattern": "/x"}, user=goals.viewer)
    assert viewer.status_code == 403
    other = client.get(goals_url(goals), HTTP_AUTHORIZATION=f"Bearer {jwt_for(tenant_b.admin)}")
    assert other.status_code == 404
    signup = Goal.unscoped.get(property=goals.property, name="Signup")
    path = f"{goals_url(goals)}/{signup.pk}"
    assert client.delete(path, HTTP_AUTHORIZATION=f"Bearer {jwt_for(tenant_b.admin)}").status_code == 404
    assert client.delete(path, HTTP_AUTHORIZATION=f"Bearer {jwt_for(goals.admin)}").status_code == 204
    assert not Goal.unscoped.filter(pk=signup.pk).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "kind": "pageview", "path_pattern": "/"}, "name"),
        ({"name": "Pricing", "kind": "pageview", "path_pattern": "/other"}, "name"),
        ({"name": "A", "kind": "visit", "path_pattern": "/"}, "kind"),
        ({"name": "A", "kind": "pageview", "path_pattern": "pricing"}, "path_pattern"),
        ({"name": "A", "kind": "pageview", "path_pattern": "/" + "." * 199}, "path_pattern"),
        ({"name": "A", "kind": "pageview", "path_pattern": "/a", "event_type": "signup"}, "event_type"),
        ({"name": "A", "kind": "event", "event_type": ""}, "event_type"),
        ({"name": "A", "kind": "event", "event_type": "signup", "path_pattern": "/"}, "path_pattern"),
        ({"name": "A", "kind": "event", "event_type": "signup", "properties": {"plan": 2}}, "properties"),
        ({"name": "A", "kind": "event", "event_type": "signup", "properties": ["plan"]}, "properties"),
    ],
)
def test_a_goal_the_engine_could_not_count_is_a_400_naming_its_field(client, goals, body, field):
    response = goal_post(client, goals, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"].split(".")[0] == field
    assert Goal.unscoped.filter(property=goals.property).count() == 4


def test_conversions_by_goal_with_rates_of_the_ranges_visitors(client, goals):
    # Visitors v1..v4 over the range. /pricing: v1 (D1), and v3's signup event is no pageview.
    body = {
        "metrics": ["visitors", "conversions", "unique_conversions", "conversion_rate"],
        "date_range": RANGE,
        "dimensions": ["event:goal"],
    }
    response = ask(client, goals, body)
    assert response.status_code == 200, response.content
    assert [(row["dimensions"], row["metrics"]) for row in response.json()["results"]] == [
        (["Any page"], [3, 5, 3, 75.0]),
        (["Pricing"], [1, 1, 1, 25.0]),
        (["Pro plan"], [1, 2, 1, 25.0]),
        (["Signup"], [1, 1, 1, 25.0]),
    ]
    by_source = {
        "metrics": ["visitors", "conversion_rate"],
        "date_range": RANGE,
        "dimensions": ["visit:utm_source"],
        "filters": [["is", "event:goal", ["Pro plan", "Signup"]]],
        "include": {"totals": True},
    }
    answer = ask(client, goals, by_source).json()
    # news: v1 (pro plan) of v1 and v4; no source: v3 (signup) of v1 (D2), v2 and v3.
    assert [(row["dimensions"], row["metrics"]) for row in answer["results"]] == [
        ([None], [1, 33.33]),
        (["news"], [1, 50.0]),
    ]
    assert answer["meta"]["totals"] == [2, 50.0]


def test_a_deleted_goal_is_no_longer_counted_though_the_report_was_cached(client, goals, settings):
    settings.CLICKMETER_REPORT_CACHE_SECONDS = 3600
    body = {"metrics": ["conversions"], "date_range": RANGE}
    assert ask(client, goals, body).json()["results"][0]["metrics"] == [6]
    Goal.unscoped.filter(property=goals.property, name="Any page").delete()
    assert ask(client, goals, body).json()["results"][0]["metrics"] == [3]


def test_goals_answer_plausibles_event_goal_queries(client, goals):
    body = {
        "site_id": goals.property.public_id,
        "metrics": ["visitors", "events", "conversion_rate"],
        "date_range": RANGE,
        "dimensions": ["event:goal"],
        "filters": [["contains", "event:goal", ["P"]]],
    }
    response = plausible(client, body, key=goals.read_key)
    assert response.status_code == 200, response.content
    assert response.json()["results"] == [
        {"dimensions": ["Pricing"], "metrics": [1, 1, 25.0]},
        {"dimensions": ["Pro plan"], "metrics": [1, 2, 25.0]},
    ]


def settings_path(tenant, action: str = "") -> str:
    return f"/properties/{tenant.property.public_id}/settings" + (f"/{action}" if action else "")


def test_admins_add_and_delete_goals_on_the_settings_page_and_viewers_cannot(tenant_a):
    admin = session_client_for(tenant_a.admin)
    form = {"goal-name": "Pro signup", "goal-kind": "event", "goal-event_type": "signup", "goal-properties": "plan=pro"}
    response = admin.post(settings_path(tenant_a, "goals"), form)
    assert (response.status_code, response["Location"]) == (302, settings_path(tenant_a) + "#goals")
    goal = Goal.unscoped.get(property=tenant_a.property)
    assert (goal.name, goal.kind, goal.event_type, goal.properties) == (
        "Pro signup",
        "event",
        "signup",
        {"plan": "pro"},
    )
    page = admin.get(settings_path(tenant_a)).content.decode()
    assert "Pro signup" in page and "<code>plan=pro</code>" in page
    refused = admin.post(settings_path(tenant_a, "goals"), {**form, "goal-kind": "pageview", "goal-event_type": ""})
    assert refused.status_code == 400 and "path pattern" in refused.content.decode()
    viewer = session_client_for(tenant_a.viewer)
    assert viewer.post(settings_path(tenant_a, "goals"), {**form, "goal-name": "Mine"}).status_code == 403
    assert viewer.post(settings_path(tenant_a, f"goals/{goal.pk}/delete")).status_code == 403
    deleted = admin.post(settings_path(tenant_a, f"goals/{goal.pk}/delete"))
    assert deleted.status_code == 302 and not Goal.unscoped.exists()


def test_the_admin_creates_goals_through_the_same_checks_and_deletes_them(tenant_a, tenant_b):
    admin = session_client_for(tenant_a.admin)
    fields = {"property": tenant_a.property.pk, "name": "Docs", "kind": "pageview", "path_pattern": "/docs/**",
              "event_type": "", "properties": "{}"}  # fmt: skip
    admin.post("/admin/reports/goal/add/", fields, follow=True)
    goal = Goal.unscoped.get()
    assert (goal.property, goal.path_pattern) == (tenant_a.property, "/docs/**")
    refused = admin.post("/admin/reports/goal/add/", {**fields, "name": "Bad", "path_pattern": "docs"}, follow=True)
    assert "starts with /" in refused.content.decode() and Goal.unscoped.count() == 1
    assert tenant_b.property.name not in admin.get("/admin/reports/goal/add/").content.decode()
    admin.post(f"/admin/reports/goal/{goal.pk}/delete/", {"post": "yes"})
    assert not Goal.unscoped.exists()
