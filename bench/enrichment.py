#!/usr/bin/env python
"""bench/enrichment: events/s through the enrichment pipeline alone, step by step.

Web side (per request): client address, bot check, GeoIP lookup (the test database of
devtools/geoip.py), cookieless visitor hash. Worker side (per event): user-agent parsing, attribution
(URL, UTM, referrer, source, channel) and session derivation (against the configured cache).
Inputs cycle through 300 distinct user agents, 2,000 addresses and 500 URL/referrer pairs, so the
per-string caches see a realistic mix of hits and misses. Prints events/s and CPU µs per event.

    .venv/bin/python bench/enrichment.py [--events 50000]
"""

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.1 Safari/605",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {v}_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel {v}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0 Mobile Safari/537",
]
REFERRERS = [
    "",
    "",
    "https://www.google.com/",
    "https://t.co/x",
    "https://news.ycombinator.com/",
    "https://blog.example.org/",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    from bench.ingest import database_reset
    from devtools.geoip import geoip_test_database_write

    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        CLICKMETER_GEOIP_PATH=str(geoip_test_database_write(Path(tempfile.mkdtemp()) / "City-Test.mmdb")),
        DATABASE_URL=database_reset("postgres://postgres@127.0.0.1:5432/postgres", "clickmeter_bench"),
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from apps.core.http import client_ip
    from apps.ingestion import enrichment
    from apps.ingestion.attribution import attribution
    from apps.ingestion.sessions import sessions_derive
    from devtools.events import validated_event

    rng = random.Random(1)
    user_agents = [rng.choice(BROWSERS).format(v=rng.randint(60, 140)) + f" r{i}" for i in range(300)]
    addresses = ["81.2.69.142", "89.160.20.112", "216.160.83.56", "2.125.160.216"]
    addresses += [f"203.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(1996)]
    pages = [
        (f"https://example.com/p/{i % 40}?utm_source=s{i % 7}&utm_campaign=c{i % 5}", rng.choice(REFERRERS))
        for i in range(500)
    ]
    requests = [(rng.choice(user_agents), rng.choice(addresses), rng.choice(pages)) for _ in range(args.events)]
    connection.ensure_connection()
    today = date.today()
    enrichment.daily_salt(today)  # created once a day per process: not the steady state

    def web_side():
        for user_agent, address, _ in requests:
            meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": address}
            ip = client_ip(meta, trusted_proxies=1)
            enrichment.is_bot(user_agent)
            enrichment.geo_lookup(ip)
            enrichment.visitor_hash(day=today, property_public_id="prop_bench", ip=ip, user_agent=user_agent)

    now = datetime.now(UTC).isoformat()
    events = [
        validated_event(url=url, referrer=referrer, visitor_id=f"h_{hash(address) % 5000}", ts=now)
        for _, address, (url, referrer) in requests
    ]

    def worker_side():
        for (user_agent, _, _), event in zip(requests, events, strict=True):
            enrichment.user_agent_parse(user_agent)
            attribution(url=event["url"], referrer=event["referrer"], event=event)
        for start in range(0, len(events), 500):  # the drain stores in batches
            sessions_derive([(1, event) for event in events[start : start + 500]])

    print(f"\nbench/enrichment — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {args.events} events, "
          "300 user agents, 2,000 addresses, 500 pages\n")  # fmt: skip
    print(f"{'pipeline part':40} {'events/s':>10} {'CPU µs/event':>13}")
    for label, run in (
        ("web side (address, bot, GeoIP, hash)", web_side),
        ("worker side (UA, attribution, session)", worker_side),
    ):
        cpu, wall = time.process_time(), time.perf_counter()
        run()
        elapsed, cpu_used = time.perf_counter() - wall, time.process_time() - cpu
        print(f"{label:40} {args.events / elapsed:10.0f} {cpu_used / args.events * 1e6:13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
