"""The Celery configuration that keeps accepted work from being dropped."""

from django.db import InterfaceError, OperationalError

from apps.ingestion.tasks import ingest_buffer_drain
from apps.reports.tasks import rollup_refresh_dirty_days
from config.celery import app


def test_tasks_are_acknowledged_late_and_requeued_if_the_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_visibility_timeout_outlasts_the_hard_time_limit():
    hard_limit = app.conf.task_time_limit
    assert hard_limit and app.conf.task_soft_time_limit < hard_limit
    assert app.conf.broker_transport_options["visibility_timeout"] > hard_limit


def test_publishing_is_bounded_in_time():
    policy = app.conf.task_publish_retry_policy
    worst_case = sum(
        min(policy["interval_start"] + n * policy["interval_step"], policy["interval_max"])
        for n in range(policy["max_retries"])
    )
    assert app.conf.broker_transport_options["socket_timeout"] <= 2
    assert app.conf.broker_transport_options["socket_connect_timeout"] <= 2
    assert app.conf.broker_connection_timeout <= 2
    assert worst_case < 1


def test_tasks_retry_transient_database_errors_with_capped_backoff_forever():
    for task in (ingest_buffer_drain, rollup_refresh_dirty_days):
        assert set(task.autoretry_for) == {OperationalError, InterfaceError}
        assert task.retry_backoff and task.retry_backoff_max <= 60
        assert task.max_retries is None


def test_beat_drains_the_buffer_and_refreshes_rollups():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule[ingest_buffer_drain.name] <= 30
    assert schedule[rollup_refresh_dirty_days.name] <= 60
