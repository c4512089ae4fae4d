"""`/metrics`: off without a token, 401 without the right one; the counters follow what happens
(events accepted, rejected, dropped by reason, requests rate-limited, report cache hits and misses,
request times by endpoint) and the gauges read the buffer and the dirty days."""

import json
import re

import pytest

from apps.ingestion import buffer
from tests.conftest import tenant_create

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def metrics_on(settings):
    settings.CLICKMETER_METRICS_TOKEN = TOKEN


def scrape(client) -> dict[str, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    values = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def ingest(client, tenant, events, **headers):
    body = json.dumps({"property_id": tenant.property.public_id, "events": events})
    return client.post(
        "/v1/events", body, "application/json", HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}", **headers
    )


def grew(before: dict, after: dict, name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def test_metrics_are_off_without_a_token_and_closed_without_the_right_one(client, settings):
    assert client.get("/metrics").status_code == 404
    settings.CLICKMETER_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_the_ingest_counters_follow_accepted_rejected_dropped_and_rate_limited(client, tenant_a, metrics_on):
    before = scrape(client)
    valid = [{"type": "pageview", "context": {"page": {"url": f"https://shop.example/{n}"}}} for n in range(3)]
    assert ingest(client, tenant_a, [*valid, {"type": ""}]).status_code == 202
    assert ingest(client, tenant_a, valid[:2], HTTP_USER_AGENT="Googlebot/2.1").status_code == 202
    after = scrape(client)
    assert grew(before, after, "clickmeter_events_accepted_total") == 3
    assert grew(before, after, "clickmeter_events_rejected_total") == 1
    assert grew(before, after, 'clickmeter_events_dropped_total{reason="bot"}') == 2


def test_a_rate_limited_request_is_counted(client, metrics_on):
    tenant = tenant_create(ingest_limit_per_address=1)
    before = scrape(client)
    event = {"type": "pageview", "context": {"page": {"url": "https://shop.example/"}}}
    assert ingest(client, tenant, [event]).status_code == 202
    assert ingest(client, tenant, [event]).status_code == 429
    assert grew(before, scrape(client), "clickmeter_requests_rate_limited_total") == 1


def test_report_cache_hits_and_misses_and_request_times_by_endpoint(client, tenant_a, metrics_on, settings):
    settings.CLICKMETER_REPORT_CACHE_SECONDS = 3600
    before = scrape(client)
    path = f"/v1/properties/{tenant_a.property.public_id}/overview?from=2026-05-01&to=2026-05-07"
    for _ in range(2):
        assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}").status_code == 200
    after = scrape(client)
    assert grew(before, after, 'clickmeter_report_cache_total{result="miss"}') == 1
    assert grew(before, after, 'clickmeter_report_cache_total{result="hit"}') == 1
    assert grew(before, after, 'clickmeter_request_seconds_count{endpoint="report-overview"}') == 2


def test_the_gauges_read_the_buffer_and_the_dirty_days(client, tenant_a, metrics_on):
    event = {"type": "pageview", "context": {"page": {"url": "https://shop.example/"}}}
    assert ingest(client, tenant_a, [event]).status_code == 202  # stored at once (tasks run eagerly)
    values = scrape(client)
    assert values["clickmeter_dirty_days"] == 1
    assert values["clickmeter_rollup_lag_seconds"] >= 0
    assert values["clickmeter_buffer_depth"] == buffer.buffer_depth()
    assert "clickmeter_buffer_oldest_seconds" in values
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert not re.search(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", text), "no address in metrics"
