"""The reporting API with read keys: overview, pages, campaigns, metrics."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.services import rollup_refresh_dirty_days
from devtools.events import validated_event

pytestmark = pytest.mark.django_db


def event(day: date, *, type="pageview", path="/", visitor="v1", session="s1", campaign_id="", utm_campaign=""):
    ts = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10)
    return validated_event(
        type=type,
        ts=ts.isoformat(),
        path=path,
        visitor_id=visitor,
        session_id=session,
        campaign_id=campaign_id,
        utm_campaign=utm_campaign,
    )


D1, D2, D3 = date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)


@pytest.fixture
def traffic(tenant_a):
    events = [
        event(D1, path="/", visitor="v1", session="s1", campaign_id="cmp_1"),
        event(D1, path="/pricing", visitor="v1", session="s1", campaign_id="cmp_1"),
        event(D1, path="/", visitor="v2", session="s2", utm_campaign="spring"),
        event(D2, path="/", visitor="v1", session="s3"),
        event(D2, type="signup", path="/pricing", visitor="v3", session="s4"),
        event(D3, path="/docs", visitor="v4", session="s5", utm_campaign="spring"),
    ]
    events_store(batches=[AcceptedBatch(tenant_a.property.pk, 0, datetime.now(UTC), events)])
    return tenant_a


def get(client, tenant, report, key=None, **params):
    return client.get(
        f"/v1/properties/{tenant.property.public_id}/{report}",
        params,
        HTTP_AUTHORIZATION=f"Bearer {key or tenant.read_key}",
    )


@pytest.mark.parametrize("rolled_up", [False, True])
def test_overview_counts_visitors_distinct_over_the_range(client, traffic, rolled_up):
    if rolled_up:
        rollup_refresh_dirty_days(quiet_seconds=0)
    body = get(client, traffic, "overview", **{"from": "2026-05-01", "to": "2026-05-02"}).json()
    # v1 visits on both days and counts once; the signup is not a pageview but its visitor counts.
    assert body == {
        "property_id": traffic.property.public_id,
        "from": "2026-05-01",
        "to": "2026-05-02",
        "pageviews": 4,
        "unique_visitors": 3,
        "sessions": 4,
    }


def test_pages_ranks_paths_by_pageviews(client, traffic):
    body = get(client, traffic, "pages", **{"from": "2026-05-01", "to": "2026-05-03"}).json()
    assert body["results"] == [
        {"path": "/", "pageviews": 3, "unique_visitors": 2},
        {"path": "/docs", "pageviews": 1, "unique_visitors": 1},
        {"path": "/pricing", "pageviews": 1, "unique_visitors": 1},
    ]
    limited = get(client, traffic, "pages", limit="1", **{"from": "2026-05-01", "to": "2026-05-03"}).json()
    assert limited["results"] == body["results"][:1]


def test_campaigns_prefer_campaign_id_then_utm_campaign(client, traffic):
    body = get(client, traffic, "campaigns", **{"from": "2026-05-01", "to": "2026-05-03"}).json()
    assert body["results"] == [
        {"campaign_id": "cmp_1", "pageviews": 2, "unique_visitors": 1},
        {"campaign_id": "spring", "pageviews": 2, "unique_visitors": 2},
    ]


def test_metrics_by_day_and_path_with_a_filter(client, traffic):
    body = get(
        client,
        traffic,
        "metrics",
        interval="day",
        metrics="pageviews,unique_visitors",
        group_by="path",
        type="pageview",
        **{"from": "2026-05-01", "to": "2026-05-02"},
    ).json()
    assert body["interval"] == "day"
    assert body["group_by"] == ["path"]
    assert body["results"] == [
        {"date": "2026-05-01", "path": "/", "pageviews": 2, "unique_visitors": 2},
        {"date": "2026-05-01", "path": "/pricing", "pageviews": 1, "unique_visitors": 1},
        {"date": "2026-05-02", "path": "/", "pageviews": 1, "unique_visitors": 1},
    ]


def test_metrics_daily_series_lists_empty_days_with_zeros(client, traffic):
    body = get(
        client, traffic, "metrics", interval="day", metrics="pageviews", **{"from": "2026-04-30", "to": "2026-05-01"}
    )
    assert body.json()["results"] == [{"date": "2026-04-30", "pageviews": 0}, {"date": "2026-05-01", "pageviews": 3}]


def test_metrics_group_by_campaign_id(client, traffic):
    body = get(
        client,
        traffic,
        "metrics",
        group_by="campaign_id",
        metrics="pageviews",
        **{"from": "2026-05-01", "to": "2026-05-03"},
    )
    # Ties are broken by the dimension, ascending; no campaign is null.
    assert body.json()["results"] == [
        {"campaign_id": "cmp_1", "pageviews": 2},
        {"campaign_id": "spring", "pageviews": 2},
        {"campaign_id": None, "pageviews": 1},
    ]


def test_a_new_event_shows_at_once_on_a_rolled_up_day(client, traffic):
    rollup_refresh_dirty_days(quiet_seconds=0)
    events_store(
        batches=[AcceptedBatch(traffic.property.pk, 0, datetime.now(UTC), [event(D1, visitor="v9", session="s9")])]
    )
    body = get(client, traffic, "overview", **{"from": "2026-05-01", "to": "2026-05-01"}).json()
    assert (body["pageviews"], body["unique_visitors"]) == (3 + 1, 2 + 1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-05-03", "to": "2026-05-01"}, "from"),
        ({"from": "2000-01-01", "to": "2026-05-01"}, "from"),
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"metrics": "pageviews,bogus"}, "metrics"),
        ({"metrics": ""}, "metrics"),
        ({"group_by": "planet"}, "group_by"),
        ({"interval": "fortnight"}, "interval"),
        ({"interval": "hour", "from": "2026-03-01", "to": "2026-05-01"}, "interval"),
        ({"group_by": "entry_page", "interval": "day"}, "group_by"),
        ({"group_by": "path", "metrics": "bounce_rate"}, "metrics"),
        ({"colour": "blue"}, "colour"),
        ({"interval": ""}, "interval"),
        ({"metrics": "pageviews,"}, "metrics"),
        ({"metrics": " pageviews"}, "metrics"),
        ({"limit": "\uff15"}, "limit"),  # a fullwidth 5: a digit to str.isdigit, not to the schema
        ({"to": "20260501"}, "to"),
        ({"to": "1969-12-31"}, "to"),
        ({"from": "3000-01-01"}, "from"),
    ],
)
def test_bad_parameters_are_400s_naming_the_field(client, tenant_a, params, field):
    response = get(client, tenant_a, "metrics", **params)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert response.json()["error"]["code"] in {"invalid_parameter", "unknown_parameter"}


@pytest.mark.parametrize("parameter", ["limit", "from", "interval", "country"])
def test_a_parameter_given_twice_is_a_400_not_one_of_its_values_picked(client, tenant_a, parameter):
    value = {"limit": "5", "from": "2026-05-01", "interval": "day", "country": "GB"}[parameter]
    response = client.get(
        f"/v1/properties/{tenant_a.property.public_id}/metrics?{parameter}={value}&{parameter}={value}",
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}",
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_parameter",
        "message": f"{parameter} is given 2 times; give it once.",
        "field": parameter,
    }


def test_the_first_and_last_days_a_report_may_name_need_no_date_outside_the_calendar(client, tenant_a):
    tenant_a.property.timezone = "Pacific/Kiritimati"
    tenant_a.property.save()
    for params in ({"to": "1970-01-01"}, {"from": "2999-12-31", "to": "2999-12-31", "interval": "hour"}):
        response = get(client, tenant_a, "metrics", **params)
        assert response.status_code == 200, response.content


@pytest.mark.parametrize("report", ["overview", "pages", "campaigns", "metrics"])
def test_another_propertys_reports_are_404_with_this_key(client, tenant_a, tenant_b, report):
    response = client.get(
        f"/v1/properties/{tenant_b.property.public_id}/{report}", HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}"
    )
    assert response.status_code == 404
    missing = client.get(f"/v1/properties/prop_doesnotexist/{report}", HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}")
    assert missing.status_code == 404
    assert missing.json() == response.json()


@pytest.mark.parametrize("report", ["overview", "metrics"])
@pytest.mark.parametrize("secret", ["write_key", "ingest_token"])
def test_a_write_key_on_a_report_is_told_to_use_a_read_key_or_a_members_token(client, tenant_a, report, secret):
    credential = tenant_a.write_key if secret == "write_key" else "it_" + "x" * 40
    response = client.get(
        f"/v1/properties/{tenant_a.property.public_id}/{report}", HTTP_AUTHORIZATION=f"Bearer {credential}"
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="clickmeter"'
    error = response.json()["error"]
    assert error["code"] == "authentication_failed"
    assert "write key" in error["message"] and "read key" in error["message"] and "member" in error["message"]
    assert "token type" not in error["message"]


@pytest.mark.parametrize("key", ["write", "none", "forged"])
def test_reports_need_a_read_key_in_the_authorization_header_not_the_url(client, tenant_a, key):
    url = f"/v1/properties/{tenant_a.property.public_id}/overview"
    if key == "write":
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}")
    elif key == "forged":
        response = client.get(url, HTTP_AUTHORIZATION="Bearer rk_" + "x" * 32)
    else:
        response = client.get(url, {"key": tenant_a.read_key})
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"not_authenticated", "authentication_failed"}


def test_reports_default_to_the_last_seven_days_in_the_property_timezone(client, tenant_a):
    body = get(client, tenant_a, "overview").json()
    assert date.fromisoformat(body["to"]) - date.fromisoformat(body["from"]) == timedelta(days=6)


def test_metrics_group_and_filter_by_enriched_dimensions(client, tenant_a, geoip):
    from tests.ingestion.test_enrichment import SAFARI_IPHONE

    def visit(address, user_agent=None):
        page = {"url": "https://example.com/?utm_source=news&utm_medium=email"}
        envelope = {
            "property_id": tenant_a.property.public_id,
            "events": [{"type": "pageview", "context": {"page": page}}],
        }
        headers = {"HTTP_USER_AGENT": user_agent} if user_agent else {}
        response = client.post(
            "/v1/events", json.dumps(envelope), content_type="application/json", REMOTE_ADDR=address,
            HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}", **headers,
        )  # fmt: skip
        assert response.status_code == 202

    visit("81.2.69.142")
    visit("89.160.20.112", SAFARI_IPHONE)
    visit("89.160.20.112", SAFARI_IPHONE)
    today = timezone.now().date().isoformat()
    by_country = get(client, tenant_a, "metrics", group_by="country,device", metrics="pageviews,unique_visitors",
                     **{"from": today, "to": today}).json()["results"]  # fmt: skip
    assert by_country == [
        {"country": "SE", "device": "mobile", "pageviews": 2, "unique_visitors": 1},
        {"country": "GB", "device": "desktop", "pageviews": 1, "unique_visitors": 1},
    ]
    channels = get(client, tenant_a, "metrics", group_by="channel,utm_source", metrics="pageviews", country="GB",
                   **{"from": today, "to": today}).json()["results"]  # fmt: skip
    assert channels == [{"utm_source": "news", "channel": "email", "pageviews": 1}]
