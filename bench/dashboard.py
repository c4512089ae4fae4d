#!/usr/bin/env python
"""bench/dashboard: how fast the reports and the dashboard page answer for a property with 1,000,000 events.

Seeds one property (timezone Europe/Paris) in a PostgreSQL database of its own with 1,000,000 events
over the last 90 days, shaped like a real site's traffic and reproducible from a fixed random seed:
daily and weekly seasonality with a slow growth and one spike day; sessions of 1 to 8 pageviews a
few minutes apart (so bounce rate and visit duration mean something), about a quarter of the
visitors coming back; ~2,000 paths in a Zipf-like distribution; ~30 referrer hosts and UTM tags on
~10 % of sessions, attributed to sources and channels by the ingest path's own `attribution()`;
~40 countries with regions and cities; real user agents parsed by the ingest path's parser; ~5 %
custom events with a `data` dict. Rows go straight into the events table with COPY (a read
benchmark: bench/ingest measures the write path); every past day's rollup is then built with the
refresh the worker runs, and today is left dirty with its raw events, as in production.

It then starts gunicorn as production does (config/gunicorn.py, DEBUG off, a private Redis; no
worker, so today stays raw throughout) on a free loopback port and, after a warm-up, times real
HTTP requests, sequentially over one keep-alive connection, round-robin over the cases: every
report endpoint with the read key and the dashboard page with a member's session, for 7, 30 and
365-day ranges ending today. It prints the median and p95 of each, the response's bytes (and the
page's gzipped bytes), and whether the aims are met (each report endpoint under 100 ms and the page
under 300 ms at the 95th percentile for 30 days).

    make bench-dashboard                     # = .venv/bin/python bench/dashboard.py
    .venv/bin/python bench/dashboard.py --reuse --repeat 30   # keep the seeded database if it matches
    .venv/bin/python bench/dashboard.py --reuse --explain     # EXPLAIN ANALYZE each 30-day case's slowest SQL

--reuse keeps the database when it holds the same parameters (events, days, seed, today's date);
otherwise it is dropped and seeded again (under a minute on two cores). A case is timed --repeat
times (30), or fewer, but at least 5, once its requests have taken --budget seconds (15): so any
case under 500 ms gets all its 30 samples and the slowest cases cannot stretch the run past ~10
minutes; the table gives each case's n.
"""

import argparse
import bisect
import gzip
import html
import http.client
import json
import os
import platform
import re
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from random import Random
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.stack import BROWSER_USER_AGENT, ClickHouse, Stack, static_files_collect  # noqa: E402

DATABASE = "clickmeter_bench_dashboard"
SEED_TABLE = "bench_dashboard_seed"
TIMEZONE = "Europe/Paris"
SITE = "https://www.example.com"
ORGANIZATION = "Bench dashboard"
MEMBER_EMAIL = "bench-viewer@example.com"

# --- The shape of the traffic ---------------------------------------------------------------------

# Share of a day's sessions starting in each local hour.
HOURLY = (2, 1.5, 1, 1, 1, 1.5, 3, 5, 7, 8, 8.5, 8, 7.5, 8, 8.5, 8, 7, 6, 5.5, 5.5, 5, 4.5, 3.5, 2.5)
WEEKDAY = (1.0, 1.05, 1.05, 1.0, 0.95, 0.7, 0.65)  # Monday first
GROWTH = 0.3  # the last day has 30 % more traffic than the first
SPIKE = 2.5  # one day a third of the way in (a front-page link)
# Pageviews per session, 1 to 8 (a bounce rate near 45 %), and the seconds between them.
SESSION_LENGTHS = (46, 17, 11, 8, 6, 5, 4, 3)
PAGEVIEW_GAP_MIN, PAGEVIEW_GAP_MEAN, PAGEVIEW_GAP_MAX = 15, 120, 900
# A new session is a returning visitor's with this chance, picked among the most recent visitors.
RETURN_CHANCE, RETURN_POOL = 0.23, 40_000
CUSTOM_EVENT_CHANCE = 0.053  # after a pageview: ~5 % of all events
PATH_COUNT, ZIPF_EXPONENT = 2_000, 1.07

# (weight, referrer); "" is a direct visit. Known hosts map to sources, the rest are referrals.
REFERRERS = (
    (400, ""),
    (230, "https://www.google.com/"),
    (20, "https://www.google.co.uk/"),
    (20, "https://www.google.de/"),
    (15, "https://www.google.fr/"),
    (25, "https://www.bing.com/"),
    (15, "https://duckduckgo.com/"),
    (5, "https://www.ecosia.org/"),
    (4, "https://search.yahoo.com/"),
    (3, "https://yandex.ru/"),
    (3, "https://www.qwant.com/"),
    (25, "https://news.ycombinator.com/item?id=42000000"),
    (20, "https://t.co/AbCdEf"),
    (18, "https://www.reddit.com/r/selfhosted/"),
    (15, "https://www.linkedin.com/"),
    (12, "https://l.facebook.com/"),
    (12, "https://github.com/clickmeter/clickmeter"),
    (8, "https://www.youtube.com/"),
    (6, "https://l.instagram.com/"),
    (10, "https://mail.google.com/"),
    (5, "https://outlook.live.com/"),
    (6, "https://substack.com/"),
    (8, "https://dev.to/"),
    (6, "https://stackoverflow.com/questions/1"),
    (5, "https://medium.com/"),
    (5, "https://lobste.rs/"),
    (4, "https://www.producthunt.com/"),
    (4, "https://alternativeto.net/"),
    (3, "https://blog.partner-site.org/analytics"),
    (3, "https://docs.integrations.example.io/"),
    (3, "https://chatgpt.com/"),
)
CAMPAIGN_CHANCE = 0.1
# (weight, referrer, campaign_id, utm source, medium, campaign, term, content)
CAMPAIGNS = (
    (30, "https://mail.google.com/", "", "newsletter", "email", "november-digest", "", "header-link"),
    (20, "https://www.google.com/", "cmp_winter", "google", "cpc", "winter-sale", "analytics tool", "ad-a"),
    (10, "https://www.google.com/", "cmp_winter", "google", "cpc", "winter-sale", "privacy analytics", "ad-b"),
    (15, "https://t.co/AbCdEf", "", "twitter", "social", "launch-week", "", ""),
    (10, "https://www.linkedin.com/", "", "linkedin", "paid_social", "b2b-q4", "", "carousel"),
    (8, "https://blog.partner-site.org/analytics", "cmp_partner", "partner-blog", "referral", "partners", "", ""),
    (7, "https://www.bing.com/", "", "bing", "cpc", "winter-sale", "web analytics", "ad-a"),
)
# (weight, country, ((region, city), ...)); the unknown place is an address GeoIP does not know.
PLACES = (
    (1, "", (("", ""),)),
    (25, "US", (("US-CA", "San Francisco"), ("US-CA", "Los Angeles"), ("US-NY", "New York"), ("US-TX", "Austin"),
                ("US-WA", "Seattle"), ("US-IL", "Chicago"))),
    (9, "DE", (("DE-BE", "Berlin"), ("DE-BY", "Munich"), ("DE-HH", "Hamburg"))),
    (8, "GB", (("GB-ENG", "London"), ("GB-ENG", "Manchester"), ("GB-SCT", "Edinburgh"))),
    (7, "FR", (("FR-IDF", "Paris"), ("FR-ARA", "Lyon"), ("FR-OCC", "Toulouse"))),
    (6, "IN", (("IN-KA", "Bengaluru"), ("IN-MH", "Mumbai"), ("IN-DL", "Delhi"))),
    (4, "CA", (("CA-ON", "Toronto"), ("CA-BC", "Vancouver"), ("CA-QC", "Montreal"))),
    (3, "NL", (("NL-NH", "Amsterdam"), ("NL-ZH", "Rotterdam"))),
    (3, "BR", (("BR-SP", "São Paulo"), ("BR-RJ", "Rio de Janeiro"))),
    (3, "ES", (("ES-MD", "Madrid"), ("ES-CT", "Barcelona"))),
    (3, "IT", (("IT-25", "Milan"), ("IT-62", "Rome"))),
    (2.5, "AU", (("AU-NSW", "Sydney"), ("AU-VIC", "Melbourne"))),
    (2, "PL", (("PL-14", "Warsaw"), ("PL-12", "Kraków"))),
    (2, "SE", (("SE-AB", "Stockholm"), ("SE-O", "Gothenburg"))),
    (2, "CH", (("CH-ZH", "Zurich"), ("CH-GE", "Geneva"))),
    (2, "JP", (("JP-13", "Tokyo"), ("JP-27", "Osaka"))),
    (1.5, "BE", (("BE-BRU", "Brussels"), ("BE-VAN", "Antwerp"))),
    (1.5, "AT", (("AT-9", "Vienna"),)),
    (1, "DK", (("DK-84", "Copenhagen"),)),
    (1, "NO", (("NO-03", "Oslo"),)),
    (1, "FI", (("FI-18", "Helsinki"),)),
    (1, "IE", (("IE-L", "Dublin"),)),
    (1, "PT", (("PT-11", "Lisbon"), ("PT-13", "Porto"))),
    (1, "CZ", (("CZ-10", "Prague"),)),
    (1, "MX", (("MX-CMX", "Mexico City"),)),
    (1, "SG", (("SG-01", "Singapore"),)),
    (1, "KR", (("KR-11", "Seoul"),)),
    (0.8, "CN", (("CN-SH", "Shanghai"), ("CN-BJ", "Beijing"))),
    (0.7, "AR", (("AR-C", "Buenos Aires"),)),
    (0.7, "ZA", (("ZA-GP", "Johannesburg"), ("ZA-WC", "Cape Town"))),
    (0.7, "TR", (("TR-34", "Istanbul"),)),
    (0.7, "UA", (("UA-30", "Kyiv"),)),
    (0.6, "RO", (("RO-B", "Bucharest"),)),
    (0.6, "IL", (("IL-TA", "Tel Aviv"),)),
    (0.6, "ID", (("ID-JK", "Jakarta"),)),
    (0.5, "GR", (("GR-I", "Athens"),)),
    (0.5, "HU", (("HU-BU", "Budapest"),)),
    (0.5, "NZ", (("NZ-AUK", "Auckland"),)),
    (0.5, "NG", (("NG-LA", "Lagos"),)),
    (0.5, "VN", (("VN-SG", "Ho Chi Minh City"),)),
    (0.4, "AE", (("AE-DU", "Dubai"),)),
)  # fmt: skip
USER_AGENTS = (
    (24, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
         "Safari/537.36"),
    (12, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
         "Safari/537.36"),
    (9, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
        "Safari/605.1.15"),
    (16, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/18.1 Mobile/15E148 Safari/604.1"),
    (13, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
         "Safari/537.36"),
    (6, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36 Edg/131.0.0.0"),
    (5, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"),
    (3, "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"),
    (3, "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"),
    (3, "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
        "Mobile/15E148 Safari/604.1"),
    (2, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (2, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"),
    (1, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36 OPR/115.0.0.0"),
    (1, "Mozilla/5.0 (Android 14; Mobile; rv:132.0) Gecko/132.0 Firefox/132.0"),
    (1, "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36"),
    (1, "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36"),
)  # fmt: skip
# (weight, type, data)
CUSTOM_EVENTS = (
    (20, "signup", {"plan": "free"}),
    (9, "signup", {"plan": "pro"}),
    (3, "signup", {"plan": "team"}),
    (4, "purchase", {"plan": "pro", "billing": "monthly"}),
    (2, "purchase", {"plan": "pro", "billing": "yearly"}),
    (1, "purchase", {"plan": "team", "billing": "yearly"}),
    (10, "download", {"file": "whitepaper.pdf"}),
    (6, "download", {"file": "clickmeter-1.4.tar.gz"}),
    (4, "download", {"file": "pricing.pdf"}),
    (12, "outbound", {"url": "https://github.com/clickmeter/clickmeter"}),
    (8, "outbound", {"url": "https://docs.djangoproject.com/"}),
    (5, "outbound", {"url": "https://www.postgresql.org/docs/"}),
)
TOP_PATHS = (
    "/", "/pricing", "/features", "/docs", "/blog", "/signup", "/login", "/about", "/integrations", "/customers",
    "/changelog", "/compare", "/security", "/contact", "/careers", "/privacy", "/terms", "/status", "/press", "/help",
)  # fmt: skip
DOC_TOPICS = ("getting-started", "tracking", "api", "reports", "self-hosting", "integrations", "privacy", "teams")
BLOG_WORDS = ("privacy", "analytics", "cookies", "gdpr", "postgres", "django", "performance", "dashboards", "growth",
              "funnels", "sessions", "attribution", "launch", "benchmarks", "open-source", "consent")  # fmt: skip


def _cumulative(weights) -> list[float]:
    return list(accumulate(weights))


@dataclass(frozen=True)
class SeedParameters:
    events: int
    days: int
    seed: int
    timezone: str
    today: date  # the property-local day the seed ends on (its last, partial day)

    def as_json(self) -> dict:
        return {
            "events": self.events,
            "days": self.days,
            "seed": self.seed,
            "timezone": self.timezone,
            "today": self.today.isoformat(),
        }


@dataclass
class SeedReport:
    """What was seeded: counts for the printout and the smoke test."""

    events: int = 0
    pageviews: int = 0
    custom_events: int = 0
    sessions: int = 0
    visitors: int = 0
    returning_visitors: int = 0
    bounces: int = 0
    events_per_day: dict = field(default_factory=dict)


class TrafficModel:
    """The vocabulary of the seeded site and the random choices over it, all from one seeded Random."""

    def __init__(self, rng: Random):
        from apps.ingestion.enrichment import user_agent_parse

        self.rng = rng
        self.paths = self._paths()
        self.path_cum = _cumulative(1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(self.paths)))
        self.titles = {
            path: (path.rstrip("/").rsplit("/", 1)[-1].replace("-", " ").title() or "Home") + " — Example"
            for path in self.paths
        }
        self.referrers = [referrer for _, referrer in REFERRERS]
        self.referrer_cum = _cumulative(weight for weight, _ in REFERRERS)
        self.campaigns = [campaign[1:] for campaign in CAMPAIGNS]
        self.campaign_cum = _cumulative(campaign[0] for campaign in CAMPAIGNS)
        self.places = [(country, region, city) for _, country, cities in PLACES for region, city in cities]
        self.place_cum = _cumulative(weight / len(cities) for weight, _, cities in PLACES for _ in cities)
        self.devices = [user_agent_parse(user_agent) for _, user_agent in USER_AGENTS]
        self.device_cum = _cumulative(weight for weight, _ in USER_AGENTS)
        self.customs = [(kind, json.dumps(data)) for _, kind, data in CUSTOM_EVENTS]
        self.custom_cum = _cumulative(weight for weight, _, _ in CUSTOM_EVENTS)
        self.length_cum = _cumulative(SESSION_LENGTHS)
        self.hour_cum = _cumulative(HOURLY)

    def _paths(self) -> list[str]:
        rng = self.rng
        docs = [f"/docs/{topic}/{rng.choice(BLOG_WORDS)}-{n}" for n in range(600) for topic in [DOC_TOPICS[n % 8]]]
        posts = [f"/blog/{2022 + n % 5}/{rng.choice(BLOG_WORDS)}-{rng.choice(BLOG_WORDS)}-{n}" for n in range(700)]
        products = [f"/integrations/{rng.choice(BLOG_WORDS)}-{n}" for n in range(400)]
        help_pages = [f"/help/articles/{1000 + n}" for n in range(PATH_COUNT - len(TOP_PATHS) - 1700)]
        rest = docs + posts + products + help_pages
        rng.shuffle(rest)
        return [*TOP_PATHS, *rest]

    def pick(self, population: list, cum_weights: list[float]):
        return population[bisect.bisect(cum_weights, self.rng.random() * cum_weights[-1])]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def day_targets(*, events: int, days: list[date], today_fraction: float, rng: Random) -> dict[date, int]:
    """How many events each day gets: weekday, growth, noise and one spike; today only its elapsed share."""
    weights = []
    for index, day in enumerate(days):
        weight = WEEKDAY[day.weekday()] * (1 + GROWTH * index / max(len(days) - 1, 1)) * rng.uniform(0.92, 1.08)
        weight *= SPIKE if index == len(days) // 3 else 1
        weights.append(weight * (today_fraction if index == len(days) - 1 else 1))
    total = sum(weights)
    exact = [events * weight / total for weight in weights]
    counts = [int(value) for value in exact]
    # Largest remainders, so that the days add up to exactly `events`.
    for index in sorted(range(len(days)), key=lambda i: exact[i] - counts[i], reverse=True)[: events - sum(counts)]:
        counts[index] += 1
    return dict(zip(days, counts, strict=True))


def events_generate(*, property, events: int, days: int, seed: int, now: datetime, report: SeedReport):
    """Yield the seeded events as rows of the events table (EVENT_COLUMNS), day by day, in time order.

    Sources, channels and UTM fields come from the ingest path's `attribution()` of each event's
    URL and referrer, browsers and devices from its user-agent parser, so the rows are what the
    ingest path would have stored for the same visits.
    """
    from apps.ingestion import identity
    from apps.ingestion.attribution import attribution
    from apps.ingestion.storage import EVENT_COLUMNS

    tz = ZoneInfo(property.timezone)
    rng = Random(seed)
    model = TrafficModel(rng)
    local_now = now.astimezone(tz)
    today = local_now.date()
    all_days = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    elapsed_hours = local_now.hour + local_now.minute / 60
    today_fraction = sum(HOURLY[: int(elapsed_hours)]) + HOURLY[int(elapsed_hours)] * (elapsed_hours % 1)
    targets = day_targets(events=events, days=all_days, today_fraction=today_fraction / sum(HOURLY), rng=rng)
    midnights = {
        day: datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        for day in [*all_days, today + timedelta(days=1)]
    }
    now_epoch = now.timestamp()
    internal = attribution(url=SITE + "/", referrer=SITE + "/", event=_campaign_fields(None))
    entry_attributions = {}
    sessions_of_visitor: dict[str, int] = {}
    pool: list[tuple] = []
    columns = EVENT_COLUMNS

    for day in all_days:
        target, produced = targets[day], 0
        day_start, next_midnight = midnights[day], midnights[day + timedelta(days=1)]
        hours_open = 24 if day != today else max(elapsed_hours, 0.01)
        hour_cum = model.hour_cum[: int(hours_open) + 1]
        while produced < target:
            # Who: a returning visitor keeps their device and place.
            if pool and rng.random() < RETURN_CHANCE:
                visitor = pool[-1 - int(rng.random() * min(len(pool), RETURN_POOL))]
            else:
                visitor = (
                    model.uuid(),
                    model.pick(model.devices, model.device_cum),
                    model.pick(model.places, model.place_cum),
                )
                pool.append(visitor)
            visitor_id, device, (country, region, city) = visitor
            sessions_of_visitor[visitor_id] = sessions_of_visitor.get(visitor_id, 0) + 1
            session_id = model.uuid()
            # Whence: a campaign link, or a referrer (or none).
            if rng.random() < CAMPAIGN_CHANCE:
                referrer, *campaign = model.pick(model.campaigns, model.campaign_cum)
            else:
                referrer, campaign = model.pick(model.referrers, model.referrer_cum), None
            key = (referrer, tuple(campaign or ()))
            if key not in entry_attributions:
                entry_attributions[key] = attribution(
                    url=SITE + "/", referrer=referrer, event=_campaign_fields(campaign)
                )
            entry = entry_attributions[key]
            query = "?" + urlencode(_utm_query(campaign)) if campaign else ""
            # When: a start hour by the daily curve; today, only hours that have passed.
            hour = bisect.bisect(hour_cum, rng.random() * hour_cum[-1])
            start = day_start + (hour + rng.random()) * 3600
            ts = min(start, now_epoch - 1) if day == today else start
            pageviews = bisect.bisect(model.length_cum, rng.random() * model.length_cum[-1]) + 1
            report.sessions += 1
            report.bounces += pageviews == 1
            shared = {
                "property_id": property.pk,
                "visitor_id": visitor_id,
                "session_id": session_id,
                "visitor_key": identity.visitor_key(visitor_id),
                "session_key": identity.session_key(visitor_id=visitor_id, session_id=session_id, event_id=""),
                "user_id_hash": "",
                "country": country,
                "region": region,
                "city": city,
                **device,
            }
            previous_url = referrer
            for step in range(pageviews):
                if produced >= target:
                    break
                if step:
                    ts += PAGEVIEW_GAP_MIN + min(rng.expovariate(1 / PAGEVIEW_GAP_MEAN), PAGEVIEW_GAP_MAX)
                    ts = min(ts, now_epoch - 1)
                path = model.pick(model.paths, model.path_cum)
                url = SITE + path + (query if step == 0 else "")
                fields = entry if step == 0 else internal
                row = _event_row(
                    shared,
                    fields,
                    model,
                    ts=ts,
                    path=path,
                    url=url,
                    referrer=previous_url,
                    day=day if ts < next_midnight else day + timedelta(days=1),
                )
                yield [row[name] for name in columns]
                produced += 1
                report.pageviews += 1
                previous_url = url
                if produced < target and rng.random() < CUSTOM_EVENT_CHANCE:
                    custom_ts = min(ts + 5 + rng.random() * 55, now_epoch - 1)
                    kind, data = model.pick(model.customs, model.custom_cum)
                    row = _event_row(
                        shared,
                        fields,
                        model,
                        ts=custom_ts,
                        path=path,
                        url=url,
                        referrer=row["referrer"],
                        day=day if custom_ts < next_midnight else day + timedelta(days=1),
                        kind=kind,
                        data=data,
                    )
                    yield [row[name] for name in columns]
                    produced += 1
                    report.custom_events += 1
        report.events_per_day[day] = produced
        report.events += produced
    report.visitors = len(sessions_of_visitor)
    report.returning_visitors = sum(1 for count in sessions_of_visitor.values() if count > 1)


def _campaign_fields(campaign) -> dict:
    """The envelope's campaign fields of an event, as the ingest validation hands them on."""
    campaign_id, source, medium, name, term, content = campaign or ("",) * 6
    return {
        "campaign_id": campaign_id,
        "utm_source": source,
        "utm_medium": medium,
        "utm_campaign": name,
        "utm_term": term,
        "utm_content": content,
    }


def _utm_query(campaign) -> dict:
    fields = _campaign_fields(campaign)
    return {name: value for name, value in fields.items() if value}


def _event_row(shared, fields, model, *, ts, path, url, referrer, day, kind="pageview", data="{}") -> dict:
    from apps.ingestion.identity import arrival

    moment = datetime.fromtimestamp(ts, UTC)
    received_at = moment + timedelta(seconds=1 + model.rng.random() * 2)
    return {
        **shared,
        **fields,
        "event_id": model.uuid(),
        "type": kind,
        "ts": moment,
        "received_at": received_at,
        "arrival": arrival(received_at=received_at, position=0),
        "day": day,
        "url": url,
        "path": path,
        "title": model.titles[path],
        "referrer": referrer,
        "campaign_key": fields["campaign_id"] or fields["utm_campaign"],
        "data": data,
    }


def events_seed(*, property, events: int, days: int, seed: int, now: datetime) -> SeedReport:
    """COPY `events` generated events of the `days` days up to `now` into the events table and mark
    their days dirty, in one transaction. Return what was seeded."""
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.ingestion.models import Event
    from apps.ingestion.storage import EVENT_COLUMNS, days_mark_dirty

    report = SeedReport()
    rows = events_generate(property=property, events=events, days=days, seed=seed, now=now, report=report)
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.copy(f"COPY {Event._meta.db_table} ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        days_mark_dirty([(property.pk, day) for day in sorted(report.events_per_day)], now=timezone.now())
    return report


def rollups_build(*, property, today: date) -> int:
    """Build the rollup of every dirty day of `property` before `today` (the worker's refresh); return how many.

    Today stays dirty: reports read its raw events, as they do in production between refreshes.
    """
    from apps.ingestion.models import DirtyDay
    from apps.reports.services import rollup_refresh_day

    days = DirtyDay.objects.filter(property=property, day__lt=today).order_by("day").values_list("day", flat=True)
    return sum(rollup_refresh_day(property_id=property.pk, day=day) for day in list(days))


# --- The database ---------------------------------------------------------------------------------


def goals_ensure(property_public_id: str) -> None:
    """The seeded property's GOALS, those it lacks created (a database seeded before they existed)."""
    from apps.properties.models import Property
    from apps.reports.goals.services import goal_create

    prop = Property.unscoped.get(public_id=property_public_id)
    present = set(prop.goals.values_list("name", flat=True))
    for goal in GOALS:
        if goal["name"] not in present:
            goal_create(property=prop, **goal)


def database_url(admin_url: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + DATABASE


def seeded_with(url: str) -> dict | None:
    """The parameters and credentials the database was seeded with, or None if it is not seeded."""
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(f"SELECT params, credentials FROM {SEED_TABLE}").fetchone()  # noqa: S608
    except psycopg.Error:
        return None
    return {"params": row[0], "credentials": row[1]} if row else None


def database_reset(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def django_setup(url: str) -> None:
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="bench-" + "x" * 50,
        SECURE_SSL_REDIRECT="false",
        CLICKMETER_REPORT_RATE="1000000/min",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def seed(parameters: SeedParameters, now: datetime) -> dict:
    """Create the organisation, property, keys and a viewer, seed events and build rollups; return the
    credentials, the seed report and the timings."""
    from django.db import connection

    from apps.accounts.services import member_create, organization_get_or_create
    from apps.properties.services import property_create_with_keys
    from apps.reports.models import ROLLUPS

    organization = organization_get_or_create(name=ORGANIZATION)
    prop, keys = property_create_with_keys(
        organization=organization, name="Example shop", allowed_origins=[SITE], timezone=parameters.timezone
    )
    password = secrets.token_urlsafe(18)
    member_create(organization_name=ORGANIZATION, email=MEMBER_EMAIL, role="viewer", password=password)
    started = time.monotonic()
    report = events_seed(property=prop, events=parameters.events, days=parameters.days, seed=parameters.seed, now=now)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ingestion_event")
    seeded = time.monotonic()
    rollups_build(property=prop, today=parameters.today)
    with connection.cursor() as cursor:
        for rollup in ROLLUPS:
            cursor.execute(f"VACUUM ANALYZE {rollup._meta.db_table}")
    built = time.monotonic()
    credentials = {"property_id": prop.public_id, "read_key": keys["read"], "email": MEMBER_EMAIL, "password": password}
    summary = {
        "seed_seconds": round(seeded - started, 1),
        "rollup_seconds": round(built - seeded, 1),
        "events": report.events,
        "pageviews": report.pageviews,
        "custom_events": report.custom_events,
        "sessions": report.sessions,
        "visitors": report.visitors,
        "returning_visitor_share": round(report.returning_visitors / max(report.visitors, 1), 3),
        "bounce_rate": round(report.bounces / max(report.sessions, 1), 3),
    }
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {SEED_TABLE} (params jsonb, credentials jsonb, summary jsonb)")
        cursor.execute(
            f"INSERT INTO {SEED_TABLE} VALUES (%s, %s, %s)",  # noqa: S608
            [json.dumps(parameters.as_json()), json.dumps(credentials), json.dumps(summary)],
        )
    return {"credentials": credentials, "summary": summary}


def sized_tables() -> list[tuple[str, str]]:
    """(label, table) of the tables whose size the run prints: the events and every rollup."""
    from apps.ingestion.models import Event
    from apps.reports.models import ROLLUPS

    return [("events", Event._meta.db_table)] + [(f"{r._meta.verbose_name}s", r._meta.db_table) for r in ROLLUPS]


def table_sizes(url: str) -> dict:
    sizes = {}
    with psycopg.connect(url) as conn:
        for label, table in sized_tables():
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            heap, indexes = conn.execute("SELECT pg_table_size(%s), pg_indexes_size(%s)", [table, table]).fetchone()
            sizes[label] = {"rows": rows, "table_mb": round(heap / 2**20), "index_mb": round(indexes / 2**20)}
        sizes["dirty_days"] = conn.execute("SELECT count(*) FROM ingestion_dirtyday").fetchone()[0]
        sizes["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    return sizes


# --- Timing -----------------------------------------------------------------------------------------

RANGES = ((7, "7d"), (30, "30d"), (365, "12mo"))
# (label, endpoint, query) of each report timed; the metrics shapes are those a dashboard asks for.
REPORTS = (
    ("overview", "overview", {}),
    ("pages", "pages", {}),
    ("campaigns", "campaigns", {}),
    ("metrics interval=day", "metrics", {"interval": "day"}),
    ("metrics group_by=source", "metrics", {"group_by": "source"}),
    ("metrics group_by=country", "metrics", {"group_by": "country"}),
    ("metrics session metrics by day", "metrics",
     {"metrics": "bounce_rate,visit_duration,views_per_session", "interval": "day"}),
    ("metrics group_by=entry_page", "metrics", {"group_by": "entry_page", "metrics": "sessions,unique_visitors"}),
)  # fmt: skip
# (label, query without its date_range) of each POST /v1/properties/{id}/query timed: the dashboard's
# questions asked of the engine, then filters with operators and a custom-property breakdown.
QUERIES = (
    ("query overview", {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]}),
    ("query top pages", {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"],
                         "filters": [["is", "event:name", ["pageview"]]], "pagination": {"limit": 10}}),
    ("query visitors by day", {"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"],
                               "include": {"time_labels": True}}),
    ("query sources: contains, is_not", {"metrics": ["visitors"], "dimensions": ["visit:source"],
                                         "filters": [["contains", "event:page", ["/docs"]],
                                                     ["is_not", "visit:device", ["mobile"]]],
                                         "pagination": {"limit": 10}}),
    ("query matches or contains", {"metrics": ["visitors", "pageviews"], "filters": [
        ["or", [["matches", "event:page", ["^/blog/202[34]"]], ["contains", "visit:source", ["oogle"]]]]]}),
    ("query custom property plan", {"metrics": ["visitors", "events"], "dimensions": ["event:props:plan"],
                                    "filters": [["is", "event:name", ["signup", "purchase"]]]}),
    ("query goals", {"metrics": ["visitors", "conversions", "conversion_rate"], "dimensions": ["event:goal"]}),
    ("query a goal by source", {"metrics": ["visitors", "conversion_rate"], "dimensions": ["visit:source"],
                                "filters": [["is", "event:goal", ["Pro signup"]]], "pagination": {"limit": 10}}),
)  # fmt: skip
# The property's goals, which the goal queries count: pages exact and by pattern, events with and
# without a property (created before timing when missing).
GOALS = (
    {"name": "Pricing", "kind": "pageview", "path_pattern": "/pricing"},
    {"name": "Docs", "kind": "pageview", "path_pattern": "/docs/**"},
    {"name": "Signup", "kind": "event", "event_type": "signup"},
    {"name": "Pro signup", "kind": "event", "event_type": "signup", "properties": {"plan": "pro"}},
)
# (label, endpoint under the property, body without its date_range, days or None for each of RANGES)
# of the conversion questions timed: a 4-step funnel (in a visit, and in 7 days), retention by
# week over each range and over 12 weeks (of every visit, and of desktop visits: raw events), a
# 3-step journey.
FUNNEL_STEPS = [{"kind": "page", "value": "/"}, {"kind": "page", "value": "/pricing"},
                {"kind": "page", "value": "/signup"}, {"kind": "event", "value": "signup"}]  # fmt: skip
ANALYSES = (
    ("funnel, 4 steps in a visit", "funnels/query", {"steps": FUNNEL_STEPS}, None),
    ("funnel, 4 steps in 7 days", "funnels/query", {"steps": FUNNEL_STEPS, "window_days": 7}, None),
    ("funnel by source", "funnels/query", {"steps": FUNNEL_STEPS, "dimension": "visit:source"}, None),
    ("retention by week", "retention", {"period": "week"}, None),
    ("retention by week, 12 weeks", "retention", {"period": "week"}, 84),
    (
        "retention, desktop visits",
        "retention",
        {"period": "week", "filters": [["is", "visit:device", ["desktop"]]]},
        84,
    ),
    ("journey, 3 steps from /", "journeys", {"anchor": {"kind": "page", "value": "/"}, "depth": 3}, None),
)
REPORT_ORDER = {label: index for index, (label, *_) in enumerate((*REPORTS, *QUERIES, *ANALYSES))}
PAGE_LABEL = "dashboard page"
# A browser running htmx: the page without its boxes, then the boxes fetched in parallel, as a
# browser does over its connections to one host; timed until the last box has arrived.
PAGE_HTMX_LABEL = "dashboard page + boxes by htmx"
# The page of a site with traffic: an event arrives for today (untimed) before each request, so the
# report cache holds only what did not change (earlier days' series, the previous period).
PAGE_LIVE_LABEL = "dashboard page, events arriving"
# The page under filters with operators and a custom property (filters.py).
PAGE_FILTERED_LABEL = "dashboard page, filtered"
# The realtime view: the last 30 minutes, today's raw events (shown as a 1-day range).
REALTIME_LABEL = "realtime page"
PAGE_FILTERS = {"f_path.contains": "/docs", "f_device.is_not": "mobile", "f_props:plan.is_not": "free"}
BOX_CONNECTIONS = 6
REPORT_AIM_MS, PAGE_AIM_MS, AIM_DAYS = 100, 300, 30
MIN_SAMPLES = 5


@dataclass
class Case:
    label: str
    days: int
    path: str
    headers: dict
    page: bool = False
    boxes: bool = False
    events_arrive: bool = False
    samples: list = field(default_factory=list)
    body: bytes = b""
    failure: str | None = None
    # A query posted as JSON instead of a GET.
    query: dict | None = None


class Connection:
    """One keep-alive HTTP connection, reopened (untimed) if the server closes it between requests."""

    def __init__(self, base_url: str):
        host, port = base_url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.base_url = base_url
        self.box_connections: list[Connection] = []
        self.box_pool = None

    def request(self, method: str, path: str, headers: dict, body: bytes | None = None):
        headers = {"User-Agent": BROWSER_USER_AGENT, **headers}
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.msg, response.read()
            except (http.client.RemoteDisconnected, ConnectionError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def timed(self, case: Case) -> None:
        posted = None if case.query is None else json.dumps(case.query).encode()
        started = time.perf_counter()
        status, _, body = self.request("GET" if posted is None else "POST", case.path, case.headers, posted)
        if case.boxes and status == 200:
            status = max(status, *self.boxes_fetched(body, case.headers))
        elapsed_ms = (time.perf_counter() - started) * 1000
        if status != 200:
            case.failure = f"HTTP {status}"
            if not case.page:
                case.failure += f": {body[:200].decode(errors='replace')}"
            return
        case.samples.append(elapsed_ms)
        case.body = body

    def boxes_fetched(self, page: bytes, headers: dict) -> list[int]:
        """Fetch the boxes `page` leaves for htmx (hx-trigger="load"), in parallel; return their statuses."""
        urls = [html.unescape(url.decode()) for url in re.findall(rb'hx-get="([^"]+)" hx-trigger="load"', page)]
        if not self.box_connections:
            self.box_connections = [Connection(self.base_url) for _ in range(BOX_CONNECTIONS)]
            self.box_pool = ThreadPoolExecutor(BOX_CONNECTIONS)
        fetches = [
            self.box_pool.submit(self.box_connections[n % BOX_CONNECTIONS].request, "GET", url, headers)
            for n, url in enumerate(urls)
        ]
        return [fetch.result()[0] for fetch in fetches] or [599]


def session_cookie(connection: Connection, email: str, password: str) -> str | None:
    """Sign in through /login as a browser does; return the session cookie, or None if refused."""
    status, headers, body = connection.request("GET", "/login", {})
    cookies = _cookies(headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or "csrftoken" not in cookies or not token:
        return None
    form = urlencode({"username": email, "password": password, "csrfmiddlewaretoken": token[1].decode()}).encode()
    status, headers, _ = connection.request(
        "POST",
        "/login",
        {"Cookie": f"csrftoken={cookies['csrftoken']}", "Content-Type": "application/x-www-form-urlencoded"},
        form,
    )
    session = _cookies(headers).get("sessionid")
    return f"sessionid={session}" if status == 302 and session else None


def _cookies(headers) -> dict[str, str]:
    pairs = (header.split(";", 1)[0].split("=", 1) for header in headers.get_all("Set-Cookie") or [])
    return {name.strip(): value for name, value in pairs}


def cases_build(credentials: dict, today: date, session: str | None) -> list[Case]:
    api = {"Authorization": f"Bearer {credentials['read_key']}"}
    prefix = f"/v1/properties/{credentials['property_id']}"
    cases = []
    for days, range_name in RANGES:
        span = {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()}
        for label, endpoint, query in REPORTS:
            cases.append(Case(label, days, f"{prefix}/{endpoint}?{urlencode({**span, **query})}", api))
        posted = {**api, "Content-Type": "application/json"}
        for label, query in QUERIES:
            asked = {**query, "date_range": [span["from"], span["to"]]}
            cases.append(Case(label, days, f"{prefix}/query", posted, query=asked))
        for label, endpoint, body, fixed in ANALYSES:
            if fixed is None:
                asked = {**body, "date_range": [span["from"], span["to"]]}
                cases.append(Case(label, days, f"{prefix}/{endpoint}", posted, query=asked))
        page = Case(
            PAGE_LABEL,
            days,
            f"/properties/{credentials['property_id']}/?range={range_name}",
            {"Cookie": session or ""},
            page=True,
        )
        htmx = Case(
            PAGE_HTMX_LABEL,
            days,
            page.path,
            {"Cookie": f"{session or ''}; clickmeter_js=1"},
            page=True,
            boxes=True,
        )
        live = Case(PAGE_LIVE_LABEL, days, page.path, page.headers, page=True, events_arrive=True)
        filtered = Case(PAGE_FILTERED_LABEL, days, f"{page.path}&{urlencode(PAGE_FILTERS)}", page.headers, page=True)
        for case in (page, htmx, live, filtered):
            if session is None:
                case.failure = "sign-in refused"
            cases.append(case)
    posted = {**api, "Content-Type": "application/json"}
    for label, endpoint, body, fixed in ANALYSES:
        if fixed is not None:
            asked = {**body, "date_range": [(today - timedelta(days=fixed - 1)).isoformat(), today.isoformat()]}
            cases.append(Case(label, fixed, f"{prefix}/{endpoint}", posted, query=asked))
    realtime = Case(REALTIME_LABEL, 1, f"/properties/{credentials['property_id']}/realtime", page.headers, page=True)
    if session is None:
        realtime.failure = "sign-in refused"
    return [*cases, realtime]


def cases_time(
    connection: Connection, cases: list[Case], *, warmup: int, repeat: int, budget: float, event_arrive
) -> None:
    """Warm every case up, then time them round-robin, so that the machine's drift hits all alike.

    A case stops early once its requests took `budget` seconds (0: never) and it has MIN_SAMPLES.
    `event_arrive()` runs, untimed, before each request of a case whose events arrive.
    """

    def timed(case: Case) -> None:
        if case.events_arrive:
            event_arrive()
        connection.timed(case)

    # The cases whose events arrive go last: the data they change would otherwise be a cache miss for
    # every other case.
    for phase in ([case for case in cases if not case.events_arrive], [case for case in cases if case.events_arrive]):
        for case in phase:
            for _ in range(warmup):
                if case.failure is None:
                    timed(case)
            case.samples.clear()
        for _ in range(repeat):
            for case in phase:
                spent = sum(case.samples) / 1000
                if case.failure is None and not (budget and spent >= budget and len(case.samples) >= MIN_SAMPLES):
                    timed(case)


def event_arrival(property_public_id: str, today: date):
    """A function that stores one more event for `today` (a copy of one of its events, with a new
    id) through the event store and marks the day dirty with a new token, as the ingest path does."""
    from django.db import transaction
    from django.utils import timezone

    from apps.ingestion.storage import days_mark_dirty
    from apps.properties.models import Property
    from apps.reports.stores import event_store

    prop = Property.unscoped.get(public_id=property_public_id)
    store = event_store()
    model = store.events(property=prop, day=today)[0]

    def arrive() -> None:
        with transaction.atomic():
            store.write([{**model, "event_id": str(uuid.uuid4())}])
            days_mark_dirty([(prop.pk, today)], now=timezone.now())

    return arrive


def clickhouse_load(property_public_id: str, directory: Path, *, scale: int) -> tuple[ClickHouse, dict]:
    """A ClickHouse server of its own in `directory`, holding the seeded property's events, copied
    from the database by `event_store_copy` (as a deployment moves), then `scale` times over by
    clickhouse_scale; the store switched to it in this process. Returns the server and what the
    load took: seconds and bytes on disk."""
    from django.conf import settings
    from django.core.management import call_command

    from apps.reports.stores.clickhouse import ClickHouseStore

    server = ClickHouse(directory, directory).start()
    settings.CLICKMETER_EVENT_STORE, settings.CLICKHOUSE_URL = "clickhouse", server.url("bench")
    started = time.monotonic()
    call_command("event_store_copy", property_public_id)
    copy_seconds = time.monotonic() - started
    client = ClickHouseStore().client
    started = time.monotonic()
    clickhouse_scale(client, scale)
    scale_seconds = time.monotonic() - started
    client.execute("OPTIMIZE TABLE bench.events FINAL")
    columns = client.execute(
        "SELECT name, data_compressed_bytes, data_uncompressed_bytes FROM system.columns"
        " WHERE database = 'bench' AND table = 'events' ORDER BY data_compressed_bytes DESC"
    )
    [(rows, on_disk)] = client.execute(
        "SELECT sum(rows), sum(bytes_on_disk) FROM system.parts"
        " WHERE active AND database = 'bench' AND table = 'events'"
    )
    return server, {
        "copy_seconds": round(copy_seconds, 1),
        "scale_seconds": round(scale_seconds, 1),
        "rows": rows,
        "bytes_on_disk": on_disk,
        "columns": columns,
    }


def clickhouse_scale(client, scale: int) -> None:
    """The copied events `scale` times over: each further copy is the same events with fresh event,
    visitor and session ids, so the days, paths, sources and visit shapes stay those of the seed
    with `scale` times the visitors (generated inside ClickHouse: 100 M events through Python
    would take hours)."""
    from apps.reports.stores.clickhouse.schema import COLUMNS

    fresh = {
        "event_id": "toString(generateUUIDv4())",
        "visitor_key": "toInt64(cityHash64(visitor_key, {copy}))",
        "session_key": "toInt64(cityHash64(session_key, {copy}))",
    }
    if scale == 1:
        return
    client.execute("CREATE TABLE bench.seed AS bench.events")
    client.execute("INSERT INTO bench.seed SELECT * FROM bench.events")
    for copy in tqdm(range(1, scale), desc="scale", unit="copy", file=sys.stderr):
        columns = ", ".join(fresh.get(name, name).format(copy=copy) for name in COLUMNS)
        client.execute(f"INSERT INTO bench.events ({', '.join(COLUMNS)}) SELECT {columns} FROM bench.seed")  # noqa: S608
    client.execute("DROP TABLE bench.seed")


def p95(samples: list[float]) -> float:
    """The 95th percentile, interpolated between the samples around it."""
    return statistics.quantiles(samples, n=100, method="inclusive")[94] if len(samples) > 1 else samples[0]


def results_print(cases: list[Case], header: str) -> list[str]:
    """Print the table and the verdict on the aims; return the verdict lines."""
    print(header)
    print(f"\n{'request':34} {'range':>8} {'n':>3} {'median ms':>10} {'p95 ms':>8} {'bytes':>9} {'gzip bytes':>11}")
    for case in sorted(
        cases, key=lambda case: (case.page, case.boxes, case.events_arrive, REPORT_ORDER.get(case.label, 0), case.days)
    ):
        if case.failure:
            note = "not available" if case.page else "FAILED"
            print(f"{case.label:34} {case.days:>4} days  {note} ({case.failure})")
            continue
        gzipped = f"{len(gzip.compress(case.body, 6)):,}" if case.page else "-"
        print(
            f"{case.label:34} {case.days:>4} days {len(case.samples):3} {statistics.median(case.samples):10.1f}"
            f" {p95(case.samples):8.1f} {len(case.body):9,} {gzipped:>11}"
        )
    at_aim = [case for case in cases if case.days == AIM_DAYS]
    missed = [
        f"{case.label} ({case.failure or f'{p95(case.samples):.0f} ms'})"
        for case in at_aim
        if not case.page and (case.failure or p95(case.samples) >= REPORT_AIM_MS)
    ]
    verdict = [
        f"each report endpoint under {REPORT_AIM_MS} ms p95 at {AIM_DAYS} days: "
        + ("met" if not missed else "missed by " + ", ".join(missed))
    ]
    for page in (case for case in at_aim if case.page):
        if page.failure:
            page_verdict = f"not available ({page.failure})"
        else:
            page_verdict = f"{'met' if p95(page.samples) < PAGE_AIM_MS else 'missed'} ({p95(page.samples):.0f} ms)"
        verdict.append(f"the {page.label} under {PAGE_AIM_MS} ms p95 at {AIM_DAYS} days: {page_verdict}")
    print()
    for line in verdict:
        print("aim: " + line)
    return verdict


def explain(credentials: dict, today: date) -> None:
    """Run each 30-day case in-process and print the EXPLAIN ANALYZE of its slowest SQL statement."""
    from django.db import connection
    from django.test import Client

    from apps.accounts.models import User

    client = Client(HTTP_HOST="127.0.0.1", HTTP_USER_AGENT=BROWSER_USER_AGENT)
    client.force_login(User.objects.get(email=credentials["email"]))
    for case in cases_build(credentials, today, session=""):
        if case.days != AIM_DAYS or case.boxes or case.events_arrive:
            continue
        statements = []

        def timed(execute, sql, params, many, context, statements=statements):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                statements.append((time.perf_counter() - started, sql, params))

        headers = {"HTTP_AUTHORIZATION": case.headers["Authorization"]} if not case.page else {}
        with connection.execute_wrapper(timed):
            if case.query is None:
                status = client.get(case.path, **headers).status_code
            else:
                status = client.post(case.path, case.query, content_type="application/json", **headers).status_code
        slowest = max(statements, key=lambda statement: statement[0])
        print(
            f"\n=== {case.label}, {case.days} days: HTTP {status}, {len(statements)} statements, "
            f"slowest {slowest[0] * 1000:.1f} ms, all {sum(s[0] for s in statements) * 1000:.1f} ms"
        )
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest[1], slowest[2])
            print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=1, help="untimed requests per case first")
    parser.add_argument(
        "--budget",
        type=float,
        default=15,
        help=f"seconds after which a case stops early, with at least {MIN_SAMPLES} samples (0: never)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep the database if seeded with the same parameters")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the 30-day cases instead of timing")
    parser.add_argument(
        "--no-cache", action="store_true", help="turn the report cache off: every request computes its reports"
    )
    parser.add_argument("--admin-database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--store",
        choices=("database", "clickhouse"),
        default="database",
        help="the event store the reports read: clickhouse copies the seeded events into a server of its own",
    )
    parser.add_argument(
        "--only",
        default="",
        help="time only the cases whose label and days (`query overview 30 days`) match this regular expression",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="with --store clickhouse: the seeded events this many times over, each copy with fresh ids",
    )
    args = parser.parse_args()
    if args.scale != 1 and args.store != "clickhouse":
        parser.error("--scale needs --store clickhouse")

    now = datetime.now(UTC)
    parameters = SeedParameters(
        events=args.events,
        days=args.days,
        seed=args.seed,
        timezone=TIMEZONE,
        today=now.astimezone(ZoneInfo(TIMEZONE)).date(),
    )
    url = database_url(args.admin_database_url)
    existing = seeded_with(url) if args.reuse else None
    reused = existing is not None and existing["params"] == parameters.as_json()
    if not reused:
        database_reset(args.admin_database_url)
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if reused:
        credentials = existing["credentials"]
        print(f"Reusing {DATABASE}, seeded with {parameters.as_json()}")
        # A migration may have marked days dirty (as an upgrade does): the worker's refresh catches up first.
        from apps.properties.models import Property

        prop = Property.unscoped.get(public_id=credentials["property_id"])
        caught_up = rollups_build(property=prop, today=parameters.today)
        if caught_up:
            print(f"rollups of {caught_up} days marked dirty since the seed rebuilt")
    else:
        print(f"Seeding {DATABASE} with {parameters.as_json()} ...", flush=True)
        seeded = seed(parameters, now)
        credentials = seeded["credentials"]
        summary = seeded["summary"]
        print(
            f"seeded {summary['events']:,} events ({summary['pageviews']:,} pageviews, "
            f"{summary['custom_events']:,} custom) in {summary['seed_seconds']} s, VACUUM ANALYZE included; "
            f"rollups of {args.days - 1} days built in {summary['rollup_seconds']} s"
        )
        print(
            f"{summary['sessions']:,} sessions (bounce rate {summary['bounce_rate']:.1%}), "
            f"{summary['visitors']:,} visitors ({summary['returning_visitor_share']:.1%} returning)"
        )
    goals_ensure(credentials["property_id"])
    sizes = table_sizes(url)
    for label, _ in sized_tables():
        size = sizes[label]
        print(f"{label}: {size['rows']:,} rows, {size['table_mb']} MB table + {size['index_mb']} MB indexes")
    print(f"dirty days (read raw): {sizes['dirty_days']}")

    if args.explain:
        explain(credentials, parameters.today)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        cache_seconds = "0" if args.no_cache else "3600"
        store = {}
        clickhouse = None
        if args.store == "clickhouse":
            clickhouse, loaded = clickhouse_load(credentials["property_id"], Path(tmp) / "clickhouse", scale=args.scale)
            store = {"CLICKMETER_EVENT_STORE": "clickhouse", "CLICKHOUSE_URL": clickhouse.url("bench")}
            rows, seconds, on_disk = loaded["rows"], loaded["copy_seconds"], loaded["bytes_on_disk"]
            copied = sizes["events"]["rows"]
            print(
                f"ClickHouse: {copied:,} events copied in {seconds} s ({copied / seconds:,.0f}/s), x{args.scale}"
                f" in {loaded['scale_seconds']} s; {rows:,} events, {on_disk / 2**20:.1f} MiB on disk,"
                f" {on_disk / rows:.1f} bytes per event"
            )
            for name, compressed, uncompressed in loaded["columns"]:
                print(f"  {name:<16} {compressed / rows:7.2f} bytes/event compressed ({uncompressed / rows:7.2f} raw)")
            sizes["clickhouse"] = loaded
        stack = Stack(
            Path(tmp),
            url,
            CLICKMETER_REPORT_RATE="1000000/min",
            CLICKMETER_REPORT_CACHE_SECONDS=cache_seconds,
            STATIC_ROOT=str(static_files_collect(Path(tmp) / "static")),
            **store,
        )
        stack.start(worker=False, beat=False)
        try:
            connection = Connection(stack.base_url)
            session = session_cookie(connection, credentials["email"], credentials["password"])
            cases = [
                case
                for case in cases_build(credentials, parameters.today, session)
                if re.search(args.only, f"{case.label} {case.days} days")
            ]
            started = time.monotonic()
            arrive = event_arrival(credentials["property_id"], parameters.today)
            cases_time(
                connection, cases, warmup=args.warmup, repeat=args.repeat, budget=args.budget, event_arrive=arrive
            )
            timing_seconds = time.monotonic() - started
        finally:
            stack.stop()
            if clickhouse:
                clickhouse.stop()

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    header = (
        f"\nbench/dashboard — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
        f"{memory_gib:.0f} GiB, PostgreSQL {sizes['postgresql']}, event store {args.store};"
        f" {sizes['clickhouse']['rows'] if clickhouse else sizes['events']['rows']:,} events over "
        f"{args.days} days (seed {args.seed}, {TIMEZONE}), today raw; gunicorn per config/gunicorn.py; up to "
        f"{args.repeat} sequential keep-alive requests per case (fewer, at least {MIN_SAMPLES}, once a case has "
        f"taken {args.budget:g} s) after {args.warmup} warm-up; report cache {'off' if args.no_cache else 'on'};"
        f" timing took {timing_seconds:.0f} s"
    )
    verdict = results_print(cases, header)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"dashboard-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(
        json.dumps(
            {
                "args": vars(args),
                "parameters": parameters.as_json(),
                "sizes": sizes,
                "verdict": verdict,
                "cases": [
                    {
                        "label": case.label,
                        "days": case.days,
                        "path": case.path,
                        "failure": case.failure,
                        "n": len(case.samples),
                        "bytes": len(case.body),
                        "samples_ms": case.samples,
                    }
                    for case in cases
                ],
            },
            indent=2,
        )
    )
    return 1 if any(case.failure and not case.page for case in cases) else 0


if __name__ == "__main__":
    sys.exit(main())
