"""The request id: given to every request, bound to every log line it writes, answered in the
`X-Request-ID` header, carried into the tasks it queues (django-structlog) and the batches it
buffers (apps.ingestion.storage.AcceptedBatch), so that one id finds a batch from the request to
the worker that stored it.

Each request is logged once, when answered (`request_finished`: method, path, status, duration),
without the client's address or user agent; its path through the redaction (config/logs.py).
"""

import time
from typing import Any

import structlog
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django_structlog import signals
from django_structlog.middlewares import RequestMiddleware

REQUEST_ID_HEADER = "X-Request-ID"
_STARTED_AT = "clickmeter.started_at"


def request_id() -> str | None:
    """The id of the request being served (or of the one that queued the running task); None elsewhere."""
    return structlog.contextvars.get_contextvars().get("request_id")


class RequestIdMiddleware(RequestMiddleware):
    def prepare(self, request: HttpRequest) -> None:
        request.META[_STARTED_AT] = time.perf_counter()
        super().prepare(request)

    def handle_response(self, request: HttpRequest, response: HttpResponse) -> None:
        response[REQUEST_ID_HEADER] = request_id() or ""
        super().handle_response(request, response)


@receiver(signals.bind_extra_request_metadata)
def request_started_anonymous(request: HttpRequest, log_kwargs: dict[str, Any], **kwargs: Any) -> None:
    log_kwargs.pop("user_agent", None)


@receiver(signals.bind_extra_request_finished_metadata)
@receiver(signals.bind_extra_request_failed_metadata)
def request_duration(request: HttpRequest, log_kwargs: dict[str, Any], **kwargs: Any) -> None:
    started_at = request.META.get(_STARTED_AT)
    if started_at is not None:
        log_kwargs["duration_ms"] = round((time.perf_counter() - started_at) * 1000, 1)
