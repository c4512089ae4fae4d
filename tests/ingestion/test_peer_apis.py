"""The peer trackers' endpoints through the Django test client, with the Redis buffer and in-process
drains: Plausible's `/api/event`, Umami's `/api/send` and `/api/batch`, PostHog's capture paths."""

import base64
import gzip
import json
import uuid
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ingestion.models import Event
from apps.properties.models import Property
from apps.properties.services import property_update

pytestmark = pytest.mark.django_db

SITE = "shop.example"
ORIGIN = f"https://{SITE}"


@pytest.fixture
def site(tenant_a):
    property_update(
        property=tenant_a.property,
        domains=[SITE, "www.shop.example"],
        allowed_origins=[ORIGIN, "https://www.shop.example"],
    )
    return tenant_a


def stored(tenant):
    return Event.objects.filter(property=tenant.property)


def assert_error(response, status: int, code: str, field: str | None = None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if field is not None:
        assert error["field"] == field


# Plausible


def plausible(client, body, **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers.setdefault("HTTP_ORIGIN", ORIGIN)
    return client.post("/api/event", data=data, content_type="text/plain", **headers)


def test_plausible_pageview_and_custom_event_with_props_and_revenue_are_stored(client, site):
    page = {"n": "pageview", "u": f"{ORIGIN}/pricing?utm_source=news", "d": SITE, "r": "https://duck.com/"}
    assert plausible(client, page).status_code == 202
    purchase = {
        "name": "Purchase",
        "url": f"{ORIGIN}/checkout",
        "domain": SITE,
        "props": {"plan": "pro"},
        "revenue": {"amount": "49.90", "currency": "eur"},
    }
    response = plausible(client, purchase)
    assert response.status_code == 202 and response.content == b"ok"
    view = stored(site).get(type="pageview")
    assert (view.path, view.utm_source, view.referrer) == ("/pricing", "news", "https://duck.com/")
    assert stored(site).get(type="Purchase").data == {"plan": "pro", "revenue": "49.90", "currency": "EUR"}


def test_plausible_hash_mode_keeps_the_fragment_and_props_may_come_as_json_text(client, site):
    body = {"n": "Signup", "u": f"{ORIGIN}/app#/settings", "d": SITE, "h": 1, "p": json.dumps({"step": 2})}
    assert plausible(client, body).status_code == 202
    event = stored(site).get()
    assert (event.path, event.data) == ("/app#/settings", {"step": 2})


def test_plausible_finds_the_property_by_any_of_its_domains_and_engagement_is_not_stored(client, site):
    assert (
        plausible(client, {"n": "pageview", "u": "https://www.shop.example/", "d": "WWW.Shop.Example"}).status_code
        == 202
    )
    engagement = {"n": "engagement", "u": f"{ORIGIN}/", "d": SITE, "sd": 80, "e": 1200}
    assert plausible(client, engagement).status_code == 202
    assert list(stored(site).values_list("type", flat=True)) == ["pageview"]


def test_plausible_refuses_an_unknown_domain_a_bad_revenue_and_a_missing_url(client, site):
    assert_error(
        plausible(client, {"n": "pageview", "u": "https://x.example/", "d": "x.example"}),
        404,
        "property_not_found",
        "domain",
    )
    bad_revenue = {"n": "Buy", "u": f"{ORIGIN}/", "d": SITE, "$": {"amount": "NaN", "currency": "EUR"}}
    assert_error(plausible(client, bad_revenue), 400, "invalid_field", "revenue")
    assert_error(plausible(client, {"n": "pageview", "d": SITE}), 400, "missing_field", "url")
    assert_error(plausible(client, b"{not json"), 400, "invalid_json")
    assert not stored(site).exists()


def test_plausible_applies_the_propertys_origins_and_drops_bots(client, site):
    page = {"n": "pageview", "u": f"{ORIGIN}/", "d": SITE}
    assert_error(plausible(client, page, HTTP_ORIGIN="https://evil.example"), 403, "origin_not_allowed")
    assert plausible(client, page, HTTP_USER_AGENT="Googlebot/2.1").status_code == 202
    assert not stored(site).exists()


# Umami


def umami_message(tenant, **payload) -> dict:
    base = {"website": tenant.property.public_id, "hostname": SITE, "url": "/pricing?x=1", "title": "Pricing%20page"}
    return {"type": "event", "payload": {**base, **payload}}


def umami(client, path, body, **headers):
    headers.setdefault("HTTP_ORIGIN", ORIGIN)
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def test_umami_send_stores_a_pageview_and_a_custom_event_and_answers_as_umami(client, site):
    response = umami(client, "/api/send", umami_message(site, referrer="https://news.example/item"))
    assert response.status_code == 200 and "cache" in response.json()
    signup = umami_message(site, name="signup", data={"plan": "pro"}, id="user-7", timestamp=1_700_000_000)
    assert umami(client, "/api/send", signup).status_code == 200
    view = stored(site).get(type="pageview")
    assert (view.url, view.path, view.title) == (f"https://{SITE}/pricing?x=1", "/pricing", "Pricing page")
    event = stored(site).get(type="signup")
    assert event.data == {"plan": "pro"} and event.ts.timestamp() == 1_700_000_000
    assert event.user_id_hash and "user-7" not in event.user_id_hash


def test_umami_performance_and_identify_without_a_person_and_traits_are_answered_and_not_stored(client, site):
    for message in (
        {**umami_message(site), "type": "performance"},
        {**umami_message(site, data={"plan": "pro"}), "type": "identify"},
        {**umami_message(site, id="user-7"), "type": "identify"},
    ):
        assert umami(client, "/api/send", message).status_code == 200
    assert not stored(site).exists()


def test_umami_identify_keeps_the_persons_traits_as_an_identify_event(client, site):
    message = {**umami_message(site, id="user-7", data={"plan": "pro"}), "type": "identify"}
    assert umami(client, "/api/send", message).status_code == 200
    identified = stored(site).get()
    assert (identified.type, identified.data) == ("identify", {"plan": "pro"})
    assert identified.user_id_hash and "user-7" not in identified.user_id_hash


def test_umami_batch_stores_the_good_messages_and_names_each_bad_one(client, site, tenant_b):
    property_update(property=tenant_b.property, domains=["other.example"], allowed_origins=[ORIGIN])
    messages = [
        umami_message(site),
        umami_message(site, website="prop_missing"),
        umami_message(site, name="x" * 65),
        {**umami_message(tenant_b), "payload": {**umami_message(tenant_b)["payload"], "hostname": "other.example"}},
        "not an object",
    ]
    response = umami(client, "/api/batch", messages)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["size"], body["processed"], body["errors"]) == (5, 2, 3)
    assert [(detail["index"], detail["code"]) for detail in body["details"]] == [
        (1, "property_not_found"),
        (2, "too_long"),
        (4, "invalid_body"),
    ]
    assert stored(site).count() == 1


def test_umami_refuses_an_unknown_website_and_an_empty_batch(client, site):
    assert_error(umami(client, "/api/send", umami_message(site, website="prop_nope")), 404, "property_not_found")
    assert_error(umami(client, "/api/batch", []), 400, "invalid_body")


# PostHog


def posthog_event(tenant, name="$pageview", **properties) -> dict:
    return {
        "uuid": str(uuid.uuid4()),
        "event": name,
        "timestamp": "2026-01-05T10:00:00Z",
        "properties": {
            "token": tenant.write_key,
            "distinct_id": "anon-1",
            "$device_id": "anon-1",
            "$session_id": "s-1",
            "$current_url": f"{ORIGIN}/docs?utm_campaign=launch",
            "$referrer": "$direct",
            **({"title": "Docs"} if name == "$pageview" else {}),
            **properties,
        },
    }


def posthog(client, path, data: bytes, content_type="text/plain", **headers):
    headers.setdefault("HTTP_ORIGIN", ORIGIN)
    return client.post(path, data=data, content_type=content_type, **headers)


def test_posthog_gzip_batch_stores_events_with_their_uuid_as_event_id_and_hashed_ids(client, site):
    events = [
        posthog_event(site),
        posthog_event(site, "signup", plan="pro", distinct_id="ada@example.com", **{"$is_identified": True}),
    ]
    body = gzip.compress(
        json.dumps({"api_key": site.write_key, "batch": events, "sent_at": "2026-01-05T10:00:01Z"}).encode()
    )
    response = posthog(client, "/e/?compression=gzip-js&ver=1.449.2", body)
    assert response.status_code == 200 and response.json()["status"] == 1
    view, signup = stored(site).get(type="pageview"), stored(site).get(type="signup")
    assert (view.event_id, view.path, view.title, view.referrer) == (events[0]["uuid"], "/docs", "Docs", "")
    assert view.campaign_key == "launch" and view.session_id == "s-1"
    assert view.visitor_id.startswith("ph_") and "anon-1" not in view.visitor_id
    assert signup.data == {"plan": "pro"} and signup.visitor_id == view.visitor_id
    assert signup.user_id_hash and "ada" not in signup.user_id_hash and not view.user_id_hash


def test_posthog_base64_beacon_and_plain_single_event_and_the_capture_paths(client, site):
    beacon = base64.b64encode(json.dumps([posthog_event(site, "$pageleave")]).encode()).decode()
    form = f"data={quote(beacon, safe='')}".encode()
    assert (
        posthog(client, "/e/?compression=base64&beacon=1", form, "application/x-www-form-urlencoded").status_code == 200
    )
    for path in ("/i/v0/e/", "/capture/", "/batch", "/capture"):
        single = {**posthog_event(site, "clicked"), "api_key": site.write_key}
        assert posthog(client, path, json.dumps(single).encode(), "application/json").status_code == 200
    assert sorted(stored(site).values_list("type", flat=True)) == ["$pageleave", *["clicked"] * 4]


def test_posthog_an_event_sent_twice_counts_once(client, site):
    body = json.dumps([posthog_event(site)]).encode()
    assert posthog(client, "/e/", body).status_code == 200
    assert posthog(client, "/e/", body).status_code == 200
    assert stored(site).count() == 1


def test_posthog_recording_and_group_events_and_persons_without_properties_are_not_stored(client, site):
    names = ("$identify", "$set", "$snapshot", "$$heatmap", "$groupidentify")
    events = [posthog_event(site, name) for name in names]
    assert posthog(client, "/e/", json.dumps(events).encode()).status_code == 200
    assert not stored(site).exists()


def test_posthog_identify_and_set_keep_the_persons_properties_as_identify_events(client, site):
    events = [
        # posthog-js puts $set beside the properties; other libraries within them.
        {**posthog_event(site, "$identify", distinct_id="user-42"), "$set": {"plan": "free"}},
        posthog_event(site, "$set", distinct_id="user-42", **{"$set": {"plan": "pro", "seats": 3}}),
    ]
    assert posthog(client, "/e/", json.dumps(events).encode()).status_code == 200
    identified = list(stored(site).order_by("data"))
    assert [(event.type, event.data) for event in identified] == [
        ("identify", {"plan": "free"}),
        ("identify", {"plan": "pro", "seats": 3}),
    ]
    assert len({event.user_id_hash for event in identified}) == 1 and identified[0].user_id_hash


def test_posthog_refuses_a_token_that_is_no_write_key_and_bodies_it_cannot_read(client, site):
    foreign = posthog_event(site)
    foreign["properties"]["token"] = site.read_key
    assert_error(posthog(client, "/e/", json.dumps([foreign]).encode()), 401, "invalid_token")
    no_token = posthog_event(site)
    del no_token["properties"]["token"]
    assert_error(posthog(client, "/e/", json.dumps([no_token]).encode()), 400, "missing_field")
    assert_error(posthog(client, "/e/?compression=gzip-js", b"\x1f\x8bnot gzip"), 400, "invalid_body")
    assert_error(posthog(client, "/e/", b"[{"), 400, "invalid_json")
    bomb = gzip.compress(b"[" + b" " * (3 * 1024 * 1024) + b"]")
    assert_error(posthog(client, "/e/", bomb), 413, "payload_too_large")
    assert not stored(site).exists()


def test_posthog_start_up_calls_answer_no_flags_and_no_recordings(client, site):
    for path in ("/flags/?v=2&config=true", "/decide/?v=4"):
        body = posthog(client, path, b"{}").json()
        assert body["featureFlags"] == {} and body["sessionRecording"] is False and "surveys" not in body
    config = client.get(f"/array/{site.write_key}/config").json()
    assert config["token"] == site.write_key and config["sessionRecording"] is False
    script = client.get(f"/array/{site.write_key}/config.js")
    assert script["Content-Type"].startswith("application/javascript")
    assert f'c["{site.write_key}"]=' in script.content.decode()
    assert client.get("/array/bad<token>/config.js").status_code == 404


def test_the_peer_trackers_are_served_where_their_snippets_look(client):
    for path, marker in (("/static/array.js", b"posthog"), ("/script.js", b"website-id")):
        response = client.get(path)
        assert response.status_code == 200 and marker in response.content
        assert response["Content-Type"].startswith("application/javascript")
        assert response["Access-Control-Allow-Origin"] == "*", "PostHog's snippet loads it with crossorigin"
        assert "Access-Control-Allow-Credentials" not in response


# CORS: a preflight names no property; an origin that some property allows gets an answer.


@pytest.mark.parametrize("path", ["/api/event", "/api/send", "/api/batch", "/e/", "/i/v0/e/", "/flags/"])
def test_a_preflight_is_answered_for_an_origin_some_property_allows_and_only_then(client, site, path):
    preflight = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type"}
    allowed = client.options(path, HTTP_ORIGIN=site.property.allowed_origins[0], **preflight)
    assert allowed["Access-Control-Allow-Origin"] == site.property.allowed_origins[0]
    assert "Access-Control-Allow-Credentials" not in allowed
    refused = client.options(path, HTTP_ORIGIN="https://evil.example", **preflight)
    assert "Access-Control-Allow-Origin" not in refused


def test_a_site_without_a_key_is_rate_limited_per_property(client, site, budget_window):
    Property.unscoped.filter(pk=site.property.pk).update(ingest_limit_per_key=2)
    page = {"n": "pageview", "u": f"{ORIGIN}/", "d": SITE}
    statuses = [plausible(client, page).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    message = {"type": "event", "payload": {"website": site.property.public_id, "hostname": SITE, "url": "/"}}
    assert umami(client, "/api/send", message).status_code == 429, "the same property's budget"
    assert stored(site).count() == 2


# Whatever a body holds, an answer below 500: the peers' fields in every shape, around real names.

FIELDS = [
    *("n", "u", "d", "r", "p", "$", "h", "name", "url", "domain", "referrer", "props", "revenue", "amount"),
    *("currency", "type", "payload", "website", "hostname", "title", "data", "id", "timestamp", "api_key"),
    *("batch", "event", "properties", "token", "uuid", "distinct_id", "$current_url", "$device_id"),
    *("$session_id", "$is_identified", "$referrer", "sent_at"),
]
PEER_PATHS = ["/api/event", "/api/send", "/api/batch", "/e/", "/i/v0/e/?compression=gzip-js", "/batch/"]


def json_values(tenant):
    names = st.sampled_from([SITE, tenant.property.public_id, tenant.write_key, "pageview", "$pageview", "event"])
    leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12) | names
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), children, max_size=6)
        ),
        max_leaves=25,
    )


@pytest.mark.parametrize("path", PEER_PATHS)
def test_any_json_body_is_answered_below_500(client, site, path):
    @given(body=json_values(site))
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def answered(body):
        data = json.dumps(body).encode()
        if "gzip" in path:
            data = gzip.compress(data)
        response = client.post(path, data=data, content_type="text/plain", HTTP_ORIGIN=ORIGIN)
        assert response.status_code < 500, response.content

    answered()


def test_a_body_sent_as_a_form_is_read_as_json_as_curl_sends_it(client, site):
    page = json.dumps({"n": "pageview", "u": f"{ORIGIN}/", "d": SITE})
    form = "application/x-www-form-urlencoded"
    assert client.post("/api/event", data=page, content_type=form, HTTP_ORIGIN=ORIGIN).status_code == 202
    response = client.post("/api/event", data=page, content_type="application/xml", HTTP_ORIGIN=ORIGIN)
    assert_error(response, 415, "unsupported_media_type")
    assert stored(site).count() == 1
