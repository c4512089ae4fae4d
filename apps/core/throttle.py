"""Request budgets: the one rate-limit mechanism of the web process (the ingest buffer's Lua script
aside, which counts inside Redis with the append it guards).

A budget is a number of requests per period for a key (an address, an API key, a member, a shared
link and address), counted in fixed windows in the lockout cache (Redis, or a database table),
shared by every process. Addresses are counted by their keyed hash (apps.core.http.client_address):
no raw IP is kept. Uses: sign-up and password-reset forms and shared dashboards per address
(`address_budget`), reports per key or member (`ReportRateThrottle`, for DRF views), wrong
shared-link passwords per link and address, and the embedded default's ingest limits.

Why not django-ratelimit: with the database cache (no Redis) it counts by read-then-write, which
loses counts between processes; here the count is one transaction that SQLite runs alone.
"""

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apps.core.http import client_address
from apps.core.tenancy import PropertyActor

if TYPE_CHECKING:
    # rest_framework.views reads the API settings, which name apps.core.api, when it is imported.
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponseBase]

PERIODS = {"second": 1, "minute": 60, "min": 60, "hour": 3600, "day": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """`"10/hour"` -> (10, 3600): a number of requests per period (second, minute or min, hour, day)."""
    count, period = rate.split("/")
    return int(count), PERIODS[period]


def _window(key: str, seconds: int) -> tuple[str, int]:
    """The current window's counter key and the seconds until the window ends."""
    now = time.time()
    window = int(now // seconds)
    return f"{key}:{window}", max(1, int((window + 1) * seconds - now))


def budget_spend(key: str, *, limit: int, seconds: int) -> int | None:
    """Count one request against `key`'s budget of `limit` per `seconds`; return the seconds until the
    budget has room again if it is spent, else None. A cache that is down counts nothing (logged):
    a budget never takes the service down with it.

    With the database cache, the read-and-increment is one transaction, which SQLite runs alone
    (`BEGIN IMMEDIATE`), so processes never lose a count.
    """
    counter, wait = _window(key, seconds)
    counts = caches[settings.AXES_CACHE]
    try:
        with transaction.atomic():
            counts.add(counter, 0, timeout=seconds + 1)
            count = counts.incr(counter)
    except RedisError as exc:
        logger.warning("request budget %s not counted: %s", key.split(":")[0], exc)
        return None
    return None if count <= limit else wait


def budget_spent(key: str, *, limit: int, seconds: int) -> int | None:
    """Like budget_spend, without counting: the seconds until `key`'s budget has room, if it is spent."""
    counter, wait = _window(key, seconds)
    try:
        count = caches[settings.AXES_CACHE].get(counter, 0)
    except RedisError as exc:
        logger.warning("request budget %s not read: %s", key.split(":")[0], exc)
        return None
    return wait if count >= limit else None


def budget_restore(key: str, *, seconds: int) -> None:
    """Give `key` its whole budget back (a right password after wrong ones)."""
    try:
        caches[settings.AXES_CACHE].delete(_window(key, seconds)[0])
    except RedisError as exc:
        logger.warning("request budget %s not restored: %s", key.split(":")[0], exc)


def address_budget_spend(request: HttpRequest, scope: str, rate: str) -> int | None:
    """Count one request of `scope` from the request's address; return the seconds until its budget
    (`rate`) has room again if it is spent, else None."""
    limit, seconds = rate_parse(rate)
    return budget_spend(f"budget:{scope}:{client_address(request)}", limit=limit, seconds=seconds)


def address_budget(
    scope: str, rate_setting: str, *, methods: tuple[str, ...] = ("GET", "HEAD", "POST")
) -> Callable[[View], View]:
    """Decorate a view: its `methods` requests from one address are limited to the rate named by the
    setting `rate_setting`; beyond it, a 429 page with Retry-After."""

    def decorate(view: View) -> View:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method in methods:
                wait = address_budget_spend(request, scope, getattr(settings, rate_setting))
                if wait is not None:
                    later = f"{wait} seconds" if wait < 120 else f"{wait // 60} minutes"
                    message = f"Too many requests from this address; try again in {later}."
                    response = render(request, "too_many_requests.html", {"message": message}, status=429)
                    response["Retry-After"] = str(wait)
                    return response
            return view(request, *args, **kwargs)

        return limited

    return decorate


class ReportRateThrottle(BaseThrottle):
    """DRF views' reporting budget (CLICKMETER_REPORT_RATE) of one API key or one member, counted apart
    from any ingest limit; a 429 with Retry-After beyond it."""

    scope = "reports"
    rate_setting = "CLICKMETER_REPORT_RATE"

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if isinstance(request.auth, PropertyActor):
            actor = f"key:{request.auth.id}"
        elif request.user is not None and request.user.is_authenticated:
            actor = f"user:{request.user.pk}"
        else:
            return True
        limit, seconds = rate_parse(getattr(settings, self.rate_setting))
        self.retry_after = budget_spend(f"budget:{self.scope}:{actor}", limit=limit, seconds=seconds)
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after
