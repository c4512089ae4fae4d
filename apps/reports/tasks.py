import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from apps.ingestion.tasks import RETRY_OPTIONS
from apps.reports import services

logger = logging.getLogger(__name__)

SCHEDULED_FLAG = "clickmeter:rollup:scheduled"


@shared_task(**RETRY_OPTIONS)
def rollup_refresh_dirty_days() -> int:
    return services.rollup_refresh_dirty_days()


def rollup_refresh_schedule(sender, dirty_days, **kwargs) -> None:
    """Refresh rollups soon after events are stored, at most once per minimum interval.

    Reports read raw events for dirty days, so a later refresh only costs speed, never correctness;
    beat refreshes every minute regardless.
    """
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            if not cache.add(SCHEDULED_FLAG, 1, timeout=settings.CLICKMETER_ROLLUP_MIN_INTERVAL_SECONDS):
                return
        except RedisError as exc:
            logger.warning("could not schedule a rollup refresh: %s", exc)
            return
    try:
        rollup_refresh_dirty_days.delay()
    except (BrokerError, RedisError) as exc:
        logger.warning("could not schedule a rollup refresh: %s", exc)
