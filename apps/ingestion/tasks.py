from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from apps.core.tasks import RETRY_OPTIONS
from apps.ingestion import buffer, storage


@shared_task(**RETRY_OPTIONS)
def ingest_buffer_drain() -> int:
    drained = storage.ingest_buffer_drain()
    if not drained.finished:
        drain_schedule()  # the drain flag stays set: the continuation is the scheduled drain
    return drained.stored


def drain_schedule() -> None:
    """Queue a drain of the ingest buffer; a broker that cannot take it leaves the batches to the
    next drain (they are already durable in the buffer)."""
    try:
        ingest_buffer_drain.delay()
    except (BrokerError, RedisError) as exc:
        buffer.redis_failed(exc, "scheduling an ingest drain")


@worker_ready.connect
def ingest_buffer_drain_at_start(**kwargs) -> None:
    """A starting worker drains what a killed one left, without waiting for beat or new traffic."""
    if buffer.buffer_enabled():
        ingest_buffer_drain.delay()


@shared_task(**RETRY_OPTIONS)
def daily_salts_destroy() -> int:
    return storage.daily_salts_destroy(today=timezone.now().date())


@shared_task(**RETRY_OPTIONS)
def dropped_events_flush() -> int:
    return storage.dropped_events_flush()
