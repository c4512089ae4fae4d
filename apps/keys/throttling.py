import logging

from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from apps.keys.selectors import ResolvedKey

logger = logging.getLogger(__name__)


class ReportRateThrottle(SimpleRateThrottle):
    """The reporting budget of one read key or one member, counted apart from any ingest limit."""

    scope = "reports"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ResolvedKey):
            return f"clickmeter:ratelimit:reports:key:{request.auth.id}"
        if request.user is not None and request.user.is_authenticated:
            return f"clickmeter:ratelimit:reports:user:{request.user.pk}"
        return None

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except RedisError as exc:  # a cache outage must not take reports down with it
            logger.warning("report rate limit unavailable: %s", exc)
            return True
