import logging

from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class ReadKeyRateThrottle(SimpleRateThrottle):
    """The reporting budget of one read key, counted apart from any ingest limit."""

    scope = "reports"

    def get_cache_key(self, request, view):
        return f"clickmeter:ratelimit:reports:{request.auth.id}" if request.auth is not None else None

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except RedisError as exc:  # a cache outage must not take reports down with it
            logger.warning("report rate limit unavailable: %s", exc)
            return True
