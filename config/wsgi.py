"""WSGI entry point.

`POST /v1/events` is the hot path: it is dispatched to a handler that runs only
`settings.INGEST_MIDDLEWARE`; everything else gets the full middleware stack. `/healthz` shares the
lean handler so that load-balancer probes stay cheap and so that the ingest benchmark's ceiling (a
bare Django view) is measured on the same path as ingest itself.
"""

import os

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

LEAN_PATHS = frozenset({"/v1/events", "/healthz"})


class LeanWSGIHandler(WSGIHandler):
    """A Django handler whose middleware chain is `settings.INGEST_MIDDLEWARE`."""

    def load_middleware(self, is_async=False):
        full_stack = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.INGEST_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full_stack


def build_application():
    full = get_wsgi_application()
    lean = LeanWSGIHandler()

    def application(environ, start_response):
        handler = lean if environ.get("PATH_INFO") in LEAN_PATHS else full
        return handler(environ, start_response)

    return application


application = build_application()
