from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from apps.ingestion import buffer
from apps.ingestion.tasks import RETRY_OPTIONS
from apps.reports import services

SCHEDULED_FLAG = "clickmeter:rollup:scheduled"


@shared_task(**RETRY_OPTIONS)
def rollup_refresh_dirty_days(quiet_seconds: int | None = None) -> int:
    return services.rollup_refresh_dirty_days(quiet_seconds=quiet_seconds)


@shared_task(**RETRY_OPTIONS)
def retention_enforce() -> int:
    return services.retention_enforce()


def rollup_refresh_schedule(sender, **kwargs) -> None:
    """After events are stored, refresh rollups once the days have settled; at most once per period.

    Reports read raw events for dirty days, so a later refresh costs speed, never correctness; beat
    refreshes settled days every minute regardless. With in-process tasks (the embedded default)
    the refresh happens at once.
    """
    quiet = settings.CLICKMETER_ROLLUP_QUIET_SECONDS
    if buffer.redis_outage():
        return
    try:
        if not cache.add(SCHEDULED_FLAG, 1, timeout=quiet):
            return
        if settings.CELERY_TASK_ALWAYS_EAGER:
            rollup_refresh_dirty_days.delay(quiet_seconds=0)
        else:
            rollup_refresh_dirty_days.apply_async(countdown=quiet + 1)
    except (BrokerError, RedisError) as exc:
        buffer.redis_failed(exc, "scheduling a rollup refresh")
