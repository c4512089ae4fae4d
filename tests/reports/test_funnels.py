"""Funnels: the API that keeps them, the query that walks them over stored events (given or kept),
the settings page and the admin that keep them, and the dashboard's funnel page (the engine's
equality with the oracle over drawn funnels is tests/reports/queries/)."""

import json
from datetime import UTC, date, datetime, time

import pytest

from apps.core.api import ApplicationError
from apps.reports.funnels.services import MAX_FUNNELS_PER_PROPERTY, funnel_create
from apps.reports.models import Funnel
from devtools.events import validated_event
from tests.conftest import jwt_for, session_client_for
from tests.reports.test_query_apis import store

pytestmark = pytest.mark.django_db

D1, D2 = date(2026, 5, 1), date(2026, 5, 2)
RANGE = [D1.isoformat(), D2.isoformat()]
CHECKOUT = [
    {"kind": "page", "value": "/"},
    {"kind": "page", "value": "/pricing"},
    {"kind": "event", "value": "signup"},
]


def funnels_url(tenant) -> str:
    return f"/v1/properties/{tenant.property.public_id}/funnels"


def funnel_post(client, tenant, body, *, user=None):
    return client.post(
        funnels_url(tenant),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {jwt_for(user or tenant.admin)}",
    )


def funnel_ask(client, tenant, body, *, key=None, raw=None):
    return client.post(
        funnels_url(tenant) + "/query",
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key or tenant.read_key}",
    )


def hit(day: date, clock: str, visitor: str, session: str, *, path="/", type="pageview", **fields) -> dict:
    ts = datetime.combine(day, time.fromisoformat(clock), UTC)
    return validated_event(type=type, ts=ts.isoformat(), path=path, visitor_id=visitor, session_id=session, **fields)


@pytest.fixture
def journeys(tenant_a):
    """Six visitors on their way from / to /pricing to a signup (the property's days are UTC's)."""
    store(
        tenant_a,
        [
            # v1 (from news) goes all the way in one visit: 2 minutes to /pricing, 3 more to sign up.
            hit(D1, "10:00", "v1", "s1", utm_source="news"),
            hit(D1, "10:02", "v1", "s1", path="/pricing"),
            hit(D1, "10:05", "v1", "s1", type="signup", path="/pricing"),
            # v2 reaches /pricing after 10 minutes, and stops there.
            hit(D1, "10:00", "v2", "s2"),
            hit(D1, "10:10", "v2", "s2", path="/pricing"),
            # v3 (from news) sees / only.
            hit(D1, "10:00", "v3", "s3", utm_source="news"),
            # v4 sees /pricing before /: out of order, so step 1 only.
            hit(D1, "10:00", "v4", "s4", path="/pricing"),
            hit(D1, "10:01", "v4", "s4"),
            # v5 sees / on D1 and /pricing a day later, in another visit.
            hit(D1, "10:00", "v5", "s5"),
            hit(D2, "10:00", "v5", "s6", path="/pricing"),
            # v6 signs up without any page: in no step.
            hit(D1, "12:00", "v6", "s7", type="signup", path="/signup"),
        ],
    )
    return tenant_a


def step(n, kind, label, visitors, rate, step_rate, dropoff, dropoff_percentage, median):
    return {
        "step": n,
        "kind": kind,
        "label": label,
        "visitors": visitors,
        "conversion_rate": rate,
        "conversion_rate_step": step_rate,
        "dropoff": dropoff,
        "dropoff_percentage": dropoff_percentage,
        "median_seconds_from_previous": median,
    }


# Within a visit: / by v1..v5; /pricing after it by v1 (120 s) and v2 (600 s); a signup after that by v1 (180 s).
WITHIN_A_VISIT = [
    step(1, "page", "/", 5, 100.0, 100.0, 0, 0.0, None),
    step(2, "page", "/pricing", 2, 40.0, 40.0, 3, 60.0, 360.0),
    step(3, "event", "event signup", 1, 20.0, 50.0, 1, 50.0, 180.0),
]


def test_a_funnel_query_counts_each_steps_visitors_conversions_dropoff_and_median_time(client, journeys):
    response = funnel_ask(client, journeys, {"steps": CHECKOUT, "date_range": RANGE})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "steps": WITHIN_A_VISIT,
        "breakdown": None,
        "meta": {"date_range": RANGE, "funnel": {"steps": CHECKOUT, "window_days": None}},
    }


def test_a_window_of_days_lets_the_steps_span_visits(client, journeys):
    body = {"steps": CHECKOUT, "window_days": 2, "date_range": RANGE}
    answer = funnel_ask(client, journeys, body, key=jwt_for(journeys.viewer)).json()
    # v5's /pricing a day (86,400 s) after its / now counts: the median of 120, 600 and 86,400 s is 600 s.
    assert answer["steps"] == [
        step(1, "page", "/", 5, 100.0, 100.0, 0, 0.0, None),
        step(2, "page", "/pricing", 3, 60.0, 60.0, 2, 40.0, 600.0),
        step(3, "event", "event signup", 1, 20.0, 33.33, 2, 66.67, 180.0),
    ]
    assert answer["meta"]["funnel"]["window_days"] == 2


def test_a_breakdown_puts_each_visitor_in_the_group_of_their_first_step(client, journeys):
    body = {"steps": CHECKOUT, "date_range": RANGE, "dimension": "visit:utm_source"}
    answer = funnel_ask(client, journeys, body).json()
    assert answer["steps"] == WITHIN_A_VISIT
    # Without a source: v2 (to /pricing), v4 and v5; from news: v1 (all the way) and v3.
    assert answer["breakdown"] == [
        {
            "dimension": None,
            "steps": [
                step(1, "page", "/", 3, 100.0, 100.0, 0, 0.0, None),
                step(2, "page", "/pricing", 1, 33.33, 33.33, 2, 66.67, 600.0),
                step(3, "event", "event signup", 0, 0.0, 0.0, 1, 100.0, None),
            ],
        },
        {
            "dimension": "news",
            "steps": [
                step(1, "page", "/", 2, 100.0, 100.0, 0, 0.0, None),
                step(2, "page", "/pricing", 1, 50.0, 50.0, 1, 50.0, 120.0),
                step(3, "event", "event signup", 1, 50.0, 100.0, 0, 0.0, 180.0),
            ],
        },
    ]
    limited = funnel_ask(client, journeys, {**body, "limit": 1}).json()
    assert [group["dimension"] for group in limited["breakdown"]] == [None]


def test_a_kept_funnel_is_asked_by_its_id_with_its_goal_steps(client, journeys):
    goals = f"/v1/properties/{journeys.property.public_id}/goals"
    signup_goal = {"name": "Signed up", "kind": "event", "event_type": "signup"}
    headers = {"HTTP_AUTHORIZATION": f"Bearer {jwt_for(journeys.admin)}"}
    assert client.post(goals, json.dumps(signup_goal), content_type="application/json", **headers).status_code == 201
    steps = [*CHECKOUT[:2], {"kind": "goal", "value": "Signed up"}]
    created = funnel_post(client, journeys, {"name": "Checkout", "steps": steps, "window_days": 2})
    assert created.status_code == 201, created.content
    answer = funnel_ask(client, journeys, {"funnel_id": created.json()["id"], "date_range": RANGE}).json()
    assert [(row["label"], row["visitors"]) for row in answer["steps"]] == [("/", 5), ("/pricing", 3), ("Signed up", 1)]
    assert answer["meta"]["funnel"] == {"steps": steps, "window_days": 2}


def test_admins_create_and_delete_funnels_and_members_list_them(client, journeys, tenant_b):
    created = funnel_post(client, journeys, {"name": " Checkout ", "steps": CHECKOUT})
    assert created.status_code == 201, created.content
    assert {name: created.json()[name] for name in ("name", "steps", "window_days")} == {
        "name": "Checkout",
        "steps": CHECKOUT,
        "window_days": None,
    }
    assert funnel_post(client, journeys, {"name": "Blog", "steps": CHECKOUT[:2], "window_days": 7}).status_code == 201
    listed = client.get(funnels_url(journeys), HTTP_AUTHORIZATION=f"Bearer {jwt_for(journeys.viewer)}")
    assert listed.status_code == 200
    assert [(f["name"], len(f["steps"]), f["window_days"]) for f in listed.json()] == [
        ("Blog", 2, 7),
        ("Checkout", 3, None),
    ]
    viewer = funnel_post(client, journeys, {"name": "Mine", "steps": CHECKOUT}, user=journeys.viewer)
    assert viewer.status_code == 403
    # Goals' rules: the list is for members; a read key asks funnels, by id, but does not list them.
    assert client.get(funnels_url(journeys), HTTP_AUTHORIZATION=f"Bearer {journeys.read_key}").status_code == 401
    other = client.get(funnels_url(journeys), HTTP_AUTHORIZATION=f"Bearer {jwt_for(tenant_b.admin)}")
    assert other.status_code == 404
    path = f"{funnels_url(journeys)}/{created.json()['id']}"
    assert client.delete(path, HTTP_AUTHORIZATION=f"Bearer {jwt_for(journeys.viewer)}").status_code == 403
    assert client.delete(path, HTTP_AUTHORIZATION=f"Bearer {jwt_for(tenant_b.admin)}").status_code == 404
    assert client.delete(path, HTTP_AUTHORIZATION=f"Bearer {jwt_for(journeys.admin)}").status_code == 204
    assert list(Funnel.unscoped.values_list("name", flat=True)) == ["Blog"]


def test_another_propertys_funnel_is_a_404_to_the_query_as_a_missing_one(client, journeys, tenant_b):
    theirs = funnel_create(property=tenant_b.property, name="Theirs", steps=CHECKOUT)
    refused = funnel_ask(client, journeys, {"funnel_id": theirs.pk, "date_range": RANGE})
    missing = funnel_ask(client, journeys, {"funnel_id": theirs.pk + 1000, "date_range": RANGE})
    assert (refused.status_code, refused.json()) == (404, missing.json())
    # Nor may B's credentials ask A's property anything.
    for credential in (tenant_b.read_key, jwt_for(tenant_b.owner)):
        assert funnel_ask(client, journeys, {"steps": CHECKOUT, "date_range": RANGE}, key=credential).status_code == 404
    written = funnel_ask(client, journeys, {"steps": CHECKOUT, "date_range": RANGE}, key=journeys.write_key)
    assert written.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "steps": CHECKOUT}, "name"),
        ({"name": "Taken", "steps": CHECKOUT}, "name"),
        ({"name": "A" * 121, "steps": CHECKOUT}, "name"),
        ({"name": "A"}, "steps"),
        ({"name": "A", "steps": CHECKOUT[:1]}, "steps"),
        ({"name": "A", "steps": CHECKOUT * 3}, "steps"),
        ({"name": "A", "steps": "/pricing"}, "steps"),
        ({"name": "A", "steps": [*CHECKOUT, "/docs"]}, "steps[3]"),
        ({"name": "A", "steps": [*CHECKOUT, {"kind": "page"}]}, "steps[3]"),
        ({"name": "A", "steps": [*CHECKOUT, {"kind": "visit", "value": "x"}]}, "steps[3].kind"),
        ({"name": "A", "steps": [{"kind": "page", "value": "pricing"}, *CHECKOUT]}, "steps[0].value"),
        ({"name": "A", "steps": [*CHECKOUT, {"kind": "event", "value": ""}]}, "steps[3].value"),
        ({"name": "A", "steps": [*CHECKOUT, {"kind": "goal", "value": 5}]}, "steps[3].value"),
        ({"name": "A", "steps": CHECKOUT, "window_days": 0}, "window_days"),
        ({"name": "A", "steps": CHECKOUT, "window_days": 91}, "window_days"),
        ({"name": "A", "steps": CHECKOUT, "window_days": "7"}, "window_days"),
    ],
)
def test_a_funnel_the_engine_could_not_walk_is_a_400_naming_its_field(client, tenant_a, body, field):
    funnel_create(property=tenant_a.property, name="Taken", steps=CHECKOUT)
    response = funnel_post(client, tenant_a, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert Funnel.unscoped.count() == 1


def test_a_property_keeps_at_most_50_funnels(tenant_a):
    for n in range(MAX_FUNNELS_PER_PROPERTY):
        funnel_create(property=tenant_a.property, name=f"F{n}", steps=CHECKOUT)
    with pytest.raises(ApplicationError, match="at most 50 funnels"):
        funnel_create(property=tenant_a.property, name="One more", steps=CHECKOUT)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "query"),
        ({"steps": CHECKOUT}, "date_range"),
        ({"date_range": RANGE}, "steps"),
        ({"steps": CHECKOUT[:1], "date_range": RANGE}, "steps"),
        ({"steps": [*CHECKOUT, {"kind": "page", "value": "docs"}], "date_range": RANGE}, "steps[3].value"),
        ({"steps": CHECKOUT, "window_days": 100, "date_range": RANGE}, "window_days"),
        ({"steps": CHECKOUT, "date_range": "8d"}, "date_range"),
        ({"steps": CHECKOUT, "date_range": ["2026-05-02", "2026-05-01"]}, "date_range[1]"),
        ({"steps": CHECKOUT, "date_range": ["2026-05-01T00:00:00Z", "2026-05-01T10:00:00Z"]}, "date_range"),
        ({"steps": CHECKOUT, "date_range": ["2000-01-01", "2026-01-01"]}, "date_range"),
        ({"steps": CHECKOUT, "date_range": RANGE, "dimension": "time:day"}, "dimension"),
        ({"steps": CHECKOUT, "date_range": RANGE, "dimension": "event:goal"}, "dimension"),
        ({"steps": CHECKOUT, "date_range": RANGE, "dimension": "visit:nope"}, "dimension"),
        ({"steps": CHECKOUT, "date_range": RANGE, "limit": 0}, "limit"),
        ({"steps": CHECKOUT, "date_range": RANGE, "filters": [["is", "event:page", [1]]]}, "filters[0][2][0]"),
        ({"steps": CHECKOUT, "date_range": RANGE, "metrics": ["visitors"]}, "metrics"),
        ({"funnel_id": "1", "date_range": RANGE}, "funnel_id"),
        ({"funnel_id": True, "date_range": RANGE}, "funnel_id"),
        ({"funnel_id": 2**70, "date_range": RANGE}, "funnel_id"),
        ({"funnel_id": "<saved>", "steps": CHECKOUT, "date_range": RANGE}, "steps"),
        ({"funnel_id": "<saved>", "window_days": 3, "date_range": RANGE}, "window_days"),
        ({"funnel_id": "<saved>", "date_range": "forever"}, "date_range"),
    ],
)
def test_every_invalid_funnel_query_is_a_400_naming_its_field(client, tenant_a, body, field):
    if isinstance(body, dict) and body.get("funnel_id") == "<saved>":
        body = {**body, "funnel_id": funnel_create(property=tenant_a.property, name="Kept", steps=CHECKOUT).pk}
    response = funnel_ask(client, tenant_a, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == {**response.json()["error"], "code": "invalid_parameter", "field": field}


@pytest.mark.parametrize("raw", ["{", "not json", "[" * 100_000 + "]" * 100_000, '"steps"', "null"])
def test_a_body_that_is_no_funnel_query_is_a_400_never_a_5xx(client, tenant_a, raw):
    response = funnel_ask(client, tenant_a, None, raw=raw)
    assert response.status_code == 400, response.content
    assert "error" in response.json()


# The settings page and the admin.


def settings_path(tenant, action: str = "") -> str:
    return f"/properties/{tenant.property.public_id}/settings" + (f"/{action}" if action else "")


def funnel_form(name: str, *values: tuple[str, str], window="visit", days="") -> dict:
    form = {"funnel-name": name, "funnel-window": window, "funnel-window_days": days}
    for n in range(1, 9):
        kind, value = values[n - 1] if n <= len(values) else ("page", "")
        form |= {f"funnel-step_{n}_kind": kind, f"funnel-step_{n}_value": value}
    return form


def test_admins_add_and_delete_funnels_on_the_settings_page_and_viewers_cannot(tenant_a):
    admin = session_client_for(tenant_a.admin)
    form = funnel_form("Checkout", ("page", "/"), ("page", "/pricing"), ("event", "signup"), window="days", days="3")
    response = admin.post(settings_path(tenant_a, "funnels"), form)
    assert (response.status_code, response["Location"]) == (302, settings_path(tenant_a) + "#funnels")
    funnel = Funnel.unscoped.get(property=tenant_a.property)
    assert (funnel.name, funnel.steps, funnel.window_days) == ("Checkout", CHECKOUT, 3)
    page = admin.get(settings_path(tenant_a)).content.decode()
    assert "Checkout" in page and "<code>/pricing</code>" in page and "within 3 days" in page
    # Blank rows are skipped, so a refusal about the second step lands on the row it came from.
    refused = admin.post(
        settings_path(tenant_a, "funnels"), funnel_form("Bad", ("page", "/"), ("page", ""), ("page", "pricing"))
    )
    assert refused.status_code == 400
    assert 'id="id_funnel-step_3_value_error"><li>A page starts with /.</li>' in refused.content.decode()
    no_days = admin.post(settings_path(tenant_a, "funnels"), {**form, "funnel-name": "Later", "funnel-window_days": ""})
    assert no_days.status_code == 400 and "Say within how many days." in no_days.content.decode()
    viewer = session_client_for(tenant_a.viewer)
    assert viewer.post(settings_path(tenant_a, "funnels"), {**form, "funnel-name": "Mine"}).status_code == 403
    assert viewer.post(settings_path(tenant_a, f"funnels/{funnel.pk}/delete")).status_code == 403
    deleted = admin.post(settings_path(tenant_a, f"funnels/{funnel.pk}/delete"))
    assert deleted.status_code == 302 and not Funnel.unscoped.exists()


def test_the_admin_creates_funnels_through_the_same_checks_and_deletes_them(tenant_a, tenant_b):
    admin = session_client_for(tenant_a.admin)
    fields = {"property": tenant_a.property.pk, "name": "Docs", "steps": json.dumps(CHECKOUT[:2]), "window_days": ""}
    admin.post("/admin/reports/funnel/add/", fields, follow=True)
    funnel = Funnel.unscoped.get()
    assert (funnel.property, funnel.steps, funnel.window_days) == (tenant_a.property, CHECKOUT[:2], None)
    bad_steps = json.dumps([{"kind": "page", "value": "docs"}, *CHECKOUT])
    refused = admin.post("/admin/reports/funnel/add/", {**fields, "name": "Bad", "steps": bad_steps}, follow=True)
    assert "A page starts with /." in refused.content.decode() and Funnel.unscoped.count() == 1
    assert tenant_b.property.name not in admin.get("/admin/reports/funnel/add/").content.decode()
    admin.post(f"/admin/reports/funnel/{funnel.pk}/delete/", {"post": "yes"})
    assert not Funnel.unscoped.exists()


# The dashboard's funnel page.


def funnel_page(tenant, query: str = "", *, user=None):
    client = session_client_for(user or tenant.viewer)
    return client.get(f"/properties/{tenant.property.public_id}/funnels/{query}")


def test_the_funnel_page_shows_each_step_and_the_breakdown_for_the_dashboards_range(journeys):
    funnel = funnel_create(property=journeys.property, name="Checkout", steps=CHECKOUT)
    funnel_create(property=journeys.property, name="Another", steps=CHECKOUT[:2])
    response = funnel_page(journeys, f"?funnel={funnel.pk}&from={D1}&to={D2}&by=source")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<meter class="funnel-bar" min="0" max="100" value="40.00"' in html
    for figure in ('data-figure="visitors">5<', 'data-figure="conversion_rate_step">40%<', "3 (60%)", ">6m 00s<"):
        assert figure in html, figure
    assert '<option value="source" selected>' in html
    # By source: utm_source=news reads as Hacker News; v1 and v3 came from it, v1 all the way.
    news = '<th scope="row" class="cell-text">Hacker News</th>\n                    <td class="numeric">2</td>'
    assert news + '<td class="numeric">1 <span class="muted">50%</span></td>' in html
    assert 'aria-current="true">Checkout<' in html
    filtered = funnel_page(journeys, f"?funnel={funnel.pk}&from={D1}&to={D2}&f_utm_source=news").content.decode()
    assert 'data-figure="visitors">2<' in filtered


def test_the_funnel_page_without_funnels_sends_admins_to_the_settings(tenant_a, tenant_b):
    assert "#funnels" in funnel_page(tenant_a).content.decode()
    theirs = funnel_create(property=tenant_b.property, name="Theirs", steps=CHECKOUT)
    assert funnel_page(tenant_a, f"?funnel={theirs.pk}").status_code == 404
    assert funnel_page(tenant_a, "?by=nothing").status_code == 400
    dashboard = session_client_for(tenant_a.viewer).get(f"/properties/{tenant_a.property.public_id}/?range=7d")
    assert f'href="/properties/{tenant_a.property.public_id}/funnels/?range=7d"' in dashboard.content.decode()
