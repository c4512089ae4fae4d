from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_says_the_process_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_fails_when_redis_does_not_persist(client):
    # The suite's shared Redis runs without AOF: accepted batches could be lost there on restart.
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["services"]["database"]["status"] == "ok"
    assert body["services"]["broker"]["status"] == "fail"
    assert "appendonly" in body["services"]["broker"]["error"]
    assert body["services"]["broker"]["queue_depth"] == {"ingest_buffer": 0, "celery": 0}
    assert body["services"]["broker"]["oldest_unstored_seconds"] is None


def test_readyz_reports_how_long_the_oldest_unstored_batch_has_waited(client, tenant_a):
    from apps.ingestion import buffer
    from apps.ingestion.storage import AcceptedBatch

    no_limits = buffer.RateLimits(key_id=0, key_limit=0, property_id=0, address_id="", address_limit=0)
    buffer.buffer_append(AcceptedBatch(tenant_a.property.pk, 0, datetime.now(UTC), []).encode(), limits=no_limits)
    broker = client.get("/readyz").json()["services"]["broker"]
    assert broker["queue_depth"]["ingest_buffer"] == 1
    assert broker["oldest_unstored_seconds"] >= 0


def test_readyz_fails_when_the_broker_is_unreachable(client, settings):
    from apps.ingestion import buffer

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    buffer.redis_client.cache_clear()
    body = client.get("/readyz").json()
    assert body["status"] == "fail"
    assert body["services"]["broker"]["status"] == "fail"
    assert body["services"]["database"]["status"] == "ok"
