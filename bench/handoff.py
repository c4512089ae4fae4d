#!/usr/bin/env python
"""bench/handoff: what it costs the ingest view to make one accepted batch durable.

Compares, per request, the three hand-offs the design allows: appending to the Redis stream (AOF
everysec, the chosen one: `buffer_append`), inserting into a PostgreSQL outbox table with a commit
of its own, and publishing a Celery task carrying the batch. For each, with 1 and 8 threads for a
fixed time: operations/s and CPU microseconds per operation in this process (the web process's
budget). Redis is a private AOF instance; PostgreSQL is the local server.

    .venv/bin/python bench/handoff.py [--seconds 5]
"""

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import database_reset, django_configured  # noqa: E402
from devtools.stack import Redis  # noqa: E402


def payload() -> bytes:
    from apps.ingestion.storage import AcceptedBatch

    event = {
        "event_id": str(uuid.uuid4()), "type": "pageview", "ts": datetime.now(UTC).isoformat(),
        "url": "https://example.com/p/1", "path": "/p/1", "title": "Page", "referrer": "", "visitor_id": "v1",
        "session_id": "s1", "user_id_hash": "", "campaign_id": "", "utm_source": "newsletter", "utm_medium": "",
        "utm_campaign": "c1", "utm_term": "", "utm_content": "", "data": {},
    }  # fmt: skip
    return AcceptedBatch(1, 1, datetime.now(UTC), [event]).encode()


def measure(operation, *, threads: int, seconds: float) -> tuple[float, float]:
    """Run `operation` in `threads` threads for `seconds`; return (ops/s, CPU µs per op)."""
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def loop(index):
        while time.monotonic() < stop:
            operation()
            counts[index] += 1

    cpu, wall = time.process_time(), time.monotonic()
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ops = sum(counts)
    return ops / (time.monotonic() - wall), (time.process_time() - cpu) / ops * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()

    database_url = database_reset("postgres://postgres@127.0.0.1:5432/postgres", "clickmeter_bench")
    with tempfile.TemporaryDirectory() as tmp:
        redis = Redis(Path(tmp), Path(tmp)).start()
        django_configured(database_url, redis.url, CLICKMETER_TASKS_EAGER="false")
        from django.db import connection

        from apps.ingestion import buffer
        from config.celery import app

        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_outbox (id bigserial PRIMARY KEY, payload bytea NOT NULL)")
        body = payload()
        limits = buffer.RateLimits(key_id=1, key_limit=10**9, property_id=1, address_id="a", address_limit=10**9)

        def outbox_insert():
            from django.db import connection

            with connection.cursor() as cursor:  # autocommit: one commit per request
                cursor.execute("INSERT INTO bench_outbox (payload) VALUES (%s)", [body])

        handoffs = {
            "redis stream append (chosen)": lambda: buffer.buffer_append(body, limits=limits),
            "postgres outbox insert+commit": outbox_insert,
            "celery publish of the batch": lambda: app.send_task("bench.noop", args=[body.decode()]),
        }
        print(f"\nbench/handoff — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
              f"{args.seconds:g}s per cell, payload {len(body)} bytes\n")  # fmt: skip
        print(f"{'hand-off':32} {'1 thread ops/s':>15} {'CPU µs/op':>10} {'8 threads ops/s':>16} {'CPU µs/op':>10}")
        try:
            for label, operation in handoffs.items():
                single = measure(operation, threads=1, seconds=args.seconds)
                eight = measure(operation, threads=8, seconds=args.seconds)
                print(f"{label:32} {single[0]:15.0f} {single[1]:10.0f} {eight[0]:16.0f} {eight[1]:10.0f}")
        finally:
            redis.process.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
