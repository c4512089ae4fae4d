"""WSGI entry point.

`POST /v1/events` is the hot path: it is dispatched to a handler that runs only
`settings.INGEST_MIDDLEWARE`; everything else gets the full middleware stack. `/healthz` shares the
lean handler so that load-balancer probes stay cheap and so that the ingest benchmark's ceiling (a
bare Django view) is measured on the same path as ingest itself.

Every answer is given after the request body has been read to its end (up to a bound), see
`_unread_body_drain`.
"""

import os

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

LEAN_PATHS = frozenset({"/v1/events", "/healthz"})
# How much of a body the application did not read is read and discarded before answering: eight
# times the ingest limit, so that a sender of an oversized batch still gets its 413.
UNREAD_BODY_DRAIN_BYTES = 8 * 1024 * 1024
DRAIN_STEP = 64 * 1024


class LeanWSGIHandler(WSGIHandler):
    """A Django handler whose middleware chain is `settings.INGEST_MIDDLEWARE`."""

    def load_middleware(self, is_async=False):
        full_stack = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.INGEST_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full_stack


def _unread_body_drain(environ) -> None:
    """Read and discard what the application left of the request body, up to a bound.

    An answer given before the body was read (401, 413, 415, a chunked body over the limit…) left
    the rest on the connection. gunicorn then answers with keep-alive, discards at most 64 KiB and
    closes the connection: a client still sending that body, or already sending its next request
    on the connection it was told to keep, finds it closed without an answer. Reading the rest
    first keeps the connection usable. It can block on a stalled sender no longer than reading the
    body would have; a body declared larger than the bound is not drained, and gunicorn closes.
    Other servers are left alone: runserver drains by itself, and the test client has no socket.
    """
    declared = environ.get("CONTENT_LENGTH") or ""
    if "gunicorn.socket" not in environ or not (declared or "HTTP_TRANSFER_ENCODING" in environ):
        return
    if declared.isdigit() and int(declared) > UNREAD_BODY_DRAIN_BYTES:
        return
    body, drained = environ["wsgi.input"], 0
    try:
        while drained <= UNREAD_BODY_DRAIN_BYTES:
            chunk = body.read(DRAIN_STEP)
            if not chunk:
                return
            drained += len(chunk)
    except Exception:  # the server's own error types: a client gone, a malformed chunk
        return  # gunicorn has marked the body failed and closes the connection after the answer


def build_application():
    full = get_wsgi_application()
    lean = LeanWSGIHandler()

    def application(environ, start_response):
        handler = lean if environ.get("PATH_INFO") in LEAN_PATHS else full
        response = handler(environ, start_response)
        _unread_body_drain(environ)
        return response

    return application


application = build_application()
