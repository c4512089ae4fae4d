"""A stalled Redis costs an ingest request one socket timeout per process and moment, not one per call."""

import json
import socket
import threading

import pytest

from apps.ingestion import buffer
from apps.ingestion.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def stalled_redis(settings):
    """A server that accepts connections and never answers, as a frozen Redis does; counts connections."""
    server = socket.create_server(("127.0.0.1", 0))
    connections = []

    def accept():
        while True:
            try:
                connections.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    settings.REDIS_URL = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    settings.REDIS_SOCKET_TIMEOUT = 0.2
    buffer.redis_client.cache_clear()
    yield connections
    server.close()
    for connection in connections:
        connection.close()
    buffer.redis_client.cache_clear()


def test_after_one_timeout_requests_store_directly_without_waiting_on_redis(client, tenant_a, stalled_redis):
    for n in range(5):
        envelope = {"property_id": tenant_a.property.public_id, "events": [{"event_id": f"e{n}", "type": "pageview"}]}
        response = client.post(
            "/v1/events", json.dumps(envelope), content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}",
        )  # fmt: skip
        assert response.status_code == 202, response.content
    assert Event.objects.filter(property=tenant_a.property).count() == 5, "stored directly, none lost"
    assert len(stalled_redis) == 1, "only the first request waited on the stalled Redis"
    assert buffer.redis_outage()
