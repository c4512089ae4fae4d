#!/usr/bin/env python
"""bench/ingest: ingest throughput of the production-shaped stack on loopback.

Starts gunicorn (config/gunicorn.py), a Celery worker and beat, a persistent Redis (AOF,
noeviction) and a fresh PostgreSQL database. After a warm-up it runs several rounds, each of three
fixed-time wrk phases: the ceiling (a bare Django view, `/healthz`, on the same server),
single-event requests, and 20-event batches. It prints medians over the rounds of requests/s,
events/s and p50/p99 latency, with the spread of requests/s over the rounds, the worst drain time
(from the end of an ingest phase until every accepted event is in PostgreSQL), the ratio to the
ceiling, the CPU each process group spent per request (gunicorn, Celery worker, beat, Redis,
PostgreSQL, wrk; from /proc, over the phase and its drain), how the requests spread over
gunicorn's workers, and the accounting: events the server answered 202 for (from its access log,
so requests cut off by wrk's timer count correctly) against rows stored, and duplicates. With
`--store clickhouse` the worker stores into a ClickHouse server of its own (CLICKMETER_EVENT_STORE),
and the drain and the accounting read it there. Phases
alternate so that the machine's drift hits all of them alike. CPU per request is the figure to
judge a change on the hot path by: throughput on a shared VM moves with its neighbours.

    make bench-ingest                        # or: .venv/bin/python bench/ingest.py --rounds 3 --duration 8
    .venv/bin/python bench/ingest.py --store clickhouse
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from clickhouse_driver import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.geoip import geoip_test_database_write  # noqa: E402
from devtools.stack import ClickHouse, Stack, wait_until  # noqa: E402

CLICKHOUSE_DATABASE = "bench"
PHASES = (
    ("ceiling", "ceiling (bare Django view)", 1),
    ("events", "single event", 1),
    ("events", "20-event batch", 20),
    ("plausible", "Plausible /api/event", 1),
    ("posthog", "PostHog /e/ 20-event batch", 20),
)
# The answers of an accepted request, by endpoint, in gunicorn's access log.
ACCEPTED = ("202 POST /v1/events", "202 POST /api/event", "200 POST /e/")
DOMAIN = "bench.example"


def django_configured(database_url: str, redis_url: str, **settings: str) -> None:
    """Django set up in this process as production runs it (DEBUG off) on the given database and Redis."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings", DEBUG="false", SECRET_KEY="bench-" + "x" * 50,
        DATABASE_URL=database_url, REDIS_URL=redis_url, **settings,
    )  # fmt: skip
    import django

    django.setup()


def database_reset(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def wrk(base_url: str, *, mode: str, seconds: int, connections: int, batch: int, keys: dict, close: bool) -> dict:
    env = dict(os.environ, BENCH_MODE=mode, BENCH_BATCH=str(batch), BENCH_PROPERTY=keys["property_id"],
               BENCH_KEY=keys["write_key"], BENCH_CLOSE="1" if close else "")  # fmt: skip
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(ROOT / "bench/ingest.lua"),
         base_url],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    elapsed = result["duration_us"] / 1e6
    return {
        "requests_per_s": result["requests"] / elapsed,
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "failed_requests": result["refused_requests"] + result["socket_errors"],
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 onwards), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (parent pid, command name)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            found[int(entry.name)] = (int(fields[1]), name)
    return found


def _tree(root: int, processes: dict) -> set[int]:
    members, grew = {root}, True
    while grew:
        grew = False
        for pid, (parent, _) in processes.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    return members


def _database_backends(database: str, processes: dict) -> set[int]:
    """PostgreSQL's processes serving `database` (their command line names it)."""
    backends = set()
    for pid, (_, name) in processes.items():
        if name.startswith("postgres"):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if f" {database} " in command:
                backends.add(pid)
    return backends


def cpu_ticks(stack, database: str, clickhouse: ClickHouse | None) -> dict[str, dict[int, int]]:
    """CPU ticks (user + system) used so far by each process of each group of the stack."""
    processes = _processes()
    groups = {
        "gunicorn": _tree(stack.web.popen.pid, processes),
        "celery worker": set().union(*(_tree(worker.popen.pid, processes) for worker in stack.workers)),
        "beat": _tree(stack.beat.popen.pid, processes),
        "redis": {stack.redis.process.popen.pid},
        "postgres": _database_backends(database, processes),
    }
    if clickhouse:
        groups["clickhouse"] = {clickhouse.process.popen.pid}
    ticks = {}
    for group, pids in groups.items():
        ticks[group] = {pid: int(fields[11]) + int(fields[12]) for pid in pids if (fields := _stat(pid))}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has exited
    ticks["wrk"] = {0: round((children.ru_utime + children.ru_stime) * CLOCK_TICKS)}
    return ticks


def cpu_seconds_between(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds each group used between two cpu_ticks() (a process that exited meanwhile is missed)."""
    return {
        group: sum(ticks - before[group].get(pid, 0) for pid, ticks in after[group].items()) / CLOCK_TICKS
        for group in after
    }


def requests_per_worker(access_log: Path, offset: int) -> tuple[dict[str, int], int]:
    """Requests per gunicorn worker pid logged after `offset`, and the log's new end."""
    with access_log.open() as log:
        log.seek(offset)
        lines = log.read().splitlines()
        end = log.tell()
    counts: dict[str, int] = {}
    for line in access_lines(lines):
        pid = line.rsplit(" ", 1)[-1]
        counts[pid] = counts.get(pid, 0) + 1
    return counts, end


def stored_counts(database_url: str, clickhouse: ClickHouse | None) -> tuple[int, int]:
    """Events stored, and of them distinct by (property, event id)."""
    if clickhouse:
        [counts] = Client("127.0.0.1", port=clickhouse.port).execute(
            f"SELECT count(), uniqExact(property_id, event_id) FROM {CLICKHOUSE_DATABASE}.events"  # noqa: S608
        )
        return counts
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT (property_id, event_id)) FROM ingestion_event").fetchone()


def accepted_requests(access_log: Path) -> int:
    """Requests the server accepted, from gunicorn's access log."""
    return sum(1 for line in access_lines(access_log.read_text().splitlines()) if line.startswith(ACCEPTED))


def access_lines(logged: list[str]) -> list[str]:
    """The access log's lines as `--access-logformat` wrote them, each the message of one JSON log line."""
    return [json.loads(line)["event"] for line in logged if line.startswith("{")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per phase per round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--new-connection-per-request",
        action="store_true",
        help="send `Connection: close`, as clients behind a proxy without upstream keep-alive do",
    )
    parser.add_argument("--gunicorn-arg", action="append", default=[], help="an extra gunicorn argument, to try one")
    parser.add_argument("--admin-database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--store",
        choices=("database", "clickhouse"),
        default="database",
        help="where the worker stores the events: clickhouse starts a server of its own",
    )
    args = parser.parse_args()

    database = "clickmeter_bench"
    database_url = database_reset(args.admin_database_url, database)
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="config.settings", DEBUG="false",
               SECRET_KEY="bench-" + "x" * 50)  # fmt: skip
    env.pop("REDIS_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    created = subprocess.run(
        [*manage, "create_property", "--org", "Bench", "--name", "Bench", "--domain", DOMAIN, "--json"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    keys = json.loads(created.stdout)
    with psycopg.connect(database_url, autocommit=True) as conn:
        # wrk sends from one address: limits high enough never to refuse, but counted as in production.
        conn.execute("UPDATE properties_property SET ingest_limit_per_key = 1e9, ingest_limit_per_address = 1e9")

    samples = {label: [] for _, label, _ in PHASES}
    with tempfile.TemporaryDirectory() as tmp:
        access_log = Path(tmp) / "access.log"
        clickhouse, store = None, {}
        if args.store == "clickhouse":
            clickhouse = ClickHouse(Path(tmp) / "clickhouse", Path(tmp)).start()
            store = {"CLICKMETER_EVENT_STORE": "clickhouse", "CLICKHOUSE_URL": clickhouse.url(CLICKHOUSE_DATABASE)}
            subprocess.run([*manage, "event_store_migrate"], cwd=ROOT, env={**env, **store}, check=True)
        stack = Stack(
            Path(tmp), database_url,
            web_args=("--access-logfile", str(access_log), "--access-logformat", "%(s)s %(m)s %(U)s %(p)s",
                      *args.gunicorn_arg),
            CLICKMETER_INGEST_CLAIM_IDLE_SECONDS="60",
            LOG_LEVEL="INFO",  # as in production: each request logged
            CLICKMETER_GEOIP_PATH=str(geoip_test_database_write(Path(tmp) / "City-Test.mmdb")),
            **store,
        )  # fmt: skip
        stack.start()
        accounting = {"answered_requests": 0, "accepted_events": 0, "log_offset": 0}

        def phase(mode: str, batch: int, seconds: int) -> dict:
            cpu_before = cpu_ticks(stack, database, clickhouse)
            result = wrk(stack.base_url, mode=mode, seconds=seconds, connections=args.connections, batch=batch,
                         keys=keys, close=args.new_connection_per_request)  # fmt: skip
            if mode != "ceiling":
                ended = time.monotonic()
                time.sleep(0.2)  # let requests cut off by wrk's timer reach the access log
                answered = accepted_requests(access_log)
                accounting["accepted_events"] += (answered - accounting["answered_requests"]) * batch
                accounting["answered_requests"] = answered
                wait_until(lambda: stored_counts(database_url, clickhouse)[0] >= accounting["accepted_events"],
                           timeout=300, interval=0.05, message="every accepted event stored")  # fmt: skip
                result["drain_s"] = time.monotonic() - ended
            time.sleep(0.2)  # the access log's last lines
            cpu = cpu_seconds_between(cpu_before, cpu_ticks(stack, database, clickhouse))
            per_worker, accounting["log_offset"] = requests_per_worker(access_log, accounting["log_offset"])
            requests = sum(per_worker.values()) or 1
            result["cpu_us_per_request"] = {group: seconds * 1e6 / requests for group, seconds in cpu.items()}
            result["busiest_worker_share"] = max(per_worker.values(), default=0) / requests
            return result

        try:
            for mode, _, batch in PHASES:
                phase(mode, batch, 3)  # warm-up: every process imported, connected and cached
            for _ in range(args.rounds):
                for mode, label, batch in PHASES:
                    samples[label].append(phase(mode, batch, args.duration))
            stored, distinct = stored_counts(database_url, clickhouse)
        finally:
            stack.stop()
            if clickhouse:
                clickhouse.stop()
    accepted_events = accounting["accepted_events"]

    def median(label, key):
        return statistics.median(sample[key] for sample in samples[label])

    ceiling = median(PHASES[0][1], "requests_per_s")
    print(
        f"\nbench/ingest — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores; "
        f"{args.rounds} rounds x {args.duration}s per phase, {args.connections} connections"
        f"{' (a new one per request)' if args.new_connection_per_request else ''}; gunicorn per config/gunicorn.py"
        f"{' ' + ' '.join(args.gunicorn_arg) if args.gunicorn_arg else ''}, 1 Celery worker, beat, Redis AOF "
        f"everysec, PostgreSQL 15, events stored in {args.store}\n"
    )
    print(f"{'phase (median of rounds)':28} {'req/s':>8} {'min-max req/s':>14} {'events/s':>9} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'max drain s':>11} {'vs ceiling':>10}")  # fmt: skip
    for _, label, batch in PHASES:
        rps = median(label, "requests_per_s")
        spread = [sample["requests_per_s"] for sample in samples[label]]
        drain = f"{max(sample['drain_s'] for sample in samples[label]):.2f}" if batch and label != PHASES[0][1] else "-"
        spread = f"{min(spread):.0f}-{max(spread):.0f}"
        print(f"{label:28} {rps:8.0f} {spread:>14} {rps * batch:9.0f} {median(label, 'p50_ms'):7.2f} "
              f"{median(label, 'p99_ms'):7.2f} {drain:>11} {rps / ceiling:10.2f}")  # fmt: skip
    groups = list(samples[PHASES[0][1]][0]["cpu_us_per_request"])
    print(f"\n{'CPU µs per request (median)':28} " + " ".join(f"{group:>13}" for group in groups)
          + f" {'total':>8} {'busiest worker':>15}")  # fmt: skip
    for _, label, _batch in PHASES:
        cpu = {group: statistics.median(sample["cpu_us_per_request"][group] for sample in samples[label])
               for group in groups}  # fmt: skip
        shares = [sample["busiest_worker_share"] for sample in samples[label]]
        print(f"{label:28} " + " ".join(f"{cpu[group]:13.0f}" for group in groups)
              + f" {sum(cpu.values()):8.0f} {f'{min(shares):.0%}-{max(shares):.0%}':>15}")  # fmt: skip
    failed = sum(sample["failed_requests"] for phase in samples.values() for sample in phase)
    print(f"\naccepted (202) events={accepted_events} stored={stored} duplicates={stored - distinct} "
          f"failed requests={failed}  accepted == stored: {accepted_events == stored}")  # fmt: skip
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(
        json.dumps({"args": vars(args), "samples": samples, "accepted": accepted_events, "stored": stored}, indent=2)
    )
    return 0 if accepted_events == stored == distinct else 1


if __name__ == "__main__":
    sys.exit(main())
