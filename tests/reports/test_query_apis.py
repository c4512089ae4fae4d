"""POST /v1/properties/{property_id}/query and Plausible's POST /api/v2/query: who may ask, every
kind of invalid query a 400 naming its field, and answers equal to the oracle's over stored events."""

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest

from apps.ingestion.models import Event
from apps.ingestion.storage import AcceptedBatch, events_store
from apps.properties.services import property_update
from apps.reports.periods import property_today
from apps.reports.queries.oracle import query_oracle
from apps.reports.queries.query import query_parse
from devtools.events import validated_event
from tests.conftest import jwt_for

pytestmark = pytest.mark.django_db

D1, D2, D3 = date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)


def event(day: date, *, hour=10, type="pageview", path="/", visitor="v1", session="s1", **fields):
    ts = datetime.combine(day, time(hour), UTC)
    return validated_event(type=type, ts=ts.isoformat(), path=path, visitor_id=visitor, session_id=session, **fields)


def store(tenant, events):
    events_store(batches=[AcceptedBatch(tenant.property.pk, 0, datetime.now(UTC), events)])


@pytest.fixture
def traffic(tenant_a):
    store(
        tenant_a,
        [
            event(D1, path="/", visitor="v1", session="s1", utm_source="news", data={"plan": "pro"}),
            event(D1, hour=11, path="/pricing", visitor="v1", session="s1", data={"plan": "pro"}),
            event(D1, path="/", visitor="v2", session="s2", data={"plan": "free"}),
            event(D2, path="/", visitor="v1", session="s3"),
            event(D2, type="signup", path="/pricing", visitor="v3", session="s4"),
            event(D3, path="/docs", visitor="v4", session="s5", utm_source="news"),
        ],
    )
    return tenant_a


def ask(client, tenant, body, *, key=None, raw=None):
    return client.post(
        f"/v1/properties/{tenant.property.public_id}/query",
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key or tenant.read_key}",
    )


def oracle(tenant, body):
    events = list(Event.objects.filter(property=tenant.property).values())
    prop = tenant.property
    return query_oracle(timezone=prop.tzinfo, events=events, query=query_parse(body), today=property_today(prop))


PAGES = {
    "metrics": ["visitors", "pageviews", "bounce_rate"],
    "date_range": [D1.isoformat(), D3.isoformat()],
    "dimensions": ["event:page"],
}


def test_a_query_answers_rows_meta_and_the_query_as_understood(client, traffic):
    response = ask(client, traffic, {**PAGES, "include": {"totals": True}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["results"] == [
        # s1 (two pageviews), s2 and s3 (one each) pass through /; ties go by the page.
        {"dimensions": ["/"], "metrics": [2, 3, 66.7]},
        # s4 saw /pricing with a signup only: no pageview, so no visit for its bounce rate.
        {"dimensions": ["/pricing"], "metrics": [2, 1, 0.0]},
        {"dimensions": ["/docs"], "metrics": [1, 1, 100.0]},
    ]
    assert body["meta"] == {
        "date_range": ["2026-05-01", "2026-05-03"],
        "imports_included": False,
        "totals": [4, 5, 75.0],
    }
    assert body["query"] == {
        **PAGES,
        "filters": [],
        "order_by": [],
        "pagination": {"limit": 10000, "offset": 0},
        "include": {"totals": True, "time_labels": False, "compare": None, "imports": True},
    }


QUERIES = [
    PAGES,
    {
        "metrics": ["visits", "events", "events:signup", "visit_duration", "views_per_visit"],
        "date_range": [D1.isoformat(), D3.isoformat()],
        "dimensions": ["time:day", "visit:utm_source"],
        "filters": [["or", [["contains", "event:page", ["pric"]], ["not", ["is", "event:props:plan", ["free"]]]]]],
        "order_by": [["visits", "desc"]],
        "pagination": {"limit": 3, "offset": 1},
        "include": {"totals": True, "time_labels": True, "compare": "previous_period", "imports": True},
    },
    {
        "metrics": ["visitors"],
        "date_range": [D2.isoformat(), D3.isoformat()],
        "dimensions": ["time:day"],
        "filters": [["matches", "visit:entry_page", ["^/(docs|pricing)$"]]],
        "include": {"time_labels": True, "compare": [D1.isoformat(), D1.isoformat()], "imports": True},
    },
    {"metrics": ["visitors", "pageviews"], "date_range": "7d", "dimensions": ["event:props:plan"]},
]


@pytest.mark.parametrize("body", QUERIES)
def test_the_endpoint_answers_what_the_oracle_answers(client, traffic, body):
    answer = oracle(traffic, body)
    got = ask(client, traffic, body).json()
    assert got["results"] == answer.rows
    assert got["meta"]["date_range"] == [answer.first.isoformat(), answer.last.isoformat()]
    assert got["meta"].get("totals") == answer.totals
    assert got["meta"].get("time_labels") == answer.time_labels
    if answer.comparison is not None:
        assert got["meta"]["comparison"]["results"] == answer.comparison.rows


def test_a_member_asks_with_a_jwt(client, traffic):
    response = ask(client, traffic, PAGES, key=jwt_for(traffic.viewer))
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_who_may_not_ask(client, traffic, tenant_b):
    path = f"/v1/properties/{traffic.property.public_id}/query"
    anonymous = client.post(path, data=json.dumps(PAGES), content_type="application/json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    # Another tenant's read key and member: the property is not theirs, exactly like a missing one.
    for credential in (tenant_b.read_key, jwt_for(tenant_b.owner)):
        refused = ask(client, traffic, PAGES, key=credential)
        assert refused.status_code == 404
        missing = client.post(
            "/v1/properties/prop_doesnotexist0000/query",
            data=json.dumps(PAGES),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {credential}",
        )
        assert (missing.status_code, missing.json()) == (404, refused.json())
    written = ask(client, traffic, PAGES, key=traffic.write_key)
    assert written.status_code == 401
    assert "write key" in written.json()["error"]["message"]


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "query"),
        ({"metrics": ["visitors"]}, "date_range"),
        ({"metrics": ["visitors"], "date_range": "7d", "limit": 5}, "limit"),
        ({"metrics": ["visitors", "nope"], "date_range": "7d"}, "metrics[1]"),
        ({"metrics": "visitors", "date_range": "7d"}, "metrics"),
        ({"metrics": ["visitors"], "date_range": "8d"}, "date_range"),
        ({"metrics": ["visitors"], "date_range": ["2026-05-03", "2026-05-01"]}, "date_range[1]"),
        ({"metrics": ["visitors"], "date_range": ["2026-5-1", "2026-05-01"]}, "date_range[0]"),
        ({"metrics": ["visitors"], "date_range": ["1969-12-31", "1970-01-01"]}, "date_range"),
        ({"metrics": ["visitors"], "date_range": ["2000-01-01", "2026-01-01"]}, "date_range"),
        ({"metrics": ["visitors"], "date_range": "7d", "dimensions": ["visit:nope"]}, "dimensions[0]"),
        ({"metrics": ["visitors"], "date_range": "7d", "dimensions": ["time:day", "time:week"]}, "dimensions[1]"),
        ({"metrics": ["visitors"], "date_range": "91d", "dimensions": ["time:hour"]}, "dimensions[0]"),
        ({"metrics": ["visitors"], "date_range": "7d", "filters": [["is", "event:page", [1]]]}, "filters[0][2][0]"),
        ({"metrics": ["visitors"], "date_range": "7d", "filters": [["like", "event:page", ["/"]]]}, "filters[0][0]"),
        ({"metrics": ["visitors"], "date_range": "7d", "filters": [["is", "time:day", ["x"]]]}, "filters[0][1]"),
        (
            {"metrics": ["visitors"], "date_range": "7d", "filters": [["or", [["matches", "event:page", ["\\d"]]]]]},
            "filters[0][1][0][2][0]",
        ),
        ({"metrics": ["visitors"], "date_range": "7d", "order_by": [["pageviews", "desc"]]}, "order_by[0][0]"),
        ({"metrics": ["visitors"], "date_range": "7d", "order_by": [["visitors", "up"]]}, "order_by[0][1]"),
        ({"metrics": ["visitors"], "date_range": "7d", "pagination": {"limit": 10**30}}, "pagination.limit"),
        ({"metrics": ["visitors"], "date_range": "7d", "pagination": {"offset": -1}}, "pagination.offset"),
        ({"metrics": ["visitors"], "date_range": "7d", "pagination": {"limit": "5"}}, "pagination.limit"),
        ({"metrics": ["visitors"], "date_range": "7d", "include": {"totals": "yes"}}, "include.totals"),
        ({"metrics": ["visitors"], "date_range": "7d", "include": {"time_labels": True}}, "include.time_labels"),
        ({"metrics": ["visitors"], "date_range": "7d", "include": {"compare": "last_week"}}, "include.compare"),
        (
            {
                "metrics": ["visitors"],
                "date_range": ["1970-01-01", "1970-01-02"],
                "include": {"compare": "year_over_year"},
            },
            "include.compare",
        ),
    ],
)
def test_every_invalid_query_is_a_400_naming_its_field(client, tenant_a, body, field):
    response = ask(client, tenant_a, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_parameter"
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        "not json",
        DEEP,
        '{"metrics": ["visitors"], "date_range": "7d", "pagination": {"limit": 1e400}}',
        '{"metrics": ["visitors"], "date_range": "7d", "pagination": {"limit": 1' + "0" * 5000 + "}}",
        '{"metrics": ["visitors"], "date_range": "7d", "pagination": {"limit": NaN}}',
        '"visitors"',
        "null",
    ],
)
def test_a_body_that_is_no_query_is_a_400_never_a_5xx(client, tenant_a, raw):
    response = ask(client, tenant_a, None, raw=raw)
    assert response.status_code == 400, response.content
    assert "error" in response.json()


# Plausible's Stats API v2 (POST /api/v2/query).


def plausible(client, body, *, key):
    return client.post(
        "/api/v2/query", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


@pytest.fixture
def site(tenant_a):
    """The tenant's property as Plausible's docs name their example site, with traffic today and yesterday."""
    property_update(property=tenant_a.property, domains=["dummy.site"])
    today = property_today(tenant_a.property)
    store(
        tenant_a,
        [
            event(today, hour=0, path="/", visitor="v1", session="s1", utm_source="news"),
            event(today, hour=0, path="/login", visitor="v1", session="s1"),
            event(today, hour=0, path="/", visitor="v2", session="s2"),
            event(today - timedelta(days=1), path="/pricing", visitor="v3", session="s3"),
            event(
                today - timedelta(days=1),
                type="Download",
                path="/pricing",
                visitor="v3",
                session="s3",
                data={"method": "HTTP"},
            ),
        ],
    )
    return tenant_a


def test_plausibles_curl_example_answers_in_its_shape(client, site):
    # The request of Plausible's docs ("Example curl request"), its site_id our property's domain.
    response = plausible(
        client, {"site_id": "dummy.site", "metrics": ["visitors"], "date_range": "7d"}, key=site.read_key
    )
    assert response.status_code == 200, response.content
    body = response.json()
    today = property_today(site.property)
    assert body == {
        "results": [{"dimensions": [], "metrics": [3]}],
        "meta": {},
        "query": {
            "site_id": "dummy.site",
            "metrics": ["visitors"],
            "date_range": [f"{today - timedelta(days=6)}T00:00:00+00:00", f"{today}T23:59:59+00:00"],
            "filters": [],
            "dimensions": [],
            "order_by": [["visitors", "desc"]],
            "include": {},
            "pagination": {"limit": 10000, "offset": 0},
        },
    }


def test_site_id_is_the_property_id_or_a_domain_in_any_case(client, site):
    for site_id in (site.property.public_id, "dummy.site", "Dummy.Site"):
        response = plausible(
            client, {"site_id": site_id, "metrics": ["pageviews"], "date_range": "7d"}, key=site.read_key
        )
        assert response.json()["results"] == [{"dimensions": [], "metrics": [4]}], site_id


def test_percentage_total_rows_pagination_and_filters_as_plausible(client, site):
    body = {
        "site_id": "dummy.site",
        "metrics": ["percentage", "pageviews"],
        "date_range": "28d",
        "dimensions": ["event:page"],
        "filters": [["is_not", "event:page", ["/login"]], ["contains", "event:page", ["/"], {"case_sensitive": True}]],
        "order_by": [["percentage", "desc"], ["event:page", "asc"]],
        "pagination": {"limit": 1, "offset": 1},
        "include": {"total_rows": True, "imports": True},
    }
    response = plausible(client, body, key=site.read_key)
    assert response.status_code == 200, response.content
    answer = response.json()
    # v1 and v2 saw /, v3 /pricing: of 3 visitors, / has 66.7% and /pricing (the second row) 33.3%.
    assert answer["results"] == [{"dimensions": ["/pricing"], "metrics": [33.3, 1]}]
    assert answer["meta"] == {"imports_included": False, "imports_skip_reason": "no_imported_data", "total_rows": 2}
    assert answer["query"]["filters"] == body["filters"]
    assert answer["query"]["include"] == {"total_rows": True, "imports": True}


def test_time_is_a_bucket_by_the_range_and_time_labels_fill_no_rows(client, site):
    body = {
        "site_id": "dummy.site",
        "metrics": ["visitors"],
        "date_range": "7d",
        "dimensions": ["time"],
        "include": {"time_labels": True},
    }
    answer = plausible(client, body, key=site.read_key).json()
    today = property_today(site.property)
    assert answer["query"]["dimensions"] == ["time:day"]
    assert answer["results"] == [
        {"dimensions": [str(today - timedelta(days=1))], "metrics": [1]},
        {"dimensions": [str(today)], "metrics": [2]},
    ]
    assert answer["meta"]["time_labels"] == [str(today - timedelta(days=n)) for n in range(6, -1, -1)]


def test_all_begins_with_the_first_event(client, site):
    body = {"site_id": "dummy.site", "metrics": ["visitors"], "date_range": "all"}
    answer = plausible(client, body, key=site.read_key).json()
    first = property_today(site.property) - timedelta(days=1)
    assert answer["query"]["date_range"][0] == f"{first}T00:00:00+00:00"
    assert answer["results"] == [{"dimensions": [], "metrics": [3]}]


def test_a_custom_property_breakdown_of_a_custom_event(client, site):
    # Plausible's docs example "Breakdown custom event by custom props", in v2's form.
    body = {
        "site_id": "dummy.site",
        "metrics": ["visitors", "events"],
        "date_range": "7d",
        "dimensions": ["event:props:method"],
        "filters": [["is", "event:name", ["Download"]]],
    }
    answer = plausible(client, body, key=site.read_key).json()
    assert answer["results"] == [{"dimensions": ["HTTP"], "metrics": [1, 1]}]
    body["filters"] = [["is", "event:name", ["pageview"]]]
    answer = plausible(client, body, key=site.read_key).json()
    assert answer["results"] == [{"dimensions": [None], "metrics": [3, 4]}]


def test_plausibles_errors_name_the_key_or_site_in_its_shape(client, site, tenant_b):
    body = {"site_id": "dummy.site", "metrics": ["visitors"], "date_range": "7d"}
    missing = client.post("/api/v2/query", data=json.dumps(body), content_type="application/json")
    assert (missing.status_code, missing.json()) == (
        401,
        {"error": "Missing API key. Please use a valid Plausible API key as a Bearer Token."},
    )
    invalid = {
        "error": "Invalid API key or site ID. Please make sure you're using a valid API key with access to the site "
        "you've requested."
    }
    for key, site_id in (
        (tenant_b.read_key, "dummy.site"),  # another tenant's key
        (tenant_b.read_key, site.property.public_id),
        (site.read_key, tenant_b.property.public_id),  # another tenant's site
        (site.read_key, "nowhere.example"),
        (site.read_key, "dummy\x00.site"),
        ("rk_" + "x" * 32, "dummy.site"),
        (jwt_for(site.owner), "dummy.site"),  # members ask /v1; this takes read keys as Plausible's API keys
    ):
        refused = plausible(client, {**body, "site_id": site_id}, key=key)
        assert (refused.status_code, refused.json()) == (401, invalid), (key, site_id)
    written = plausible(client, body, key=site.write_key)
    assert written.status_code == 401
    assert set(written.json()) == {"error"}
    no_site = plausible(client, {"metrics": ["visitors"], "date_range": "7d"}, key=site.read_key)
    assert no_site.status_code == 400
    assert no_site.json() == {
        "error": "Missing site ID. Please provide the required site_id parameter with your request."
    }


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"metrics": ["visitors", "conversion_rate"]}, "#/metrics/1"),
        ({"metrics": ["visitors", "scroll_depth"]}, "#/metrics/1"),
        ({"metrics": ["unique_visitors"]}, "#/metrics/0"),
        ({"metrics": ["events:signup"]}, "#/metrics/0"),
        ({"metrics": ["percentage"]}, "#/metrics/0"),
        ({"metrics": ["conversion_rate"], "filters": [["is_not", "event:page", ["/"]]]}, "#/metrics/0"),
        ({"dimensions": ["visit:country_name", "visit:city_name"]}, "#/dimensions/0"),
        ({"dimensions": ["time:minute"]}, "#/dimensions/0"),
        ({"date_range": ["2024-01-01T12:00:00", "2024-01-01T15:59:59"]}, "#/date_range/0"),
        ({"date_range": ["2024-01-01T12:00:00Z", "2024-01-01T11:59:59Z"]}, "#/date_range/1"),
        ({"date_range": ["2024-01-01T12:00:00Z", "2024-01-01"]}, "#/date_range/1"),
        ({"date_range": "realtime"}, "#/date_range"),
        ({"date_range": ["2024-01-02", "2024-01-01"]}, "#/date_range/1"),
        ({"filters": [["or", [["is", "event:goal", ["Signup"]]]]]}, "#/filters/0/1/0/1"),
        ({"filters": [["is", "segment", [1]]]}, "#/filters/0/1"),
        ({"filters": [["contains", "event:page", ["blog"], {"case_sensitive": False}]]}, "#/filters/0/3"),
        ({"filters": [["not", ["matches_wildcard", "event:page", ["/blog*"]]]]}, "#/filters/0/1/0"),
        ({"filters": [["or", [["is", "visit:country", [True]]]]]}, "#/filters/0/1/0/2/0"),
        ({"order_by": [["bounce_rate", "desc"]]}, "#/order_by/0/0"),
        ({"include": {"comparisons": {"mode": "previous_period"}}}, "#/include/comparisons"),
        ({"include": {"time_labels": True}}, "#/include/time_labels"),
        ({"pagination": {"limit": 10001}}, "#/pagination/limit"),
        ({"date": "2024-01-01"}, "#/date"),
    ],
)
def test_what_plausible_or_clickmeter_refuses_is_a_400_with_the_fields_pointer(client, site, change, pointer):
    body = {"site_id": "dummy.site", "metrics": ["visitors"], "date_range": "7d", **change}
    response = plausible(client, body, key=site.read_key)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"error"}
    assert response.json()["error"].startswith(f"{pointer}: "), response.json()


@pytest.mark.parametrize("raw", ["{", "[]", DEEP, '{"site_id": "dummy.site", "metrics": 1e400, "date_range": "7d"}'])
def test_a_plausible_body_that_is_no_query_is_a_400(client, site, raw):
    response = client.post(
        "/api/v2/query", data=raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {site.read_key}"
    )
    assert response.status_code == 400, response.content
    assert isinstance(response.json()["error"], str)


def test_a_range_of_times_keeps_the_events_within_it_both_ends_included(client, traffic):
    def pageviews(since: str, until: str) -> int:
        response = ask(client, traffic, {"metrics": ["pageviews"], "date_range": [since, until]})
        assert response.status_code == 200, response.content
        return response.json()["results"][0]["metrics"][0]

    assert pageviews(f"{D1}T10:00:00Z", f"{D1}T10:59:59Z") == 2
    assert pageviews(f"{D1}T11:00:00Z", f"{D1}T11:00:00Z") == 1
    assert pageviews(f"{D1}T12:00:00+01:00", f"{D1}T13:00:00+02:00") == 1, "11:00 UTC, in two offsets"
    assert pageviews(f"{D1}T10:00:01Z", f"{D1}T10:59:59Z") == 0


def test_plausible_date_time_ranges_answer_per_minute(client, site):
    yesterday = property_today(site.property) - timedelta(days=1)
    body = {
        "site_id": "dummy.site",
        "metrics": ["pageviews", "events"],
        "date_range": [f"{yesterday}T09:59:00Z", f"{yesterday}T10:00:59Z"],
        "dimensions": ["time:minute"],
        "include": {"time_labels": True},
    }
    response = plausible(client, body, key=site.read_key)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["results"] == [{"dimensions": [f"{yesterday} 10:00:00"], "metrics": [1, 2]}]
    assert answer["meta"]["time_labels"] == [f"{yesterday} 09:59:00", f"{yesterday} 10:00:00"]
    assert answer["query"]["date_range"] == [f"{yesterday}T09:59:00+00:00", f"{yesterday}T10:00:59+00:00"]
