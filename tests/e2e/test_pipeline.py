"""The whole pipeline on real processes: gunicorn -> Redis (AOF) -> Celery worker -> the event store
(PostgreSQL, or a ClickHouse server) -> reports.

Includes the fault drills: a worker killed with SIGKILL mid-batch (on either store), ClickHouse
restarted mid-load, the broker stopped during a burst, and the database and broker both unreachable.
"""

import json
import os
import signal
import subprocess
import threading
import uuid
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import connection

from apps.reports.stores import event_store
from devtools.stack import ClickHouse, Stack, wait_until
from tests.conftest import tenant_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def envelope(tenant, count: int, *, bad: int = 0) -> dict:
    today = datetime.now(UTC).date().isoformat()
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "pageview",
            "ts": f"{today}T00:00:01Z",
            "context": {"page": {"url": f"https://example.com/p{i % 7}"}},
            "identity": {"visitor_id": f"v{i % 11}", "session_id": f"s{i % 13}"},
        }
        for i in range(count)
    ]
    events += [{"type": {"not": "a string"}} for _ in range(bad)]
    return {"schema_version": 1, "property_id": tenant.property.public_id, "events": events}


@pytest.fixture
def tenant(transactional_db):
    # The drills send bursts from one address: rate limits are tested elsewhere.
    return tenant_create(ingest_limit_per_key=0, ingest_limit_per_address=0)


@pytest.fixture(params=["database", "clickhouse"])
def stack(request, tmp_path, transactional_db):
    """The stack on each event store; the test's own process reads the same store."""
    store = {}
    if request.param == "clickhouse":
        request.getfixturevalue("clickhouse_store")
        store = {"CLICKMETER_EVENT_STORE": "clickhouse", "CLICKHOUSE_URL": settings.CLICKHOUSE_URL}
    stack = Stack(tmp_path, database_url(), web_args=("--workers", "2"), **store)
    yield stack
    stack.stop()


def stored_ids(tenant) -> list[str]:
    return [event["event_id"] for event in event_store().events(property=tenant.property)]


def stored(tenant) -> int:
    return len(stored_ids(tenant))


class Burst:
    """Batches of `size` events sent one after another from a thread while the block runs; each
    answer must be 202."""

    def __init__(self, stack, tenant, *, size: int):
        self.stack, self.tenant, self.size = stack, tenant, size
        self.accepted: list[int] = []
        self.failures: list = []
        self.stop = threading.Event()
        self.sender = threading.Thread(target=self._send)

    def _send(self):
        while not self.stop.is_set():
            status, _, body = self.stack.ingest(self.tenant.write_key, envelope(self.tenant, self.size))
            if status == 202:
                self.accepted.append(body["accepted"])
            else:
                self.failures.append((status, body))

    def __enter__(self):
        self.sender.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.sender.join(timeout=30)

    def goes_on(self, *, message: str):
        """Wait for 20 more accepted batches."""
        sent = len(self.accepted)
        wait_until(lambda: len(self.accepted) >= sent + 20, timeout=30, message=message)

    def settled(self) -> tuple[list, int, int]:
        """Once every accepted event is stored (as many rows as events accepted): the answers that were
        no 202, the events accepted, and the distinct event ids stored."""
        total = sum(self.accepted)
        logs = self.stack.logs
        wait_until(lambda: stored(self.tenant) == total, timeout=180, interval=0.5, message=f"{total} events\n{logs()}")
        return self.failures, total, len(set(stored_ids(self.tenant)))


def test_events_reach_reports_through_the_real_stack(stack, tenant):
    stack.start()
    accepted = 0
    for bad in (0, 2, 0):
        status, _, body = stack.ingest(tenant.write_key, envelope(tenant, 20, bad=bad))
        assert status == 202, body
        assert body["rejected"] == bad
        accepted += body["accepted"]
    today = datetime.now(UTC).date().isoformat()
    path = f"/v1/properties/{tenant.property.public_id}/overview?from={today}&to={today}"

    def pageviews():
        status, body = stack.get(path, tenant.read_key)
        assert status == 200, body
        return body["pageviews"] == accepted and body

    body = wait_until(pageviews, timeout=30, message=f"reports to show {accepted} pageviews\n{stack.logs()}")
    assert body["unique_visitors"] == 11
    assert body["sessions"] == len({(i % 11, i % 13) for i in range(20)}), "a session is one visitor's"
    status, ready = stack.get("/readyz")
    assert status == 200, ready
    assert ready["services"]["broker"]["appendonly"] is True


def test_a_replayed_batch_through_the_stack_is_counted_once(stack, tenant):
    stack.start()
    batch = envelope(tenant, 50)
    for _ in range(3):
        assert stack.ingest(tenant.write_key, batch)[0] == 202
    # The replays add no rows, so wait for the buffer to empty rather than for a count.
    wait_until(lambda: stack.redis.cli("xlen", "clickmeter:ingest") == "0", timeout=30, message="an empty buffer")
    wait_until(lambda: stored(tenant) == 50, timeout=30, message="50 events stored")
    assert stack.redis.cli("xpending", "clickmeter:ingest", "clickmeter-drain").split("\n")[0] == "0"
    assert stored(tenant) == 50


def pending_entries(stack) -> int:
    """Entries delivered to a drain and not yet acknowledged."""
    summary = stack.redis.cli("xpending", "clickmeter:ingest", "clickmeter-drain").split("\n")[0]
    return int(summary) if summary.isdigit() else 0


def burst_buffered(stack, tenant) -> int:
    """Buffer 20,000 events with no worker running; return how many were accepted."""
    accepted = 0
    for _ in range(40):
        status, _, body = stack.ingest(tenant.write_key, envelope(tenant, 500))
        assert status == 202
        accepted += body["accepted"]
    return accepted


def test_worker_killed_mid_batch_loses_nothing_and_counts_nothing_twice(stack, tenant):
    stack.start(worker=False, beat=False)
    accepted = burst_buffered(stack, tenant)
    assert stored(tenant) == 0, "nothing is stored before a worker runs"

    worker = stack.start_worker()
    # Kill it while it holds delivered, unacknowledged entries: mid-batch.
    wait_until(lambda: pending_entries(stack), timeout=30, interval=0.005, message="the worker to take a batch")
    worker.kill(signal.SIGKILL)
    killed_at_count = stored(tenant)
    assert killed_at_count < accepted, "the kill landed before the batch was stored"

    stack.start_worker()
    stack.beat.start()
    wait_until(
        lambda: stored(tenant) == accepted, timeout=120, interval=0.5, message=f"{accepted} events\n{stack.logs()}"
    )
    assert len(set(stored_ids(tenant))) == accepted
    wait_until(lambda: stack.redis.cli("xlen", "clickmeter:ingest") == "0", timeout=30, message="an empty buffer")


def test_clickhouse_killed_and_restarted_during_a_burst_loses_nothing_and_counts_nothing_twice(
    tmp_path, tenant, settings
):
    clickhouse = ClickHouse(tmp_path / "clickhouse", tmp_path).start()
    settings.CLICKMETER_EVENT_STORE, settings.CLICKHOUSE_URL = "clickhouse", clickhouse.url("burst")
    event_store().schema_migrate()
    stack = Stack(tmp_path, database_url(), CLICKMETER_EVENT_STORE="clickhouse", CLICKHOUSE_URL=clickhouse.url("burst"))
    try:
        stack.start()
        with Burst(stack, tenant, size=50) as burst:
            wait_until(lambda: stored(tenant), timeout=60, message=f"the first events stored\n{stack.logs()}")
            clickhouse.process.kill()  # a crash, with the drain writing: no shutdown of its own
            burst.goes_on(message="ingest to go on")
            clickhouse.start()
            burst.goes_on(message="ingest after the restart")
        failures, accepted, stored_once = burst.settled()
        assert failures == []
        assert stored_once == accepted
    finally:
        stack.stop()
        clickhouse.stop()


@pytest.mark.parametrize("killed", ["the whole worker, then a new one started", "its pool processes"])
def test_a_drain_killed_mid_batch_is_recovered_without_beat_or_new_traffic(tmp_path, tenant, killed):
    # No beat, no event after the kill, and a stuck consumer's entries claimed only after 300 s
    # (Celery redelivers an unacknowledged task after 300 s too): recovery must wait for none of them.
    stack = Stack(tmp_path, database_url(), CLICKMETER_INGEST_CLAIM_IDLE_SECONDS="300")
    try:
        stack.start(worker=False, beat=False)
        accepted = burst_buffered(stack, tenant)
        worker = stack.start_worker()
        wait_until(lambda: pending_entries(stack), timeout=30, interval=0.005, message="the worker to take a batch")
        if killed == "its pool processes":
            children = subprocess.run(["pgrep", "-P", str(worker.popen.pid)], capture_output=True, text=True)
            for pid in children.stdout.split():
                os.kill(int(pid), signal.SIGKILL)
        else:
            worker.kill(signal.SIGKILL)
        assert stored(tenant) < accepted, "the kill landed before the batch was stored"
        assert pending_entries(stack), "the killed drain left entries pending"
        if killed != "its pool processes":
            stack.start_worker()
        wait_until(
            lambda: stored(tenant) == accepted, timeout=120, interval=0.5, message=f"{accepted} events\n{stack.logs()}"
        )
        assert len(set(stored_ids(tenant))) == accepted
        wait_until(lambda: stack.redis.cli("xlen", "clickmeter:ingest") == "0", timeout=30, message="an empty buffer")
        assert stack.get("/readyz")[1]["services"]["broker"]["oldest_unstored_seconds"] is None
    finally:
        stack.stop()


def test_broker_stopped_during_a_burst_loses_nothing(stack, tenant):
    stack.start()
    with Burst(stack, tenant, size=20) as burst:
        wait_until(lambda: len(burst.accepted) >= 20, timeout=30, message="the burst to start")
        stack.redis.shutdown()
        burst.goes_on(message="ingest to go on without Redis")
        stack.redis.start()
        burst.goes_on(message="ingest after Redis is back")
    failures, accepted, stored_once = burst.settled()
    assert failures == []
    assert stored_once == accepted


def test_database_and_broker_both_unreachable_is_503_with_retry_after(tmp_path, tenant):
    stack = Stack(
        tmp_path,
        "postgres://postgres@127.0.0.1:1/nothing",
        web_args=("--workers", "1"),
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    try:
        stack.start_web()
        status, headers, body = stack.ingest(tenant.write_key, envelope(tenant, 3))
        assert status == 503
        assert int(headers["Retry-After"]) > 0
        assert body["error"]["code"] == "unavailable"
        status, ready = stack.get("/readyz")
        assert status == 503
        assert {name: service["status"] for name, service in ready["services"].items()} == {
            "database": "fail",
            "broker": "fail",
        }
    finally:
        stack.stop()
    assert stored(tenant) == 0


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_request_id_follows_a_batch_from_the_request_into_the_worker(tmp_path, tenant):
    stack = Stack(tmp_path, database_url(), LOG_LEVEL="INFO")
    try:
        stack.start(beat=False)
        answers = [stack.ingest(tenant.write_key, envelope(tenant, 3)) for _ in range(4)]
        assert [status for status, _, _ in answers] == [202] * 4
        request_ids = {headers["X-Request-ID"] for _, headers, _ in answers}
        assert len(request_ids) == 4, "each request has an id of its own"
        wait_until(lambda: stored(tenant) == 12, timeout=60, message=stack.logs())

        def lines_stored() -> list[dict]:
            worker_log = stack.workers[0].log_path.read_text()
            return [line for line in json_lines(worker_log) if line["event"] == "batches_stored"]

        def ids_stored() -> set[str]:
            return {request_id for line in lines_stored() for request_id in line["request_ids"]}

        # The drain logs once the batches are committed: a moment after the rows can be read.
        wait_until(lambda: ids_stored() == request_ids, timeout=30, message=stack.logs())
        assert sum(line["events"] for line in lines_stored()) == 12
        finished = {
            line["request_id"]: line
            for line in json_lines(stack.web.log_path.read_text())
            if line["event"] == "request_finished" and line["request"] == "POST /v1/events"
        }
        assert set(finished) == request_ids
        assert all(line["code"] == 202 and line["duration_ms"] >= 0 for line in finished.values())
        worker_log = stack.workers[0].log_path.read_text()
        # The drain a request queued runs under that request's id.
        drains = [line for line in json_lines(worker_log) if line["event"] == "task_started"]
        assert drains and {line.get("request_id") for line in drains} <= request_ids | {None}, worker_log
        logged = json_lines(stack.web.log_path.read_text()) + json_lines(worker_log)
        assert "127.0.0.1" not in json.dumps(logged), "no line names the client (Celery's printed banner aside)"
    finally:
        stack.stop()
