"""No raw IP address is queued or stored."""

import json

import pytest

from apps.ingestion import buffer
from apps.ingestion.models import Event
from apps.ingestion.storage import ingest_buffer_drain
from config.celery import app

pytestmark = pytest.mark.django_db

CLIENT_ADDRESS = "203.0.113.77"
FORWARDED_ADDRESS = "198.51.100.9"


@pytest.fixture
def tasks_queued_not_run():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_client_addresses_reach_neither_the_broker_nor_the_database(client, tenant_a, tasks_queued_not_run):
    envelope = {
        "property_id": tenant_a.property.public_id,
        "events": [{"type": "pageview", "context": {"page": {"url": "https://example.com/"}}}],
    }
    response = client.post(
        "/v1/events",
        json.dumps(envelope),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}",
        REMOTE_ADDR=CLIENT_ADDRESS,
        HTTP_X_FORWARDED_FOR=FORWARDED_ADDRESS,
    )
    assert response.status_code == 202
    redis = buffer.redis_client()
    queued = [fields[b"b"] for _, fields in redis.xrange(buffer.stream_name())]
    queued += redis.lrange("celery", 0, -1)
    assert len(queued) == 2, "one buffered batch and one drain task were queued"
    for message in queued:
        assert CLIENT_ADDRESS.encode() not in message and FORWARDED_ADDRESS.encode() not in message

    ingest_buffer_drain()
    row = Event.objects.values().get()
    assert not [value for value in row.values() if CLIENT_ADDRESS in str(value) or FORWARDED_ADDRESS in str(value)]
