"""CORS on the ingest endpoint: per property, preflight included, never `*`, never credentials."""

import json
import re

import pytest

from tests.conftest import tenant_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    return tenant_create(allowed_origins=["https://shop.example.com", "https://*.example.org"])


def preflight(client, query: str, origin: str):
    return client.options(
        f"/v1/events?{query}",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


@pytest.mark.parametrize("how", ["key", "property"])
def test_preflight_from_an_allowed_origin_is_answered_for_that_origin(client, shop, how):
    query = f"key={shop.write_key}" if how == "key" else f"property={shop.property.public_id}"
    response = preflight(client, query, "https://shop.example.com")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert {"authorization", "content-type"} <= set(response["Access-Control-Allow-Headers"].split(", "))
    assert "Access-Control-Allow-Credentials" not in response


def test_a_subdomain_matches_a_wildcard_origin(client, shop):
    response = preflight(client, f"property={shop.property.public_id}", "https://app.example.org")
    assert response["Access-Control-Allow-Origin"] == "https://app.example.org"


@pytest.mark.parametrize("origin", ["https://evil.example.net", "http://shop.example.com", "https://example.org"])
def test_preflight_from_any_other_origin_gets_no_cors_headers(client, shop, origin):
    response = preflight(client, f"key={shop.write_key}", origin)
    assert "Access-Control-Allow-Origin" not in response


def test_preflight_for_an_unknown_property_or_key_gets_no_cors_headers(client, shop):
    for query in ("property=prop_nope", "key=wk_forged", "token=it_forged", ""):
        assert "Access-Control-Allow-Origin" not in preflight(client, query, "https://shop.example.com")


def test_an_allowed_post_echoes_its_origin_and_never_a_star(client, shop):
    envelope = {"property_id": shop.property.public_id, "events": [{"type": "pageview"}]}
    response = client.post(
        f"/v1/events?key={shop.write_key}",
        json.dumps(envelope),
        content_type="text/plain",
        HTTP_ORIGIN="https://shop.example.com",
    )
    assert response.status_code == 202
    assert response["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "origin" in response["Vary"].lower()


def test_reports_never_answer_cors(client, shop):
    response = client.get(
        f"/v1/properties/{shop.property.public_id}/overview",
        HTTP_ORIGIN="https://shop.example.com",
        HTTP_AUTHORIZATION=f"Bearer {shop.read_key}",
    )
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_cors_is_configured_for_the_ingest_paths_only_without_credentials(settings):
    ingest = ["/v1/events", "/api/event", "/api/send", "/api/batch", "/e/", "/i/v0/e/", "/flags/", "/array/wk_1/config"]
    assert all(re.match(settings.CORS_URLS_REGEX, path) for path in ingest)
    others = ["/v1/properties/prop_1/overview", "/api/v2/query", "/v1/events/x", "/admin/", "/e/x"]
    assert not any(re.match(settings.CORS_URLS_REGEX, path) for path in others)
    assert settings.CORS_ALLOWED_ORIGINS == [] and not getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False)
    assert settings.CORS_ALLOW_CREDENTIALS is False
    assert "Retry-After" in settings.CORS_EXPOSE_HEADERS, "the beacon reads it to back off"


def test_a_refused_request_exposes_retry_after_to_the_page(client, budget_window):
    tenant = tenant_create(allowed_origins=["https://shop.example.com"], ingest_limit_per_key=1)
    envelope = json.dumps({"property_id": tenant.property.public_id, "events": [{"type": "pageview"}]})
    responses = [
        client.post(
            f"/v1/events?key={tenant.write_key}", envelope, "text/plain", HTTP_ORIGIN="https://shop.example.com"
        )
        for _ in range(2)
    ]
    assert responses[1].status_code == 429
    assert responses[1]["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "retry-after" in responses[1]["Access-Control-Expose-Headers"].lower()
