"""What every app's Celery tasks share."""

from typing import TypedDict

from django.db import InterfaceError, OperationalError

# A database that cannot be reached right now: worth retrying, unlike any other error.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)


# Transient database errors are retried with capped exponential backoff: a task that raises is
# otherwise acknowledged and gone.
class RetryOptions(TypedDict):
    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: int
    retry_backoff_max: int
    retry_jitter: bool
    max_retries: int | None


RETRY_OPTIONS: RetryOptions = {
    "autoretry_for": TRANSIENT_DATABASE_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": None,
}
