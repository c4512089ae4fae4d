"""The report cache answers while a range's data is unchanged and never after it changed."""

import gc
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

import apps.reports.stores
from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.queries import cache as report_cache
from apps.reports.queries.cache import REPORT_CODE_DIGEST, REPORT_MODULES, source_digest
from apps.reports.queries.engine import query_answer
from apps.reports.queries.query import query_parse
from apps.reports.selectors import MetricsQuery
from apps.reports.services import retention_enforce, rollup_refresh_dirty_days
from devtools.events import validated_event

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 1)
# The cache key's read: the rollup generation and the range's dirty days.
KEY_QUERIES = 1


def store(prop, *visitors: str) -> None:
    events = [
        validated_event(ts=datetime(2026, 3, 1, 12, n, tzinfo=UTC).isoformat(), visitor_id=visitor, session_id=visitor)
        for n, visitor in enumerate(visitors)
    ]
    events_store(batches=[AcceptedBatch(prop.pk, 0, datetime.now(UTC), events)])


def overview(prop) -> tuple[dict, int]:
    """The range's totals and how many SQL statements answering took."""
    with CaptureQueriesContext(connection) as queries:
        row = MetricsQuery(property=prop, date_from=DAY, date_to=DAY).calculate()[0]
    return row, len(queries)


def test_an_unchanged_range_is_answered_from_the_cache(tenant_a):
    store(tenant_a.property, "v1", "v2")
    first, statements = overview(tenant_a.property)
    assert first["unique_visitors"] == 2 and statements > KEY_QUERIES
    assert overview(tenant_a.property) == (first, KEY_QUERIES)


def test_every_write_that_changes_a_report_makes_it_computed_again(tenant_a):
    prop = tenant_a.property
    store(prop, "v1")
    assert overview(prop)[0]["pageviews"] == 1
    store(prop, "v2")  # a new event on a dirty day: a new token
    assert overview(prop)[0]["pageviews"] == 2
    rollup_refresh_dirty_days(quiet_seconds=0)  # the same data, read from the rollup now
    assert overview(prop)[0]["pageviews"] == 2
    store(prop, "v3")  # a clean day made dirty again
    assert overview(prop)[0]["pageviews"] == 3
    rollup_refresh_dirty_days(quiet_seconds=0)  # clean again, with different data than the first time
    row, statements = overview(prop)
    assert row["pageviews"] == 3 and statements > KEY_QUERIES
    retention_enforce(today=date(2027, 6, 1))  # older than the 400-day retention: deleted
    assert overview(prop)[0]["pageviews"] == 0


def test_a_change_of_timezone_is_a_change_of_data(tenant_a):
    prop = tenant_a.property
    store(prop, "v1")
    rollup_refresh_dirty_days(quiet_seconds=0)
    query = {"property": prop, "date_from": DAY, "date_to": DAY, "metrics": ("pageviews",), "interval": "hour"}
    assert [row["hour"] for row in MetricsQuery(**query).calculate() if row["pageviews"]] == ["2026-03-01T12:00"]
    prop.timezone = "Asia/Tokyo"  # what the hours read, even before the events are re-dayed
    assert [row["hour"] for row in MetricsQuery(**query).calculate() if row["pageviews"]] == ["2026-03-01T21:00"]


def test_a_deploy_that_changes_the_report_code_computes_reports_again(tenant_a, monkeypatch):
    store(tenant_a.property, "v1", "v2")
    before, _ = overview(tenant_a.property)
    assert overview(tenant_a.property) == (before, KEY_QUERIES)
    monkeypatch.setattr(report_cache, "REPORT_CODE_DIGEST", "the digest of changed report code")
    after, statements = overview(tenant_a.property)
    assert after == before and statements > KEY_QUERIES


def test_the_report_code_digest_is_of_the_source_of_the_modules_that_compute_reports(tmp_path, monkeypatch):
    stores = Path(apps.reports.stores.__file__).parent
    every_store_module = {
        ".".join(path.relative_to(stores.parent.parent.parent).with_suffix("").parts).removesuffix(".__init__")
        for path in stores.rglob("*.py")
    }
    assert set(REPORT_MODULES) == {
        "apps.reports.models",
        "apps.reports.selectors",
        "apps.reports.services",
        "apps.reports.queries.engine",
        "apps.reports.queries.funnels",
        "apps.reports.queries.goals",
        "apps.reports.queries.imported",
        "apps.reports.queries.journeys",
        "apps.reports.queries.retention",
        "apps.reports.queries.visits",
        "apps.reports.goals.selectors",
        "apps.reports.queries.query",
        "apps.reports.queries.vocabulary",
        *every_store_module,
    }
    assert source_digest(REPORT_MODULES) == REPORT_CODE_DIGEST
    package = tmp_path / "report_code_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rules.py").write_text("BOUNCE = 1\n")
    (package / "queries.py").write_text("SQL = 'SELECT 1'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = ("report_code_probe.rules", "report_code_probe.queries")
    deployed = source_digest(modules)
    assert source_digest(modules) == deployed
    (package / "queries.py").write_text("SQL = 'SELECT 2'\n")
    assert source_digest(modules) != deployed


def test_reports_answer_without_the_cache_when_redis_is_down(tenant_a):
    store(tenant_a.property, "v1")
    unreachable = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2},
    }
    with override_settings(CACHES={"default": unreachable, "lockout": unreachable}):
        assert overview(tenant_a.property)[0]["pageviews"] == 1


def test_a_series_by_day_keeps_its_unchanged_days_from_the_cache_while_today_changes(tenant_a):
    prop = tenant_a.property

    def on(day: int, visitor: str) -> None:
        event = validated_event(
            ts=datetime(2026, 3, day, 12, tzinfo=UTC).isoformat(), visitor_id=visitor, session_id=visitor
        )
        events_store(batches=[AcceptedBatch(prop.pk, 0, datetime.now(UTC), [event])])

    on(1, "v1")
    rollup_refresh_dirty_days(quiet_seconds=0)
    on(2, "v2")  # the 2nd stays dirty: "today"
    query = MetricsQuery(property=prop, date_from=DAY, date_to=date(2026, 3, 2), interval="day")
    assert [row["pageviews"] for row in query.calculate()] == [1, 1]
    on(2, "v3")
    with CaptureQueriesContext(connection) as queries:
        assert [row["pageviews"] for row in query.calculate()] == [1, 2]
    # The range's version, then each run's: the 1st from the cache, the 2nd computed (its check for
    # imported totals, then one statement).
    assert len(queries) == 1 + KEY_QUERIES + KEY_QUERIES + 2


def engine_visitors(prop) -> tuple[int | float, int]:
    """The engine's visitors over the range and how many SQL statements answering took."""
    query = query_parse({"metrics": ["visitors"], "date_range": [DAY.isoformat(), DAY.isoformat()]})
    with CaptureQueriesContext(connection) as queries:
        answer = query_answer(property=prop, query=query)
    return answer.rows[0]["metrics"][0], len(queries)


def test_the_engine_answers_from_the_same_cache_until_the_data_changes(tenant_a):
    prop = tenant_a.property
    store(prop, "v1", "v2")
    visitors, statements = engine_visitors(prop)
    assert visitors == 2 and statements > KEY_QUERIES
    assert engine_visitors(prop) == (2, KEY_QUERIES)
    store(prop, "v3")
    assert engine_visitors(prop)[0] == 3
    rollup_refresh_dirty_days(quiet_seconds=0)
    visitors, statements = engine_visitors(prop)
    assert visitors == 3 and statements > KEY_QUERIES


@pytest.mark.parametrize("cache_seconds", [0, 3600])
def test_a_report_is_computed_with_the_garbage_collector_paused_and_resumed_after(tenant_a, settings, cache_seconds):
    settings.CLICKMETER_REPORT_CACHE_SECONDS = cache_seconds
    seen = []

    def compute():
        seen.append(gc.isenabled())
        return 1

    def failing():
        raise ValueError("a report that fails")

    asked = {"property": tenant_a.property, "date_from": DAY, "date_to": DAY, "identity": cache_seconds}
    assert report_cache.report_cached(**asked, compute=compute) == 1
    assert seen == [False] and gc.isenabled()
    with pytest.raises(ValueError):
        report_cache.report_cached(**{**asked, "identity": "failing"}, compute=failing)
    assert gc.isenabled()
    # Paused by someone else (another thread's report): left paused.
    gc.disable()
    try:
        report_cache.report_cached(**{**asked, "identity": "nested"}, compute=compute)
        assert not gc.isenabled()
    finally:
        gc.enable()
