#!/usr/bin/env python
"""bench/footprint: idle memory per process and the time from start to ready, against the seed's
aims (Sparklytics: idle under 150 MB, start under 3 s).

Starts the Procfile's processes as production runs them (devtools/stack.py: gunicorn with
config/gunicorn.py and 2 workers, a Celery worker of concurrency 2, beat, a private Redis) on a
PostgreSQL database of its own, times each to ready — gunicorn to its first `/readyz` 200, the
worker to its first drained event (an event posted to `/v1/events` stored) — then, after the stack
has idled, reads each process's resident (RSS) and proportional (PSS: shared pages divided among
the processes sharing them, what forked workers really add) memory from /proc.

    .venv/bin/python bench/footprint.py [--idle 10]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import database_reset  # noqa: E402
from devtools.stack import BIN, Stack, wait_until  # noqa: E402

AIM_MB, AIM_SECONDS = 150, 3.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return sorted(found)


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    return fields["Rss"] / 1024, fields["Pss"] / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=float, default=10, help="seconds the stack idles before memory is read")
    args = parser.parse_args()
    database_url = database_reset("postgres://postgres@127.0.0.1:5432/postgres", "clickmeter_bench_footprint")
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp), database_url, web_args=("--workers", "2"))
        env = stack.env
        subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        fields = json.loads(
            subprocess.run(
                [str(BIN / "python"), "manage.py", "create_property", "--org", "Bench footprint", "--name", "Footprint",
                 "--json"],
                cwd=ROOT, env=env, check=True, capture_output=True, text=True,
            ).stdout
        )  # fmt: skip
        try:
            stack.redis.start()
            started = time.perf_counter()
            stack.web.start()
            wait_until(lambda: stack.alive() and stack.get("/readyz")[0] == 200, timeout=60, message="gunicorn")
            web_seconds = time.perf_counter() - started
            started = time.perf_counter()
            worker = stack.start_worker()
            event = {"event_id": str(uuid.uuid4()), "type": "pageview", "context": {"page": {"url": "https://e.com/"}}}
            envelope = {"property_id": fields["property_id"], "events": [event]}
            status, _, _ = stack.ingest(fields["write_key"], envelope)
            assert status == 202, status
            stored = "SELECT count(*) FROM ingestion_event"
            wait_until(
                lambda: (
                    subprocess.run(
                        ["psql", database_url, "-Atc", stored], capture_output=True, text=True
                    ).stdout.strip()
                    == "1"
                ),
                timeout=60,
                message="the worker's first drain",
            )
            worker_seconds = time.perf_counter() - started
            stack.beat.start()
            time.sleep(args.idle)
            processes = [("gunicorn master", stack.web.popen.pid)]
            processes += [(f"gunicorn worker {n}", pid) for n, pid in enumerate(children(stack.web.popen.pid), 1)]
            processes += [("celery worker (main)", worker.popen.pid)]
            processes += [(f"celery pool process {n}", pid) for n, pid in enumerate(children(worker.popen.pid), 1)]
            processes += [("celery beat", stack.beat.popen.pid)]
            print(f"\nbench/footprint — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
            print(f"start to ready: gunicorn {web_seconds:.2f} s, worker {worker_seconds:.2f} s (aim {AIM_SECONDS} s)")
            print(f"\n{'process':24} {'RSS MB':>8} {'PSS MB':>8}   idle {args.idle:g} s, aim {AIM_MB} MB")
            for name, pid in processes:
                rss, pss = memory_mb(pid)
                print(f"{name:24} {rss:8.1f} {pss:8.1f}")
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
