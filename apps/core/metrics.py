"""Prometheus metrics at `/metrics`, behind a bearer token (CLICKMETER_METRICS_TOKEN; without one the
endpoint is off): counters the apps increment where things happen, and gauges the apps register,
read from their services at scrape time (ingestion: the buffer's depth and oldest entry, the
rollups' lag). docs/operations.md lists them.

gunicorn's workers are processes of their own: config/gunicorn.py gives them a shared
PROMETHEUS_MULTIPROC_DIR, where each writes its counters and a scrape adds them up
(prometheus_client's multiprocess mode).
"""

import hmac
import os
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

EVENTS_ACCEPTED = Counter("clickmeter_events_accepted", "Events accepted for storage by the ingest endpoints.")
EVENTS_REJECTED = Counter("clickmeter_events_rejected", "Events refused as invalid within accepted requests.")
EVENTS_DROPPED = Counter("clickmeter_events_dropped", "Events dropped before storage, by reason.", ["reason"])
REQUESTS_RATE_LIMITED = Counter("clickmeter_requests_rate_limited", "Ingest requests refused by a rate limit.")
REPORT_CACHE = Counter("clickmeter_report_cache", "Report cache lookups, by result (hit, miss).", ["result"])
REQUEST_SECONDS = Histogram(
    "clickmeter_request_seconds",
    "Time to answer a request but an ingest one, by endpoint (its URL name).",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

ReadGauge = Callable[[], float | None]
_gauges: dict[str, tuple[str, ReadGauge]] = {}


def gauge_register(name: str, documentation: str, read: ReadGauge) -> None:
    """A gauge read at scrape time; `read()` None leaves it out of that scrape (its service is off)."""
    _gauges[name] = (documentation, read)


class _RegisteredGauges:
    def collect(self) -> Iterator[Metric]:
        for name, (documentation, read) in _gauges.items():
            value = read()
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=value)


class _ThisProcess:
    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def metrics_text() -> bytes:
    """Every counter (of every process, in multiprocess mode) and every registered gauge, as Prometheus reads them."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_RegisteredGauges())
    return generate_latest(registry)


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.CLICKMETER_METRICS_TOKEN
    if not token:
        return JsonResponse({"error": {"code": "not_found", "message": "Metrics are off."}}, status=404)
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), token.encode()):
        return JsonResponse(
            {"error": {"code": "not_authenticated", "message": "Authorization: Bearer <CLICKMETER_METRICS_TOKEN>."}},
            status=401,
        )
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Times every request the main handler answers (the ingest handler has its own, unmeasured path)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        endpoint = (match.url_name or match.view_name) if match is not None else "unmatched"
        REQUEST_SECONDS.labels(endpoint=endpoint).observe(time.perf_counter() - started)
        return response
