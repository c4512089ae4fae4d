"""Request budgets per client address for what anyone may call without signing in: sign-up,
password reset by email, and shared dashboards; and the counter they share with the ingest rate
limits of the embedded default (apps.ingestion.services, without Redis).

Counts live in the lockout cache (Redis, or a database table), shared by every process, under the
keyed hash of the address (config.lockout.client_address): no raw IP is kept.
"""

import time
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.shortcuts import render

from config.lockout import client_address

PERIODS = {"second": 1, "minute": 60, "min": 60, "hour": 3600, "day": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """`"10/hour"` -> (10, 3600): a number of requests per period (second, minute or min, hour, day)."""
    count, period = rate.split("/")
    return int(count), PERIODS[period]


def budget_spend(key: str, *, limit: int, seconds: int) -> int | None:
    """Count one request against `key`'s budget of `limit` per `seconds` (a fixed window); return
    the seconds until the budget has room again if it is spent, else None.

    The count lives in the lockout cache. With the database cache, the read-and-increment is one
    transaction, which SQLite runs alone (`BEGIN IMMEDIATE`), so processes never lose a count.
    """
    now = time.time()
    window = int(now // seconds)
    key = f"{key}:{window}"
    counts = caches[settings.AXES_CACHE]
    with transaction.atomic():
        counts.add(key, 0, timeout=seconds + 1)
        count = counts.incr(key)
    if count <= limit:
        return None
    return max(1, int((window + 1) * seconds - now))


def address_budget_spend(request, scope: str, rate: str) -> int | None:
    """Count one request of `scope` from the request's address; return the seconds until its budget
    (`rate`, a fixed window) has room again if it is spent, else None."""
    limit, seconds = rate_parse(rate)
    return budget_spend(f"budget:{scope}:{client_address(request)}", limit=limit, seconds=seconds)


def address_budget(scope: str, rate_setting: str, *, methods: tuple[str, ...] = ("GET", "HEAD", "POST")):
    """Decorate a view: its `methods` requests from one address are limited to the rate named by the
    setting `rate_setting`; beyond it, a 429 page with Retry-After."""

    def decorate(view):
        @wraps(view)
        def limited(request, *args, **kwargs):
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
