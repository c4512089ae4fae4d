"""The report cache: an answer kept while the data it was computed from and the code that computed it
are unchanged, keyed by both."""

import gc
import hashlib
import importlib.util
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from redis.exceptions import RedisError

from apps.core.metrics import REPORT_CACHE
from apps.ingestion import buffer
from apps.ingestion.models import DirtyDay
from apps.properties.models import Property
from apps.reports.models import RollupGeneration


def source_digest(module_names: tuple[str, ...]) -> str:
    """Return a digest of the named modules' source, read from their files without importing them."""
    digest = hashlib.sha256()
    for name in module_names:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ImportError(f"No source file for {name}")
        digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()


# The code that computes reports. Its digest is part of every report's cache key, so a deploy that
# changes what a report means never serves the numbers the code before it computed.
REPORT_MODULES = (
    "apps.reports.models",
    "apps.reports.selectors",
    "apps.reports.services",
    "apps.reports.queries.engine",
    "apps.reports.queries.funnels",
    "apps.reports.queries.goals",
    "apps.reports.queries.imported",
    "apps.reports.queries.journeys",
    "apps.reports.goals.selectors",
    "apps.reports.queries.query",
    "apps.reports.queries.retention",
    "apps.reports.queries.visits",
    "apps.reports.queries.vocabulary",
    "apps.reports.stores",
    "apps.reports.stores.base",
    "apps.reports.stores.sql",
    "apps.reports.stores.clickhouse",
    "apps.reports.stores.clickhouse.client",
    "apps.reports.stores.clickhouse.compiler",
    "apps.reports.stores.clickhouse.schema",
    "apps.reports.stores.database",
    "apps.reports.stores.database.compiler",
    "apps.reports.stores.database.dialects",
    "apps.reports.stores.database.grains",
)
REPORT_CODE_DIGEST = source_digest(REPORT_MODULES)


Answered = TypeVar("Answered")
# The property's rollup generation token, and the range's dirty days with their tokens.
DataVersion = tuple[str | None, list[tuple[date, str]]]


def data_version(*, property: Property, date_from: date, date_to: date) -> DataVersion:
    """What identifies the data a report over the range reads: the property's rollup generation and
    the range's dirty days with their tokens, one of which changes with every write that can change
    a report (RollupGeneration)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT g.token FROM {RollupGeneration._meta.db_table} g WHERE g.property_id = %s),"
            f" d.day, d.token FROM (SELECT 1 AS one) one LEFT JOIN {DirtyDay._meta.db_table} d"
            " ON d.property_id = %s AND d.day BETWEEN %s AND %s ORDER BY d.day",
            [property.pk, property.pk, date_from, date_to],
        )
        rows = cursor.fetchall()
    return rows[0][0], [(day, token) for _, day, token in rows if day is not None]


def report_cached(
    *,
    property: Property,
    date_from: date,
    date_to: date,
    identity: object,
    compute: Callable[[], Answered],
) -> Answered:
    """compute()'s answer, from the report cache while the data it reads and the code that computes
    it are unchanged; `identity` names the question. Computed when the cache is off or Redis is down."""
    seconds = settings.CLICKMETER_REPORT_CACHE_SECONDS
    if not seconds or buffer.redis_outage():
        return _without_collector(compute)
    version = data_version(property=property, date_from=date_from, date_to=date_to)
    named = (property.pk, property.timezone, date_from, date_to, identity, version, REPORT_CODE_DIGEST)
    key = "clickmeter:report:" + hashlib.sha256(repr(named).encode()).hexdigest()
    try:
        answer: Answered | None = cache.get(key)
    except RedisError as exc:
        buffer.redis_failed(exc, "computing reports without the report cache")
        return _without_collector(compute)
    REPORT_CACHE.labels(result="miss" if answer is None else "hit").inc()
    if answer is None:
        answer = _without_collector(compute)
        try:
            cache.set(key, answer, timeout=seconds)
        except RedisError as exc:
            buffer.redis_failed(exc, "computing reports without the report cache")
    return answer


def _without_collector(compute: Callable[[], Answered]) -> Answered:
    """compute() with Python's cyclic garbage collector paused: a report builds some 100,000s of
    objects (its rows, its visitors' chains) that reference counting frees, and each pass the
    collector makes meanwhile walks every object of the process; paused, a 30-day funnel took
    850 ms instead of 1,310-1,920 (docs/benchmarks.md). Threads share the switch: the one that
    paused it resumes it, whichever others still compute."""
    paused_here = gc.isenabled()
    gc.disable()
    try:
        return compute()
    finally:
        if paused_here:
            gc.enable()
