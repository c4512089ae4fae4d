"""The Redis ingest buffer and its drain, against the real test Redis and PostgreSQL."""

from datetime import UTC, datetime

import pytest
import redis

from apps.ingestion import buffer
from apps.ingestion.models import Event
from apps.ingestion.storage import AcceptedBatch, ingest_buffer_drain
from devtools.events import validated_event

pytestmark = pytest.mark.django_db


def batch(tenant, count=2, **fields) -> AcceptedBatch:
    events = [validated_event(**fields) for _ in range(count)]
    return AcceptedBatch(tenant.property.pk, 0, datetime.now(UTC), events)


NO_LIMITS = buffer.RateLimits(key_id=0, key_limit=0, property_id=0, address_id="", address_limit=0)


def append(payload: bytes) -> bool:
    return buffer.buffer_append(payload, limits=NO_LIMITS)


def read_as_dead_worker() -> list:
    """Deliver every new entry to a consumer that then dies without acknowledging."""
    buffer.group_ensure()
    client = buffer.redis_client()
    return client.xreadgroup(buffer.GROUP, "dead-worker", {buffer.stream_name(): ">"}, count=1000)


@pytest.fixture
def live_worker(settings):
    """A consumer whose process is alive: its connection to Redis carries its name."""
    client = redis.Redis.from_url(settings.REDIS_URL, client_name="live-worker")
    buffer.group_ensure()
    yield lambda: client.xreadgroup(buffer.GROUP, "live-worker", {buffer.stream_name(): ">"}, count=1000)
    client.close()


def dead_letters() -> list:
    return buffer.redis_client().xrange(buffer.dead_letter_stream_name())


def test_append_asks_for_a_drain_only_when_none_is_scheduled(tenant_a):
    assert append(batch(tenant_a).encode()) is True
    assert append(batch(tenant_a).encode()) is False
    ingest_buffer_drain()
    assert append(batch(tenant_a).encode()) is True, "a drain clears the flag before it reads"


def test_drain_stores_every_entry_then_acknowledges_and_deletes_it(tenant_a):
    batches = [batch(tenant_a, count=3) for _ in range(5)]
    for b in batches:
        append(b.encode())
    assert buffer.buffer_depth() == 5
    assert ingest_buffer_drain().stored == 5
    assert Event.objects.count() == 15
    assert buffer.buffer_depth() == 0
    assert buffer.redis_client().xpending(buffer.stream_name(), buffer.GROUP)["pending"] == 0


def test_entries_of_a_dead_worker_are_stored_once_by_the_next_drain(tenant_a, settings):
    append(batch(tenant_a, count=4).encode())
    assert read_as_dead_worker()
    settings.CLICKMETER_INGEST_CLAIM_IDLE_SECONDS = 3600
    ingest_buffer_drain()
    assert Event.objects.count() == 4, "a consumer with no connection left is dead: no timeout to wait"
    assert buffer.buffer_depth() == 0


def test_entries_of_a_live_worker_are_taken_over_only_once_idle_too_long(tenant_a, settings, live_worker):
    append(batch(tenant_a, count=4).encode())
    assert live_worker()
    settings.CLICKMETER_INGEST_CLAIM_IDLE_SECONDS = 3600
    ingest_buffer_drain()
    assert Event.objects.count() == 0, "a live worker's entries are not taken over early"
    settings.CLICKMETER_INGEST_CLAIM_IDLE_SECONDS = 0
    ingest_buffer_drain()
    assert Event.objects.count() == 4, "a stuck worker's entries are"
    assert buffer.buffer_depth() == 0


def test_a_running_drain_keeps_the_flag_alive_and_an_idle_one_clears_it(tenant_a):
    buffer.group_ensure()
    buffer.drain_flag_renew()
    assert 0 < buffer.redis_client().pttl(buffer.DRAIN_SCHEDULED_FLAG) <= buffer.DRAIN_SCHEDULED_TTL_MS
    assert append(batch(tenant_a).encode()) is False, "no second drain while one runs"
    ingest_buffer_drain()
    assert not buffer.redis_client().exists(buffer.DRAIN_SCHEDULED_FLAG)
    assert Event.objects.count() == 2


def test_the_oldest_unstored_entry_has_an_age(tenant_a):
    assert buffer.oldest_entry_age_seconds() is None
    append(batch(tenant_a).encode())
    assert 0 <= buffer.oldest_entry_age_seconds() < 60
    ingest_buffer_drain()
    assert buffer.oldest_entry_age_seconds() is None


def test_an_entry_redelivered_after_its_commit_adds_nothing(tenant_a, settings):
    entry = batch(tenant_a, count=3)
    append(entry.encode())
    ingest_buffer_drain()
    # The worker committed but died before acknowledging: the same entry comes round again.
    append(entry.encode())
    read_as_dead_worker()
    settings.CLICKMETER_INGEST_CLAIM_IDLE_SECONDS = 0
    ingest_buffer_drain()
    assert Event.objects.count() == 3


def test_undecodable_entry_is_dead_lettered_and_the_rest_stored(tenant_a):
    append(b"{not json")
    append(batch(tenant_a).encode())
    ingest_buffer_drain()
    assert Event.objects.count() == 2
    assert len(dead_letters()) == 1
    assert dead_letters()[0][1][b"b"] == b"{not json"
    assert buffer.buffer_depth() == 0


def test_entry_the_database_refuses_is_isolated_and_dead_lettered(tenant_a):
    append(batch(tenant_a).encode())
    append(batch(tenant_a, path="/" * 5000).encode())  # longer than the column allows
    append(batch(tenant_a).encode())
    ingest_buffer_drain()
    assert Event.objects.count() == 4
    assert [entry[1][b"reason"].startswith(b"refused by the database") for entry in dead_letters()] == [True]


def test_entry_delivered_too_often_is_dead_lettered_not_retried_forever(tenant_a, settings):
    append(batch(tenant_a).encode())
    settings.CLICKMETER_INGEST_CLAIM_IDLE_SECONDS = 0
    client = buffer.redis_client()
    read_as_dead_worker()
    for attempt in range(buffer.MAX_DELIVERIES - 1):
        client.xclaim(
            buffer.stream_name(),
            buffer.GROUP,
            f"dead-worker-{attempt}",
            min_idle_time=0,
            message_ids=[client.xpending_range(buffer.stream_name(), buffer.GROUP, "-", "+", 1)[0]["message_id"]],
        )
    ingest_buffer_drain()
    assert Event.objects.count() == 0
    assert dead_letters()[0][1][b"reason"] == b"too many deliveries"
    assert buffer.buffer_depth() == 0
