"""The request id: given to every request, bound to every log line it writes, answered in the
`X-Request-ID` header, carried into the tasks it queues (django-structlog's Celery receivers read it
from the bound context) and the batches it buffers (apps.ingestion.storage.AcceptedBatch), so that
one id finds a batch from the request to the worker that stored it.

Each request is logged once, when answered (`request_finished`: method, path, status, duration),
without the client's address or user agent; its path through the redaction (config/logs.py).
django-structlog's own request middleware does the same with signals and a settings lookup per
field, which cost ~120 µs a request on the ingest path (docs/benchmarks.md); this one is direct.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy's id may be to be kept (TRUST_UPSTREAM_REQUEST_ID): a token, not text for the logs.
UPSTREAM_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

logger = structlog.get_logger("clickmeter.request")


def request_id() -> str | None:
    """The id of the request being served (or of the one that queued the running task); None elsewhere."""
    return structlog.contextvars.get_contextvars().get("request_id")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.trust_upstream = settings.TRUST_UPSTREAM_REQUEST_ID

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        upstream = request.headers.get(REQUEST_ID_HEADER, "") if self.trust_upstream else ""
        rid = upstream if UPSTREAM_ID.fullmatch(upstream) else str(uuid.uuid4())
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = rid
            status = response.status_code
            level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
            logger.log(
                level,
                "request_finished",
                request=f"{request.method} {request.get_full_path()}",
                code=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            return response
        finally:
            structlog.contextvars.clear_contextvars()
