#!/usr/bin/env python
"""bench/imported: what a year of Plausible's daily totals costs to import and to report on.

Writes a Plausible CSV export of a mid-sized site over 365 days, reproducible from a fixed seed:
~2,000 paths in a Zipf-like distribution (about 600 a day), 40 sources, 300 entry and exit pages a
day, 60 countries with regions, devices, browsers, operating systems and 5 custom events; imports it
with the importer the admin and `events_import` run (timed: rows read per second, ImportedDay rows
written), into a property of its own in a PostgreSQL database of its own (no raw events, so what is
timed is the imported totals' part). Then it times the engine's answer (`query_answer`, the report
cache off), in-process, for reports the dashboard asks over 30 and 365 days, with the imported
totals and without them (`include.imports` false: the raw events' part alone), and prints the median
and p95 of each.

    .venv/bin/python bench/imported.py [--repeat 15]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import database_reset, django_configured  # noqa: E402
from devtools.plausible import export_zip  # noqa: E402
from devtools.stack import Redis  # noqa: E402

DAYS = 365
LAST = date(2026, 11, 30)
FIRST = LAST - timedelta(days=DAYS - 1)
PATHS = 2_000
QUERIES = {
    "totals": {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]},
    "by day": {"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]},
    "top pages": {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"], "pagination": {"limit": 10}},
    "pages /blog": {"metrics": ["pageviews"], "filters": [["contains", "event:page", ["/blog"]]]},
    "top sources": {
        "metrics": ["visitors", "bounce_rate"],
        "dimensions": ["visit:source"],
        "pagination": {"limit": 10},
    },
    "countries by month": {"metrics": ["visits"], "dimensions": ["visit:country", "time:month"]},
}


def zipf_pick(rng: Random, n: int) -> int:
    return min(int(n ** rng.random()) - 1, n - 1)


def visit_counts(rng: Random, scale: int) -> dict:
    visits = max(1, int(scale * rng.random()))
    return {
        "visitors": max(1, int(visits * 0.8)),
        "visits": visits,
        "pageviews": visits * 2,
        "bounces": visits // 2,
        "visit_duration": visits * 60,
        "entrances": visits,
        "exits": visits,
    }


def export(rng: Random) -> tuple[bytes, int]:
    tables: dict[str, list[dict]] = {
        name: []
        for name in (
            "visitors",
            "sources",
            "pages",
            "entry_pages",
            "exit_pages",
            "custom_events",
            "locations",
            "devices",
            "browsers",
            "operating_systems",
        )
    }
    for offset in range(DAYS):
        day = (FIRST + timedelta(days=offset)).isoformat()
        tables["visitors"].append({"date": day, **visit_counts(rng, 3_000)})
        pages = {zipf_pick(rng, PATHS) for _ in range(1_500)}
        for n in sorted(pages):
            path = f"/blog/post-{n}" if n % 3 else f"/docs/page-{n}"
            tables["pages"].append({"date": day, "hostname": "www.example.com", "page": path, **visit_counts(rng, 50)})
        for n in range(40):
            tables["sources"].append(
                {"date": day, "source": f"Source {n}", "referrer": f"s{n}.example", **visit_counts(rng, 80)}
            )
        for table, column in (("entry_pages", "entry_page"), ("exit_pages", "exit_page")):
            tables[table] += [{"date": day, column: f"/blog/post-{n}", **visit_counts(rng, 20)} for n in range(300)]
        tables["locations"] += [
            {
                "date": day,
                "country": chr(65 + n // 26) + chr(65 + n % 26),
                "region": "",
                "city": "0",
                **visit_counts(rng, 60),
            }
            for n in range(60)
        ]
        tables["devices"] += [
            {"date": day, "device": d, **visit_counts(rng, 1_000)} for d in ("Desktop", "Mobile", "Tablet")
        ]
        tables["browsers"] += [
            {"date": day, "browser": f"B{n}", "browser_version": "1", **visit_counts(rng, 300)} for n in range(10)
        ]
        tables["operating_systems"] += [
            {"date": day, "operating_system": f"OS{n}", "operating_system_version": "1", **visit_counts(rng, 300)}
            for n in range(8)
        ]
        tables["custom_events"] += [
            {"date": day, "name": f"Event {n}", "link_url": "", "path": "", "visitors": 10, "events": 20}
            for n in range(5)
        ]
    return export_zip(tables, FIRST, LAST), sum(len(rows) for rows in tables.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    database_url = database_reset("postgres://postgres@127.0.0.1:5432/postgres", "clickmeter_bench_imported")
    with tempfile.TemporaryDirectory() as tmp:
        redis = Redis(Path(tmp), Path(tmp)).start()
        try:
            django_configured(database_url, redis.url, CLICKMETER_REPORT_CACHE_SECONDS="0", MEDIA_ROOT=tmp)
            from django.core.files.base import ContentFile
            from django.core.management import call_command

            from apps.accounts.services import organization_get_or_create
            from apps.imports.models import Import
            from apps.imports.services import import_create, import_run
            from apps.properties.services import property_create
            from apps.reports.models import ImportedDay
            from apps.reports.queries.engine import query_answer
            from apps.reports.queries.query import query_parse

            call_command("migrate", verbosity=0)
            prop = property_create(organization=organization_get_or_create(name="Bench imported"), name="Imported")
            content, rows = export(Random(20261207))
            print(f"\nbench/imported — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
            print(f"export: {DAYS} days, {rows:,} CSV rows, {len(content) / 1e6:.1f} MB zip")
            started = time.perf_counter()
            done = import_run(
                import_create(
                    property=prop, source=Import.Source.PLAUSIBLE, file=ContentFile(content, name="bench.zip")
                )
            )
            seconds = time.perf_counter() - started
            assert done.status == Import.Status.DONE, done.error
            kept = ImportedDay.objects.filter(property=prop).count()
            print(f"import: {seconds:.1f} s, {rows / seconds:,.0f} CSV rows/s, {kept:,} ImportedDay rows\n")
            print(f"{'report':20} {'days':>5} {'with imports p50/p95 ms':>26} {'raw part alone p50/p95 ms':>27}")
            for days in (30, 365):
                span = [(LAST - timedelta(days=days - 1)).isoformat(), LAST.isoformat()]
                for label, body in QUERIES.items():
                    cells = []
                    for imports in (True, False):
                        query = query_parse({**body, "date_range": span, "include": {"imports": imports}})
                        timings = []
                        for _ in range(args.repeat):
                            started = time.perf_counter()
                            query_answer(property=prop, query=query)
                            timings.append((time.perf_counter() - started) * 1000)
                        timings.sort()
                        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
                        cells.append(f"{statistics.median(timings):.1f} / {p95:.1f}")
                    print(f"{label:20} {days:>5} {cells[0]:>26} {cells[1]:>27}")
        finally:
            redis.process.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
