"""Ingest rate limits per write key and per client address, apart from the reporting budget.

They hold with Redis (counted in the buffer's script) and without (the embedded default: counted
in the database cache table).
"""

import json

import pytest
from django.core.management import call_command
from django.db import connection

from apps.ingestion import buffer
from apps.ingestion.models import Event
from tests.conftest import tenant_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("budget_window")]

CACHE_TABLE = "clickmeter_lockout_cache"


@pytest.fixture(params=["redis", "no redis"])
def counted_in(request, settings):
    """Ingest as deployed with Redis, or as the embedded default: no buffer, the database cache."""
    if request.param == "no redis":
        settings.REDIS_URL = ""
        database_cache = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE}
        settings.CACHES = {**settings.CACHES, "lockout": database_cache}
        call_command("createcachetable", verbosity=0)
    return request.param


PAGEVIEW = {"type": "pageview", "context": {"page": {"url": "https://example.com/"}}}


def ingest(client, tenant, address="81.2.69.142"):
    envelope = {"property_id": tenant.property.public_id, "events": [PAGEVIEW]}
    return client.post(
        "/v1/events",
        json.dumps(envelope),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}",
        REMOTE_ADDR=address,
    )


def test_over_the_per_key_limit_is_429_with_retry_after_and_nothing_stored(client, counted_in):
    tenant = tenant_create(ingest_limit_per_key=3, ingest_limit_per_address=0)
    statuses = [ingest(client, tenant, address=f"81.2.69.{n}").status_code for n in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    refused = ingest(client, tenant)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Event.objects.count() == 3


def test_the_per_address_limit_counts_each_address_apart(client, counted_in):
    tenant = tenant_create(ingest_limit_per_key=0, ingest_limit_per_address=2)
    assert [ingest(client, tenant, "81.2.69.142").status_code for _ in range(3)] == [202, 202, 429]
    assert ingest(client, tenant, "89.160.20.112").status_code == 202


def test_limits_are_per_property(client, counted_in):
    limited = tenant_create(ingest_limit_per_key=0, ingest_limit_per_address=1)
    other = tenant_create(ingest_limit_per_key=0, ingest_limit_per_address=1)
    assert ingest(client, limited).status_code == 202
    assert ingest(client, limited).status_code == 429
    assert ingest(client, other).status_code == 202


def test_rate_limit_counters_hold_no_address():
    client_redis = buffer.redis_client()
    tenant = tenant_create(ingest_limit_per_address=5)
    from django.test import Client

    from devtools.stack import BROWSER_USER_AGENT

    ingest(Client(headers={"user-agent": BROWSER_USER_AGENT}), tenant, "81.2.69.142")
    keys = [key.decode() for key in client_redis.keys("clickmeter:ratelimit:*")]
    assert keys and not any("81.2.69.142" in key for key in keys)


@pytest.mark.parametrize("counted_in", ["no redis"], indirect=True)
def test_without_redis_the_counters_hold_no_address(counted_in):
    from django.test import Client

    from devtools.stack import BROWSER_USER_AGENT

    tenant = tenant_create(ingest_limit_per_address=5)
    assert ingest(Client(headers={"user-agent": BROWSER_USER_AGENT}), tenant, "81.2.69.142").status_code == 202
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key, value FROM {CACHE_TABLE}")  # noqa: S608 (a constant)
        rows = cursor.fetchall()
    assert any(":ingest:address:" in key for key, _ in rows)
    assert not any("81.2.69.142" in key or "81.2.69.142" in value for key, value in rows)


def overview(client, tenant):
    return client.get(
        f"/v1/properties/{tenant.property.public_id}/overview", HTTP_AUTHORIZATION=f"Bearer {tenant.read_key}"
    )


def test_an_exhausted_ingest_budget_leaves_reports_alone(client, counted_in):
    tenant = tenant_create(ingest_limit_per_key=1, ingest_limit_per_address=0)
    assert [ingest(client, tenant).status_code for _ in range(2)] == [202, 429]
    assert overview(client, tenant).status_code == 200


def test_an_exhausted_reporting_budget_is_429_and_leaves_ingest_alone(client, settings):
    settings.CLICKMETER_REPORT_RATE = "2/min"
    tenant = tenant_create(ingest_limit_per_key=10, ingest_limit_per_address=0)
    responses = [overview(client, tenant) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[-1].json()["error"]["code"] == "rate_limited"
    assert int(responses[-1]["Retry-After"]) >= 1
    assert ingest(client, tenant).status_code == 202
