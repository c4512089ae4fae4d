from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

from apps.ingestion import buffer, services

# Transient database errors are retried with capped exponential backoff: a task that raises is
# otherwise acknowledged and gone. The buffered entries themselves stay pending either way.
RETRY_OPTIONS = {
    "autoretry_for": services.TRANSIENT_DATABASE_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": None,
}


@shared_task(**RETRY_OPTIONS)
def ingest_buffer_drain() -> int:
    return services.ingest_buffer_drain()


@worker_ready.connect
def ingest_buffer_drain_at_start(**kwargs) -> None:
    """A starting worker drains what a killed one left, without waiting for beat or new traffic."""
    if buffer.buffer_enabled():
        ingest_buffer_drain.delay()


@shared_task(**RETRY_OPTIONS)
def daily_salts_destroy() -> int:
    return services.daily_salts_destroy(today=timezone.now().date())


@shared_task(**RETRY_OPTIONS)
def dropped_events_flush() -> int:
    return services.dropped_events_flush()
